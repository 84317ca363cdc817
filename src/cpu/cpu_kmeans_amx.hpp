// The nearest two centres of each row by products c·x on the tile unit,
// for k-means distance tiles.
//
// Each float32 value v is split into two bfloat16 parts, v ≈ h + l with
// h = bf16(v), l = bf16(v − h); a product is formed from three tile
// products h·h' + h·l' + l·h' (l·l' is below the error already made) and
// accumulated in float32. That is ~2⁻¹⁵ relative per term instead of
// float32's 2⁻²⁴, so callers widen their rounding allowance by
// amx_relative_error and settle near ties again in float32 (see
// cpu_kmeans_pruned.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/amx.hpp"

namespace stray::internal {

/// Centres converted for the tile unit's left operand: row-major bfloat16
/// [kp x dp], k padded to kp (a multiple of 16) with zero centres and d to
/// dp (a multiple of 32) with zero features.
struct AmxCentres {
  int64_t k = 0, d = 0, kp = 0, dp = 0;
  TileBuffer<uint16_t> hi, lo;
};
AmxCentres amx_centres(const float* c, int64_t k, int64_t d);

/// One thread's working memory for amx_nearest_two.
struct AmxRowScratch {
  TileBuffer<uint16_t> hi, lo;          // [mp x dp] the rows' bfloat16 parts
  TileBuffer<uint32_t> pairs_hi, pairs_lo;  // [dp/2 x mp] the same as the right operand
  TileBuffer<float> block;                   // [kp x 32] products for 32 rows
};

/// Rows amx_nearest_two pads m to.
inline int64_t amx_padded_rows(int64_t m) { return (m + 31) / 32 * 32; }

/// Rows per tile for amx_nearest_two's callers: the rows, their bfloat16
/// parts and those parts transposed (AmxRowScratch) fill ~1 MiB of L2
/// beside the [kp x 32] product block (every CPU with the tile unit has
/// 2 MiB per core), within `workspace_bytes` over `threads`. A multiple of
/// 32 in [32, 4096]; it depends on the shapes (and budget) alone.
int64_t amx_tile_rows(int64_t d, int64_t k, std::size_t workspace_bytes, int threads);

/// For m rows of X [n x d] (rows ids[r], or first + r when ids is null):
/// the smallest and second-smallest v_j = c_norms[j] − 2·(c_j · x) over the
/// k centres, and the index of the smallest (ties: the lower index), into
/// best, second, best_j [m]. The products come from the tile unit (see
/// amx_relative_error) and never leave L1: 32 rows at a time, their
/// [kp x 32] block is reduced while the best two stay in registers. Call
/// between amx_begin() and amx_end() on the calling thread. With
/// `row_norms` [m] non-null, also each row's ‖x‖² (float32, summed as the
/// row is converted: no pass of its own).
void amx_nearest_two(const AmxCentres& C, const float* c_norms, const float* X,
                     const int64_t* ids, int64_t first, int64_t m, AmxRowScratch& scratch,
                     float* best, float* second, int32_t* best_j, float* row_norms = nullptr);

/// Bound on the error of ‖c‖² − 2·(amx c·x) as a squared distance, relative
/// to ‖x‖² + ‖c‖²: bfloat16 splitting (2⁻¹⁶ per part, the dropped l·l' term)
/// and float32 accumulation over d terms, with a factor 2 to spare.
double amx_relative_error(int64_t d);

}  // namespace stray::internal
