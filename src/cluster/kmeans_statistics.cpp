// Lloyd's iteration as mergeable statistics: a batch's per-cluster sums,
// weights, inertia and farthest rows against fixed centres, their merge,
// and the M-step with scikit-learn's relocation of empty clusters.
#include "stray/cluster/kmeans_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "cluster/kmeans_batch_bounds.hpp"
#include "cluster/kmeans_data.hpp"
#include "core/check.hpp"
#include "core/csr_canonical.hpp"

namespace stray {

using internal::require;

namespace {

// Farther first; equal distances: the lower row first (farthest_rows' order).
bool farther(const KMeansFarRow& a, const KMeansFarRow& b) {
  return a.sq_distance != b.sq_distance ? a.sq_distance > b.sq_distance : a.row < b.row;
}

// A batch may weigh nothing (its rows still count); the fit checks the total.
void check_batch_weights(const std::vector<float>* w, int64_t n, const char* where) {
  if (!w) return;
  require(static_cast<int64_t>(w->size()) == n, ErrorCode::shape_mismatch, where,
          "sample_weight has ", w->size(), " entries for ", n, " rows");
  for (std::size_t i = 0; i < w->size(); ++i) {
    require(std::isfinite((*w)[i]), ErrorCode::non_finite_input, where, "sample_weight[", i,
            "] = ", (*w)[i], " is not finite");
    require((*w)[i] >= 0.0f, ErrorCode::invalid_argument, where, "sample_weight[", i, "] = ",
            (*w)[i], " is negative");
  }
}

void check_first_row(int64_t first_row, const char* where) {
  require(first_row >= 0, ErrorCode::invalid_argument, where, "first_row=", first_row,
          " must be >= 0");
}

// Inertia, the row count, and the k farthest rows from the batch's labels
// and distances; `entries(i, far)` fills far's columns and values.
template <typename Entries>
void finish_batch(KMeansStatistics& out, const std::vector<int32_t>& labels,
                  const std::vector<float>& sq_dist, const std::vector<float>* w,
                  int64_t first_row, const char* where, const Entries& entries) {
  const auto weight = [&](std::size_t i) { return w ? static_cast<double>((*w)[i]) : 1.0; };
  // Rows checked on their first passes only (the fit over batches scans a
  // dense batch on its first two) are caught here if a later pass brings
  // non-finite values, before any distance is ordered.
  for (std::size_t i = 0; i < sq_dist.size(); ++i) {
    if (!std::isfinite(sq_dist[i])) {
      internal::fail(ErrorCode::non_finite_input, where, "row ", first_row + static_cast<int64_t>(i),
                     "'s squared distance to its centre is ", sq_dist[i], ": ",
                     internal::kProductsOverflow);
    }
    out.inertia += weight(i) * sq_dist[i];
  }
  out.n_samples = static_cast<int64_t>(sq_dist.size());
  const std::size_t keep = static_cast<std::size_t>(out.n_clusters());
  for (const int64_t i : internal::farthest_rows(sq_dist, keep)) {
    const auto u = static_cast<std::size_t>(i);
    KMeansFarRow far;
    far.sq_distance = sq_dist[u];
    far.row = first_row + i;
    far.label = labels[u];
    far.weight = static_cast<float>(weight(u));
    entries(i, far);
    out.farthest.push_back(std::move(far));
  }
}

}  // namespace

KMeansStatistics::KMeansStatistics(int64_t n_clusters, int64_t n_features)
    : sums(n_clusters, n_features), weights(static_cast<std::size_t>(n_clusters), 0.0) {}

void KMeansStatistics::merge(const KMeansStatistics& other) {
  if (sums.empty() && weights.empty() && n_samples == 0) {  // default-constructed: adopt
    *this = other;
    return;
  }
  require(other.n_clusters() == n_clusters() && other.n_features() == n_features() &&
              other.weights.size() == weights.size() &&
              weights.size() == static_cast<std::size_t>(n_clusters()),
          ErrorCode::shape_mismatch, "KMeansStatistics::merge", "statistics of ",
          other.n_clusters(), " clusters x ", other.n_features(), " features (",
          other.weights.size(), " weights) into ", n_clusters(), " x ", n_features(), " (",
          weights.size(), " weights)");
  for (int64_t i = 0; i < sums.size(); ++i) sums.data()[i] += other.sums.data()[i];
  for (std::size_t c = 0; c < weights.size(); ++c) weights[c] += other.weights[c];
  inertia += other.inertia;
  n_samples += other.n_samples;
  farthest.insert(farthest.end(), other.farthest.begin(), other.farthest.end());
  std::stable_sort(farthest.begin(), farthest.end(), farther);
  if (farthest.size() > weights.size()) farthest.resize(weights.size());
}

namespace {

void check_dense_batch(MatrixView<const float> centers, MatrixView<const float> X,
                       const std::vector<float>* sample_weight, int64_t first_row,
                       const char* where) {
  internal::check_nonempty_matrix(X, where);
  internal::check_kmeans_centers(centers, X.cols(), where);
  require(centers.rows() >= 1, ErrorCode::invalid_argument, where, "no centres");
  check_batch_weights(sample_weight, X.rows(), where);
  check_first_row(first_row, where);
}

// `centers` less the batch's shift, as the backend compares rows with them.
Matrix<float> shifted_centres(MatrixView<const float> centers, const std::vector<double>& shift) {
  Matrix<float> out(centers.rows(), centers.cols());
  for (int64_t c = 0; c < centers.rows(); ++c) {
    for (int64_t j = 0; j < centers.cols(); ++j) {
      out(c, j) = static_cast<float>(centers(c, j) - shift[static_cast<std::size_t>(j)]);
    }
  }
  return out;
}

// The statistics of a batch once its labels are on the backend: sums,
// weights, inertia and the farthest rows.
KMeansStatistics labelled_statistics(Backend& backend, const internal::KMeansData& data,
                                     const DeviceArray<float>& C, const DeviceArray<int32_t>& labels,
                                     MatrixView<const float> X,
                                     const std::vector<float>* sample_weight, int64_t first_row,
                                     const char* where) {
  const int64_t n = data.n(), d = data.d(), k = C.rows();
  KMeansStatistics out(k, d);
  // The sums are of the rows as given, not of their centred float32 copy:
  // every product w·x is then exact and the sums differ between groupings
  // by float64 rounding alone.
  const bool centred = std::any_of(data.shift.begin(), data.shift.end(),
                                   [](double s) { return s != 0.0; });
  const DeviceArray<float> given = centred ? backend.borrow_or_upload(X) : DeviceArray<float>();
  backend.accumulate_centroids(centred ? given : data.X(), labels, data.w(), k, out.sums.data(),
                               out.weights.data());
  DeviceArray<float> dist = backend.allocate<float>(n);
  backend.assigned_sq_distances(data.X(), C, labels, dist);
  finish_batch(out, backend.download_vector(labels), backend.download_vector(dist),
               sample_weight, first_row, where, [&](int64_t i, KMeansFarRow& far) {
                 for (int64_t j = 0; j < d; ++j) {
                   if (X(i, j) == 0.0f) continue;
                   far.columns.push_back(static_cast<int32_t>(j));
                   far.values.push_back(X(i, j));
                 }
               });
  return out;
}

}  // namespace

KMeansStatistics kmeans_statistics(Backend& backend, MatrixView<const float> centers,
                                   MatrixView<const float> X,
                                   const std::vector<float>* sample_weight, int64_t first_row) {
  const char* where = "kmeans_statistics";
  check_dense_batch(centers, X, sample_weight, first_row, where);
  // Centred on the batch's column means where that keeps the expanded
  // distances accurate, as kmeans_fit does (checks X's values).
  internal::KMeansData data(backend, X, sample_weight, where, first_row);
  const Matrix<float> shifted = shifted_centres(centers, data.shift);
  const DeviceArray<float> C = backend.upload(shifted.view());
  DeviceArray<int32_t> labels = backend.allocate<int32_t>(data.n());
  DeviceArray<float> dist = backend.allocate<float>(data.n());
  backend.nearest_centroid(data.X(), C, labels, dist);
  return labelled_statistics(backend, data, C, labels, X, sample_weight, first_row, where);
}

namespace internal {

KMeansStatistics pruned_statistics(Backend& backend, MatrixView<const float> centers,
                                   MatrixView<const float> previous, MatrixView<const float> X,
                                   const std::vector<float>* sample_weight, int64_t first_row,
                                   BatchBounds& bounds) {
  const char* where = "kmeans_fit_batches";
  check_dense_batch(centers, X, sample_weight, first_row, where);
  const bool fresh = bounds.state == nullptr;
  // The batch's centring is decided on its first pass and kept: the same
  // rows every pass, so no column statistics are taken again.
  std::optional<KMeansData> centred;
  if (fresh) {
    centred.emplace(backend, X, sample_weight, where, first_row);
    bounds.shift = centred->shift;
  } else {
    centred.emplace(backend, X, sample_weight, bounds.shift);
  }
  const KMeansData& data = *centred;
  const Matrix<float> shifted = shifted_centres(centers, data.shift);
  const DeviceArray<float> C = backend.upload(shifted.view());
  std::vector<double> moved(static_cast<std::size_t>(centers.rows()), 0.0);
  if (fresh) {
    bounds.labels = backend.allocate<int32_t>(data.n());
    bounds.state = backend.make_assignment_state();
  } else {
    // The batch's shift is the same every pass (the same rows), so these
    // are the very centres the bounds were kept against.
    const Matrix<float> before = shifted_centres(previous, data.shift);
    for (int64_t c = 0; c < centers.rows(); ++c) {
      double sq = 0.0;
      for (int64_t j = 0; j < centers.cols(); ++j) {
        const double diff = static_cast<double>(shifted(c, j)) - before(c, j);
        sq += diff * diff;
      }
      moved[static_cast<std::size_t>(c)] = std::sqrt(sq);
    }
  }
  backend.nearest_centroid_pruned(data.X(), C, bounds.labels, *bounds.state, moved.data(), fresh);
  return labelled_statistics(backend, data, C, bounds.labels, X, sample_weight, first_row, where);
}

}  // namespace internal

KMeansStatistics kmeans_statistics(Backend& backend, MatrixView<const float> centers,
                                   const CsrView& X, const std::vector<float>* sample_weight,
                                   int64_t first_row) {
  const char* where = "kmeans_statistics";
  require(X.rows > 0 && X.cols > 0, ErrorCode::invalid_argument, where, "X is empty (", X.rows,
          " x ", X.cols, ")");
  internal::check_kmeans_centers(centers, X.cols, where);
  require(centers.rows() >= 1, ErrorCode::invalid_argument, where, "no centres");
  check_batch_weights(sample_weight, X.rows, where);
  check_first_row(first_row, where);
  const int64_t k = centers.rows();
  internal::require_memory(where, "the centres' sums", {k, X.cols}, sizeof(double), "float64");
  const internal::CanonicalRows rows(X, where);  // checks the structure and values
  const CsrView& A = rows.view();
  const DeviceCsr device_rows = backend.borrow_or_upload_csr(A);
  const DeviceArray<float> C = backend.upload(centers);
  DeviceArray<int32_t> labels = backend.allocate<int32_t>(A.rows);
  DeviceArray<float> dist = backend.allocate<float>(A.rows);
  backend.csr_nearest_centroid(device_rows, C, labels, dist);
  DeviceArray<float> device_weights;
  if (sample_weight) device_weights = backend.upload(*sample_weight);
  KMeansStatistics out(k, A.cols);
  backend.csr_centroid_sums(device_rows, labels, sample_weight ? &device_weights : nullptr, k,
                            out.sums.data(), out.weights.data());
  finish_batch(out, backend.download_vector(labels), backend.download_vector(dist),
               sample_weight, first_row, where, [&](int64_t i, KMeansFarRow& far) {
                 for (int64_t p = A.indptr[i]; p < A.indptr[i + 1]; ++p) {
                   if (A.values[p] == 0.0f) continue;
                   far.columns.push_back(A.indices[p]);
                   far.values.push_back(A.values[p]);
                 }
               });
  return out;
}

namespace {

// sklearn's relocation on merged statistics: the i-th empty cluster takes
// the i-th farthest row, whose weight and sums leave its own cluster.
std::vector<int64_t> relocate(std::vector<double>& sums, std::vector<double>& counts,
                              const std::vector<KMeansFarRow>& farthest, int64_t d) {
  const std::vector<int64_t> empty = internal::empty_clusters(counts);
  const std::size_t moved = std::min(empty.size(), farthest.size());
  std::vector<float> row(static_cast<std::size_t>(d));
  for (std::size_t e = 0; e < moved; ++e) {
    const KMeansFarRow& far = farthest[e];
    std::fill(row.begin(), row.end(), 0.0f);
    for (std::size_t p = 0; p < far.columns.size(); ++p) row[far.columns[p]] = far.values[p];
    internal::move_row_to_empty(sums, counts, d, far.label, empty[e], far.weight, row.data());
  }
  return std::vector<int64_t>(empty.begin(), empty.begin() + static_cast<std::ptrdiff_t>(moved));
}

// Statistics are checked before they move sums: statistics built by hand
// or carried between processes must not index out of bounds, nor turn the
// centres non-finite.
void check_statistics(const KMeansStatistics& s, const char* where) {
  for (int64_t e = 0; e < s.sums.size(); ++e) {
    require(std::isfinite(s.sums.data()[e]), ErrorCode::non_finite_input, where,
            "the statistics' sums hold a non-finite value");
  }
  for (const double w : s.weights) {
    require(std::isfinite(w) && w >= 0.0, ErrorCode::invalid_argument, where,
            "a cluster's weight ", w, " is not finite and >= 0");
  }
  for (const KMeansFarRow& far : s.farthest) {
    require(far.label >= 0 && far.label < s.n_clusters(), ErrorCode::invalid_argument, where,
            "a farthest row's label ", far.label, " is outside [0, ", s.n_clusters(), ")");
    require(far.columns.size() == far.values.size(), ErrorCode::shape_mismatch, where,
            "a farthest row has ", far.columns.size(), " columns and ", far.values.size(),
            " values");
    for (std::size_t p = 0; p < far.columns.size(); ++p) {
      require(far.columns[p] >= 0 && far.columns[p] < s.n_features(),
              ErrorCode::invalid_argument, where, "a farthest row's column ", far.columns[p],
              " is outside [0, ", s.n_features(), ")");
      require(std::isfinite(far.values[p]) && std::isfinite(far.weight),
              ErrorCode::non_finite_input, where, "a farthest row holds a non-finite value");
    }
  }
}

}  // namespace

KMeansUpdate kmeans_update(MatrixView<const float> centers, const KMeansStatistics& statistics) {
  const char* where = "kmeans_update";
  const int64_t k = statistics.n_clusters(), d = statistics.n_features();
  require(centers.rows() == k && centers.cols() == d, ErrorCode::shape_mismatch, where,
          "centres are ", centers.rows(), " x ", centers.cols(), ", the statistics ", k, " x ",
          d);
  require(static_cast<int64_t>(statistics.weights.size()) == k, ErrorCode::shape_mismatch, where,
          "the statistics hold ", statistics.weights.size(), " weights for ", k, " clusters");
  internal::check_finite_matrix(centers, where, "centers");
  check_statistics(statistics, where);
  std::vector<double> sums(statistics.sums.data(), statistics.sums.data() + statistics.sums.size());
  std::vector<double> counts = statistics.weights;
  KMeansUpdate out;
  out.relocated = relocate(sums, counts, statistics.farthest, d);
  const Matrix<float> old = Matrix<float>::copy_of(centers);
  out.centers = Matrix<float>(k, d);
  out.center_shift.assign(static_cast<std::size_t>(k), 0.0);
  out.squared_shift = internal::update_kmeans_centers(sums, counts, old, out.centers,
                                                      out.center_shift);
  return out;
}

}  // namespace stray
