// The CPU backend's two ways to Backend::knn's one answer (core/knn_exact.hpp):
//
//  - brute force (cpu_knn.cpp): distance tiles in GEMM form (Eigen,
//    float32, on centred copies), 256 query rows × 256 reference rows sized
//    down to the workspace budget, each read at once by the TileFilter;
//    cost O(q·m·d), memory the centred copies plus one tile per thread.
//  - pruned tiles (cpu_knn_tiles.cpp): the same tiles, but only between a
//    block of queries and the leaves of a ball tree over the reference rows
//    (cpu_knn_tree.hpp) that some query of the block may still need (ball
//    distances against each query's k-th distance so far). On clustered
//    rows most tiles are never computed — a fleet's roles, the blobs of the
//    benchmark — at any width. A self query screens each pair of leaves
//    once for both sides (cpu_knn_pairs.cpp), which halves the work on
//    structureless rows. Memory: copies of both sets in tree order (centred
//    and not), a ball (d doubles) per node, ~4 nodes per 256 rows.
//
// For narrow rows both read tiles through the fused kernel where the CPU
// has one (cpu_knn_kernel.hpp, cpu_knn_fused.hpp) rather than GEMM tiles.
// CpuBackend::knn prunes from 1024 reference rows on (knn_uses_pruning);
// both are exposed so tests can hold each to the naive float64 answer and
// to each other, bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "core/knn_exact.hpp"
#include "cpu/cpu_knn_kernel.hpp"

namespace stray::internal {

class CpuBackend;

/// Where the arrays of a knn call are, on the host. `queries` null: the
/// reference rows themselves, each leaving itself out. Outputs [q x k]:
/// `indices` and `distances` (ascending Euclidean distances).
struct KnnTask {
  const float* reference = nullptr;  // [m x d]
  int64_t m = 0;
  const float* queries = nullptr;  // [q x d], or null
  int64_t q = 0;
  int64_t d = 0;
  int64_t k = 0;
  int64_t* indices = nullptr;
  double* distances = nullptr;
  /// The tile kernel (tests pin each; the answer never depends on it).
  KnnKernel kernel = KnnKernel::automatic;
};

/// Whether CpuBackend::knn uses pruned tiles (else brute force) for m
/// reference rows.
bool knn_uses_pruning(int64_t m);

void knn_brute(const CpuBackend& be, const KnnTask& task);
void knn_pruned(const CpuBackend& be, const KnnTask& task);

/// A tile's reference rows as the filter reads them (centred copies).
struct TileRows {
  const float* sq32 = nullptr;     // [count] fl32(‖y'‖²)
  const int64_t* index = nullptr;  // [count] their reference rows; null: first, first + 1, ...
  int64_t first = 0, count = 0;
  double sq_max = 0.0, root_max = 0.0;  // the largest ‖y'‖² and ‖y'‖ among them
  int64_t min_index = 0;                // the lowest reference row among them
  const float* original = nullptr;      // [count x d] the rows themselves in tile order, or null
  int64_t row(int64_t b) const { return index ? index[b] : first + b; }
  /// Row b of the tile as given (float32, not centred): the exact side.
  const float* original_row(const KnnTask& task, int64_t b) const {
    return original ? original + b * task.d : task.reference + row(b) * task.d;
  }
};

/// One query against a tile: its original row, its row index (left out of
/// its own list in a self query) and its centred norms.
struct TileQuery {
  const float* x = nullptr;
  int64_t row = 0;
  bool self = false;
  double sq = 0.0, root = 0.0;
};

/// Reads one query's row of a tile of products (x'·y' for each row of the
/// tile) into the query's list: the estimates' minimum against the
/// ExpandedBound's threshold for the tile (vectorised; usually the whole
/// row is ruled out there); while the list is not full, the rows of
/// smallest estimate fill it first, so the bound is tight from the first
/// tile; then each row the bound keeps is recomputed exactly and offered.
/// One per thread (it owns scratch for `max_rows` rows).
class TileFilter {
 public:
  TileFilter(const KnnTask& task, int64_t max_rows);
  void run(const TileQuery& q, const TileRows& r, const float* products, KnnList& list);

 private:
  void seed(const TileQuery& q, const TileRows& r, const float* products, KnnList& list);

  const KnnTask& task_;
  ExpandedBound bound_;
  std::vector<float> estimates_;
  std::vector<uint8_t> taken_;
  std::vector<int64_t> order_;
};

/// Rows recomputed side by side by knn_exact_pairs.
constexpr int64_t kExactBatch = 16;

/// knn_exact_sq(x[c], y[c], d) for c < count ≤ kExactBatch into out:
/// independent sums side by side, each in feature order with fused
/// multiply-adds — the same bits, without waiting on one chain of d
/// dependent operations per pair.
void knn_exact_pairs(const float* const* x, const float* const* y, int64_t count, int64_t d,
                     double* out);

/// Column means of X [n x d] in float64: the shift of the centred copies
/// (any shift is correct; the mean keeps the ExpandedBound tight).
std::vector<double> knn_column_means(const float* X, int64_t n, int64_t d);

/// The kernel both methods use for the task: the fused one where the CPU
/// has it, the rows are narrow and no estimate can overflow (centred norms
/// `sq_max_sum` = the largest ‖x'‖² plus the largest ‖y'‖² far below
/// float32's range), else GEMM tiles.
KnnKernel knn_task_kernel(const KnnTask& task, double sq_max_sum);

/// Both methods' shared start and finish: every list empty (+inf, −1);
/// squared distances to distances.
void knn_clear_lists(const CpuBackend& be, const KnnTask& task);
void knn_take_roots(const CpuBackend& be, const KnnTask& task);

}  // namespace stray::internal
