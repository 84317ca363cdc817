// k-means on dense rows: Lloyd iterations with pruned assignment, sums
// that follow the labels, sklearn's relocation, and prediction (the checks
// and the n_init loop it shares with sparse rows are in kmeans_common.cpp).
#include "stray/cluster/kmeans.hpp"

#include <algorithm>
#include <chrono>

#include "cluster/kmeans_data.hpp"
#include "core/check.hpp"

namespace stray {

const char* to_string(KMeansInit init) {
  switch (init) {
    case KMeansInit::kmeans_plus_plus: return "k-means++";
    case KMeansInit::random: return "random";
    case KMeansInit::kmeans_parallel: return "k-means||";
    case KMeansInit::explicit_centers: return "explicit";
  }
  return "unknown";
}

KMeansInit parse_kmeans_init(const std::string& name) {
  for (KMeansInit i : {KMeansInit::kmeans_plus_plus, KMeansInit::random,
                       KMeansInit::kmeans_parallel, KMeansInit::explicit_centers}) {
    if (name == to_string(i)) return i;
  }
  internal::fail(ErrorCode::invalid_argument, "parse_kmeans_init", "unknown init '", name,
                 "' (expected k-means++, random, k-means|| or explicit)");
}

namespace {

using internal::fail;
using internal::KMeansData;
using internal::require;
using internal::update_kmeans_centers;
using internal::validate_kmeans_params;
using internal::LloydOutcome;

// sklearn's rule: clusters left empty take the rows farthest from their
// (previous) centres, largest distance first; sums move with the rows (the
// rows keep their labels until the next assignment). True if any moved.
bool relocate_empty_clusters(KMeansData& data, const DeviceArray<float>& old_centers,
                             const DeviceArray<int32_t>& labels, std::vector<double>& sums,
                             std::vector<double>& counts) {
  const int64_t d = data.d(), n = data.n();
  const std::vector<int64_t> empty = internal::empty_clusters(counts);
  if (empty.empty()) return false;
  Backend& be = data.backend;
  DeviceArray<float> dist = be.allocate<float>(n);
  be.assigned_sq_distances(data.X(), old_centers, labels, dist);
  const std::vector<int64_t> order =
      internal::farthest_rows(be.download_vector(dist), empty.size());
  std::vector<float> row(static_cast<std::size_t>(d));
  for (std::size_t e = 0; e < order.size(); ++e) {
    const int64_t far = order[e];
    int32_t from = 0;  // the one label needed, not all n
    be.copy_to_host(&from, *labels.buffer(), static_cast<std::size_t>(far) * sizeof(int32_t),
                    sizeof(int32_t));
    data.shifted_row(far, row.data());
    internal::move_row_to_empty(sums, counts, d, from, empty[e], data.weight(far), row.data());
  }
  return true;
}

// Per-cluster sums for the new labels: updated by the rows that moved where
// the sums still follow the previous labels, else recomputed.
void centroid_sums(KMeansData& data, const DeviceArray<int32_t>& previous,
                   const DeviceArray<int32_t>& labels, bool sums_follow_labels,
                   double total_weight, std::vector<double>& sums, std::vector<double>& counts) {
  Backend& be = data.backend;
  const int64_t k = static_cast<int64_t>(counts.size());
  if (!sums_follow_labels) {
    be.accumulate_centroids(data.X(), labels, data.w(), k, sums.data(), counts.data());
    return;
  }
  be.update_centroid_sums(data.X(), previous, labels, data.w(), k, sums.data(), counts.data());
  // Weights that left a cluster are subtracted in another order than they
  // were added: a cluster that lost all its weight may keep a rounding
  // residue instead of exactly 0 and escape relocation. Recompute then.
  const double residue = 1e-9 * total_weight;
  if (std::any_of(counts.begin(), counts.end(), [&](double c) { return c <= residue; })) {
    be.accumulate_centroids(data.X(), labels, data.w(), k, sums.data(), counts.data());
  }
}

// Lloyd's iterations from `centers`. Labels stay on the backend: each
// iteration brings back k x d sums and one count of changed labels.
LloydOutcome lloyd(KMeansData& data, Matrix<float> centers, const KMeansParams& p,
                   double tol_abs) {
  Backend& be = data.backend;
  const int64_t n = data.n(), d = data.d(), k = p.n_clusters;
  DeviceArray<float> device_centers = be.upload(centers.view());
  DeviceArray<int32_t> labels = be.allocate<int32_t>(n);
  // The previous iteration's labels; -1 before the first.
  DeviceArray<int32_t> previous = be.upload(std::vector<int32_t>(static_cast<std::size_t>(n), -1));
  // What pruned assignment keeps between iterations, and how far each
  // centre moved.
  const std::unique_ptr<AssignmentState> state = be.make_assignment_state();
  std::vector<double> center_shift(static_cast<std::size_t>(k), 0.0);
  std::vector<double> sums(static_cast<std::size_t>(k * d)), counts(static_cast<std::size_t>(k));
  Matrix<float> new_centers(k, d);

  double total_weight = static_cast<double>(n);
  if (data.weights) {
    total_weight = 0.0;
    for (int64_t i = 0; i < n; ++i) total_weight += data.weight(i);
  }

  LloydOutcome out;
  bool strict = false;
  // Whether `sums`/`counts` are exactly the per-cluster sums for
  // `previous`, so they can be updated by the rows that changed.
  bool sums_follow_labels = false;
  for (int it = 0; it < p.max_iter; ++it) {
    be.nearest_centroid_pruned(data.X(), device_centers, labels, *state, center_shift.data(),
                               it == 0);
    centroid_sums(data, previous, labels, sums_follow_labels, total_weight, sums, counts);
    // Relocation moves sums without relabelling: recompute next time.
    sums_follow_labels = !relocate_empty_clusters(data, device_centers, labels, sums, counts);
    const double shift = update_kmeans_centers(sums, counts, centers, new_centers, center_shift);
    std::swap(centers, new_centers);
    be.copy_to_device(*device_centers.buffer(), 0, centers.data(), device_centers.bytes());
    out.n_iter = it + 1;
    if (be.count_label_changes(labels, previous) == 0) {  // previous := labels
      strict = true;  // labels no longer change: the centres are a fixed point
      out.converged = true;
      break;
    }
    if (shift <= tol_abs) {
      out.converged = true;
      break;
    }
  }
  if (!strict) {
    // Final E-step so the labels belong to the returned centres.
    be.nearest_centroid_pruned(data.X(), device_centers, labels, *state, center_shift.data(),
                               false);
  }
  std::vector<int32_t> host_labels = be.download_vector(labels);
  out.inertia = be.assigned_inertia(data.X(), device_centers, labels, data.w());
  out.sizes.assign(static_cast<std::size_t>(k), 0.0);
  for (int64_t i = 0; i < n; ++i) out.sizes[host_labels[i]] += data.weight(i);
  out.labels = std::move(host_labels);
  out.centers = std::move(centers);
  return out;
}

// The n_init runs on data already placed on the backend; the best wins.
KMeansResult fit(KMeansData& data, const KMeansParams& params,
                 std::chrono::steady_clock::time_point start) {
  // tol is relative to the mean (unweighted) feature variance, as in sklearn.
  const double tol_abs = internal::absolute_tol(params, data.variance);
  KMeansResult best = internal::best_of_runs(params, [&](internal::Rng& rng) {
    Matrix<float> init;
    switch (params.init) {
      case KMeansInit::kmeans_plus_plus:
        init = internal::init_kmeans_plus_plus(data, params.n_clusters, rng);
        break;
      case KMeansInit::random:
        init = internal::init_random(data, params.n_clusters, rng);
        break;
      case KMeansInit::kmeans_parallel:
        init = internal::init_kmeans_parallel(data, params, rng);
        break;
      case KMeansInit::explicit_centers:
        init = Matrix<float>(params.n_clusters, data.d());
        for (int64_t c = 0; c < params.n_clusters; ++c) {
          for (int64_t j = 0; j < data.d(); ++j) {
            init(c, j) = static_cast<float>(params.initial_centers(c, j) - data.shift[j]);
          }
        }
        break;
    }
    return lloyd(data, std::move(init), params, tol_abs);
  });
  for (int64_t c = 0; c < best.centers.rows(); ++c) {
    for (int64_t j = 0; j < best.centers.cols(); ++j) {
      best.centers(c, j) = static_cast<float>(best.centers(c, j) + data.shift[j]);
    }
  }
  best.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return best;
}

}  // namespace

KMeansResult kmeans_fit(Backend& backend, const KMeansParams& params, MatrixView<const float> X,
                        const std::vector<float>* sample_weight) {
  const auto start = std::chrono::steady_clock::now();
  validate_kmeans_params(params, X.rows(), X.cols(), sample_weight);
  KMeansData data(backend, X, sample_weight, "kmeans_fit");
  return fit(data, params, start);
}

KMeansResult kmeans_fit(Backend& backend, const KMeansParams& params, const DeviceArray<float>& X,
                        const std::vector<float>* sample_weight) {
  const auto start = std::chrono::steady_clock::now();
  validate_kmeans_params(params, X.rows(), X.cols(), sample_weight);
  KMeansData data(backend, X, sample_weight, "kmeans_fit");
  return fit(data, params, start);
}

namespace {

// Nearest centres of data's rows, the centres shifted as the rows are.
NearestCenters predict(KMeansData& data, MatrixView<const float> centers) {
  Backend& backend = data.backend;
  Matrix<float> shifted(centers.rows(), centers.cols());
  for (int64_t c = 0; c < centers.rows(); ++c) {
    for (int64_t j = 0; j < centers.cols(); ++j) {
      shifted(c, j) = static_cast<float>(centers(c, j) - data.shift[j]);
    }
  }
  DeviceArray<float> device_centers = backend.upload(shifted.view());
  const int64_t n = data.n();
  DeviceArray<int32_t> labels = backend.allocate<int32_t>(n);
  DeviceArray<float> dist = backend.allocate<float>(n);
  backend.nearest_centroid(data.X(), device_centers, labels, dist);
  backend.assigned_sq_distances(data.X(), device_centers, labels, dist);
  NearestCenters out;
  out.labels = backend.download_vector(labels);
  out.sq_distances = backend.download_vector(dist);
  return out;
}

}  // namespace

NearestCenters kmeans_predict(Backend& backend, MatrixView<const float> centers,
                              MatrixView<const float> X) {
  const char* where = "kmeans_predict";
  internal::check_nonempty_matrix(X, where);
  internal::check_kmeans_centers(centers, X.cols(), where);
  // Centre both on X's column means: expanded distances lose less precision.
  KMeansData data(backend, X, nullptr, where);  // checks X's values
  return predict(data, centers);
}

NearestCenters kmeans_predict(Backend& backend, const KMeansModel& model,
                              MatrixView<const float> X) {
  return kmeans_predict(backend, model.centers.view(), X);
}

NearestCenters kmeans_predict(Backend& backend, const KMeansModel& model,
                              const DeviceArray<float>& X) {
  const char* where = "kmeans_predict";
  require(X.rows() > 0 && X.cols() > 0, ErrorCode::invalid_argument, where, "X is empty (",
          X.rows(), " x ", X.cols(), ")");
  internal::check_kmeans_centers(model.centers.view(), X.cols(), where);
  KMeansData data(backend, X, nullptr, where);
  return predict(data, model.centers.view());
}

}  // namespace stray
