// Single linkage by Prim's minimum spanning tree, with distances computed
// as they are needed: O(n·d) memory, n scans of the rows not yet reached.
//
// The single-linkage tree is the minimum spanning tree's edges merged in
// order of length. Prim's order is scipy's and scikit-learn's
// (mst_single_linkage, mst_linkage_core): start at row 0; each step
// lowers every unreached row's distance to the tree by its distance to the
// row added last, then adds the first unreached row at the smallest
// distance, recording the edge (row added last, new row). Squared
// distances are compared; the edge length is the root of the winner's.
// The scan screens each unreached row (agglomerative_points.hpp) and
// computes the exact distance only where x may be nearer than the tree
// was, so each row's distance to the tree is always exact.
#include <algorithm>
#include <cmath>

#include "cluster/agglomerative_internal.hpp"
#include "cluster/agglomerative_points.hpp"

namespace stray::internal {

std::vector<RawMerge> single_merges(MatrixView<const float> X, int threads) {
  const int64_t n = X.rows();
  // aux: each unreached row's exact squared distance to the tree (+inf
  // once reached).
  LivePoints pts(X, kInf);
  ScreenQuery query;
  WorkTeam team(threads);
  std::vector<ScanPart> parts;
  std::vector<RawMerge> merges;
  merges.reserve(static_cast<std::size_t>(n - 1));
  int64_t x = 0;
  for (int64_t step = 0; step < n - 1; ++step) {
    const double* q = pts.exact(x);
    pts.make_query(q, query);
    pts.kill(x, kInf);
    double* to_tree = pts.aux();
    const ScreenBound bound = query.bound;
    const ScanPart best = team_scan(
        team, pts.positions(), kInf, parts, [&](int64_t begin, int64_t end, ScanPart& part) {
          alignas(64) float v[kScanBlock];
          for (int64_t p0 = begin; p0 < end; p0 += kScanBlock) {
            const int64_t count = std::min(kScanBlock, end - p0);
            pts.screen(query, p0, count, v);
            double* dist = to_tree + p0;
            // A row's distance to the tree drops only where x may be
            // strictly nearer than the tree was; there the exact distance
            // decides. Reached rows screen at +inf and stay at +inf.
            bool any = false;
#pragma omp simd reduction(|| : any)
            for (int64_t j = 0; j < count; ++j) any = any || v[j] < bound.threshold(dist[j]);
            if (any) {
              for (int64_t j = 0; j < count; ++j) {
                if (!(v[j] < bound.threshold(dist[j]))) continue;
                dist[j] = std::min(dist[j], pts.exact_sq_distance(pts.slot_at(p0 + j), q));
              }
            }
            double low = kInf;
#pragma omp simd reduction(min : low)
            for (int64_t j = 0; j < count; ++j) low = std::min(low, dist[j]);
            if (low < part.value) {
              int64_t j = 0;
              while (dist[j] != low) ++j;
              part = {low, p0 + j};
            }
          }
        });
    const int64_t y = pts.slot_at(best.position);
    merges.push_back({x, y, std::sqrt(best.value)});
    x = y;
  }
  return merges;
}

}  // namespace stray::internal
