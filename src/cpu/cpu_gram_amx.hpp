// The Gram matrix on the tile unit (AMX), for the CPU backend's gram().
//
// Each centred float32 value v is split into two bfloat16 parts, v ≈ h + l
// with h = bf16(v), l = bf16(v − h), and v·w ≈ h·h' + h·l' + l·h' (+ l·l'):
// tile products accumulated in float32. The split keeps 16 significant
// bits, so each product is exact to ~2⁻¹⁶ relative (rounding-like), against
// 2⁻²⁴ for float32: far below the sampling noise of any covariance, and
// exact for small integers (counts, 0/1 features). The l·l' term (≤ 2⁻¹⁸
// of the product) is kept only in the output blocks on the diagonal: there
// it is l² ≥ 0, a bias on the variances, while elsewhere it is as often
// negative as positive; dropping it off the diagonal saves a sizeable part
// of a 200,000 x 512 PCA fit (see RESULTS.md, 'Figures moved from source
// comments (2026-12-05)').
//
// The shape is the hard part: the output (d x d) is small and the inner
// dimension (the rows) is long, and the unit holds only four 16 x 16
// accumulators. So each 32 x 32 block of the output stays in the tiles for
// a whole chunk of rows (kGramChunkRows) before going back to memory, and
// the operands are laid out tile by tile so that every tile load reads one
// contiguous KiB (see cpu_gram_amx.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "cpu/amx.hpp"

namespace stray::internal {

/// One thread's tile-unit Gram over consecutive rows of X [n x d]:
/// v = (x − shift)·sqrt(w) per row, the shift split into two floats so the
/// subtraction keeps float64's offset.
class AmxGram {
 public:
  AmxGram(int64_t d, const double* shift);

  /// acc() = the lower 32 x 32 blocks of Σ v vᵀ over rows [r0, r0 + rows)
  /// (float32), and with `sums` block_sums() = Σ v (float64). Rows
  /// after r0 + rows are not read. Call between amx_begin() and amx_end().
  void block(const float* x, const float* w, int64_t r0, int64_t rows, bool sums);

  const float* acc() const { return acc_.data(); }
  int64_t ld() const { return ld_; }
  const double* block_sums() const { return block_sums_.data(); }

 private:
  void convert(const float* x, const float* w, int64_t r0, int64_t rows, int64_t end, bool sums);
  void multiply(int64_t steps, bool first);

  int64_t d_ = 0, dp_ = 0, tiles_ = 0, ld_ = 0;
  std::vector<float> shift_hi_, shift_lo_;
  // The chunk as the right operand, tile by tile: tile (s, t) holds row
  // pairs [16s, 16s + 16) x features [16t, 16t + 16), one 32-bit word per
  // (pair, feature) with the even row in the low half.
  TileBuffer<uint32_t> right_hi_, right_lo_;
  // The chunk as the left operand: each tile the transpose of its twin.
  TileBuffer<uint32_t> left_hi_, left_lo_;
  TileBuffer<float> acc_;  // [dp x ld] partial Gram of the current block
  std::vector<float> colsum_;
  std::vector<double> block_sums_;
};

}  // namespace stray::internal
