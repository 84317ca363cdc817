// The fused nearest-two kernel (cpu_nearest_two.hpp): AVX-512F and AVX2 +
// FMA versions behind target attributes, chosen at run time, so a generic
// x86-64 build has them too.
#include "cpu/cpu_nearest_two.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/amx.hpp"

#if defined(STRAY_AMX_POSSIBLE)
#include <immintrin.h>
#endif

namespace stray::internal {
namespace {

constexpr int kLanes = 16;  // centres per panel
// Centres beyond this many floats leave the L2 cache of the cores this
// runs on (1 MiB on AMD Zen 4, 2 MiB on Intel Sapphire Rapids): GEMM then.
constexpr int64_t kMaxCentreFloats = int64_t{1} << 17;

/// One row's running minima, lane by lane: lane l has seen the centres
/// l, l + 16, l + 32, … so far.
struct LaneState {
  alignas(64) float best[kLanes];
  alignas(64) float second[kLanes];
  alignas(64) int32_t j[kLanes];

  void reset() {
    std::fill(best, best + kLanes, std::numeric_limits<float>::infinity());
    std::fill(second, second + kLanes, std::numeric_limits<float>::infinity());
    std::fill(j, j + kLanes, 0);
  }
};

/// The row's two nearest from its lanes: the smallest best (the lower
/// centre on ties), then the smaller of that lane's second and every other
/// lane's best.
void finish_row(const LaneState& s, float* best, float* second, int32_t* best_j) {
  int lane = 0;
  for (int l = 1; l < kLanes; ++l) {
    if (s.best[l] < s.best[lane] || (s.best[l] == s.best[lane] && s.j[l] < s.j[lane])) lane = l;
  }
  float other = s.second[lane];
  for (int l = 0; l < kLanes; ++l) {
    if (l != lane) other = std::min(other, s.best[l]);
  }
  *best = s.best[lane];
  *second = other;
  *best_j = s.j[lane];
}

/// The rows of one group: pointers to G rows (the last repeated where
/// fewer remain; their results are dropped).
template <int G>
int group_rows(const float* x, int64_t d, const int64_t* rows, int64_t begin, int64_t r0,
               int64_t m, const float* (&out)[G]) {
  const int count = static_cast<int>(std::min<int64_t>(G, m - r0));
  for (int q = 0; q < G; ++q) {
    const int64_t r = r0 + std::min(q, count - 1);
    out[q] = x + (rows ? rows[r] : begin + r) * d;
  }
  return count;
}

/// The same operations lane by lane in scalar code (std::fma), for CPUs
/// without either vector kernel and as the tests' bit-for-bit reference.
void groups_scalar(const NearestTwoCentres& c, const float* x, const int64_t* rows,
                   int64_t begin, int64_t m, float* best, float* second, int32_t* best_j) {
  const int64_t d = c.d;
  LaneState st;
  float acc[kLanes];
  for (int64_t r = 0; r < m; ++r) {
    const float* row = x + (rows ? rows[r] : begin + r) * d;
    st.reset();
    for (int64_t p = 0; p < c.panels; ++p) {
      const float* panel = c.values.data() + p * d * kLanes;
      std::fill(acc, acc + kLanes, 0.0f);
      for (int64_t t = 0; t < d; ++t) {
        for (int l = 0; l < kLanes; ++l) acc[l] = std::fma(row[t], panel[t * kLanes + l], acc[l]);
      }
      for (int l = 0; l < kLanes; ++l) {
        const float v = acc[l] + c.norms[static_cast<std::size_t>(p * kLanes + l)];
        const bool closer = v < st.best[l];
        const float larger = closer ? st.best[l] : v;
        st.second[l] = larger < st.second[l] ? larger : st.second[l];
        st.best[l] = closer ? v : st.best[l];
        st.j[l] = closer ? static_cast<int32_t>(p * kLanes + l) : st.j[l];
      }
    }
    finish_row(st, best + r, second + r, best_j + r);
  }
}

#if defined(STRAY_AMX_POSSIBLE)

// Rows per register block: AVX2 has 16 registers, so 6 rows x 16 centres
// (12 accumulators, the panel's two halves, one broadcast), the classic
// GEMM micro-kernel's shape. At 4 rows GCC folded the panel's loads into
// every multiply-add, 12 loads per 8 of them, and the load ports bound the
// loop (bench/RESULTS.md, "An AMD EPYC without AVX-512").
constexpr int kRowsAvx512 = 8;
constexpr int kRowsAvx2 = 6;

/// R panels (R·16 centres from j0) against G rows, in AVX-512 registers,
/// folded into the rows' lane states. The update is branch-free:
///   closer = v < best;  second = min(closer ? best : v, second);
///   best = closer ? v : best;  j = closer ? centre : j.
template <int G, int R>
STRAY_AVX512_TARGET inline void block_avx512(const float* const (&xr)[G], const float* values,
                                             const float* norms, int64_t d, int32_t j0,
                                             LaneState* st) {
  __m512 acc[G][R];
#pragma GCC unroll 8
  for (int q = 0; q < G; ++q) {
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r) acc[q][r] = _mm512_setzero_ps();
  }
  for (int64_t t = 0; t < d; ++t) {
    __m512 y[R];
#pragma GCC unroll 2
    for (int r = 0; r < R; ++r) y[r] = _mm512_loadu_ps(values + (r * d + t) * kLanes);
#pragma GCC unroll 8
    for (int q = 0; q < G; ++q) {
      const __m512 xv = _mm512_set1_ps(xr[q][t]);
#pragma GCC unroll 2
      for (int r = 0; r < R; ++r) acc[q][r] = _mm512_fmadd_ps(xv, y[r], acc[q][r]);
    }
  }
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#pragma GCC unroll 2
  for (int r = 0; r < R; ++r) {
    const __m512 n = _mm512_loadu_ps(norms + r * kLanes);
    const __m512i jv = _mm512_add_epi32(_mm512_set1_epi32(j0 + r * kLanes), iota);
#pragma GCC unroll 8
    for (int q = 0; q < G; ++q) {
      const __m512 v = _mm512_add_ps(acc[q][r], n);
      const __m512 b = _mm512_load_ps(st[q].best);
      const __mmask16 closer = _mm512_cmp_ps_mask(v, b, _CMP_LT_OQ);
      const __m512 larger = _mm512_mask_blend_ps(closer, v, b);
      _mm512_store_ps(st[q].second, _mm512_min_ps(larger, _mm512_load_ps(st[q].second)));
      _mm512_store_ps(st[q].best, _mm512_mask_blend_ps(closer, b, v));
      const __m512i j = _mm512_load_si512(st[q].j);
      _mm512_store_si512(st[q].j, _mm512_mask_blend_epi32(closer, j, jv));
    }
  }
}

/// The same for one panel in AVX2 registers, as two halves of 8 lanes.
template <int G>
STRAY_AVX2_TARGET inline void block_avx2(const float* const (&xr)[G], const float* values,
                                             const float* norms, int64_t d, int32_t j0,
                                             LaneState* st) {
  __m256 acc[G][2];
#pragma GCC unroll 8
  for (int q = 0; q < G; ++q) acc[q][0] = acc[q][1] = _mm256_setzero_ps();
  for (int64_t t = 0; t < d; ++t) {
    const __m256 y0 = _mm256_loadu_ps(values + t * kLanes);
    const __m256 y1 = _mm256_loadu_ps(values + t * kLanes + 8);
#pragma GCC unroll 8
    for (int q = 0; q < G; ++q) {
      const __m256 xv = _mm256_broadcast_ss(xr[q] + t);
      acc[q][0] = _mm256_fmadd_ps(xv, y0, acc[q][0]);
      acc[q][1] = _mm256_fmadd_ps(xv, y1, acc[q][1]);
    }
  }
  for (int h = 0; h < 2; ++h) {
    const __m256 n = _mm256_loadu_ps(norms + 8 * h);
    const __m256i jv = _mm256_add_epi32(_mm256_set1_epi32(j0 + 8 * h),
                                        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#pragma GCC unroll 8
    for (int q = 0; q < G; ++q) {
      const __m256 v = _mm256_add_ps(acc[q][h], n);
      const __m256 b = _mm256_load_ps(st[q].best + 8 * h);
      const __m256 closer = _mm256_cmp_ps(v, b, _CMP_LT_OQ);
      const __m256 larger = _mm256_blendv_ps(v, b, closer);
      float* second = st[q].second + 8 * h;
      _mm256_store_ps(second, _mm256_min_ps(larger, _mm256_load_ps(second)));
      _mm256_store_ps(st[q].best + 8 * h, _mm256_blendv_ps(b, v, closer));
      auto* j = reinterpret_cast<float*>(st[q].j + 8 * h);
      _mm256_store_ps(j, _mm256_blendv_ps(_mm256_load_ps(j), _mm256_castsi256_ps(jv), closer));
    }
  }
}

/// finish_row in AVX-512 reductions (the scalar loops' branches cost a
/// fifth of the kernel's time at k = 100).
STRAY_AVX512_TARGET inline void finish_row_avx512(const LaneState& s, float* best, float* second,
                                                  int32_t* best_j) {
  const __m512 b = _mm512_load_ps(s.best);
  const __m512i j = _mm512_load_si512(s.j);
  const float smallest = _mm512_reduce_min_ps(b);
  const __mmask16 ties = _mm512_cmp_ps_mask(b, _mm512_set1_ps(smallest), _CMP_EQ_OQ);
  // All lanes +inf (no centre nearer than +inf): ties is every lane.
  const int32_t first = _mm512_mask_reduce_min_epi32(ties, j);
  const __mmask16 lane = _mm512_mask_cmpeq_epi32_mask(ties, j, _mm512_set1_epi32(first));
  const float lane_second = _mm512_mask_reduce_min_ps(lane, _mm512_load_ps(s.second));
  const float others = _mm512_mask_reduce_min_ps(static_cast<__mmask16>(~lane), b);
  *best = smallest;
  *second = std::min(lane_second, others);
  *best_j = first;
}

/// The smallest of 8 floats (no NaN: lane states never hold one) and of 8
/// int32s, over the whole register.
STRAY_AVX2_TARGET inline float min_across(__m256 v) {
  v = _mm256_min_ps(v, _mm256_permute2f128_ps(v, v, 1));
  v = _mm256_min_ps(v, _mm256_shuffle_ps(v, v, 0x4e));
  v = _mm256_min_ps(v, _mm256_shuffle_ps(v, v, 0xb1));
  return _mm256_cvtss_f32(v);
}
STRAY_AVX2_TARGET inline int32_t min_across(__m256i v) {
  v = _mm256_min_epi32(v, _mm256_permute2x128_si256(v, v, 1));
  v = _mm256_min_epi32(v, _mm256_shuffle_epi32(v, 0x4e));
  v = _mm256_min_epi32(v, _mm256_shuffle_epi32(v, 0xb1));
  return _mm256_cvtsi256_si32(v);
}

/// finish_row in AVX2 reductions, the same selection as the scalar loops
/// (whose branches cost a visible share of an AVX2 fit), as two halves of
/// 8 lanes.
STRAY_AVX2_TARGET inline void finish_row_avx2(const LaneState& s, float* best, float* second,
                                              int32_t* best_j) {
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const __m256 b[2] = {_mm256_load_ps(s.best), _mm256_load_ps(s.best + 8)};
  const __m256i j[2] = {_mm256_load_si256(reinterpret_cast<const __m256i*>(s.j)),
                        _mm256_load_si256(reinterpret_cast<const __m256i*>(s.j + 8))};
  const float smallest = min_across(_mm256_min_ps(b[0], b[1]));
  // Among the lanes at the smallest, the lowest centre (all lanes +inf:
  // every lane ties, and all hold centre 0).
  __m256 ties[2];
  __m256i tied_j[2];
  for (int h = 0; h < 2; ++h) {
    ties[h] = _mm256_cmp_ps(b[h], _mm256_set1_ps(smallest), _CMP_EQ_OQ);
    tied_j[h] = _mm256_castps_si256(_mm256_blendv_ps(
        _mm256_castsi256_ps(_mm256_set1_epi32(std::numeric_limits<int32_t>::max())),
        _mm256_castsi256_ps(j[h]), ties[h]));
  }
  const int32_t first = min_across(_mm256_min_epi32(tied_j[0], tied_j[1]));
  __m256 lane_second[2], others[2];
  for (int h = 0; h < 2; ++h) {
    const __m256 lane = _mm256_and_ps(
        ties[h], _mm256_castsi256_ps(_mm256_cmpeq_epi32(j[h], _mm256_set1_epi32(first))));
    const __m256 sec = _mm256_load_ps(s.second + 8 * h);
    lane_second[h] = _mm256_blendv_ps(inf, sec, lane);
    others[h] = _mm256_blendv_ps(b[h], inf, lane);
  }
  *best = smallest;
  *second = std::min(min_across(_mm256_min_ps(lane_second[0], lane_second[1])),
                     min_across(_mm256_min_ps(others[0], others[1])));
  *best_j = first;
}

STRAY_AVX512_TARGET void groups_avx512(const NearestTwoCentres& c, const float* x,
                                       const int64_t* rows, int64_t begin, int64_t m, float* best,
                                       float* second, int32_t* best_j) {
  constexpr int G = kRowsAvx512;
  const int64_t d = c.d, stride = d * kLanes;
  LaneState st[G];
  for (int64_t r0 = 0; r0 < m; r0 += G) {
    const float* xr[G];
    const int count = group_rows<G>(x, d, rows, begin, r0, m, xr);
    for (LaneState& s : st) s.reset();
    int64_t p = 0;
    for (; p + 2 <= c.panels; p += 2) {
      block_avx512<G, 2>(xr, c.values.data() + p * stride, c.norms.data() + p * kLanes, d,
                         static_cast<int32_t>(p * kLanes), st);
    }
    if (p < c.panels) {
      block_avx512<G, 1>(xr, c.values.data() + p * stride, c.norms.data() + p * kLanes, d,
                         static_cast<int32_t>(p * kLanes), st);
    }
    for (int q = 0; q < count; ++q) {
      finish_row_avx512(st[q], best + r0 + q, second + r0 + q, best_j + r0 + q);
    }
  }
}

STRAY_AVX2_TARGET void groups_avx2(const NearestTwoCentres& c, const float* x,
                                       const int64_t* rows, int64_t begin, int64_t m, float* best,
                                       float* second, int32_t* best_j) {
  constexpr int G = kRowsAvx2;
  const int64_t d = c.d, stride = d * kLanes;
  LaneState st[G];
  for (int64_t r0 = 0; r0 < m; r0 += G) {
    const float* xr[G];
    const int count = group_rows<G>(x, d, rows, begin, r0, m, xr);
    for (LaneState& s : st) s.reset();
    for (int64_t p = 0; p < c.panels; ++p) {
      block_avx2<G>(xr, c.values.data() + p * stride, c.norms.data() + p * kLanes, d,
                    static_cast<int32_t>(p * kLanes), st);
    }
    for (int q = 0; q < count; ++q) {
      finish_row_avx2(st[q], best + r0 + q, second + r0 + q, best_j + r0 + q);
    }
  }
}

#endif  // STRAY_AMX_POSSIBLE

}  // namespace

NearestTwoKernel nearest_two_kernel(int64_t k, int64_t d) {
#if defined(STRAY_AMX_POSSIBLE)
  if (k < 1 || d < 1 || k * d > kMaxCentreFloats) return NearestTwoKernel::none;
  if (avx512_available()) return NearestTwoKernel::avx512;
  if (avx2_fma_available()) return NearestTwoKernel::avx2;
#else
  (void)k;
  (void)d;
#endif
  return NearestTwoKernel::none;
}

NearestTwoCentres::NearestTwoCentres(const float* c, const float* c_norms, int64_t k_, int64_t d_)
    : k(k_), d(d_), panels((k_ + kLanes - 1) / kLanes),
      values(static_cast<std::size_t>(panels * d_ * kLanes), 0.0f),
      norms(static_cast<std::size_t>(panels * kLanes), std::numeric_limits<float>::infinity()) {
  for (int64_t j = 0; j < k; ++j) {
    const int64_t p = j / kLanes, lane = j % kLanes;
    float* panel = values.data() + p * d * kLanes + lane;
    for (int64_t t = 0; t < d; ++t) panel[t * kLanes] = -2.0f * c[j * d + t];
    norms[static_cast<std::size_t>(j)] = c_norms[j];
  }
}

void nearest_two_fused(NearestTwoKernel kernel, const NearestTwoCentres& centres, const float* x,
                       const int64_t* rows, int64_t begin, int64_t m, float* best, float* second,
                       int32_t* best_j) {
#if defined(STRAY_AMX_POSSIBLE)
  if (kernel == NearestTwoKernel::avx512) {
    groups_avx512(centres, x, rows, begin, m, best, second, best_j);
    return;
  }
  if (kernel == NearestTwoKernel::avx2) {
    groups_avx2(centres, x, rows, begin, m, best, second, best_j);
    return;
  }
#endif
  (void)kernel;
  groups_scalar(centres, x, rows, begin, m, best, second, best_j);
}

}  // namespace stray::internal
