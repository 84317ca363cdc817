// Label scores, the silhouette and the assignment problem (python/stray/metrics.py).
#include <nanobind/stl/string.h>

#include "bindings.hpp"

namespace stray::python {
namespace {

using Labels = Vector1In<int64_t>;

/// Binds f(truth, pred) -> double over int64 label arrays.
template <typename F>
void def_label_score(nb::module_& m, const char* name, F f) {
  m.def(
      name,
      [f](Labels truth, Labels pred) {
        const auto t = vector_of(truth), p = vector_of(pred);
        nb::gil_scoped_release release;
        return f(t, p);
      },
      nb::arg("labels_true").noconvert(), nb::arg("labels_pred").noconvert());
}

nb::tuple assignment(Matrix2In<double> cost, bool maximize) {
  Assignment a;
  {
    nb::gil_scoped_release release;
    a = linear_sum_assignment(cost.data(), static_cast<int64_t>(cost.shape(0)),
                              static_cast<int64_t>(cost.shape(1)), maximize);
  }
  return nb::make_tuple(to_numpy(std::move(a.rows)), to_numpy(std::move(a.cols)));
}

std::vector<int32_t> int32_labels(const Vector1In<int32_t>& labels) { return vector_of(labels); }

}  // namespace

void bind_metrics(nb::module_& m) {
  using V = const std::vector<int64_t>&;
  def_label_score(m, "rand_score", [](V t, V p) { return rand_score(t, p); });
  def_label_score(m, "adjusted_rand_score", [](V t, V p) { return adjusted_rand_score(t, p); });
  def_label_score(m, "mutual_info_score", [](V t, V p) { return mutual_info_score(t, p); });
  def_label_score(m, "normalized_mutual_info_score",
                  [](V t, V p) { return normalized_mutual_info_score(t, p); });
  def_label_score(m, "adjusted_mutual_info_score",
                  [](V t, V p) { return adjusted_mutual_info_score(t, p); });
  m.def(
      "homogeneity_completeness_v_measure",
      [](Labels truth, Labels pred) {
        const auto t = vector_of(truth), p = vector_of(pred);
        std::tuple<double, double, double> hcv;
        {
          nb::gil_scoped_release release;
          hcv = homogeneity_completeness_v_measure(t, p);
        }
        return nb::make_tuple(std::get<0>(hcv), std::get<1>(hcv), std::get<2>(hcv));
      },
      nb::arg("labels_true").noconvert(), nb::arg("labels_pred").noconvert());
  m.def("linear_sum_assignment", &assignment, nb::arg("cost").noconvert(),
        nb::arg("maximize") = false);
  m.def(
      "silhouette_samples",
      [](Matrix2In<float> X, Vector1In<int32_t> labels, const std::string& backend_name) {
        const auto l = int32_labels(labels);
        std::vector<double> s;
        {
          nb::gil_scoped_release release;
          s = silhouette_samples(*open_backend(backend_name), view_of(X), l);
        }
        return to_numpy(std::move(s));
      },
      nb::arg("X").noconvert(), nb::arg("labels").noconvert(), nb::arg("backend"));
  m.def(
      "silhouette_score",
      [](Matrix2In<float> X, Vector1In<int32_t> labels, int64_t sample_size, uint64_t seed,
         const std::string& backend_name) {
        const auto l = int32_labels(labels);
        nb::gil_scoped_release release;
        return silhouette_score(*open_backend(backend_name), view_of(X), l, sample_size, seed);
      },
      nb::arg("X").noconvert(), nb::arg("labels").noconvert(), nb::arg("sample_size"),
      nb::arg("seed"), nb::arg("backend"));
}

}  // namespace stray::python
