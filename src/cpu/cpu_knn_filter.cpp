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
/// Rows recomputed side by side while seeding a list.
constexpr std::ptrdiff_t kSeedBatch = 32;

}  // namespace

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
  const int64_t nr = r.count;
  const float nx32 = static_cast<float>(q.sq);
  const float* sq32 = r.sq32;
  float lowest = std::numeric_limits<float>::infinity();
#pragma omp simd reduction(min : lowest)
  for (int64_t b = 0; b < nr; ++b) lowest = std::min(lowest, nx32 + sq32[b] - 2.0f * products[b]);
  const bool seeded = !list.full();
  if (seeded) seed(q, r, products, list);
  auto limit_now = [&] {
    return ExpandedBound::threshold_float(bound_.threshold(
        std::sqrt(list.bound()) * bound_.exact_pad, q.sq, r.sq_max, q.root, r.root_max));
  };
  float limit = limit_now();
  // Where the norms are far from float32's range no estimate can overflow
  // (|est| ≤ 2·(‖x'‖² + ‖y'‖²)), so no row is kept when the minimum exceeds
  // the limit.
  if (!(seeded || q.sq + r.sq_max > 1e37 || lowest <= limit)) return;
  const int64_t d = task_.d;
  for (int64_t b = 0; b < nr; ++b) {
    const float est = nx32 + sq32[b] - 2.0f * products[b];
    if ((est > limit && est <= kFloatMax) || taken_[b]) continue;
    const int64_t j = r.row(b);
    if (q.self && j == q.row) continue;
    if (list.bound() == 0.0 && list.full() && j > list.index[task_.k - 1]) continue;
    if (list.offer(knn_exact_sq(q.x, task_.reference + j * d, d), j)) limit = limit_now();
  }
  if (seeded) std::fill(taken_.begin(), taken_.begin() + nr, uint8_t{0});
}

void TileFilter::seed(const TileQuery& q, const TileRows& r, const float* products,
                      KnnList& list) {
  const int64_t nr = r.count, d = task_.d;
  const float nx32 = static_cast<float>(q.sq);
  float* est = estimates_.data();
  for (int64_t b = 0; b < nr; ++b) est[b] = nx32 + r.sq32[b] - 2.0f * products[b];
  int64_t lacking = 0;
  while (lacking < task_.k && list.index[task_.k - 1 - lacking] < 0) ++lacking;
  order_.clear();
  for (int64_t b = 0; b < nr; ++b)
    if (!(q.self && r.row(b) == q.row)) order_.push_back(b);
  const auto take = std::min<std::ptrdiff_t>(lacking, static_cast<std::ptrdiff_t>(order_.size()));
  // NaN estimates (overflow) sort as +inf: they are still offered if needed.
  auto key = [est](int64_t b) { return std::isnan(est[b]) ? std::numeric_limits<float>::infinity() : est[b]; };
  std::nth_element(order_.begin(), order_.begin() + take, order_.end(), [&key](int64_t u, int64_t v) {
    return key(u) < key(v) || (key(u) == key(v) && u < v);
  });
  // Independent sums side by side, each in feature order with fused
  // multiply-adds: the bits of knn_exact_sq.
  double sums[kSeedBatch];
  for (std::ptrdiff_t c0 = 0; c0 < take; c0 += kSeedBatch) {
    const std::ptrdiff_t count = std::min(kSeedBatch, take - c0);
    std::fill(sums, sums + count, 0.0);
    for (int64_t t = 0; t < d; ++t) {
      const double xt = q.x[t];
      for (std::ptrdiff_t c = 0; c < count; ++c) {
        const double diff = xt - static_cast<double>(task_.reference[r.row(order_[c0 + c]) * d + t]);
        sums[c] = std::fma(diff, diff, sums[c]);
      }
    }
    for (std::ptrdiff_t c = 0; c < count; ++c) {
      const int64_t b = order_[c0 + c];
      list.offer(sums[c], r.row(b));
      taken_[b] = 1;
    }
  }
}

}  // namespace stray::internal
