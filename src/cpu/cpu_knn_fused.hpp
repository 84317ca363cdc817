// The fused path of the CPU's k nearest neighbours (cpu_knn_kernel.hpp):
// reference tiles stored as panels for the kernel, and the FusedFilter,
// which turns the kernel's hits into exact neighbours as the TileFilter
// does for GEMM tiles. Brute force and pruned tiles both use it for narrow
// rows, on every tile whose queries already have full lists (a list still
// filling takes the TileFilter's seeding: until then every row passes).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/knn_exact.hpp"
#include "cpu/cpu_knn.hpp"
#include "cpu/cpu_knn_kernel.hpp"

namespace stray::internal {

/// Centred reference rows as the fused kernel reads them: each tile (a run
/// of consecutive positions) cut into panels of 16 rows, feature-major,
/// values −2·y', each lane starting at fl32(‖y'‖²) (+inf on padding).
class KnnPanels {
 public:
  /// `centred` [n x d] and `sq` [n] in position order; `tiles` the
  /// [begin, end) runs of positions to store (the rest are not).
  KnnPanels(const float* centred, const double* sq, int64_t d,
            const std::vector<std::pair<int64_t, int64_t>>& tiles);
  /// The panels of tile `t` (in the order given).
  const float* values(int64_t t) const { return values_.data() + first_[t] * d_ * kPanelRows; }
  const float* starts(int64_t t) const { return starts_.data() + first_[t] * kPanelRows; }
  int64_t panels(int64_t t) const { return first_[t + 1] - first_[t]; }

 private:
  int64_t d_;
  std::vector<int64_t> first_;  // [tiles + 1] the first panel of each tile
  std::vector<float> values_, starts_;
};

/// Floats the panels of `rows` rows cut into `tiles` tiles take, at most.
int64_t knn_panel_floats(int64_t rows, int64_t tiles, int64_t d);

/// Reads a tile for a group of queries through the fused kernel into their
/// lists: each query's limit from its k-th distance so far and the tile's
/// largest norms (fused_bound), the kernel's hits recomputed exactly and
/// offered, the limit tightened as the list does. One per thread.
class FusedFilter {
 public:
  FusedFilter(const KnnTask& task, KnnKernel kernel);
  /// Queries `xs` (centred, [n x d]), `queries` and `lists` [n], every list
  /// full, against the rows `r` stored as `panels` panels from `values`,
  /// `starts`.
  void run(const float* xs, const TileQuery* queries, KnnList* lists, int64_t n,
           const TileRows& r, const float* values, const float* starts, int64_t panels);

  /// One side of a symmetric tile: its rows, their queries and lists, and
  /// a cache of each list's √bound·exact_pad (kept up to date here).
  struct Side {
    const TileRows* rows;
    const TileQuery* queries;
    KnnList* lists;
    double* root_bound;
    const double* sq;    // ‖x'‖² of each row (as in queries, side by side)
    const double* root;  // ‖x'‖
  };
  /// Both sides of a self query's tile at once, each pair computed once:
  /// side a's rows (centred, `xs`) as queries against side b's rows stored
  /// as panels; a pair either side's limit keeps is recomputed exactly and
  /// offered to both lists. Every list full; the caller owns all of them
  /// for the call.
  void run_pairs(const float* xs, const Side& a, const Side& b, const float* values,
                 const float* starts, int64_t panels);

 private:
  float limit(const TileQuery& q, const TileRows& r, const KnnList& list) const;
  void take_hits(int64_t found, const TileQuery* queries, KnnList* lists, int64_t count,
                 const TileRows& r, float* limits);
  /// The limits of `count` rows from `first` of `side` against the other
  /// side's rows `other`: on e (‖x'‖² taken off, `minus_nx`) or on
  /// fl(e + fl32(‖x'‖²)).
  void side_limits(const Side& side, int64_t first, int64_t count, const TileRows& other,
                   bool minus_nx, float* out) const;
  void take_pair_hits(int64_t found, const Side& a, int64_t first, int64_t count, const Side& b,
                      float* limits, const float* nx32);

  const KnnTask& task_;
  KnnKernel kernel_;
  ExpandedBound bound_;
  std::vector<float> xs_;  // [8 x d] one group of queries, zero-padded
  std::vector<FusedHit> hits_;
  std::vector<float> lanes_;  // run_pairs: each row's own limit, per panel lane
};

}  // namespace stray::internal
