// Local Outlier Factor: stray.LocalOutlierFactor (python/stray/neighbors.py).
// A novelty model goes to Python as arrays and comes back for scoring.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <optional>

#include "bindings.hpp"

namespace stray::python {
namespace {

nb::dict fit(Matrix2In<float> X, int64_t n_neighbors, bool novelty,
             std::optional<double> contamination, bool distinct_rows,
             const std::string& backend_name) {
  LofParams p;
  p.n_neighbors = n_neighbors;
  p.novelty = novelty;
  p.contamination = contamination;
  p.distinct_rows = distinct_rows;
  LofResult r;
  {
    nb::gil_scoped_release release;
    r = lof_fit(*open_backend(backend_name), p, view_of(X));
  }
  nb::dict d;
  d["n_neighbors"] = r.n_neighbors;
  d["offset"] = r.offset;
  d["warning"] = r.warning;
  d["seconds"] = r.seconds;
  d["k_distance"] = to_numpy(std::move(r.k_distance));
  d["lrd"] = to_numpy(std::move(r.lrd));
  d["negative_outlier_factor"] = to_numpy(std::move(r.negative_outlier_factor));
  d["labels"] = to_numpy(std::move(r.labels));
  d["reference"] = to_numpy(std::move(r.reference));
  return d;
}

Array<double> score_samples(int64_t n_neighbors, double offset, Matrix2In<float> reference,
                            Vector1In<double> k_distance, Vector1In<double> lrd,
                            Matrix2In<float> X, const std::string& backend_name) {
  LofModel model;
  model.n_neighbors = n_neighbors;
  model.offset = offset;
  model.novelty = true;
  model.reference = Matrix<float>::copy_of(view_of(reference));
  model.k_distance = vector_of(k_distance);
  model.lrd = vector_of(lrd);
  std::vector<double> scores;
  {
    nb::gil_scoped_release release;
    scores = lof_score_samples(*open_backend(backend_name), model, view_of(X));
  }
  return to_numpy(std::move(scores));
}

}  // namespace

void bind_neighbors(nb::module_& m) {
  m.def("lof_fit", &fit, nb::arg("X").noconvert(), nb::arg("n_neighbors"), nb::arg("novelty"),
        nb::arg("contamination").none(), nb::arg("distinct_rows"), nb::arg("backend"));
  m.def("lof_score_samples", &score_samples, nb::arg("n_neighbors"), nb::arg("offset"),
        nb::arg("reference").noconvert(), nb::arg("k_distance").noconvert(),
        nb::arg("lrd").noconvert(), nb::arg("X").noconvert(), nb::arg("backend"));
}

}  // namespace stray::python
