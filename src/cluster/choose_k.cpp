// k from the data: k-means on a sample for each k, the sample's silhouette,
// the smallest k near the best. See include/stray/cluster/choose_k.hpp.
#include "stray/cluster/choose_k.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>
#include <unordered_set>

#include "core/check.hpp"
#include "core/rng.hpp"
#include "stray/metrics/silhouette.hpp"

namespace stray {
namespace {

void check_params(const ChooseKParams& p) {
  constexpr const char* where = "choose_k";
  internal::require(p.k_min >= 2, ErrorCode::invalid_argument, where, "k_min=", p.k_min, " < 2");
  internal::require(p.k_max >= p.k_min, ErrorCode::invalid_argument, where, "k_max=", p.k_max,
                    " < k_min=", p.k_min);
  internal::require(p.sample_size >= 2, ErrorCode::invalid_argument, where,
                    "sample_size=", p.sample_size, " < 2");
  internal::require(std::isfinite(p.tolerance) && p.tolerance >= 0.0, ErrorCode::invalid_argument,
                    where, "tolerance=", p.tolerance, " is not a finite value >= 0");
}

// m distinct rows of X, in order (selection sampling, Knuth's algorithm S).
Matrix<float> sample_rows(MatrixView<const float> X, int64_t m, uint64_t seed) {
  const int64_t n = X.rows(), d = X.cols();
  Matrix<float> S(m, d);
  internal::Rng rng(seed ^ 0x5eed5eedULL);
  int64_t taken = 0;
  for (const int64_t i : rng.sample_in_order(n, m)) {
    std::copy(X.row(i), X.row(i) + d, S.row(taken++));
  }
  return S;
}

int64_t count_distinct_rows(MatrixView<const float> S) {
  std::unordered_set<std::string_view> seen;
  const auto row_bytes = static_cast<std::size_t>(S.cols()) * sizeof(float);
  for (int64_t i = 0; i < S.rows(); ++i) {
    seen.emplace(reinterpret_cast<const char*>(S.row(i)), row_bytes);
  }
  return static_cast<int64_t>(seen.size());
}

// Every k up to 16, then a coarser grid: the curve is broad where k is large.
std::vector<int64_t> k_grid(int64_t k_min, int64_t k_max) {
  std::vector<int64_t> ks;
  for (int64_t k = k_min; k <= k_max; k += k < 16 ? 1 : (k < 32 ? 4 : 8)) ks.push_back(k);
  return ks;
}

// k-means restarts per k when the caller left n_init to us: a small
// sample's curve is flat and noisy (41 real images score 0.25–0.27 for every
// k from 2 to 9), so a lucky or unlucky single fit decides k; restarts cost
// little there. Large samples are stable with two.
int scan_inits(int64_t sample_size) { return sample_size <= 500 ? 10 : 2; }

// Mean silhouette of a labeling of the sample; 0 when k-means left fewer
// than 2 clusters occupied (duplicates), where the silhouette is undefined.
double mean_silhouette(MatrixView<const float> D, const std::vector<int32_t>& labels) {
  const std::unordered_set<int32_t> used(labels.begin(), labels.end());
  if (used.size() < 2 || used.size() >= labels.size()) return 0.0;
  double total = 0.0;
  for (const double s : silhouette_samples_precomputed(D, labels)) total += s;
  return total / static_cast<double>(labels.size());
}

}  // namespace

KChoice choose_k(Backend& backend, const ChooseKParams& params, MatrixView<const float> X) {
  check_params(params);
  internal::check_finite_matrix(X, "choose_k");
  internal::require(X.rows() >= 2, ErrorCode::invalid_argument, "choose_k", "X has ", X.rows(),
                    " rows; choosing k needs at least 2");
  KChoice out;
  out.sample_size = std::min(X.rows(), params.sample_size);
  const Matrix<float> S = sample_rows(X, out.sample_size, params.kmeans.seed);
  out.distinct_rows = count_distinct_rows(S.view());
  const int64_t k_max = std::min({params.k_max, out.distinct_rows, out.sample_size - 1});
  if (k_max < params.k_min) return out;

  // Many small fits: a serial twin of the caller's backend (on the CPU, one
  // thread: no fork/join per step; the results are the same either way).
  const std::unique_ptr<Backend> serial = backend.make_serial();
  const Matrix<float> D = pairwise_distances(*serial, S.view());
  double best = -std::numeric_limits<double>::infinity();
  int below = 0;
  for (const int64_t k : k_grid(params.k_min, k_max)) {
    KMeansParams kp = params.kmeans;
    kp.n_clusters = k;
    kp.n_init = kp.n_init > 0 ? kp.n_init : scan_inits(out.sample_size);
    kp.max_iter = std::min(kp.max_iter, 30);
    const KMeansResult km = kmeans_fit(*serial, kp, S.view());
    const double s = mean_silhouette(D.view(), km.labels);
    out.curve.push_back({k, s, km.inertia});
    if (s > best) {
      best = s;
      below = 0;
    } else if (s < 0.5 * best && ++below == 3) {
      break;  // well past the peak; larger k only costs more
    }
  }
  out.best_silhouette = best;
  for (const KCandidate& c : out.curve) {
    if (c.silhouette >= best - params.tolerance) {
      out.k = c.k;
      break;
    }
  }
  return out;
}

}  // namespace stray
