// Pieces shared by the fleet pipeline's detector suites: the synthetic
// fleet as an event source, and tail_fraction's definition counted naively.
#pragma once

#include <cstdint>
#include <vector>

#include "stray/fleet/pipeline.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"

namespace stray::testing {

/// generate_synthetic_fleet's events for n entities, seed and anomaly hosts.
inline EventSource synthetic_events(int64_t n, uint64_t seed, int64_t per_anomaly = 1) {
  return [=](const EventSink& sink) {
    SyntheticFleetParams p;
    p.n_entities = n;
    p.seed = seed;
    p.hosts_per_anomaly = per_anomaly;
    generate_synthetic_fleet(p, sink);
  };
}

/// The share of `values` above `value` plus half of those equal to it (the
/// value among them too), counted naively at float precision:
/// tail_fraction's definition.
inline double naive_tail(const std::vector<double>& values, double value) {
  const auto v = static_cast<float>(value);
  double count = 0.0;
  for (const double x : values) {
    const auto f = static_cast<float>(x);
    count += f > v ? 1.0 : (f == v ? 0.5 : 0.0);
  }
  return (count + 1.0) / (static_cast<double>(values.size()) + 1.0);
}

}  // namespace stray::testing
