// Ward linkage by the nearest-neighbour chain, from centroids and sizes.
//
// Ward's distance between clusters a and b is a function of their centroids
// and sizes alone, sqrt(2·|a|·|b|/(|a|+|b|))·‖c_a − c_b‖, so nothing n×n is
// kept: a merged cluster's centroid is the size-weighted mean of its parts.
// Ward is reducible (a merge never brings a cluster nearer to a third), so
// following nearest neighbours until two are each other's nearest finds
// the same merges as the greedy algorithm (Murtagh 1983; Müllner 2011).
//
// The chain follows scipy's nn_chain step for step: a new chain starts at
// the lowest live slot; a cluster's nearest is the first (lowest slot) at
// the smallest distance, except that the previous link of the chain is kept
// unless another is strictly nearer (so the chain never cycles on ties);
// the merged cluster takes the higher of the two slots.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "cluster/agglomerative_internal.hpp"
#include "cluster/agglomerative_points.hpp"

namespace stray::internal {

namespace {

// The cluster nearest to `x` — the smallest |b|/(|x|+|b|)·‖c_x − c_b‖²
// (ward's distance squared over 2|x|) — preferring `prev` (−1: none) on a
// tie, else the lowest slot. Screened, then exact (agglomerative_points.hpp).
int64_t nearest_cluster(LivePoints& pts, int64_t x, int64_t prev, ScreenQuery& query,
                        WorkTeam& team, std::vector<ScanPart>& parts) {
  const double* q = pts.exact(x);
  pts.make_query(q, query);
  const double nx = pts.aux_of(x);
  const double* sizes = pts.aux();
  const float* fsizes = pts.screen_aux();
  const auto exact_value = [&](int64_t p) {
    const double s = sizes[p];
    return s / (nx + s) * pts.exact_sq_distance(pts.slot_at(p), q);
  };
  const double prev_value = prev >= 0 ? exact_value(pts.position_of(prev)) : kInf;
  const auto fx = static_cast<float>(nx);
  const int64_t px = pts.position_of(x);
  const float saved = pts.hide(px);  // x must not find itself
  SharedBest shared(prev_value);
  const ScanPart best = team_scan(
      team, pts.positions(), prev_value, parts, [&](int64_t begin, int64_t end, ScanPart& part) {
        alignas(64) float v[kScanBlock];
        for (int64_t p0 = begin; p0 < end; p0 += kScanBlock) {
          const int64_t count = std::min(kScanBlock, end - p0);
          pts.screen(query, p0, count, v);
          const float* fs = fsizes + p0;
          float low = std::numeric_limits<float>::infinity();
#pragma omp simd reduction(min : low)
          for (int64_t j = 0; j < count; ++j) {
            v[j] *= fs[j] / (fx + fs[j]);
            low = std::min(low, v[j]);
          }
          // An exact value must be strictly below the best so far to win;
          // none can hide behind a screened value at or over the threshold
          // (dead and hidden points screen at +inf).
          double threshold = query.bound.threshold(std::min(part.value, shared.get()));
          if (!(low < threshold)) continue;
          for (int64_t j = 0; j < count; ++j) {
            if (!(v[j] < threshold)) continue;
            const double exact = exact_value(p0 + j);
            if (exact < part.value) {
              part = {exact, p0 + j};
              shared.offer(exact);
              threshold = query.bound.threshold(std::min(exact, shared.get()));
            }
          }
        }
      });
  pts.unhide(px, saved);
  return best.position < 0 ? prev : pts.slot_at(best.position);
}

// Merges clusters x < y into slot y; returns ward's distance between them.
double merge_into(LivePoints& pts, int64_t x, int64_t y, std::vector<double>& merged) {
  const int64_t d = pts.d();
  const double* cx = pts.exact(x);
  const double* cy = pts.exact(y);
  const double nx = pts.aux_of(x), ny = pts.aux_of(y);
  const double sq = pts.exact_sq_distance(x, cy);
  for (int64_t k = 0; k < d; ++k)
    merged[static_cast<std::size_t>(k)] = (nx * cx[k] + ny * cy[k]) / (nx + ny);
  pts.write(y, merged.data());
  pts.set_aux(y, nx + ny);
  pts.kill(x, 1.0);  // a dead size of 1 keeps its +inf screen at +inf
  return std::sqrt(2.0 * nx * ny / (nx + ny) * sq);
}

}  // namespace

std::vector<RawMerge> ward_merges(MatrixView<const float> X, int threads) {
  const int64_t n = X.rows(), d = X.cols();
  LivePoints pts(X, 1.0);
  std::vector<int64_t> chain;
  chain.reserve(static_cast<std::size_t>(n));
  std::vector<double> work(static_cast<std::size_t>(d));
  ScreenQuery query;
  WorkTeam team(threads);
  std::vector<ScanPart> parts;
  std::vector<RawMerge> merges;
  merges.reserve(static_cast<std::size_t>(n - 1));
  for (int64_t step = 0; step < n - 1; ++step) {
    if (chain.empty()) chain.push_back(pts.first_alive_slot());
    int64_t x = 0, y = 0;
    for (;;) {
      x = chain.back();
      const int64_t prev = chain.size() > 1 ? chain[chain.size() - 2] : -1;
      y = nearest_cluster(pts, x, prev, query, team, parts);
      if (y == prev) break;
      chain.push_back(y);
    }
    chain.resize(chain.size() - 2);
    if (x > y) std::swap(x, y);
    const double distance = merge_into(pts, x, y, work);
    merges.push_back({x, y, distance});
  }
  return merges;
}

}  // namespace stray::internal
