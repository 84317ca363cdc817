// Expected mutual information of two random labelings with fixed class
// sizes (Vinh, Epps & Bailey 2010), the correction term of adjusted MI.
//
//   E[MI] = Σ_i Σ_j Σ_k  (k/N) · log(N·k / (a_i·b_j)) · P(k; N, a_i, b_j)
//
// where P is the hypergeometric probability that a row class of a_i
// entities and a column class of b_j share k of the N. sklearn's
// _expected_mutual_info_fast evaluates every k from max(1, a+b−N) to
// min(a, b) with lgamma; that costs Σ_ij min(a_i, b_j), which for
// 10,000,000 labels in two classes is ten million lgamma calls per pair.
//
// Here the same sum is taken in a way that costs far less and is more
// accurate:
//  - pairs of equal (a, b) are evaluated once and weighted by how many
//    pairs share those sizes (a labeling of N has at most √(2N) distinct
//    class sizes);
//  - for each pair the probabilities are built from the mode outward by the
//    ratio P(k+1)/P(k), starting from P(mode) = 1 and dividing by the total
//    mass at the end, so no lgamma of large numbers (whose rounding sklearn
//    inherits: about 1e-8 relative at N = 10⁷) enters;
//  - the walk in each direction stops when the tail left, bounded by a
//    geometric series (the hypergeometric is log-concave, so the ratios
//    only fall away from the mode), is below 1e-18 of the mass so far.
#include <algorithm>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "metrics/label_scores_internal.hpp"
#include "stray/metrics/label_scores.hpp"

namespace stray {
namespace {

constexpr double kTail = 1e-18;

/// (class size, how many classes have it), sizes ascending. Small sizes are
/// counted in an array; the few large ones (at most N / kSmall) in a map.
std::vector<std::pair<int64_t, double>> size_multiplicities(const std::vector<int64_t>& sizes) {
  constexpr int64_t kSmall = 1 << 16;
  std::vector<int64_t> small(kSmall, 0);
  std::map<int64_t, int64_t> large;
  for (int64_t s : sizes) {
    if (s < kSmall) {
      ++small[s];
    } else {
      ++large[s];
    }
  }
  std::vector<std::pair<int64_t, double>> out;
  for (int64_t s = 0; s < kSmall; ++s) {
    if (small[s] != 0) out.emplace_back(s, static_cast<double>(small[s]));
  }
  for (const auto& [s, m] : large) out.emplace_back(s, static_cast<double>(m));
  return out;
}

/// Σ_k (k/N)·log(N·k/(a·b))·P(k) over the hypergeometric overlap of a row
/// class of size a and a column class of size b among n entities.
double pair_term(int64_t a, int64_t b, int64_t n) {
  const int64_t lo = std::max<int64_t>(0, a + b - n), hi = std::min(a, b);
  const double N = static_cast<double>(n);
  const double log_a = std::log(static_cast<double>(a)), log_b = std::log(static_cast<double>(b));
  const double log_n = std::log(N);
  // The mode of the hypergeometric distribution.
  const int64_t mode = std::clamp<int64_t>(
      static_cast<int64_t>((static_cast<double>(a + 1) * static_cast<double>(b + 1)) / (N + 2.0)),
      lo, hi);
  const double rest = static_cast<double>(n - a - b);  // N − a − b (may be negative)
  auto weight = [&](int64_t k) {
    if (k == 0) return 0.0;
    const double kd = static_cast<double>(k);
    return (kd / N) * (((log_n + std::log(kd)) - log_a) - log_b);
  };
  double mass = 1.0, sum = weight(mode);
  // Upward: P(k+1)/P(k) = (a−k)(b−k) / ((k+1)(N−a−b+k+1)).
  double p = 1.0;
  for (int64_t k = mode; k < hi; ++k) {
    const double kd = static_cast<double>(k);
    const double ratio = (static_cast<double>(a - k) * static_cast<double>(b - k)) /
                         ((kd + 1.0) * (rest + kd + 1.0));
    p *= ratio;
    mass += p;
    sum += p * weight(k + 1);
    if (ratio < 1.0 && p * ratio / (1.0 - ratio) < kTail * mass) break;
  }
  // Downward: P(k−1)/P(k) = k(N−a−b+k) / ((a−k+1)(b−k+1)).
  p = 1.0;
  for (int64_t k = mode; k > lo; --k) {
    const double kd = static_cast<double>(k);
    const double ratio = (kd * (rest + kd)) /
                         (static_cast<double>(a - k + 1) * static_cast<double>(b - k + 1));
    p *= ratio;
    mass += p;
    sum += p * weight(k - 1);
    if (ratio < 1.0 && p * ratio / (1.0 - ratio) < kTail * mass) break;
  }
  return sum / mass;
}

}  // namespace

double internal::expected_mutual_info_of(const Contingency& t) {
  if (t.row_sums.size() <= 1 || t.col_sums.size() <= 1) return 0.0;
  const auto rows = size_multiplicities(t.row_sums);
  const auto cols = size_multiplicities(t.col_sums);
  double emi = 0.0;
  for (const auto& [a, ma] : rows) {
    for (const auto& [b, mb] : cols) emi += ma * mb * pair_term(a, b, t.n);
  }
  return emi;
}

double expected_mutual_info(const Contingency& t) {
  internal::check_contingency(t, "expected_mutual_info");
  return internal::expected_mutual_info_of(t);
}

}  // namespace stray
