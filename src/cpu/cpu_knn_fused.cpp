// The fused path's panels and FusedFilter (cpu_knn_fused.hpp).
#include "cpu/cpu_knn_fused.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace stray::internal {

int64_t knn_panel_floats(int64_t rows, int64_t tiles, int64_t d) {
  const int64_t panels = rows / kPanelRows + tiles;  // each tile pads at most one panel
  return panels * kPanelRows * (d + 1);
}

KnnPanels::KnnPanels(const float* centred, const double* sq, int64_t d,
                     const std::vector<std::pair<int64_t, int64_t>>& tiles)
    : d_(d) {
  first_.reserve(tiles.size() + 1);
  first_.push_back(0);
  for (const auto& [begin, end] : tiles)
    first_.push_back(first_.back() + (end - begin + kPanelRows - 1) / kPanelRows);
  values_.assign(static_cast<std::size_t>(first_.back() * d * kPanelRows), 0.0f);
  starts_.assign(static_cast<std::size_t>(first_.back() * kPanelRows),
                 std::numeric_limits<float>::infinity());
  for (std::size_t t = 0; t < tiles.size(); ++t) {
    const auto [begin, end] = tiles[t];
    for (int64_t p = begin; p < end; ++p) {
      const int64_t panel = first_[t] + (p - begin) / kPanelRows, lane = (p - begin) % kPanelRows;
      float* v = values_.data() + panel * d * kPanelRows + lane;
      for (int64_t f = 0; f < d; ++f) v[f * kPanelRows] = -2.0f * centred[p * d + f];
      starts_[panel * kPanelRows + lane] = static_cast<float>(sq[p]);
    }
  }
}

FusedFilter::FusedFilter(const KnnTask& task, KnnKernel kernel)
    : task_(task),
      kernel_(kernel),
      bound_(fused_bound(task.d)),
      xs_(static_cast<std::size_t>(kFusedQueries * task.d), 0.0f) {}

float FusedFilter::limit(const TileQuery& q, const TileRows& r, const KnnList& list) const {
  // A full list of exact duplicates (bound 0) admits only lower indices.
  if (list.bound() == 0.0 && r.min_index > list.index[task_.k - 1])
    return -std::numeric_limits<float>::infinity();
  const double t =
      bound_.threshold(std::sqrt(list.bound()) * bound_.exact_pad, q.sq, r.sq_max, q.root, r.root_max);
  return fused_limit(t, q.sq);
}

void FusedFilter::run(const float* xs, const TileQuery* queries, KnnList* lists, int64_t n,
                      const TileRows& r, const float* values, const float* starts,
                      int64_t panels) {
  const int64_t d = task_.d;
  hits_.resize(static_cast<std::size_t>(kFusedQueries * kPanelRows * panels));
  float limits[kFusedQueries];
  for (int64_t g = 0; g < n; g += kFusedQueries) {
    const int64_t count = std::min<int64_t>(kFusedQueries, n - g);
    const float* group = xs + g * d;
    if (count < kFusedQueries) {  // zero rows after the last query
      std::copy(xs + g * d, xs + (g + count) * d, xs_.begin());
      std::fill(xs_.begin() + count * d, xs_.end(), 0.0f);
      group = xs_.data();
    }
    for (int64_t a = 0; a < kFusedQueries; ++a)
      limits[a] = a < count ? limit(queries[g + a], r, lists[g + a])
                            : -std::numeric_limits<float>::infinity();
    FusedScreen job;
    job.xs = group;
    job.limits = limits;
    job.values = values;
    job.starts = starts;
    job.panels = panels;
    job.d = d;
    const int64_t found = knn_fused_screen(kernel_, job, hits_.data());
    if (found > 0) take_hits(found, queries + g, lists + g, count, r, limits);
  }
}

void FusedFilter::take_hits(int64_t found, const TileQuery* queries, KnnList* lists,
                            int64_t count, const TileRows& r, float* limits) {
  const int64_t d = task_.d, k = task_.k;
  const float* x[kExactBatch];
  const float* y[kExactBatch];
  int64_t slot[kExactBatch], row[kExactBatch];
  double exact[kExactBatch];
  for (int64_t h0 = 0; h0 < found; h0 += kExactBatch) {
    // Up to kExactBatch hits still below their query's limit are
    // recomputed side by side, then offered in order.
    int64_t c = 0;
    for (int64_t h = h0; h < std::min(found, h0 + kExactBatch); ++h) {
      const FusedHit hit = hits_[h];
      // Padding (rows past the tile's, queries past the group's) is never a
      // hit; the limit may have tightened since the kernel compared.
      if (static_cast<int64_t>(hit.row) >= r.count || static_cast<int64_t>(hit.query) >= count ||
          !(hit.estimate <= limits[hit.query]))
        continue;
      const TileQuery& q = queries[hit.query];
      const int64_t j = r.row(hit.row);
      const KnnList& list = lists[hit.query];
      if ((q.self && j == q.row) || (list.bound() == 0.0 && j > list.index[k - 1])) continue;
      x[c] = q.x;
      y[c] = r.original_row(task_, hit.row);
      slot[c] = hit.query;
      row[c++] = j;
    }
    knn_exact_pairs(x, y, c, d, exact);
    for (int64_t e = 0; e < c; ++e) {
      if (lists[slot[e]].offer(exact[e], row[e]))
        limits[slot[e]] = limit(queries[slot[e]], r, lists[slot[e]]);
    }
  }
}

void FusedFilter::side_limits(const Side& side, int64_t first, int64_t count,
                              const TileRows& other, bool minus_nx, float* out) const {
  // ExpandedBound::threshold and fused_limit over arrays, so it vectorises.
  const double kappa = bound_.kappa, eta = bound_.eta, ny = other.sq_max, ry = other.root_max;
  const double* sq = side.sq + first;
  const double* root = side.root + first;
  const double* rb = side.root_bound + first;
  const double keep_nx = minus_nx ? 1.0 : 0.0;
  for (int64_t c = 0; c < count; ++c) {
    const double reach = rb[c] + eta * (root[c] + ry);
    const double t = kappa * (sq[c] + ny) + reach * reach * (1.0 + 1.0 / 1099511627776.0) -
                     keep_nx * sq[c];
    out[c] = static_cast<float>(t + std::abs(t) * 1.2e-7 + 1e-38);
  }
  // A full list of exact duplicates (bound 0) admits only lower indices.
  for (int64_t c = 0; c < count; ++c) {
    if (rb[c] == 0.0 && other.min_index > side.lists[first + c].index[task_.k - 1])
      out[c] = -std::numeric_limits<float>::infinity();
  }
}

void FusedFilter::run_pairs(const float* xs, const Side& a, const Side& b, const float* values,
                            const float* starts, int64_t panels) {
  const int64_t d = task_.d;
  hits_.resize(static_cast<std::size_t>(kFusedQueries * kPanelRows * panels));
  lanes_.assign(static_cast<std::size_t>(kPanelRows * panels), -std::numeric_limits<float>::infinity());
  side_limits(b, 0, b.rows->count, *a.rows, false, lanes_.data());
  float limits[kFusedQueries], nx32[kFusedQueries];
  for (int64_t g = 0; g < a.rows->count; g += kFusedQueries) {
    const int64_t count = std::min<int64_t>(kFusedQueries, a.rows->count - g);
    const float* group = xs + g * d;
    if (count < kFusedQueries) {
      std::copy(xs + g * d, xs + (g + count) * d, xs_.begin());
      std::fill(xs_.begin() + count * d, xs_.end(), 0.0f);
      group = xs_.data();
    }
    side_limits(a, g, count, *b.rows, true, limits);
    for (int64_t c = 0; c < kFusedQueries; ++c) {
      // Padding queries: −inf and +inf keep nothing on either side.
      if (c >= count) limits[c] = -std::numeric_limits<float>::infinity();
      nx32[c] = c < count ? static_cast<float>(a.queries[g + c].sq) : std::numeric_limits<float>::infinity();
    }
    FusedScreen job;
    job.xs = group;
    job.limits = limits;
    job.values = values;
    job.starts = starts;
    job.panels = panels;
    job.d = d;
    job.lane_limits = lanes_.data();
    job.nx32 = nx32;
    const int64_t found = knn_fused_screen(kernel_, job, hits_.data());
    if (found > 0) take_pair_hits(found, a, g, count, b, limits, nx32);
  }
}

void FusedFilter::take_pair_hits(int64_t found, const Side& a, int64_t first, int64_t count,
                                 const Side& b, float* limits, const float* nx32) {
  const int64_t d = task_.d, k = task_.k;
  const float* x[kExactBatch];
  const float* y[kExactBatch];
  int64_t qs[kExactBatch], rs[kExactBatch];
  double exact[kExactBatch];
  for (int64_t h0 = 0; h0 < found; h0 += kExactBatch) {
    int64_t c = 0;
    for (int64_t h = h0; h < std::min(found, h0 + kExactBatch); ++h) {
      const FusedHit hit = hits_[h];
      if (static_cast<int64_t>(hit.row) >= b.rows->count || static_cast<int64_t>(hit.query) >= count)
        continue;
      const int64_t qa = first + hit.query, rb = hit.row;
      const int64_t i = a.queries[qa].row, j = b.queries[rb].row;
      const KnnList& li = a.lists[qa];
      const KnnList& lj = b.lists[rb];
      // Either side may still take the pair (limits tighten as lists do;
      // a full list of duplicates takes only lower indices).
      const bool for_i = hit.estimate <= limits[hit.query] && !(li.bound() == 0.0 && j > li.index[k - 1]);
      const bool for_j = hit.estimate + nx32[hit.query] <= lanes_[rb] &&
                         !(lj.bound() == 0.0 && i > lj.index[k - 1]);
      if (!for_i && !for_j) continue;
      x[c] = a.queries[qa].x;
      y[c] = b.queries[rb].x;
      qs[c] = qa;
      rs[c++] = rb;
    }
    knn_exact_pairs(x, y, c, d, exact);
    for (int64_t e = 0; e < c; ++e) {
      const int64_t qa = qs[e], rb = rs[e];
      if (a.lists[qa].offer(exact[e], b.queries[rb].row)) {
        a.root_bound[qa] = std::sqrt(a.lists[qa].bound()) * bound_.exact_pad;
        side_limits(a, qa, 1, *b.rows, true, &limits[qa - first]);
      }
      if (b.lists[rb].offer(exact[e], a.queries[qa].row)) {
        b.root_bound[rb] = std::sqrt(b.lists[rb].bound()) * bound_.exact_pad;
        side_limits(b, rb, 1, *a.rows, false, &lanes_[rb]);
      }
    }
  }
}

}  // namespace stray::internal
