// Neighbours and Local Outlier Factor: stray.NearestNeighbors and
// stray.LocalOutlierFactor (python/stray/neighbors.py).
// Rows come as a dense float32 array or a _Csr (never densified). A novelty
// model goes to Python as arrays (its training rows dense, or CSR as three
// arrays) and comes back for scoring.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <optional>

#include "bindings.hpp"

namespace stray::python {
namespace {

template <class Rows>
LofResult fit_rows(const LofParams& p, const Rows& X, const std::string& backend_name) {
  nb::gil_scoped_release release;
  return lof_fit(*open_backend(backend_name), p, X);
}

nb::dict fit(nb::object X, int64_t n_neighbors, bool novelty, std::optional<double> contamination,
             bool distinct_rows, const std::string& backend_name) {
  LofParams p;
  p.n_neighbors = n_neighbors;
  p.novelty = novelty;
  p.contamination = contamination;
  p.distinct_rows = distinct_rows;
  const bool sparse = nb::isinstance<CsrIn>(X);
  LofResult r = sparse ? fit_rows(p, nb::cast<const CsrIn&>(X).view(), backend_name)
                       : fit_rows(p, view_of(nb::cast<Matrix2In<float>>(X, false)), backend_name);
  nb::dict d;
  d["n_neighbors"] = r.n_neighbors;
  d["offset"] = r.offset;
  d["warning"] = r.warning;
  d["seconds"] = r.seconds;
  d["k_distance"] = to_numpy(std::move(r.k_distance));
  d["lrd"] = to_numpy(std::move(r.lrd));
  d["negative_outlier_factor"] = to_numpy(std::move(r.negative_outlier_factor));
  d["labels"] = to_numpy(std::move(r.labels));
  if (sparse) {
    CsrMatrix& s = r.sparse_reference;
    d["reference"] = nb::make_tuple(to_numpy(std::move(s.indptr)), to_numpy(std::move(s.indices)),
                                    to_numpy(std::move(s.values)), s.rows, s.cols);
  } else {
    d["reference"] = to_numpy(std::move(r.reference));
  }
  return d;
}

template <class Rows>
std::vector<double> score_rows(const LofModel& model, const Rows& X,
                               const std::string& backend_name) {
  nb::gil_scoped_release release;
  return lof_score_samples(*open_backend(backend_name), model, X);
}

// reference and X: each a dense float32 array or a _Csr.
Array<double> score_samples(int64_t n_neighbors, double offset, nb::object reference,
                            Vector1In<double> k_distance, Vector1In<double> lrd, nb::object X,
                            const std::string& backend_name) {
  LofModel model;
  model.n_neighbors = n_neighbors;
  model.offset = offset;
  model.novelty = true;
  if (nb::isinstance<CsrIn>(reference)) {
    const auto& in = nb::cast<const CsrIn&>(reference);
    model.sparse_reference.rows = in.rows;
    model.sparse_reference.cols = in.cols;
    model.sparse_reference.indptr = vector_of(in.indptr);
    model.sparse_reference.indices = vector_of(in.indices);
    model.sparse_reference.values = vector_of(in.data);
  } else {
    model.reference = Matrix<float>::copy_of(view_of(nb::cast<Matrix2In<float>>(reference, false)));
  }
  model.k_distance = vector_of(k_distance);
  model.lrd = vector_of(lrd);
  std::vector<double> scores =
      nb::isinstance<CsrIn>(X)
          ? score_rows(model, nb::cast<const CsrIn&>(X).view(), backend_name)
          : score_rows(model, view_of(nb::cast<Matrix2In<float>>(X, false)), backend_name);
  return to_numpy(std::move(scores));
}

template <class Rows>
KnnResult search(const Rows& reference, const Rows* queries, int64_t k,
                 const std::string& backend_name) {
  nb::gil_scoped_release release;
  auto backend = open_backend(backend_name);
  return queries ? knn(*backend, reference, *queries, k) : knn(*backend, reference, k);
}

// reference and queries (None: the reference rows, each left out of its
// own list) in one form: dense float32 arrays, or _Csr. Returns
// (distances, indices), each [q x k].
nb::tuple kneighbors(nb::object reference, nb::object queries, int64_t k,
                     const std::string& backend_name) {
  KnnResult r;
  if (nb::isinstance<CsrIn>(reference)) {
    const CsrView R = nb::cast<const CsrIn&>(reference).view();
    std::optional<CsrView> Q;
    if (!queries.is_none()) Q = nb::cast<const CsrIn&>(queries).view();
    r = search(R, Q ? &*Q : nullptr, k, backend_name);
  } else {
    const MatrixView<const float> R = view_of(nb::cast<Matrix2In<float>>(reference, false));
    std::optional<MatrixView<const float>> Q;
    if (!queries.is_none()) Q = view_of(nb::cast<Matrix2In<float>>(queries, false));
    r = search(R, Q ? &*Q : nullptr, k, backend_name);
  }
  return nb::make_tuple(to_numpy(std::move(r.distances)), to_numpy(std::move(r.indices)));
}

}  // namespace

void bind_neighbors(nb::module_& m) {
  m.def("kneighbors", &kneighbors, nb::arg("reference"), nb::arg("queries").none(), nb::arg("k"),
        nb::arg("backend"));
  m.def("lof_fit", &fit, nb::arg("X"), nb::arg("n_neighbors"), nb::arg("novelty"),
        nb::arg("contamination").none(), nb::arg("distinct_rows"), nb::arg("backend"));
  m.def("lof_score_samples", &score_samples, nb::arg("n_neighbors"), nb::arg("offset"),
        nb::arg("reference"), nb::arg("k_distance").noconvert(), nb::arg("lrd").noconvert(),
        nb::arg("X"), nb::arg("backend"));
}

}  // namespace stray::python
