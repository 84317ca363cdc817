// PCA: stray.PCA's fit, fit_batches, transform and inverse_transform
// (python/stray/decomposition.py). The fitted model travels to Python as
// arrays (so estimators pickle and clone as plain attributes) and back.
#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "python_batches.hpp"

namespace stray::python {
namespace {

PcaParams params_of(int64_t n_components, double variance_fraction, const std::string& solver,
                    bool whiten, uint64_t seed, int64_t oversamples, int power_iterations) {
  PcaParams p;
  p.n_components = n_components;
  p.variance_fraction = variance_fraction;
  p.solver = parse_pca_solver(solver);
  p.whiten = whiten;
  p.seed = seed;
  p.oversamples = oversamples;
  p.power_iterations = power_iterations;
  return p;
}

nb::dict model_dict(PcaModel&& model, const std::string& backend) {
  nb::dict d;
  d["n_samples"] = model.n_samples;
  d["n_components"] = model.n_components;
  d["solver"] = std::string(to_string(model.solver));
  d["noise_variance"] = model.noise_variance;
  d["total_variance"] = model.total_variance;
  d["seconds"] = model.seconds;
  d["backend"] = backend;
  d["mean"] = to_numpy(std::move(model.mean));
  d["components"] = to_numpy(std::move(model.components));
  d["explained_variance"] = to_numpy(std::move(model.explained_variance));
  d["explained_variance_ratio"] = to_numpy(std::move(model.explained_variance_ratio));
  d["singular_values"] = to_numpy(std::move(model.singular_values));
  return d;
}

/// What transform needs of a fitted model, rebuilt from the estimator's arrays.
PcaModel model_of(Vector1In<double> mean, Matrix2In<double> components,
                  Vector1In<double> explained_variance, bool whiten) {
  PcaModel model;
  model.n_features = static_cast<int64_t>(mean.shape(0));
  model.n_components = static_cast<int64_t>(components.shape(0));
  model.n_samples = 2;
  model.whiten = whiten;
  model.mean = vector_of(mean);
  model.components = Matrix<double>::copy_of(view_of(components));
  model.explained_variance = vector_of(explained_variance);
  return model;
}

template <typename Input>
nb::tuple fit(const Input& X, const PcaParams& p, const std::string& backend_name,
              bool transform) {
  PcaModel model;
  Matrix<float> Y;
  std::string used;
  {
    nb::gil_scoped_release release;
    auto backend = open_backend(backend_name);
    used = backend->name();
    if (transform) {
      PcaFitTransformResult r = pca_fit_transform(*backend, p, X);
      model = std::move(r.model);
      Y = std::move(r.transformed);
    } else {
      model = pca_fit(*backend, p, X);
    }
  }
  nb::object out = transform ? nb::object(nb::cast(to_numpy(std::move(Y)))) : nb::none();
  return nb::make_tuple(model_dict(std::move(model), used), out);
}

}  // namespace

void bind_pca(nb::module_& m) {
  nb::class_<CsrIn>(m, "_Csr")
      .def(nb::init<Vector1In<int64_t>, Vector1In<int32_t>, Vector1In<float>, int64_t, int64_t>(),
           nb::arg("indptr").noconvert(), nb::arg("indices").noconvert(),
           nb::arg("data").noconvert(), nb::arg("rows"), nb::arg("cols"))
      // For the tests: where the library reads the column indices and values.
      .def_prop_ro("_indices_address",
                   [](const CsrIn& c) { return reinterpret_cast<uintptr_t>(c.indices.data()); })
      .def_prop_ro("_data_address",
                   [](const CsrIn& c) { return reinterpret_cast<uintptr_t>(c.data.data()); });
  m.def(
      "pca_fit",
      [](Matrix2In<float> X, int64_t n_components, double variance_fraction,
         const std::string& solver, bool whiten, uint64_t seed, int64_t oversamples,
         int power_iterations, const std::string& backend, bool transform) {
        const PcaParams p = params_of(n_components, variance_fraction, solver, whiten, seed,
                                      oversamples, power_iterations);
        return fit(view_of(X), p, backend, transform);
      },
      nb::arg("X").noconvert(), nb::arg("n_components"), nb::arg("variance_fraction"),
      nb::arg("solver"), nb::arg("whiten"), nb::arg("seed"), nb::arg("oversamples"),
      nb::arg("power_iterations"), nb::arg("backend"), nb::arg("transform"));
  m.def(
      "pca_fit_csr",
      [](const CsrIn& X, int64_t n_components, double variance_fraction,
         const std::string& solver, bool whiten, uint64_t seed, int64_t oversamples,
         int power_iterations, const std::string& backend, bool transform) {
        const PcaParams p = params_of(n_components, variance_fraction, solver, whiten, seed,
                                      oversamples, power_iterations);
        return fit(X.view(), p, backend, transform);
      },
      nb::arg("X"), nb::arg("n_components"), nb::arg("variance_fraction"), nb::arg("solver"),
      nb::arg("whiten"), nb::arg("seed"), nb::arg("oversamples"), nb::arg("power_iterations"),
      nb::arg("backend"), nb::arg("transform"));
  m.def(
      "pca_fit_batches",
      [](nb::callable next_pass, int64_t n_components, double variance_fraction,
         const std::string& solver, bool whiten, uint64_t seed, int64_t oversamples,
         int power_iterations, const std::string& backend_name) {
        const PcaParams p = params_of(n_components, variance_fraction, solver, whiten, seed,
                                      oversamples, power_iterations);
        PythonBatches batches(std::move(next_pass));
        PcaModel model;
        std::string used;
        {
          nb::gil_scoped_release release;
          auto backend = open_backend(backend_name);
          used = backend->name();
          model = pca_fit_batches(*backend, p, batches);
        }
        return model_dict(std::move(model), used);
      },
      nb::arg("next_pass"), nb::arg("n_components"), nb::arg("variance_fraction"),
      nb::arg("solver"), nb::arg("whiten"), nb::arg("seed"), nb::arg("oversamples"),
      nb::arg("power_iterations"), nb::arg("backend"));
  m.def(
      "pca_transform",
      [](Vector1In<double> mean, Matrix2In<double> components, Vector1In<double> ev, bool whiten,
         nb::object X, const std::string& backend_name) {
        const PcaModel model = model_of(mean, components, ev, whiten);
        Matrix<float> Y;
        if (nb::isinstance<CsrIn>(X)) {
          const CsrView csr = nb::cast<const CsrIn&>(X).view();
          nb::gil_scoped_release release;
          Y = pca_transform(*open_backend(backend_name), model, csr);
        } else {
          const auto dense = nb::cast<Matrix2In<float>>(X, false);
          nb::gil_scoped_release release;
          Y = pca_transform(*open_backend(backend_name), model, view_of(dense));
        }
        return to_numpy(std::move(Y));
      },
      nb::arg("mean").noconvert(), nb::arg("components").noconvert(),
      nb::arg("explained_variance").noconvert(), nb::arg("whiten"), nb::arg("X"),
      nb::arg("backend"));
  m.def(
      "pca_inverse_transform",
      [](Vector1In<double> mean, Matrix2In<double> components, Vector1In<double> ev, bool whiten,
         Matrix2In<float> Y, const std::string& backend_name) {
        const PcaModel model = model_of(mean, components, ev, whiten);
        Matrix<float> X;
        {
          nb::gil_scoped_release release;
          X = pca_inverse_transform(*open_backend(backend_name), model, view_of(Y));
        }
        return to_numpy(std::move(X));
      },
      nb::arg("mean").noconvert(), nb::arg("components").noconvert(),
      nb::arg("explained_variance").noconvert(), nb::arg("whiten"), nb::arg("Y").noconvert(),
      nb::arg("backend"));
}

}  // namespace stray::python
