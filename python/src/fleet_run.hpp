// The fleet pipeline's result and model as Python objects (fleet_run.cpp),
// and how events and parameters arrive from Python (fleet.cpp).
#pragma once

#include <memory>
#include <string>

#include "bindings.hpp"

namespace stray::python {

/// A fitted or loaded fleet model; shared so that a run and its model
/// outlive each other in any order.
struct FleetModelHandle {
  std::shared_ptr<const FleetModel> model;
};

/// One fit or score of a snapshot: the library's FleetResult, read from
/// Python as columns (python/stray/fleet.py makes DataFrames of them).
struct FleetRun {
  std::shared_ptr<const FleetResult> result;
  FleetModelHandle model;
  std::string backend;
};

FleetRun make_run(FleetResult&& result, std::string backend);

void bind_fleet_run(nb::module_& m);

}  // namespace stray::python
