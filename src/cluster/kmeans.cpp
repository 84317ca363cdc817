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

void validate(const KMeansParams& p, MatrixView<const float> X,
              const std::vector<float>* sample_weight) {
  const char* where = "kmeans_fit";
  // X's values are checked as its column statistics are formed (KMeansData).
  internal::check_nonempty_matrix(X, where);
  require(p.n_clusters >= 1, ErrorCode::invalid_argument, where, "n_clusters=", p.n_clusters,
          " must be >= 1");
  require(p.n_clusters <= std::numeric_limits<int32_t>::max(), ErrorCode::invalid_argument, where,
          "n_clusters=", p.n_clusters, " exceeds the int32 label range");
  require(X.rows() >= p.n_clusters, ErrorCode::invalid_argument, where, "n_samples=", X.rows(),
          " < n_clusters=", p.n_clusters);
  require(p.max_iter >= 1, ErrorCode::invalid_argument, where, "max_iter=", p.max_iter,
          " must be >= 1");
  require(p.n_init >= 0, ErrorCode::invalid_argument, where, "n_init=", p.n_init,
          " must be >= 0 (0 = auto)");
  require(std::isfinite(p.tol) && p.tol >= 0.0, ErrorCode::invalid_argument, where, "tol=", p.tol,
          " must be finite and >= 0");
  if (p.init == KMeansInit::explicit_centers) {
    require(p.initial_centers.rows() == p.n_clusters && p.initial_centers.cols() == X.cols(),
            ErrorCode::shape_mismatch, where, "initial_centers is ", p.initial_centers.rows(),
            " x ", p.initial_centers.cols(), ", expected ", p.n_clusters, " x ", X.cols());
    internal::check_finite_matrix(p.initial_centers.view(), where, "initial_centers");
  }
  if (p.init == KMeansInit::kmeans_parallel) {
    require(p.parallel_rounds >= 1 && p.parallel_oversampling > 0.0 &&
                p.parallel_max_candidates >= 1,
            ErrorCode::invalid_argument, where,
            "k-means|| needs parallel_rounds >= 1, parallel_oversampling > 0 and "
            "parallel_max_candidates >= 1");
  }
  if (sample_weight) internal::check_sample_weight(*sample_weight, X.rows(), where);
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
                             const DeviceArray<int32_t>& labels,
                             const std::vector<int32_t>& host_labels, std::vector<double>& sums,
                             std::vector<double>& counts) {
  const int64_t k = static_cast<int64_t>(counts.size()), d = data.d(), n = data.n();
  std::vector<int64_t> empty;
  for (int64_t c = 0; c < k; ++c) {
    if (counts[c] == 0.0) empty.push_back(c);
  }
  if (empty.empty()) return false;
  DeviceArray<float> dist = data.backend.allocate<float>(n);
  data.backend.assigned_sq_distances(data.X, old_centers, labels, dist);
  const std::vector<float> host_dist = data.backend.download_vector(dist);
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
    const int64_t from = host_labels[far], to = empty[e];
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

LloydOutcome lloyd(KMeansData& data, Matrix<float> centers, const KMeansParams& p,
                   double tol_abs) {
  Backend& be = data.backend;
  const int64_t n = data.n(), d = data.d(), k = p.n_clusters;
  DeviceArray<float> device_centers = be.upload(centers.view());
  DeviceArray<int32_t> labels = be.allocate<int32_t>(n);
  // Distance bounds for pruned assignment, and how far each centre moved.
  AssignmentBounds bounds;
  std::vector<double> center_shift(static_cast<std::size_t>(k), 0.0);
  std::vector<int32_t> host_labels(static_cast<std::size_t>(n));
  std::vector<int32_t> previous_labels(static_cast<std::size_t>(n), -1);
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
  // previous_labels, so they can be updated by the rows that changed.
  bool sums_follow_labels = false;
  for (int it = 0; it < p.max_iter; ++it) {
    be.nearest_centroid_pruned(data.X, device_centers, labels, bounds, center_shift.data(),
                               it == 0);
    be.download(labels, host_labels.data());
    if (sums_follow_labels) {
      be.update_centroid_sums(data.X, labels, previous_labels.data(), host_labels.data(), data.w(),
                              k, sums.data(), counts.data());
      // Weights that left a cluster are subtracted in another order than they
      // were added: a cluster that lost all its weight may keep a rounding
      // residue instead of exactly 0 and escape relocation. Recompute then.
      const double residue = 1e-9 * total_weight;
      if (std::any_of(counts.begin(), counts.end(), [&](double c) { return c <= residue; })) {
        be.accumulate_centroids(data.X, labels, data.w(), k, sums.data(), counts.data());
      }
    } else {
      be.accumulate_centroids(data.X, labels, data.w(), k, sums.data(), counts.data());
    }
    // Relocation moves sums without relabelling: recompute next time.
    sums_follow_labels =
        !relocate_empty_clusters(data, device_centers, labels, host_labels, sums, counts);

    double shift = 0.0;
    for (int64_t c = 0; c < k; ++c) {
      double moved = 0.0;
      for (int64_t j = 0; j < d; ++j) {
        // A cluster with no weight at all keeps its centre (sklearn keeps
        // the zero sum; that only happens with zero sample weights).
        const float v = counts[c] > 0.0 ? static_cast<float>(sums[c * d + j] / counts[c])
                                        : centers(c, j);
        const double delta = static_cast<double>(v) - centers(c, j);
        moved += delta * delta;
        new_centers(c, j) = v;
      }
      shift += moved;
      center_shift[c] = std::sqrt(moved);
    }
    std::swap(centers, new_centers);
    be.copy_to_device(*device_centers.buffer(), 0, centers.data(), device_centers.bytes());
    out.n_iter = it + 1;
    if (host_labels == previous_labels) {
      strict = true;  // labels no longer change: the centres are a fixed point
      out.converged = true;
      break;
    }
    if (shift <= tol_abs) {
      out.converged = true;
      break;
    }
    std::swap(host_labels, previous_labels);
  }
  if (!strict) {
    // Final E-step so the labels belong to the returned centres.
    be.nearest_centroid_pruned(data.X, device_centers, labels, bounds, center_shift.data(),
                               false);
  }
  be.download(labels, host_labels.data());
  out.inertia = be.assigned_inertia(data.X, device_centers, labels, data.w());
  out.sizes.assign(static_cast<std::size_t>(k), 0.0);
  for (int64_t i = 0; i < n; ++i) out.sizes[host_labels[i]] += data.weight(i);
  out.labels = std::move(host_labels);
  out.centers = std::move(centers);
  return out;
}

}  // namespace

KMeansResult kmeans_fit(Backend& backend, const KMeansParams& params, MatrixView<const float> X,
                        const std::vector<float>* sample_weight) {
  const auto start = std::chrono::steady_clock::now();
  validate(params, X, sample_weight);
  KMeansData data(backend, X, sample_weight, "kmeans_fit");

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
        init = Matrix<float>(params.n_clusters, X.cols());
        for (int64_t c = 0; c < params.n_clusters; ++c) {
          for (int64_t j = 0; j < X.cols(); ++j) {
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

NearestCenters kmeans_predict(Backend& backend, MatrixView<const float> centers,
                              MatrixView<const float> X) {
  const char* where = "kmeans_predict";
  internal::check_nonempty_matrix(X, where);
  internal::check_finite_matrix(centers, where, "centers");
  require(centers.cols() == X.cols(), ErrorCode::shape_mismatch, where, "centers have ",
          centers.cols(), " features, X has ", X.cols());
  require(centers.rows() <= std::numeric_limits<int32_t>::max(), ErrorCode::invalid_argument,
          where, "too many centres: ", centers.rows());
  // Centre both on X's column means: expanded distances lose less precision.
  KMeansData data(backend, X, nullptr, where);  // checks X's values
  Matrix<float> shifted(centers.rows(), centers.cols());
  for (int64_t c = 0; c < centers.rows(); ++c) {
    for (int64_t j = 0; j < centers.cols(); ++j) {
      shifted(c, j) = static_cast<float>(centers(c, j) - data.shift[j]);
    }
  }
  DeviceArray<float> device_centers = backend.upload(shifted.view());
  const int64_t n = X.rows();
  DeviceArray<int32_t> labels = backend.allocate<int32_t>(n);
  DeviceArray<float> dist = backend.allocate<float>(n);
  backend.nearest_centroid(data.X, device_centers, labels, dist);
  backend.assigned_sq_distances(data.X, device_centers, labels, dist);
  NearestCenters out;
  out.labels = backend.download_vector(labels);
  out.sq_distances = backend.download_vector(dist);
  return out;
}

}  // namespace stray
