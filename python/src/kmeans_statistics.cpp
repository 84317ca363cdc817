// Lloyd's iteration as statistics that merge, for distributed engines in
// Python (stray.kmeans_statistics, stray.KMeansStatistics, stray.kmeans_update
// in python/stray/cluster.py). The statistics travel as a dict of numpy
// arrays, so they pickle and cross processes as plain data; arrays that come
// back are checked before the library reads them.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <optional>
#include <vector>

#include "bindings.hpp"

namespace stray::python {
namespace {

nb::dict to_dict(KMeansStatistics&& s) {
  std::vector<double> far_sq;
  std::vector<int64_t> far_row, far_indptr{0};
  std::vector<int32_t> far_label, far_columns;
  std::vector<float> far_weight, far_values;
  for (KMeansFarRow& f : s.farthest) {
    far_sq.push_back(f.sq_distance);
    far_row.push_back(f.row);
    far_label.push_back(f.label);
    far_weight.push_back(f.weight);
    far_columns.insert(far_columns.end(), f.columns.begin(), f.columns.end());
    far_values.insert(far_values.end(), f.values.begin(), f.values.end());
    far_indptr.push_back(static_cast<int64_t>(far_columns.size()));
  }
  nb::dict d;
  d["inertia"] = s.inertia;
  d["n_samples"] = s.n_samples;
  d["sums"] = to_numpy(std::move(s.sums));
  d["weights"] = to_numpy(std::move(s.weights));
  d["far_sq_distance"] = to_numpy(std::move(far_sq));
  d["far_row"] = to_numpy(std::move(far_row));
  d["far_label"] = to_numpy(std::move(far_label));
  d["far_weight"] = to_numpy(std::move(far_weight));
  d["far_indptr"] = to_numpy(std::move(far_indptr));
  d["far_columns"] = to_numpy(std::move(far_columns));
  d["far_values"] = to_numpy(std::move(far_values));
  return d;
}

template <typename T>
Vector1In<T> vector_in(const nb::dict& d, const char* key) {
  return nb::cast<Vector1In<T>>(d[key], false);
}

// Sizes are checked here, before any array is indexed; values (labels,
// columns, finiteness) by the library's merge and update.
KMeansStatistics from_dict(const nb::dict& d) {
  const char* where = "KMeansStatistics";
  KMeansStatistics s;
  const auto sums = nb::cast<Matrix2In<double>>(d["sums"], false);
  s.sums = Matrix<double>::copy_of(view_of(sums));
  s.weights = vector_of(vector_in<double>(d, "weights"));
  s.inertia = nb::cast<double>(d["inertia"]);
  s.n_samples = nb::cast<int64_t>(d["n_samples"]);
  const auto sq = vector_in<double>(d, "far_sq_distance");
  const auto row = vector_in<int64_t>(d, "far_row");
  const auto label = vector_in<int32_t>(d, "far_label");
  const auto weight = vector_in<float>(d, "far_weight");
  const auto indptr = vector_in<int64_t>(d, "far_indptr");
  const auto columns = vector_in<int32_t>(d, "far_columns");
  const auto values = vector_in<float>(d, "far_values");
  const std::size_t m = sq.shape(0);
  const bool sizes = row.shape(0) == m && label.shape(0) == m && weight.shape(0) == m &&
                     indptr.shape(0) == m + 1 && columns.shape(0) == values.shape(0);
  if (!sizes || indptr.data()[0] != 0 ||
      indptr.data()[m] != static_cast<int64_t>(columns.shape(0))) {
    throw Error(ErrorCode::shape_mismatch,
                std::string(where) + ": the farthest rows' arrays disagree in size");
  }
  for (std::size_t f = 0; f < m; ++f) {
    const int64_t begin = indptr.data()[f], end = indptr.data()[f + 1];
    if (begin > end || end > static_cast<int64_t>(columns.shape(0))) {
      throw Error(ErrorCode::invalid_argument,
                  std::string(where) + ": far_indptr is not increasing within far_columns");
    }
    KMeansFarRow far;
    far.sq_distance = sq.data()[f];
    far.row = row.data()[f];
    far.label = label.data()[f];
    far.weight = weight.data()[f];
    far.columns.assign(columns.data() + begin, columns.data() + end);
    far.values.assign(values.data() + begin, values.data() + end);
    s.farthest.push_back(std::move(far));
  }
  return s;
}

nb::dict statistics(Matrix2In<float> centers, nb::object X,
                    std::optional<Vector1In<float>> sample_weight, int64_t first_row,
                    const std::string& backend_name) {
  std::optional<std::vector<float>> weights;
  if (sample_weight) weights = vector_of(*sample_weight);
  const std::vector<float>* w = weights ? &*weights : nullptr;
  KMeansStatistics s;
  if (nb::isinstance<CsrIn>(X)) {
    const CsrView csr = nb::cast<const CsrIn&>(X).view();
    nb::gil_scoped_release release;
    s = kmeans_statistics(*open_backend(backend_name), view_of(centers), csr, w, first_row);
  } else {
    const auto dense = nb::cast<Matrix2In<float>>(X, false);
    nb::gil_scoped_release release;
    s = kmeans_statistics(*open_backend(backend_name), view_of(centers), view_of(dense), w,
                          first_row);
  }
  return to_dict(std::move(s));
}

nb::dict merge(const nb::dict& a, const nb::dict& b) {
  KMeansStatistics total = from_dict(a);
  total.merge(from_dict(b));
  return to_dict(std::move(total));
}

nb::tuple update(Matrix2In<float> centers, const nb::dict& stats) {
  KMeansUpdate u = kmeans_update(view_of(centers), from_dict(stats));
  return nb::make_tuple(to_numpy(std::move(u.centers)), u.squared_shift,
                        to_numpy(std::move(u.relocated)));
}

}  // namespace

void bind_kmeans_statistics(nb::module_& m) {
  m.def("kmeans_statistics", &statistics, nb::arg("centers").noconvert(), nb::arg("X"),
        nb::arg("sample_weight").noconvert().none(), nb::arg("first_row"), nb::arg("backend"));
  m.def("kmeans_statistics_merge", &merge, nb::arg("a"), nb::arg("b"));
  m.def("kmeans_update", &update, nb::arg("centers").noconvert(), nb::arg("statistics"));
}

}  // namespace stray::python
