// Rand and adjusted Rand from the pair confusion matrix, as scikit-learn:
// of the n·(n−1) ordered pairs of entities, tp are together on both sides,
// fp together only in pred, fn together only in truth, tn apart on both.
//
// The counts are exact integers. sklearn computes ARI's products (up to n⁴)
// with Python's unbounded integers; 128-bit integers hold them for
// n < 2³¹, and beyond that long double keeps 64 bits of mantissa.
#include "metrics/label_scores_internal.hpp"

namespace stray::internal {
namespace {

using Wide = __int128;

struct PairConfusion {
  Wide tn = 0, fp = 0, fn = 0, tp = 0;
};

PairConfusion pair_confusion(const Contingency& t) {
  Wide cells = 0, rows = 0, cols = 0;  // sums of squared counts
  for (const ContingencyCell& c : t.cells) cells += Wide(c.count) * c.count;
  for (int64_t a : t.row_sums) rows += Wide(a) * a;
  for (int64_t b : t.col_sums) cols += Wide(b) * b;
  const Wide n = t.n;
  PairConfusion p;
  p.tp = cells - n;
  p.fp = cols - cells;
  p.fn = rows - cells;
  p.tn = n * n - p.fp - p.fn - cells;
  return p;
}

template <typename T>
double ari_formula(T tn, T fp, T fn, T tp) {
  const T num = 2 * (tp * tn - fn * fp);
  const T den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return static_cast<double>(static_cast<long double>(num) / static_cast<long double>(den));
}

}  // namespace

double rand_from_table(const Contingency& t) {
  const PairConfusion p = pair_confusion(t);
  const Wide agree = p.tn + p.tp, pairs = p.tn + p.fp + p.fn + p.tp;
  // One entity, one cluster on both sides, or singletons on both: perfect.
  if (agree == pairs || pairs == 0) return 1.0;
  return static_cast<double>(static_cast<long double>(agree) / static_cast<long double>(pairs));
}

double adjusted_rand_from_table(const Contingency& t) {
  const PairConfusion p = pair_confusion(t);
  if (p.fn == 0 && p.fp == 0) return 1.0;  // full agreement
  if (t.n < (int64_t{1} << 31)) return ari_formula<Wide>(p.tn, p.fp, p.fn, p.tp);
  using L = long double;
  return ari_formula<L>(L(p.tn), L(p.fp), L(p.fn), L(p.tp));
}

}  // namespace stray::internal
