// k-means: validation, Lloyd iterations with sklearn's stopping rules and
// empty-cluster relocation, the n_init loop, and prediction.
#include "stray/cluster/kmeans.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/check.hpp"
#include "cluster/kmeans_data.hpp"

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

// X [n x d]; its values are checked as its column statistics are formed
// (KMeansData).
void validate(const KMeansParams& p, int64_t n, int64_t d,
              const std::vector<float>* sample_weight) {
  const char* where = "kmeans_fit";
  require(n > 0 && d > 0, ErrorCode::invalid_argument, where, "X is empty (", n, " x ", d, ")");
  require(p.n_clusters >= 1, ErrorCode::invalid_argument, where, "n_clusters=", p.n_clusters,
          " must be >= 1");
  require(p.n_clusters <= std::numeric_limits<int32_t>::max(), ErrorCode::invalid_argument, where,
          "n_clusters=", p.n_clusters, " exceeds the int32 label range");
  require(n >= p.n_clusters, ErrorCode::invalid_argument, where, "n_samples=", n,
          " < n_clusters=", p.n_clusters);
  require(p.max_iter >= 1, ErrorCode::invalid_argument, where, "max_iter=", p.max_iter,
          " must be >= 1");
  require(p.n_init >= 0, ErrorCode::invalid_argument, where, "n_init=", p.n_init,
          " must be >= 0 (0 = auto)");
  require(std::isfinite(p.tol) && p.tol >= 0.0, ErrorCode::invalid_argument, where, "tol=", p.tol,
          " must be finite and >= 0");
  if (p.init == KMeansInit::explicit_centers) {
    require(p.initial_centers.rows() == p.n_clusters && p.initial_centers.cols() == d,
            ErrorCode::shape_mismatch, where, "initial_centers is ", p.initial_centers.rows(),
            " x ", p.initial_centers.cols(), ", expected ", p.n_clusters, " x ", d);
    internal::check_finite_matrix(p.initial_centers.view(), where, "initial_centers");
  }
  if (p.init == KMeansInit::kmeans_parallel) {
    require(p.parallel_rounds >= 1 && p.parallel_oversampling > 0.0 &&
                p.parallel_max_candidates >= 1,
            ErrorCode::invalid_argument, where,
            "k-means|| needs parallel_rounds >= 1, parallel_oversampling > 0 and "
            "parallel_max_candidates >= 1");
  }
  if (sample_weight) internal::check_sample_weight(*sample_weight, n, where);
}

struct LloydOutcome {
  Matrix<float> centers;  // in X's coordinates (less KMeansData::shift)
  std::vector<int32_t> labels;
  std::vector<double> sizes;
  double inertia = 0.0;
  int n_iter = 0;
  bool converged = false;
};

// sklearn's rule: clusters left empty take the rows farthest from their
// (previous) centres, largest distance first; sums move with the rows (the
// rows keep their labels until the next assignment). True if any moved.
bool relocate_empty_clusters(KMeansData& data, const DeviceArray<float>& old_centers,
                             const DeviceArray<int32_t>& labels, std::vector<double>& sums,
                             std::vector<double>& counts) {
  const int64_t k = static_cast<int64_t>(counts.size()), d = data.d(), n = data.n();
  std::vector<int64_t> empty;
  for (int64_t c = 0; c < k; ++c) {
    if (counts[c] == 0.0) empty.push_back(c);
  }
  if (empty.empty()) return false;
  Backend& be = data.backend;
  DeviceArray<float> dist = be.allocate<float>(n);
  be.assigned_sq_distances(data.X(), old_centers, labels, dist);
  const std::vector<float> host_dist = be.download_vector(dist);
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const std::size_t take = std::min<std::size_t>(empty.size(), order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(take), order.end(),
                    [&](int64_t a, int64_t b) {
                      return host_dist[a] != host_dist[b] ? host_dist[a] > host_dist[b] : a < b;
                    });
  std::vector<float> row(static_cast<std::size_t>(d));
  for (std::size_t e = 0; e < take; ++e) {
    const int64_t far = order[e];
    int32_t from = 0;  // the one label needed, not all n
    be.copy_to_host(&from, *labels.buffer(), static_cast<std::size_t>(far) * sizeof(int32_t),
                    sizeof(int32_t));
    const int64_t to = empty[e];
    const double w = data.weight(far);
    data.shifted_row(far, row.data());
    for (int64_t j = 0; j < d; ++j) {
      sums[from * d + j] -= w * row[j];
      sums[to * d + j] = w * row[j];
    }
    counts[from] -= w;
    counts[to] = w;
  }
  return true;
}

// The M-step: centres from the sums (a cluster with no weight keeps its
// centre), and how far each moved. Returns the squared shift summed over
// clusters.
double update_centers(const std::vector<double>& sums, const std::vector<double>& counts,
                      const Matrix<float>& centers, Matrix<float>& new_centers,
                      std::vector<double>& center_shift) {
  const int64_t k = centers.rows(), d = centers.cols();
  double shift = 0.0;
  for (int64_t c = 0; c < k; ++c) {
    double moved = 0.0;
    for (int64_t j = 0; j < d; ++j) {
      // sklearn keeps the zero sum; that only happens with zero sample weights.
      const float v = counts[c] > 0.0 ? static_cast<float>(sums[c * d + j] / counts[c])
                                      : centers(c, j);
      const double delta = static_cast<double>(v) - centers(c, j);
      moved += delta * delta;
      new_centers(c, j) = v;
    }
    shift += moved;
    center_shift[c] = std::sqrt(moved);
  }
  return shift;
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
    const double shift = update_centers(sums, counts, centers, new_centers, center_shift);
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
  const double tol_abs = params.tol *
                         std::accumulate(data.variance.begin(), data.variance.end(), 0.0) /
                         static_cast<double>(data.variance.size());

  int runs = params.n_init;
  if (params.init == KMeansInit::explicit_centers) runs = 1;
  if (runs == 0) runs = params.init == KMeansInit::random ? 10 : 1;

  internal::Rng rng(params.seed);
  KMeansResult best;
  bool have_best = false;
  for (int run = 0; run < runs; ++run) {
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
    LloydOutcome outcome = lloyd(data, std::move(init), params, tol_abs);
    if (!have_best || outcome.inertia < best.inertia) {
      have_best = true;
      best.centers = std::move(outcome.centers);
      best.labels = std::move(outcome.labels);
      best.cluster_sizes = std::move(outcome.sizes);
      best.inertia = outcome.inertia;
      best.n_iter = outcome.n_iter;
      best.converged = outcome.converged;
      best.best_init = run;
    }
  }
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
  validate(params, X.rows(), X.cols(), sample_weight);
  KMeansData data(backend, X, sample_weight, "kmeans_fit");
  return fit(data, params, start);
}

KMeansResult kmeans_fit(Backend& backend, const KMeansParams& params, const DeviceArray<float>& X,
                        const std::vector<float>* sample_weight) {
  const auto start = std::chrono::steady_clock::now();
  validate(params, X.rows(), X.cols(), sample_weight);
  KMeansData data(backend, X, sample_weight, "kmeans_fit");
  return fit(data, params, start);
}

namespace {

void check_centers(MatrixView<const float> centers, int64_t d, const char* where) {
  internal::check_finite_matrix(centers, where, "centers");
  require(centers.cols() == d, ErrorCode::shape_mismatch, where, "centers have ",
          centers.cols(), " features, X has ", d);
  require(centers.rows() <= std::numeric_limits<int32_t>::max(), ErrorCode::invalid_argument,
          where, "too many centres: ", centers.rows());
}

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
  check_centers(centers, X.cols(), where);
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
  check_centers(model.centers.view(), X.cols(), where);
  KMeansData data(backend, X, nullptr, where);
  return predict(data, model.centers.view());
}

}  // namespace stray
