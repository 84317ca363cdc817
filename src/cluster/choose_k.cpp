// k from the data: k-means on a sample for each k, the sample's silhouette,
// the smallest k near the best. See include/stray/cluster/choose_k.hpp.
#include "stray/cluster/choose_k.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string_view>
#include <unordered_set>

#include "core/check.hpp"
#include "core/name_table.hpp"
#include "core/rng.hpp"
#include "stray/cluster/agglomerative.hpp"
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

// m distinct rows of X, in order (selection sampling, Knuth's algorithm S),
// and which rows they are.
struct Sample {
  std::vector<int64_t> rows;
  Matrix<float> X;
};

Sample sample_rows(MatrixView<const float> X, int64_t m, uint64_t seed) {
  const int64_t d = X.cols();
  Sample s;
  internal::Rng rng(seed ^ 0x5eed5eedULL);
  s.rows = rng.sample_in_order(X.rows(), m);
  s.X = Matrix<float>(m, d);
  int64_t taken = 0;
  for (const int64_t i : s.rows) std::copy(X.row(i), X.row(i) + d, s.X.row(taken++));
  return s;
}

int64_t count_distinct_rows(MatrixView<const float> S) {
  std::unordered_set<std::string_view, internal::SeededNameHash> seen;  // rows' bytes
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

// A labeling of the sample for one k, and its inertia on the sample.
struct SampleLabels {
  std::vector<int32_t> labels;
  double inertia = 0.0;
};
using Labeler = std::function<SampleLabels(int64_t k)>;

// The scan both choosers share: each k of the grid labelled, scored by
// the sample's mean silhouette, and the smallest k near the best kept.
void scan(const ChooseKParams& params, const Matrix<float>& D, int64_t k_max,
          const Labeler& label, KChoice& out) {
  double best = -std::numeric_limits<double>::infinity();
  int below = 0;
  for (const int64_t k : k_grid(params.k_min, k_max)) {
    const SampleLabels sl = label(k);
    const double s = mean_silhouette(D.view(), sl.labels);
    out.curve.push_back({k, s, sl.inertia});
    if (s > best) {
      best = s;
      below = 0;
    } else if (s < 0.5 * best && ++below == 3) {
      break;  // well past the peak; larger k only costs more
    }
  }
  out.best_silhouette = best;
  // Relative to 1 − best (include/stray/cluster/choose_k.hpp says why).
  const double floor = best - params.tolerance * (1.0 - best);
  for (const KCandidate& c : out.curve) {
    if (c.silhouette >= floor) {
      out.k = c.k;
      break;
    }
  }
}

// Checks, draws the sample and caps k_max; returns k_max (< k_min: no scan).
int64_t prepare(const ChooseKParams& params, MatrixView<const float> X, const char* where,
                Sample& sample, KChoice& out) {
  check_params(params);
  internal::check_finite_matrix(X, where);
  internal::require(X.rows() >= 2, ErrorCode::invalid_argument, where, "X has ", X.rows(),
                    " rows; choosing k needs at least 2");
  out.sample_size = std::min(X.rows(), params.sample_size);
  sample = sample_rows(X, out.sample_size, params.kmeans.seed);
  out.distinct_rows = count_distinct_rows(sample.X.view());
  return std::min({params.k_max, out.distinct_rows, out.sample_size - 1});
}

// Σ ‖x − mean of its cluster‖² over the sample's rows, in float64.
double sample_inertia(const Matrix<float>& S, const std::vector<int32_t>& labels, int64_t k) {
  const int64_t d = S.cols();
  Matrix<double> sum(k, d, 0.0);
  std::vector<double> sq(static_cast<std::size_t>(k), 0.0), count(static_cast<std::size_t>(k), 0.0);
  for (int64_t i = 0; i < S.rows(); ++i) {
    const auto c = static_cast<std::size_t>(labels[static_cast<std::size_t>(i)]);
    count[c] += 1.0;
    for (int64_t j = 0; j < d; ++j) {
      const double v = S(i, j);
      sum(static_cast<int64_t>(c), j) += v;
      sq[c] += v * v;
    }
  }
  double total = 0.0;  // Σ_c (Σ‖x‖² − ‖Σx‖²/n_c)
  for (int64_t c = 0; c < k; ++c) {
    if (count[static_cast<std::size_t>(c)] == 0.0) continue;
    double norm = 0.0;
    for (int64_t j = 0; j < d; ++j) norm += sum(c, j) * sum(c, j);
    total += sq[static_cast<std::size_t>(c)] - norm / count[static_cast<std::size_t>(c)];
  }
  return std::max(total, 0.0);
}

}  // namespace

KChoice choose_k(Backend& backend, const ChooseKParams& params, MatrixView<const float> X) {
  KChoice out;
  Sample sample;
  const int64_t k_max = prepare(params, X, "choose_k", sample, out);
  if (k_max < params.k_min) return out;
  // Many small fits: a serial twin of the caller's backend (on the CPU, one
  // thread: no fork/join per step; the results are the same either way).
  const std::unique_ptr<Backend> serial = backend.make_serial();
  const Matrix<float> D = pairwise_distances(*serial, sample.X.view());
  scan(params, D, k_max, [&](int64_t k) {
    KMeansParams kp = params.kmeans;
    kp.n_clusters = k;
    kp.n_init = kp.n_init > 0 ? kp.n_init : scan_inits(out.sample_size);
    kp.max_iter = std::min(kp.max_iter, 30);
    KMeansResult km = kmeans_fit(*serial, kp, sample.X.view());
    return SampleLabels{std::move(km.labels), km.inertia};
  }, out);
  return out;
}

KChoice choose_k_from_tree(Backend& backend, const ChooseKParams& params,
                           MatrixView<const float> X, MatrixView<const double> Z) {
  constexpr const char* where = "choose_k_from_tree";
  internal::require(Z.rows() == X.rows() - 1 && Z.cols() == 4, ErrorCode::shape_mismatch, where,
                    "the linkage matrix is ", Z.rows(), " x ", Z.cols(), " for ", X.rows(),
                    " rows (expected ", X.rows() - 1, " x 4)");
  KChoice out;
  Sample sample;
  const int64_t k_max = prepare(params, X, where, sample, out);
  if (k_max < params.k_min) return out;
  const std::unique_ptr<Backend> serial = backend.make_serial();
  const Matrix<float> D = pairwise_distances(*serial, sample.X.view());
  scan(params, D, k_max, [&](int64_t k) {
    const std::vector<int32_t> all = cut_tree_labels(Z, k);
    SampleLabels sl;
    sl.labels.reserve(sample.rows.size());
    for (const int64_t i : sample.rows) sl.labels.push_back(all[static_cast<std::size_t>(i)]);
    sl.inertia = sample_inertia(sample.X, sl.labels, k);
    return sl;
  }, out);
  return out;
}

}  // namespace stray
