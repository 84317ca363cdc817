// The fused screening kernel (cpu_knn_kernel.hpp): AVX-512F and AVX2 + FMA
// versions behind target attributes, chosen at run time, so a generic
// x86-64 build has them too.
#include "cpu/cpu_knn_kernel.hpp"

#include "cpu/amx.hpp"

#if defined(STRAY_AMX_POSSIBLE)
#include <immintrin.h>
#endif

namespace stray::internal {
namespace {

#if defined(STRAY_AMX_POSSIBLE)

/// Appends the set lanes of `mask` (a panel's 16 rows from `row0`) as hits
/// of query `query`, with their estimates.
inline FusedHit* push_hits(FusedHit* out, uint32_t mask, uint32_t query, uint32_t row0,
                           const float* estimates) {
  while (mask) {
    const int lane = __builtin_ctz(mask);
    mask &= mask - 1;
    *out++ = FusedHit{query, row0 + static_cast<uint32_t>(lane), estimates[lane]};
  }
  return out;
}

/// The hits of a register block: kept[q][r] the lanes of query q, panel r.
template <int R>
FusedHit* push_block(FusedHit* out, const __mmask16 (&kept)[kFusedQueries][R],
                     const float (&e)[kFusedQueries][R][kPanelRows], uint32_t row0) {
  for (int q = 0; q < kFusedQueries; ++q) {
    for (int r = 0; r < R; ++r) {
      out = push_hits(out, kept[q][r], static_cast<uint32_t>(q),
                      row0 + static_cast<uint32_t>(r * kPanelRows), e[q][r]);
    }
  }
  return out;
}

/// R panels (R·16 rows) against the 8 queries, in AVX-512 registers. With
/// `Pairs`, a lane is kept also where fl(e + ‖x'‖²) is within the row's own
/// limit (lane_limits, per row of the panels).
template <int R, bool Pairs>
STRAY_AVX512_TARGET inline FusedHit* screen_avx512(const float* xs, const __m512* limit,
                                                   const __m512* nx, const float* lane_limits,
                                                   const float* values, const float* starts,
                                                   int64_t d, uint32_t row0, FusedHit* out) {
  __m512 acc[kFusedQueries][R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const __m512 s = _mm512_loadu_ps(starts + r * kPanelRows);
#pragma GCC unroll 8
    for (int q = 0; q < kFusedQueries; ++q) acc[q][r] = s;
  }
  for (int64_t t = 0; t < d; ++t) {
    __m512 y[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) y[r] = _mm512_loadu_ps(values + (r * d + t) * kPanelRows);
#pragma GCC unroll 8
    for (int q = 0; q < kFusedQueries; ++q) {
      const __m512 x = _mm512_set1_ps(xs[q * d + t]);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[q][r] = _mm512_fmadd_ps(x, y[r], acc[q][r]);
    }
  }
  __mmask16 kept[kFusedQueries][R];
  __mmask16 any = 0;
  __m512 lane[R];
  if constexpr (Pairs) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) lane[r] = _mm512_loadu_ps(lane_limits + r * kPanelRows);
  }
#pragma GCC unroll 8
  for (int q = 0; q < kFusedQueries; ++q) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      kept[q][r] = _mm512_cmp_ps_mask(acc[q][r], limit[q], _CMP_LE_OQ);
      if constexpr (Pairs) {
        const __m512 full = _mm512_add_ps(acc[q][r], nx[q]);
        kept[q][r] = static_cast<__mmask16>(kept[q][r] | _mm512_cmp_ps_mask(full, lane[r], _CMP_LE_OQ));
      }
      any = static_cast<__mmask16>(any | kept[q][r]);
    }
  }
  if (any == 0) return out;  // the usual case
  // Rare: the sums to memory by constant indices (an indexed register
  // array would keep them all in memory in the loop above too).
  alignas(64) float e[kFusedQueries][R][kPanelRows];
#pragma GCC unroll 8
  for (int q = 0; q < kFusedQueries; ++q) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) _mm512_store_ps(e[q][r], acc[q][r]);
  }
  return push_block<R>(out, kept, e, row0);
}

template <bool Pairs>
STRAY_AVX512_TARGET int64_t fused_avx512(const FusedScreen& job, FusedHit* hits) {
  __m512 limit[kFusedQueries], nx[kFusedQueries];
  for (int q = 0; q < kFusedQueries; ++q) {
    limit[q] = _mm512_set1_ps(job.limits[q]);
    nx[q] = _mm512_set1_ps(Pairs ? job.nx32[q] : 0.0f);
  }
  const int64_t d = job.d;
  FusedHit* out = hits;
  int64_t p = 0;
  for (; p + 2 <= job.panels; p += 2) {
    out = screen_avx512<2, Pairs>(job.xs, limit, nx, Pairs ? job.lane_limits + p * kPanelRows : nullptr,
                                  job.values + p * d * kPanelRows, job.starts + p * kPanelRows, d,
                                  static_cast<uint32_t>(p * kPanelRows), out);
  }
  if (p < job.panels) {
    out = screen_avx512<1, Pairs>(job.xs, limit, nx, Pairs ? job.lane_limits + p * kPanelRows : nullptr,
                                  job.values + p * d * kPanelRows, job.starts + p * kPanelRows, d,
                                  static_cast<uint32_t>(p * kPanelRows), out);
  }
  return out - hits;
}

/// An empty statement that takes v in a vector register, so the compiler
/// loads it once rather than folding the load into each use.
STRAY_AVX2_TARGET inline void keep_in_register(__m256& v) { asm("" : "+x"(v)); }

/// One panel (two 8-lane halves) against 4 queries from `q0`, in AVX2
/// registers (16 of them: 8 sums, 2 panel halves, a broadcast).
template <bool Pairs>
STRAY_AVX2_TARGET inline FusedHit* screen_avx2(const FusedScreen& job, int q0, int64_t p,
                                               FusedHit* out) {
  const int64_t d = job.d;
  const float* xs = job.xs;
  const float* values = job.values + p * d * kPanelRows;
  const float* starts = job.starts + p * kPanelRows;
  const auto row0 = static_cast<uint32_t>(p * kPanelRows);
  constexpr int kQ = 4;
  __m256 acc[kQ][2];
  const __m256 s0 = _mm256_loadu_ps(starts), s1 = _mm256_loadu_ps(starts + 8);
#pragma GCC unroll 4
  for (int q = 0; q < kQ; ++q) {
    acc[q][0] = s0;
    acc[q][1] = s1;
  }
  for (int64_t t = 0; t < d; ++t) {
    __m256 y0 = _mm256_loadu_ps(values + t * kPanelRows);
    __m256 y1 = _mm256_loadu_ps(values + t * kPanelRows + 8);
    // Held in registers: GCC would fold each load into every multiply-add
    // (12 loads per 8 of them, where the load ports then bound the loop).
    keep_in_register(y0);
    keep_in_register(y1);
#pragma GCC unroll 4
    for (int q = 0; q < kQ; ++q) {
      const __m256 x = _mm256_broadcast_ss(xs + (q0 + q) * d + t);
      acc[q][0] = _mm256_fmadd_ps(x, y0, acc[q][0]);
      acc[q][1] = _mm256_fmadd_ps(x, y1, acc[q][1]);
    }
  }
  uint32_t kept[kQ];
  uint32_t any = 0;
#pragma GCC unroll 4
  for (int q = 0; q < kQ; ++q) {
    const __m256 limit = _mm256_set1_ps(job.limits[q0 + q]);
    __m256 lo = _mm256_cmp_ps(acc[q][0], limit, _CMP_LE_OQ);
    __m256 hi = _mm256_cmp_ps(acc[q][1], limit, _CMP_LE_OQ);
    if constexpr (Pairs) {
      const __m256 nx = _mm256_set1_ps(job.nx32[q0 + q]);
      const float* lane = job.lane_limits + p * kPanelRows;
      lo = _mm256_or_ps(lo, _mm256_cmp_ps(_mm256_add_ps(acc[q][0], nx), _mm256_loadu_ps(lane), _CMP_LE_OQ));
      hi = _mm256_or_ps(hi, _mm256_cmp_ps(_mm256_add_ps(acc[q][1], nx), _mm256_loadu_ps(lane + 8), _CMP_LE_OQ));
    }
    kept[q] = static_cast<uint32_t>(_mm256_movemask_ps(lo)) |
              (static_cast<uint32_t>(_mm256_movemask_ps(hi)) << 8);
    any |= kept[q];
  }
  if (any == 0) return out;
  alignas(32) float e[kQ][kPanelRows];
#pragma GCC unroll 4
  for (int q = 0; q < kQ; ++q) {
    _mm256_store_ps(e[q], acc[q][0]);
    _mm256_store_ps(e[q] + 8, acc[q][1]);
  }
  for (int q = 0; q < kQ; ++q) out = push_hits(out, kept[q], static_cast<uint32_t>(q0 + q), row0, e[q]);
  return out;
}

template <bool Pairs>
STRAY_AVX2_TARGET int64_t fused_avx2(const FusedScreen& job, FusedHit* hits) {
  FusedHit* out = hits;
  for (int64_t p = 0; p < job.panels; ++p) {
    for (int q0 = 0; q0 < kFusedQueries; q0 += 4) out = screen_avx2<Pairs>(job, q0, p, out);
  }
  return out - hits;
}

#endif  // STRAY_AMX_POSSIBLE

}  // namespace

KnnKernel knn_kernel_for(int64_t d, KnnKernel requested) {
  if (requested == KnnKernel::gemm || d > kFusedMaxWidth) return KnnKernel::gemm;
#if defined(STRAY_AMX_POSSIBLE)
  const bool has512 = avx512_available(), has2 = avx2_fma_available();
  switch (requested) {
    case KnnKernel::avx512:
      return has512 ? KnnKernel::avx512 : KnnKernel::gemm;
    case KnnKernel::avx2:
      return has2 ? KnnKernel::avx2 : KnnKernel::gemm;
    default:
      return has512 ? KnnKernel::avx512 : (has2 ? KnnKernel::avx2 : KnnKernel::gemm);
  }
#else
  return KnnKernel::gemm;
#endif
}

int64_t knn_fused_screen(KnnKernel kernel, const FusedScreen& job, FusedHit* hits) {
#if defined(STRAY_AMX_POSSIBLE)
  const bool pairs = job.lane_limits != nullptr;
  if (kernel == KnnKernel::avx512)
    return pairs ? fused_avx512<true>(job, hits) : fused_avx512<false>(job, hits);
  if (kernel == KnnKernel::avx2)
    return pairs ? fused_avx2<true>(job, hits) : fused_avx2<false>(job, hits);
#endif
  (void)kernel, (void)job, (void)hits;
  return 0;
}

}  // namespace stray::internal
