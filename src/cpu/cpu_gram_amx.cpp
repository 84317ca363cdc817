#include "cpu/cpu_gram_amx.hpp"

#include <algorithm>
#include <cmath>

#include "core/check.hpp"

namespace stray::internal {

#ifdef STRAY_AMX_POSSIBLE
namespace {

// Rows whose products an output block accumulates in the tiles before it
// goes back to memory. At 200,000 x 512, 128 was faster than 256 and 512
// (see RESULTS.md, 'Figures moved from source comments (2026-12-05)'):
// larger chunks' operands, 256 KiB and more at d = 512, share L2 with the
// accumulators and the rows streaming in. Below 128 the accumulators'
// loads and stores start to show.
constexpr int64_t kGramChunkRows = 128;
constexpr int64_t kPairsPerStep = 16;  // a bfloat16 tile row holds 32 rows' values
constexpr int64_t kSteps = kGramChunkRows / 32;
constexpr int64_t kTileWords = 256;  // 16 x 16 32-bit words: one KiB

// Where tile (s, t) of the right operand starts (in words). The two tiles
// of a 32-feature slice alternate step by step, so an output block reads
// its right operand as one contiguous run over the chunk.
inline int64_t right_tile(int64_t s, int64_t t) {
  return ((t / 2 * kSteps + s) * 2 + t % 2) * kTileWords;
}
// The chunk's float32 column sums go into float64 every this many rows.
constexpr int64_t kSumFlushRows = 64;

// ((x − s_hi) − s_lo)·root_w for the features of `row` in mask m.
STRAY_AMX_TARGET inline __m512 centred(const float* row, __mmask16 m, __m512 s_hi, __m512 s_lo,
                                       float root_w) {
  const __m512 v = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row), s_hi), s_lo);
  return _mm512_mul_ps(v, _mm512_set1_ps(root_w));
}

}  // namespace

AmxGram::AmxGram(int64_t d, const double* shift)
    : d_(d), dp_((d + 31) / 32 * 32), tiles_(dp_ / 16), ld_(dp_ + 16) {
  // ld_ is padded by 64 bytes so that an accumulator tile's 16 rows do not
  // fall into the same few L1 sets (2 KiB strides would).
  right_hi_.assign(static_cast<std::size_t>(kSteps * tiles_ * kTileWords), 0);
  right_lo_.assign(right_hi_.size(), 0);
  left_hi_.assign(right_hi_.size(), 0);
  left_lo_.assign(right_hi_.size(), 0);
  acc_.assign(static_cast<std::size_t>(dp_ * ld_), 0.0f);
  colsum_.assign(static_cast<std::size_t>(dp_), 0.0f);
  block_sums_.assign(static_cast<std::size_t>(dp_), 0.0);
  shift_hi_.assign(static_cast<std::size_t>(dp_), 0.0f);
  shift_lo_.assign(static_cast<std::size_t>(dp_), 0.0f);
  for (int64_t j = 0; j < d; ++j) {
    shift_hi_[j] = static_cast<float>(shift[j]);
    shift_lo_[j] = static_cast<float>(shift[j] - static_cast<double>(shift_hi_[j]));
  }
}

// Rows [r0, r0 + rows) (rows ≤ kGramChunkRows) into both operands,
// rounded up to whole steps with zero rows. Each right-operand tile is
// transposed into its left-operand twin as soon as it is written, while it
// is in L1 and the tile unit is idle anyway (done in the product loop, the
// transposes cost twice as much: the unit drained before each slice).
// Rows of the next step are prefetched, those before `end` only (later
// rows are another thread's).
STRAY_AMX_TARGET void AmxGram::convert(const float* x, const float* w, int64_t r0, int64_t rows,
                                       int64_t end, bool sums) {
  const int64_t d = d_, steps = (rows + 31) / 32;
  // Word j of a pair takes 16-bit lane j (row a) and lane 16 + j (row b).
  const __m512i interleave =
      _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                       21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  float root_w[32];
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t first = 32 * s, here = std::min<int64_t>(32, rows - first);
    for (int64_t r = 0; r < 32; ++r)
      root_w[r] = w && r < here ? std::sqrt(w[r0 + first + r]) : 1.0f;
    for (int64_t t = 0; t < tiles_; ++t) {
      const int64_t j0 = t * 16, left = d - j0;
      const __mmask16 m = left >= 16 ? __mmask16(0xFFFF)
                                     : (left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1));
      const __m512 sh = _mm512_loadu_ps(shift_hi_.data() + j0);
      const __m512 sl = _mm512_loadu_ps(shift_lo_.data() + j0);
      uint32_t* hi = right_hi_.data() + right_tile(s, t);
      uint32_t* lo = right_lo_.data() + right_tile(s, t);
      __m512 colsum = _mm512_setzero_ps();
      for (int64_t q = 0; q < kPairsPerStep; ++q) {
        if (const int64_t ahead = r0 + first + 32 + 2 * q; j0 < d && ahead + 1 < end) {
          _mm_prefetch(reinterpret_cast<const char*>(x + ahead * d + j0), _MM_HINT_T0);
          _mm_prefetch(reinterpret_cast<const char*>(x + (ahead + 1) * d + j0), _MM_HINT_T0);
        }
        const float* xa = x + (r0 + first + 2 * q) * d + j0;
        const __m512 zero = _mm512_setzero_ps();
        const __m512 va = 2 * q < here ? centred(xa, m, sh, sl, root_w[2 * q]) : zero;
        const __m512 vb = 2 * q + 1 < here ? centred(xa + d, m, sh, sl, root_w[2 * q + 1]) : zero;
        colsum = _mm512_add_ps(colsum, _mm512_add_ps(va, vb));
        // Both rows rounded at once ([a0..a15 | b0..b15] as bfloat16), the
        // remainders likewise, then interleaved into (a_j, b_j) words.
        const __m512i h = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(vb, va));
        const __m512 rest_a = _mm512_sub_ps(va, bf16_widen(_mm512_castsi512_si256(h)));
        const __m512 rest_b = _mm512_sub_ps(vb, bf16_widen(_mm512_extracti64x4_epi64(h, 1)));
        const __m512i l = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(rest_b, rest_a));
        _mm512_store_si512(hi + q * 16, _mm512_permutexvar_epi16(interleave, h));
        _mm512_store_si512(lo + q * 16, _mm512_permutexvar_epi16(interleave, l));
      }
      if (sums) {
        float* cs = colsum_.data() + j0;
        _mm512_storeu_ps(cs, _mm512_add_ps(_mm512_loadu_ps(cs), colsum));
      }
      transpose16(hi, 16, left_hi_.data() + right_tile(s, t), 16);
      transpose16(lo, 16, left_lo_.data() + right_tile(s, t), 16);
    }
    // Float32 column sums over at most kSumFlushRows rows, then float64.
    if (sums && ((first + 32) % kSumFlushRows == 0 || s == steps - 1)) {
      for (int64_t j = 0; j < d; ++j) block_sums_[j] += colsum_[j];
      std::fill(colsum_.begin(), colsum_.end(), 0.0f);
    }
  }
}

// acc (=, when `first`; else +=) the lower 32 x 32 blocks of the chunk's
// Gram over `steps` steps of 32 rows. Each output block keeps its four
// accumulators in the tiles over all steps.
STRAY_AMX_TARGET void AmxGram::multiply(int64_t steps, bool first) {
  constexpr int kTileStride = 64;                  // bytes per tile row: packed
  constexpr std::ptrdiff_t kNextTile = kTileWords * 4;  // bytes to the adjacent tile
  const int c_stride = static_cast<int>(ld_ * 4);
  for (int64_t i0 = 0; i0 < dp_; i0 += 32) {
    const int64_t ti = i0 / 16;
    for (int64_t j0 = 0; j0 <= i0; j0 += 32) {
      float* c00 = acc_.data() + i0 * ld_ + j0;
      float* c10 = c00 + 16 * ld_;
      if (first) {  // the block's first chunk: start from zero, not memory
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
      } else {
        _tile_loadd(0, c00, c_stride);
        _tile_loadd(1, c00 + 16, c_stride);
        _tile_loadd(2, c10, c_stride);
        _tile_loadd(3, c10 + 16, c_stride);
      }
      const int64_t tj = j0 / 16;
      const bool diagonal = j0 == i0;
      for (int64_t s = 0; s < steps; ++s) {
        const int64_t a = right_tile(s, ti), b = right_tile(s, tj);
        amx_split_product_2x2({left_hi_.data() + a, left_lo_.data() + a, kTileStride, kNextTile},
                              {right_hi_.data() + b, right_lo_.data() + b, kTileStride, kNextTile},
                              diagonal);
      }
      _tile_stored(0, c00, c_stride);
      _tile_stored(1, c00 + 16, c_stride);
      _tile_stored(2, c10, c_stride);
      _tile_stored(3, c10 + 16, c_stride);
    }
  }
}

void AmxGram::block(const float* x, const float* w, int64_t r0, int64_t rows, bool sums) {
  if (sums) {
    std::fill(block_sums_.begin(), block_sums_.end(), 0.0);
    std::fill(colsum_.begin(), colsum_.end(), 0.0f);
  }
  for (int64_t c0 = 0; c0 < rows; c0 += kGramChunkRows) {
    const int64_t chunk = std::min(kGramChunkRows, rows - c0);
    convert(x, w, r0 + c0, chunk, r0 + rows, sums);
    multiply((chunk + 31) / 32, c0 == 0);
  }
}

#else

AmxGram::AmxGram(int64_t, const double*) {}
void AmxGram::block(const float*, const float*, int64_t, int64_t, bool) {
  fail(ErrorCode::backend_unavailable, "gram", "built without tile-unit support");
}

#endif

}  // namespace stray::internal
