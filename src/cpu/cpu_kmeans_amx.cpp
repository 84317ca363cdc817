#include "cpu/cpu_kmeans_amx.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/check.hpp"

namespace stray::internal {
namespace {

// Round-to-nearest-even bfloat16 of a finite float, as its 16 bits.
uint16_t bf16_round(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  b += 0x7FFFu + ((b >> 16) & 1u);
  return static_cast<uint16_t>(b >> 16);
}

float bf16_value(uint16_t h) {
  const uint32_t b = static_cast<uint32_t>(h) << 16;
  float v;
  std::memcpy(&v, &b, 4);
  return v;
}

}  // namespace

AmxCentres amx_centres(const float* c, int64_t k, int64_t d) {
  AmxCentres C;
  C.k = k;
  C.d = d;
  C.kp = (k + 15) / 16 * 16;
  C.dp = (d + 31) / 32 * 32;
  C.hi.assign(static_cast<std::size_t>(C.kp * C.dp), 0);
  C.lo.assign(C.hi.size(), 0);
  for (int64_t j = 0; j < k; ++j) {
    for (int64_t t = 0; t < d; ++t) {
      const float v = c[j * d + t];
      const uint16_t h = bf16_round(v);
      C.hi[j * C.dp + t] = h;
      C.lo[j * C.dp + t] = bf16_round(v - bf16_value(h));
    }
  }
  return C;
}

int64_t amx_tile_rows(int64_t d, int64_t k, std::size_t workspace_bytes, int threads) {
  // Against the float32 path's rule (784 rows at 200,000 x 64, k = 100,
  // where this gives 1,344; 112 at 50,000 x 32, k = 1000, where it gives
  // 2,368) it made full passes and passes with most rows settled faster at
  // both (see RESULTS.md, 'k-means primitives and fit', the tile unit's
  // tile size). Twice as many rows spill out of L2.
  constexpr int64_t kCacheBytes = int64_t{1} << 20;
  const int64_t kp = (k + 15) / 16 * 16, dp = (d + 31) / 32 * 32;
  const int64_t row_bytes = 4 * d + 8 * dp;  // the row, its two parts, their transposes
  const int64_t block_bytes = 4 * kp * 32;
  const int64_t cache_rows = std::max<int64_t>(kCacheBytes - block_bytes, 0) / row_bytes;
  const int64_t budget_rows = static_cast<int64_t>(
      workspace_bytes / (static_cast<std::size_t>(8 * dp) * static_cast<std::size_t>(threads)));
  return std::clamp<int64_t>(std::min(cache_rows, budget_rows) / 32 * 32, 32, 4096);
}

double amx_relative_error(int64_t d) {
  // Per term: |v − h − l| ≤ 2⁻¹⁶|v| for both factors plus the dropped
  // |l·l'| ≤ 2⁻¹⁶|v·w|, so ~3·2⁻¹⁶ Σ|x_t c_t| ≤ 1.5·2⁻¹⁶ (‖x‖² + ‖c‖²); the
  // squared distance carries the product twice. Float32 accumulation adds
  // d·2⁻²⁴ of the same. Doubled for safety.
  return 2.0 * (2.0 * 1.5 * 0x1p-16 + 2.0 * static_cast<double>(d) * 0x1p-24);
}

#ifdef STRAY_AMX_POSSIBLE
namespace {

// The lanes of x[t, t + 16) that fall inside a row of d features.
inline __mmask16 lanes_from(int64_t d, int64_t t) {
  const int64_t left = d - t;
  return left >= 16 ? __mmask16(0xFFFF)
                    : (left <= 0 ? __mmask16(0) : static_cast<__mmask16>((1u << left) - 1));
}

// Rows ahead of the one being converted that are prefetched.
constexpr int64_t kConvertPrefetchRows = 8;

// The rows' bfloat16 parts, row-major [mp x dp]; padding rows and features
// are zero. VCVTNE2PS2BF16 rounds 32 floats to nearest-even bfloat16 at
// once; the low part is the remainder, rounded the same way.
// With `norms` non-null, also each row's ‖x‖², from the loaded values.
STRAY_AMX_TARGET void convert_rows(const float* X, int64_t d, int64_t dp, const int64_t* ids,
                                   int64_t first, int64_t m, int64_t mp, uint16_t* hi,
                                   uint16_t* lo, float* norms) {
  for (int64_t r = 0; r < mp; ++r) {
    uint16_t* h = hi + r * dp;
    uint16_t* l = lo + r * dp;
    if (r >= m) {
      std::memset(h, 0, static_cast<std::size_t>(dp) * 2);
      std::memset(l, 0, static_cast<std::size_t>(dp) * 2);
      continue;
    }
    const float* x = X + (ids ? ids[r] : first + r) * d;
    if (r + kConvertPrefetchRows < m) {  // the rows come from memory
      const int64_t ahead = ids ? ids[r + kConvertPrefetchRows] : first + r + kConvertPrefetchRows;
      const char* p = reinterpret_cast<const char*>(X + ahead * d);
      for (int64_t off = 0; off < d * static_cast<int64_t>(sizeof(float)); off += 64)
        _mm_prefetch(p + off, _MM_HINT_T0);
    }
    __m512 squares = _mm512_setzero_ps();
    for (int64_t t = 0; t < dp; t += 32) {
      const __m512 v0 = _mm512_maskz_loadu_ps(lanes_from(d, t), x + t);
      const __m512 v1 = _mm512_maskz_loadu_ps(lanes_from(d, t + 16), x + t + 16);
      if (norms) squares = _mm512_fmadd_ps(v1, v1, _mm512_fmadd_ps(v0, v0, squares));
      const __m512i hb = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(v1, v0));
      const __m512 r0 = _mm512_sub_ps(v0, bf16_widen(_mm512_castsi512_si256(hb)));
      const __m512 r1 = _mm512_sub_ps(v1, bf16_widen(_mm512_extracti64x4_epi64(hb, 1)));
      _mm512_storeu_si512(h + t, hb);
      _mm512_storeu_si512(l + t, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(r1, r0)));
    }
    if (norms) norms[r] = _mm512_reduce_add_ps(squares);
  }
}

// The right operand: a 32-bit word holds two consecutive features of one
// row, so the row-major bfloat16 rows read as words [mp x dp/2] are the
// transpose of what the tile unit wants ([dp/2 x mp], "VNNI" layout).
STRAY_AMX_TARGET void to_pairs(const uint16_t* rows, int64_t dp, int64_t mp, uint32_t* pairs) {
  const uint32_t* words = reinterpret_cast<const uint32_t*>(rows);
  const int64_t wp = dp / 2;
  for (int64_t r0 = 0; r0 < mp; r0 += 16) {
    for (int64_t p0 = 0; p0 < wp; p0 += 16) transpose16(words + r0 * wp + p0, wp, pairs + p0 * mp + r0, mp);
  }
}

// block [kp x 32] (row stride 32 floats) = centres · rows[r0, r0 + 32)ᵀ
// with three tile products per pair of operands; 2 x 2 accumulator tiles
// (32 centres x 32 rows) at a time, and 1 x 2 for a last block of 16
// centres. The rows' operands (8 KiB) and the centres (≤ 28 KiB at d = 64,
// k = 100) stay in L1 while every centre block passes over them.
STRAY_AMX_TARGET void multiply_rows(const AmxCentres& C, const uint32_t* rows_hi,
                                    const uint32_t* rows_lo, int64_t mp, int64_t r0,
                                    float* block) {
  const int64_t dp = C.dp, kp = C.kp;
  const int a_stride = static_cast<int>(dp * 2), b_stride = static_cast<int>(mp * 4);
  constexpr int c_stride = 32 * 4;
  for (int64_t j0 = 0; j0 < kp; j0 += 32) {
    const bool pair = j0 + 16 < kp;
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int64_t ks = 0; ks < dp / 32; ++ks) {
      const uint16_t* ah = C.hi.data() + j0 * dp + ks * 32;
      const uint16_t* al = C.lo.data() + j0 * dp + ks * 32;
      const uint32_t* bh = rows_hi + ks * 16 * mp + r0;
      const uint32_t* bl = rows_lo + ks * 16 * mp + r0;
      if (pair) {
        amx_split_product_2x2({ah, al, a_stride, 16 * dp * 2}, {bh, bl, b_stride, 16 * 4}, false);
      } else {
        _tile_loadd(4, ah, a_stride);
        _tile_loadd(5, al, a_stride);
        _tile_loadd(6, bh, b_stride);
        _tile_loadd(7, bh + 16, b_stride);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(0, 5, 6);
        _tile_dpbf16ps(1, 5, 7);
        _tile_loadd(6, bl, b_stride);
        _tile_loadd(7, bl + 16, b_stride);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
      }
    }
    float* out = block + j0 * 32;
    _tile_stored(0, out, c_stride);
    _tile_stored(1, out + 16, c_stride);
    if (pair) {
      _tile_stored(2, out + 16 * 32, c_stride);
      _tile_stored(3, out + 16 * 32 + 16, c_stride);
    }
  }
}

// The nearest and second-nearest of k centres for 32 rows, from their
// products block [kp x 32], with v = ‖c‖² − 2·c·x: best, second and best_j
// for the rows stay in registers while the centres pass (ties keep the
// lower index, as the float32 path's argmin). Writes `count` ≤ 32 rows.
STRAY_AMX_TARGET void nearest_two_of_block(const float* block, const float* c_norms, int64_t k,
                                           int64_t count, float* best, float* second,
                                           int32_t* best_j) {
  const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  const __m512 minus_two = _mm512_set1_ps(-2.0f);
  __m512 b[2] = {inf, inf}, s[2] = {inf, inf};
  __m512i bj[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
  for (int64_t j = 0; j < k; ++j) {
    const __m512 cn = _mm512_set1_ps(c_norms[j]);
    const __m512i label = _mm512_set1_epi32(static_cast<int32_t>(j));
    for (int h = 0; h < 2; ++h) {
      const __m512 v = _mm512_fmadd_ps(minus_two, _mm512_load_ps(block + j * 32 + 16 * h), cn);
      const __mmask16 closer = _mm512_cmp_ps_mask(v, b[h], _CMP_LT_OQ);
      // The new second is the smaller of the old second and the larger of
      // (v, old best); MINPS returns its second operand when the first is
      // NaN, so a NaN never displaces a value (as the float32 path's `<`).
      s[h] = _mm512_min_ps(_mm512_mask_blend_ps(closer, v, b[h]), s[h]);
      b[h] = _mm512_mask_blend_ps(closer, b[h], v);
      bj[h] = _mm512_mask_blend_epi32(closer, bj[h], label);
    }
  }
  for (int h = 0; h < 2; ++h) {
    const int64_t lanes = std::clamp<int64_t>(count - 16 * h, 0, 16);
    const __mmask16 m = lanes == 16 ? __mmask16(0xFFFF) : __mmask16((1u << lanes) - 1);
    _mm512_mask_storeu_ps(best + 16 * h, m, b[h]);
    _mm512_mask_storeu_ps(second + 16 * h, m, s[h]);
    _mm512_mask_storeu_epi32(best_j + 16 * h, m, bj[h]);
  }
}

}  // namespace

void amx_nearest_two(const AmxCentres& C, const float* c_norms, const float* X,
                     const int64_t* ids, int64_t first, int64_t m, AmxRowScratch& scratch,
                     float* best, float* second, int32_t* best_j, float* row_norms) {
  const int64_t mp = amx_padded_rows(m);
  const std::size_t need = static_cast<std::size_t>(mp * C.dp);
  if (scratch.hi.size() < need) {
    scratch.hi.resize(need);
    scratch.lo.resize(need);
    scratch.pairs_hi.resize(need / 2);
    scratch.pairs_lo.resize(need / 2);
  }
  scratch.block.resize(static_cast<std::size_t>(C.kp * 32));
  convert_rows(X, C.d, C.dp, ids, first, m, mp, scratch.hi.data(), scratch.lo.data(), row_norms);
  to_pairs(scratch.hi.data(), C.dp, mp, scratch.pairs_hi.data());
  to_pairs(scratch.lo.data(), C.dp, mp, scratch.pairs_lo.data());
  for (int64_t r0 = 0; r0 < m; r0 += 32) {
    multiply_rows(C, scratch.pairs_hi.data(), scratch.pairs_lo.data(), mp, r0,
                  scratch.block.data());
    nearest_two_of_block(scratch.block.data(), c_norms, C.k, std::min<int64_t>(32, m - r0),
                         best + r0, second + r0, best_j + r0);
  }
}

#else

void amx_nearest_two(const AmxCentres&, const float*, const float*, const int64_t*, int64_t,
                     int64_t, AmxRowScratch&, float*, float*, int32_t*, float*) {
  fail(ErrorCode::backend_unavailable, "amx_nearest_two", "built without tile-unit support");
}

#endif

}  // namespace stray::internal
