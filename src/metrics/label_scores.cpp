// Information-theoretic scores of two labelings from their contingency
// table, written as scikit-learn 1.9 computes them (same formulas, same
// order of special cases), so results agree to rounding.
#include "stray/metrics/label_scores.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "metrics/label_scores_internal.hpp"

namespace stray {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

// The helpers below are kept out of line: the compiler may fuse a·b + c
// into one rounding differently in each caller it is inlined into, and the
// single-score functions must give the same bits as compare_labelings.

/// log(count), from a table for the small counts that most classes and
/// cells of large inputs have (the same values std::log gives): a labeling
/// of ten million singletons would otherwise spend most of its time in log.
double log_count(int64_t count) {
  constexpr int64_t kTable = 1 << 16;
  static const std::vector<double> table = [] {
    std::vector<double> t(kTable);
    for (int64_t k = 1; k < kTable; ++k) t[k] = std::log(static_cast<double>(k));
    return t;
  }();
  return count < kTable ? table[count] : std::log(static_cast<double>(count));
}

/// sklearn's _entropy from the class sizes: −Σ (p/N)(log p − log N).
[[gnu::noinline]] double entropy(const std::vector<int64_t>& sizes) {
  if (sizes.size() == 1) return 0.0;
  double total = 0.0;
  for (int64_t s : sizes) total += static_cast<double>(s);
  const double log_total = std::log(total);
  double h = 0.0;
  for (int64_t s : sizes) h += (static_cast<double>(s) / total) * (log_count(s) - log_total);
  return -h;
}

/// sklearn's mutual_info_score on the table: terms smaller than machine
/// epsilon are dropped, and the sum is clipped at 0. sklearn's log(a·b) is
/// taken as log a + log b (the same to rounding; no log per cell).
[[gnu::noinline]] double mutual_info(const Contingency& t) {
  if (t.row_sums.size() == 1 || t.col_sums.size() == 1) return 0.0;
  const double n = static_cast<double>(t.n);
  const double log_n = std::log(n);
  double mi = 0.0;
  for (const ContingencyCell& c : t.cells) {
    const double share = static_cast<double>(c.count) / n;
    const double log_outer = log_count(t.row_sums[c.row]) + log_count(t.col_sums[c.col]);
    // sklearn's -log(a·b) + log(Σa) + log(Σb), in its order; both sums are n.
    const double term = share * (log_count(c.count) - log_n) + share * ((-log_outer + log_n) + log_n);
    if (std::abs(term) >= kEps) mi += term;
  }
  return std::max(mi, 0.0);
}

bool both_single(const Contingency& t) {
  return t.row_sums.size() == 1 && t.col_sums.size() == 1;
}

[[gnu::noinline]] double nmi_from(const Contingency& t, double mi, double h_true, double h_pred) {
  if (both_single(t)) return 1.0;  // neither side splits the data: a perfect match
  if (mi == 0.0) return 0.0;
  return mi / ((h_true + h_pred) / 2.0);
}

[[gnu::noinline]] double ami_from(const Contingency& t, double mi, double h_true, double h_pred) {
  if (both_single(t)) return 1.0;
  if (t.row_sums.size() == 1 || t.col_sums.size() == 1) return 0.0;
  // Identical partitions (up to renaming) score 1, the value sklearn means
  // to give. When both sides are all singletons, MI, both entropies and
  // E[MI] all equal log n, and sklearn's 1 (eps / eps below) rests on its
  // own rounding; any other order of summation can turn it to −1 or −2.
  if (t.cells.size() == t.row_sums.size() && t.cells.size() == t.col_sums.size()) return 1.0;
  const double emi = internal::expected_mutual_info_of(t);
  // The mean entropy should never fall below E[MI], nor MI equal it, but
  // rounding can do both: keep the sign and stay eps away from 0, as sklearn.
  double denominator = (h_true + h_pred) / 2.0 - emi;
  denominator = denominator < 0 ? std::min(denominator, -kEps) : std::max(denominator, kEps);
  double numerator = mi - emi;
  numerator = numerator < 0 ? std::min(numerator, -kEps) : std::max(numerator, kEps);
  return numerator / denominator;
}

struct Hcv {
  double homogeneity, completeness, v_measure;
};

[[gnu::noinline]] Hcv hcv_from(double mi, double h_true, double h_pred) {
  Hcv r;
  r.homogeneity = h_true != 0.0 ? mi / h_true : 1.0;
  r.completeness = h_pred != 0.0 ? mi / h_pred : 1.0;
  const double sum = r.homogeneity + r.completeness;
  r.v_measure = sum == 0.0 ? 0.0 : 2.0 * r.homogeneity * r.completeness / sum;
  return r;
}

}  // namespace

LabelScores compare_labelings(const Contingency& t) {
  internal::check_contingency(t, "compare_labelings");
  LabelScores s;
  s.rand = internal::rand_from_table(t);
  s.adjusted_rand = internal::adjusted_rand_from_table(t);
  const double h_true = entropy(t.row_sums), h_pred = entropy(t.col_sums);
  s.mutual_info = mutual_info(t);
  s.normalized_mutual_info = nmi_from(t, s.mutual_info, h_true, h_pred);
  s.adjusted_mutual_info = ami_from(t, s.mutual_info, h_true, h_pred);
  const Hcv hcv = hcv_from(s.mutual_info, h_true, h_pred);
  s.homogeneity = hcv.homogeneity;
  s.completeness = hcv.completeness;
  s.v_measure = hcv.v_measure;
  return s;
}

LabelScores compare_labelings(const std::vector<int64_t>& truth,
                              const std::vector<int64_t>& pred) {
  return compare_labelings(contingency_table(truth, pred));
}

double rand_score(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  return internal::rand_from_table(contingency_table(truth, pred));
}

double mutual_info_score(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  return mutual_info(contingency_table(truth, pred));
}

double normalized_mutual_info_score(const std::vector<int64_t>& truth,
                                    const std::vector<int64_t>& pred) {
  const Contingency t = contingency_table(truth, pred);
  return nmi_from(t, mutual_info(t), entropy(t.row_sums), entropy(t.col_sums));
}

double adjusted_mutual_info_score(const std::vector<int64_t>& truth,
                                  const std::vector<int64_t>& pred) {
  const Contingency t = contingency_table(truth, pred);
  return ami_from(t, mutual_info(t), entropy(t.row_sums), entropy(t.col_sums));
}

std::tuple<double, double, double> homogeneity_completeness_v_measure(
    const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  const Contingency t = contingency_table(truth, pred);
  const Hcv r = hcv_from(mutual_info(t), entropy(t.row_sums), entropy(t.col_sums));
  return {r.homogeneity, r.completeness, r.v_measure};
}

}  // namespace stray
