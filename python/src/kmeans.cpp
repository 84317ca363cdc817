// k-means: stray.KMeans's fit and predict (python/stray/cluster.py).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <optional>

#include "bindings.hpp"

namespace stray::python {
namespace {

nb::dict kmeans_result_dict(KMeansResult&& r, const std::string& backend) {
  nb::dict d;
  d["inertia"] = r.inertia;
  d["n_iter"] = r.n_iter;
  d["converged"] = r.converged;
  d["seconds"] = r.seconds;
  d["backend"] = backend;
  d["cluster_sizes"] = to_numpy(std::move(r.cluster_sizes));
  d["labels"] = to_numpy(std::move(r.labels));
  d["centers"] = to_numpy(std::move(r.centers));
  return d;
}

nb::dict fit(Matrix2In<float> X, int64_t n_clusters, const std::string& init,
             std::optional<Matrix2In<float>> init_centers, int n_init, int max_iter, double tol,
             uint64_t seed, std::optional<Vector1In<float>> sample_weight,
             const std::string& backend_name) {
  KMeansParams p;
  p.n_clusters = n_clusters;
  p.init = parse_kmeans_init(init);
  if (init_centers) p.initial_centers = Matrix<float>::copy_of(view_of(*init_centers));
  p.n_init = n_init;
  p.max_iter = max_iter;
  p.tol = tol;
  p.seed = seed;
  std::optional<std::vector<float>> weights;
  if (sample_weight) weights = vector_of(*sample_weight);
  KMeansResult r;
  std::string used;
  {
    nb::gil_scoped_release release;
    auto backend = open_backend(backend_name);
    used = backend->name();
    r = kmeans_fit(*backend, p, view_of(X), weights ? &*weights : nullptr);
  }
  return kmeans_result_dict(std::move(r), used);
}

nb::tuple predict(Matrix2In<float> centers, Matrix2In<float> X, const std::string& backend_name) {
  NearestCenters r;
  {
    nb::gil_scoped_release release;
    auto backend = open_backend(backend_name);
    r = kmeans_predict(*backend, view_of(centers), view_of(X));
  }
  return nb::make_tuple(to_numpy(std::move(r.labels)), to_numpy(std::move(r.sq_distances)));
}

}  // namespace

void bind_kmeans(nb::module_& m) {
  m.def("kmeans_fit", &fit, nb::arg("X").noconvert(), nb::arg("n_clusters"), nb::arg("init"),
        nb::arg("init_centers").noconvert().none(), nb::arg("n_init"), nb::arg("max_iter"),
        nb::arg("tol"), nb::arg("seed"), nb::arg("sample_weight").noconvert().none(),
        nb::arg("backend"));
  m.def("kmeans_predict", &predict, nb::arg("centers").noconvert(), nb::arg("X").noconvert(),
        nb::arg("backend"));
}

}  // namespace stray::python
