// Agglomerative clustering: stray.AgglomerativeClustering
// (python/stray/cluster.py). Runs on host threads (no backend).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <optional>

#include "bindings.hpp"

namespace stray::python {
namespace {

nb::dict fit(Matrix2In<float> X, int64_t n_clusters, std::optional<double> distance_threshold,
             const std::string& linkage) {
  AgglomerativeParams p;
  p.n_clusters = n_clusters;
  p.distance_threshold = distance_threshold;
  p.linkage = parse_linkage(linkage);
  AgglomerativeResult r;
  {
    nb::gil_scoped_release release;
    r = agglomerative_fit(p, view_of(X));
  }
  nb::dict d;
  d["n_clusters"] = r.n_clusters;
  d["n_leaves"] = r.n_leaves;
  d["seconds"] = r.seconds;
  d["labels"] = to_numpy(std::move(r.labels));
  d["linkage_matrix"] = to_numpy(std::move(r.linkage_matrix));
  return d;
}

}  // namespace

void bind_agglomerative(nb::module_& m) {
  m.def("agglomerative_fit", &fit, nb::arg("X").noconvert(), nb::arg("n_clusters"),
        nb::arg("distance_threshold").none(), nb::arg("linkage"));
}

}  // namespace stray::python
