// k-means: stray.KMeans's fit, fit_batches and predict
// (python/stray/cluster.py), on dense rows or CSR rows (never densified).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <functional>
#include <optional>
#include <vector>

#include "bindings.hpp"
#include "python_batches.hpp"

namespace stray::python {
namespace {

// A fitted model's fields, whole fit or over batches.
nb::dict model_dict(KMeansModel&& m, double seconds, const std::string& backend) {
  nb::dict d;
  d["inertia"] = m.inertia;
  d["n_iter"] = m.n_iter;
  d["converged"] = m.converged;
  d["seconds"] = seconds;
  d["backend"] = backend;
  d["cluster_sizes"] = to_numpy(std::move(m.cluster_sizes));
  d["centers"] = to_numpy(std::move(m.centers));
  return d;
}

nb::dict kmeans_result_dict(KMeansResult&& r, const std::string& backend) {
  nb::dict d = model_dict(std::move(r), r.seconds, backend);
  d["labels"] = to_numpy(std::move(r.labels));
  return d;
}

KMeansParams params_of(int64_t n_clusters, const std::string& init,
                       std::optional<Matrix2In<float>> init_centers, int n_init, int max_iter,
                       double tol, uint64_t seed) {
  KMeansParams p;
  p.n_clusters = n_clusters;
  p.init = parse_kmeans_init(init);
  if (init_centers) p.initial_centers = Matrix<float>::copy_of(view_of(*init_centers));
  p.n_init = n_init;
  p.max_iter = max_iter;
  p.tol = tol;
  p.seed = seed;
  return p;
}

// X: a dense float32 array, or a _Csr (never densified).
nb::dict fit(nb::object X, int64_t n_clusters, const std::string& init,
             std::optional<Matrix2In<float>> init_centers, int n_init, int max_iter, double tol,
             uint64_t seed, std::optional<Vector1In<float>> sample_weight,
             const std::string& backend_name) {
  const KMeansParams p =
      params_of(n_clusters, init, std::move(init_centers), n_init, max_iter, tol, seed);
  std::optional<std::vector<float>> weights;
  if (sample_weight) weights = vector_of(*sample_weight);
  const std::vector<float>* w = weights ? &*weights : nullptr;
  KMeansResult r;
  std::string used;
  if (nb::isinstance<CsrIn>(X)) {
    const CsrView csr = nb::cast<const CsrIn&>(X).view();
    nb::gil_scoped_release release;
    auto backend = open_backend(backend_name);
    used = backend->name();
    r = kmeans_fit(*backend, p, csr, w);
  } else {
    const auto dense = nb::cast<Matrix2In<float>>(X, false);
    nb::gil_scoped_release release;
    auto backend = open_backend(backend_name);
    used = backend->name();
    r = kmeans_fit(*backend, p, view_of(dense), w);
  }
  return kmeans_result_dict(std::move(r), used);
}

nb::tuple predict(Matrix2In<float> centers, nb::object X, const std::string& backend_name) {
  NearestCenters r;
  if (nb::isinstance<CsrIn>(X)) {
    const CsrView csr = nb::cast<const CsrIn&>(X).view();
    nb::gil_scoped_release release;
    r = kmeans_predict(*open_backend(backend_name), view_of(centers), csr);
  } else {
    const auto dense = nb::cast<Matrix2In<float>>(X, false);
    nb::gil_scoped_release release;
    r = kmeans_predict(*open_backend(backend_name), view_of(centers), view_of(dense));
  }
  return nb::make_tuple(to_numpy(std::move(r.labels)), to_numpy(std::move(r.sq_distances)));
}

nb::dict fit_batches(nb::callable next_pass, int64_t n_clusters, const std::string& init,
                     std::optional<Matrix2In<float>> init_centers, int n_init, int max_iter,
                     double tol, uint64_t seed, int64_t init_sample_rows, bool keep_bounds,
                     const std::string& backend_name) {
  BatchKMeansParams p;
  p.kmeans = params_of(n_clusters, init, std::move(init_centers), n_init, max_iter, tol, seed);
  p.init_sample_rows = init_sample_rows;
  p.keep_bounds = keep_bounds;
  PythonBatches batches(std::move(next_pass));
  BatchKMeansResult r;
  std::string used;
  {
    nb::gil_scoped_release release;
    auto backend = open_backend(backend_name);
    used = backend->name();
    r = kmeans_fit_batches(*backend, p, batches);
  }
  nb::dict d = model_dict(std::move(r), r.seconds, used);
  d["n_samples"] = r.n_samples;
  d["sample_rows"] = r.sample_rows;
  d["sample_iter"] = r.sample_iter;
  d["passes"] = r.passes;
  return d;
}

}  // namespace

void bind_kmeans(nb::module_& m) {
  m.def("kmeans_fit", &fit, nb::arg("X"), nb::arg("n_clusters"), nb::arg("init"),
        nb::arg("init_centers").noconvert().none(), nb::arg("n_init"), nb::arg("max_iter"),
        nb::arg("tol"), nb::arg("seed"), nb::arg("sample_weight").noconvert().none(),
        nb::arg("backend"));
  m.def("kmeans_fit_batches", &fit_batches, nb::arg("next_pass"), nb::arg("n_clusters"),
        nb::arg("init"), nb::arg("init_centers").noconvert().none(), nb::arg("n_init"),
        nb::arg("max_iter"), nb::arg("tol"), nb::arg("seed"), nb::arg("init_sample_rows"),
        nb::arg("keep_bounds"), nb::arg("backend"));
  m.def("kmeans_predict", &predict, nb::arg("centers").noconvert(), nb::arg("X"),
        nb::arg("backend"));
}

}  // namespace stray::python
