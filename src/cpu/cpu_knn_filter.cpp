// CPU backend: TileFilter (cpu_knn.hpp), the one place where a tile of
// float32 products becomes exact neighbours, for brute force and pruned
// tiles alike.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/knn_exact.hpp"
#include "cpu/cpu_knn.hpp"

namespace stray::internal {
namespace {

constexpr float kFloatMax = std::numeric_limits<float>::max();
/// Rows per chunk of a tile row: one vector minimum tells whether any of
/// them may be kept, and the kept ones are recomputed side by side.
constexpr int64_t kChunk = 16;

/// knn_exact_sq of x against reference rows rows[0..count) (count ≤ kChunk).
void exact_batch(const float* x, const float* reference, const int64_t* rows, int64_t count,
                 int64_t d, double* out) {
  const float* xs[kChunk];
  const float* ys[kChunk];
  for (int64_t c = 0; c < count; ++c) {
    xs[c] = x;
    ys[c] = reference + rows[c] * d;
  }
  knn_exact_pairs(xs, ys, count, d, out);
}

}  // namespace

void knn_exact_pairs(const float* const* x, const float* const* y, int64_t count, int64_t d,
                     double* out) {
  // One chain per pair, as knn_exact_sq; the chains are independent, so
  // the core overlaps them.
  for (int64_t c = 0; c < count; ++c) out[c] = knn_exact_sq(x[c], y[c], d);
}

TileFilter::TileFilter(const KnnTask& task, int64_t max_rows)
    : task_(task),
      bound_(ExpandedBound::make(task.d)),
      estimates_(static_cast<std::size_t>(max_rows)),
      taken_(static_cast<std::size_t>(max_rows), 0) {
  order_.reserve(static_cast<std::size_t>(max_rows));
}

void TileFilter::run(const TileQuery& q, const TileRows& r, const float* products,
                     KnnList& list) {
  // A full list of exact duplicates (bound 0) admits only lower indices.
  if (list.full() && list.bound() == 0.0 && r.min_index > list.index[task_.k - 1]) return;
  const int64_t nr = r.count, d = task_.d;
  const float nx32 = static_cast<float>(q.sq);
  const float* sq32 = r.sq32;
  float row_lowest = std::numeric_limits<float>::infinity();
#pragma omp simd reduction(min : row_lowest)
  for (int64_t b = 0; b < nr; ++b) row_lowest = std::min(row_lowest, nx32 + sq32[b] - 2.0f * products[b]);
  const bool seeded = !list.full();
  if (seeded) seed(q, r, products, list);
  auto limit_now = [&] {
    return ExpandedBound::threshold_float(bound_.threshold(
        std::sqrt(list.bound()) * bound_.exact_pad, q.sq, r.sq_max, q.root, r.root_max));
  };
  float limit = limit_now();
  // Where the norms are far from float32's range no estimate can overflow
  // (|est| ≤ 2·(‖x'‖² + ‖y'‖²)), so a row or chunk whose minimum exceeds
  // the limit keeps nothing; otherwise each estimate is tested (+inf and
  // NaN kept).
  const bool may_overflow = q.sq + r.sq_max > 1e37;
  if (!seeded && !may_overflow && row_lowest > limit) return;  // the usual case
  int64_t rows[kChunk];
  double exact[kChunk];
  for (int64_t b0 = 0; b0 < nr; b0 += kChunk) {
    const int64_t end = std::min(nr, b0 + kChunk);
    float lowest = std::numeric_limits<float>::infinity();
#pragma omp simd reduction(min : lowest)
    for (int64_t b = b0; b < end; ++b) lowest = std::min(lowest, nx32 + sq32[b] - 2.0f * products[b]);
    if (!may_overflow && lowest > limit) continue;
    int64_t count = 0;
    for (int64_t b = b0; b < end; ++b) {
      const float est = nx32 + sq32[b] - 2.0f * products[b];
      if ((est > limit && est <= kFloatMax) || (seeded && taken_[b])) continue;
      const int64_t j = r.row(b);
      if (q.self && j == q.row) continue;
      if (list.bound() == 0.0 && list.full() && j > list.index[task_.k - 1]) continue;
      rows[count++] = j;
    }
    exact_batch(q.x, task_.reference, rows, count, d, exact);
    bool changed = false;
    for (int64_t c = 0; c < count; ++c) changed |= list.offer(exact[c], rows[c]);
    if (changed) limit = limit_now();
  }
  if (seeded) std::fill(taken_.begin(), taken_.begin() + nr, uint8_t{0});
}

void TileFilter::seed(const TileQuery& q, const TileRows& r, const float* products,
                      KnnList& list) {
  const int64_t nr = r.count, d = task_.d;
  const float nx32 = static_cast<float>(q.sq);
  float* est = estimates_.data();
  for (int64_t b = 0; b < nr; ++b) {
    const float e = nx32 + r.sq32[b] - 2.0f * products[b];
    est[b] = std::isnan(e) ? std::numeric_limits<float>::infinity() : e;  // overflow: last
  }
  int64_t lacking = 0;
  while (lacking < task_.k && list.index[task_.k - 1 - lacking] < 0) ++lacking;
  order_.clear();
  for (int64_t b = 0; b < nr; ++b)
    if (!(q.self && r.row(b) == q.row)) order_.push_back(b);
  const auto take = std::min<int64_t>(lacking, static_cast<int64_t>(order_.size()));
  std::nth_element(order_.begin(), order_.begin() + take, order_.end(), [est](int64_t u, int64_t v) {
    return est[u] < est[v] || (est[u] == est[v] && u < v);
  });
  int64_t rows[kChunk];
  double exact[kChunk];
  for (int64_t c0 = 0; c0 < take; c0 += kChunk) {
    const int64_t count = std::min(kChunk, take - c0);
    for (int64_t c = 0; c < count; ++c) rows[c] = r.row(order_[c0 + c]);
    exact_batch(q.x, task_.reference, rows, count, d, exact);
    for (int64_t c = 0; c < count; ++c) {
      list.offer(exact[c], rows[c]);
      taken_[order_[c0 + c]] = 1;
    }
  }
}

}  // namespace stray::internal
