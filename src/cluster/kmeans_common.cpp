// What the dense fit (kmeans.cpp) and the fit on sparse rows
// (kmeans_sparse.cpp) share: the checks of their parameters, sklearn's
// M-step and relocation rule, tol, and the n_init loop.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "cluster/kmeans_data.hpp"
#include "core/check.hpp"

namespace stray {
namespace internal {

void validate_kmeans_params(const KMeansParams& p, int64_t n, int64_t d,
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

double update_kmeans_centers(const std::vector<double>& sums, const std::vector<double>& counts,
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

std::vector<int64_t> empty_clusters(const std::vector<double>& counts) {
  std::vector<int64_t> empty;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] == 0.0) empty.push_back(static_cast<int64_t>(c));
  }
  return empty;
}

void move_row_to_empty(std::vector<double>& sums, std::vector<double>& counts, int64_t d,
                       int64_t from, int64_t to, double w, const float* row) {
  for (int64_t j = 0; j < d; ++j) {
    sums[static_cast<std::size_t>(from * d + j)] -= w * row[j];
    sums[static_cast<std::size_t>(to * d + j)] = w * row[j];
  }
  counts[static_cast<std::size_t>(from)] -= w;
  counts[static_cast<std::size_t>(to)] = w;
}

std::vector<int64_t> farthest_rows(const std::vector<float>& sq_dist, std::size_t count) {
  std::vector<int64_t> order(sq_dist.size());
  std::iota(order.begin(), order.end(), 0);
  const std::size_t take = std::min(count, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(take), order.end(),
                    [&](int64_t a, int64_t b) {
                      return sq_dist[a] != sq_dist[b] ? sq_dist[a] > sq_dist[b] : a < b;
                    });
  order.resize(take);
  return order;
}

double absolute_tol(const KMeansParams& params, const std::vector<double>& variance) {
  return params.tol * std::accumulate(variance.begin(), variance.end(), 0.0) /
         static_cast<double>(variance.size());
}

KMeansResult best_of_runs(const KMeansParams& params,
                          const std::function<LloydOutcome(Rng&)>& one_run) {
  int runs = params.n_init;
  if (params.init == KMeansInit::explicit_centers) runs = 1;
  if (runs == 0) runs = params.init == KMeansInit::random ? 10 : 1;

  Rng rng(params.seed);
  KMeansResult best;
  bool have_best = false;
  for (int run = 0; run < runs; ++run) {
    LloydOutcome outcome = one_run(rng);
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
  return best;
}

void check_kmeans_centers(MatrixView<const float> centers, int64_t d, const char* where) {
  internal::check_finite_matrix(centers, where, "centers");
  require(centers.cols() == d, ErrorCode::shape_mismatch, where, "centers have ",
          centers.cols(), " features, X has ", d);
  require(centers.rows() <= std::numeric_limits<int32_t>::max(), ErrorCode::invalid_argument,
          where, "too many centres: ", centers.rows());
}

std::vector<double> cumulative_mass(const RowWeight& weight, int64_t n, const float* mass) {
  std::vector<double> cumulative(static_cast<std::size_t>(n));
  double running = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    running += weight(i) * (mass ? mass[i] : 1.0);
    cumulative[static_cast<std::size_t>(i)] = running;
  }
  return cumulative;
}

std::vector<int64_t> draw_distinct_rows(const RowWeight& weight, int64_t n, int64_t k, Rng& rng) {
  int64_t positive = 0;
  for (int64_t i = 0; i < n; ++i) positive += weight(i) > 0.0;
  require(positive >= k, ErrorCode::invalid_argument, "kmeans_fit",
          "random init needs n_clusters=", k, " rows with positive weight, found ", positive);
  std::vector<int64_t> ids;
  std::vector<float> mass(static_cast<std::size_t>(n), 1.0f);
  while (static_cast<int64_t>(ids.size()) < k) {
    // A taken row gets no mass, so it cannot be drawn again; the sums are
    // rebuilt per draw, which is cheap for the k of a random init.
    const int64_t i = draw_index(cumulative_mass(weight, n, mass.data()), rng);
    ids.push_back(i);
    mass[static_cast<std::size_t>(i)] = 0.0f;
  }
  return ids;
}

}  // namespace internal
}  // namespace stray
