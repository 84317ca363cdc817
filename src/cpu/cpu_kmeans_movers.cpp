// Movers for the CPU backend's pruned assignment (see cpu_kmeans_movers.hpp).
#include "cpu/cpu_kmeans_movers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "cpu/amx.hpp"

namespace stray::internal {
namespace {

using RowMajorF = MoverPlan::RowMajorF;

// At most this many movers, and at most half the centres.
constexpr int64_t kMaxMovers = 32;
// Rows of the fixed sample the plan is estimated on (spread evenly over X).
constexpr int64_t kSampleRows = 1024;
// Below this many rows a call is cheap anyway: no plan.
constexpr int64_t kMinRows = 16 * kSampleRows;

// The cost model, in CPU cycles per row at 2 threads with X in cache
// (bench_kmeans and the fit at 200,000 x 64, k = 100): a row computed
// against all k centres costs ~200 on the tile unit (~250 in float32
// GEMMs), of which ~50 do not depend on k·d; a movers check of every row
// costs ~40 plus ~1/19 of a cycle per mover-feature product on AVX-512
// (m = 4: 1.9 ms, 16: 3.2 ms, 32: 4.9 ms a pass, against 7.4 ms for a
// full pass), and about four times that per product in Eigen's GEMM.
double full_row_cost(int64_t k, int64_t d, bool tile_unit) {
  return 50.0 + static_cast<double>(k * d) / (tile_unit ? 43.0 : 32.0);
}
double movers_row_cost(int64_t m, int64_t d) {
  return 40.0 + static_cast<double>(m * d) / (avx512_available() ? 19.0 : 5.0);
}
// Movers are used only where the model expects them to save this fraction.
constexpr double kRequiredSaving = 0.25;

}  // namespace

MoverPlan plan_movers(const MoverInputs& in) {
  MoverPlan plan;
  const int64_t n = in.n, d = in.d, k = in.k;
  const int64_t most = std::min(kMaxMovers, k / 2);
  if (most < 1 || n < kMinRows) return plan;

  // Centres by shift, farthest first (ties: the lower index).
  std::vector<int32_t> order(static_cast<std::size_t>(k));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return in.center_shift[a] > in.center_shift[b];
  });
  // The largest shift of a centre outside the first m movers, other than a.
  const auto rest_shift = [&](int64_t m, int32_t a) -> float {
    if (order[m] != a) return in.shift_up[order[m]];
    return m + 1 < k ? in.shift_up[order[m + 1]] : 0.0f;
  };

  std::vector<int64_t> sample(static_cast<std::size_t>(kSampleRows));
  for (int64_t s = 0; s < kSampleRows; ++s) sample[s] = s * n / kSampleRows;

  // Plain Hamerly on the sample first: where it settles most rows no
  // movers check can pay, and the sample's products are skipped.
  const double full = full_row_cost(k, d, in.tile_unit);
  int64_t settled_plain = 0;
  for (const int64_t i : sample) {
    const int32_t a = in.labels[i];
    const float u = in.upper[i] + in.shift_up[a];
    const float l = in.lower[i] - rest_shift(0, a);
    settled_plain += u < std::max(l, in.half_gap[a]);
  }
  const double plain_cost =
      full * static_cast<double>(kSampleRows - settled_plain) / static_cast<double>(kSampleRows);
  if (plain_cost * (1.0 - kRequiredSaving) <= movers_row_cost(1, d)) return plan;

  // The sample rows against the `most` farthest movers, as settle_by_movers
  // will compute them, and how many rows each candidate m would settle.
  RowMajorF rows(kSampleRows, d), movers(most, d);
  for (int64_t s = 0; s < kSampleRows; ++s) {
    std::copy(in.X + sample[s] * d, in.X + (sample[s] + 1) * d, rows.row(s).data());
  }
  for (int64_t q = 0; q < most; ++q) {
    std::copy(in.C + order[q] * d, in.C + (order[q] + 1) * d, movers.row(q).data());
  }
  const RowMajorF products = movers * rows.transpose();  // [most x samples]
  std::vector<int64_t> candidates;
  for (int64_t m = 1; m < most; m *= 2) candidates.push_back(m);
  candidates.push_back(most);
  std::vector<int64_t> settled(candidates.size(), 0);
  for (int64_t s = 0; s < kSampleRows; ++s) {
    const int64_t i = sample[s];
    const int32_t a = in.labels[i];
    const float xn = in.row_norms[i];
    const float tau = static_cast<float>(in.relative_error * (xn + in.c_norm_max));
    float others = std::numeric_limits<float>::infinity(), own = -1.0f;
    std::size_t next = 0;
    for (int64_t q = 0; q < most; ++q) {
      const float e = xn + in.c_norms[order[q]] - 2.0f * products(q, s);
      if (order[q] == a) {
        own = std::max(0.0f, e) + tau;
      } else {
        others = std::min(others, e - tau);
      }
      if (next < candidates.size() && candidates[next] == q + 1) {
        const float u = own >= 0.0f ? std::sqrt(own) : in.upper[i] + in.shift_up[a];
        const float l = std::min(in.lower[i] - rest_shift(q + 1, a), std::sqrt(std::max(0.0f, others)));
        settled[next] += u < std::max(l, in.half_gap[a]);
        ++next;
      }
    }
  }
  double best_cost = plain_cost * (1.0 - kRequiredSaving);
  int64_t best_m = 0;
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    const double left =
        static_cast<double>(kSampleRows - settled[c]) / static_cast<double>(kSampleRows);
    const double cost = movers_row_cost(candidates[c], d) + left * full;
    if (cost < best_cost) {
      best_cost = cost;
      best_m = candidates[c];
    }
  }
  if (best_m == 0) return plan;

  plan.m = best_m;
  plan.ids.assign(order.begin(), order.begin() + best_m);
  plan.centres = movers.topRows(best_m);
  plan.norms.resize(static_cast<std::size_t>(best_m));
  for (int64_t q = 0; q < best_m; ++q) plan.norms[q] = in.c_norms[order[q]];
  plan.rest_argmax = order[best_m];
  plan.rest_largest = in.shift_up[order[best_m]];
  plan.rest_second = best_m + 1 < k ? in.shift_up[order[best_m + 1]] : 0.0f;
  return plan;
}

#ifdef STRAY_AMX_POSSIBLE
namespace {

// The movers q0 .. q0 + NQ − 1 against 16 rows whose features xt [d x 16]
// holds transposed (feature t of all rows in one vector): each mover's
// products build up in one register, then fold into the rows' running
// `own` (upper estimate of the squared distance to their own centre, where
// that is a mover; −1 where not) and `others` (lower estimate of the
// smallest squared distance to another mover).
template <int NQ>
STRAY_AVX512_TARGET inline void fold_movers(const MoverPlan& plan, int64_t q0, const float* xt,
                                            int64_t d, __m512 xn, __m512 tau, __m512i lab,
                                            __m512& own, __m512& others) {
  const float* c = plan.centres.data() + q0 * d;
  __m512 acc[NQ];
  for (int j = 0; j < NQ; ++j) acc[j] = _mm512_setzero_ps();
  for (int64_t t = 0; t < d; ++t) {
    const __m512 xv = _mm512_loadu_ps(xt + t * 16);
    for (int j = 0; j < NQ; ++j) acc[j] = _mm512_fmadd_ps(xv, _mm512_set1_ps(c[j * d + t]), acc[j]);
  }
  const __m512 zero = _mm512_setzero_ps(), minus_two = _mm512_set1_ps(-2.0f);
  for (int j = 0; j < NQ; ++j) {
    const __m512 e = _mm512_fmadd_ps(minus_two, acc[j], _mm512_add_ps(xn, _mm512_set1_ps(plan.norms[q0 + j])));
    const __mmask16 is_own = _mm512_cmpeq_epi32_mask(lab, _mm512_set1_epi32(plan.ids[q0 + j]));
    own = _mm512_mask_mov_ps(own, is_own, _mm512_add_ps(_mm512_max_ps(e, zero), tau));
    // MINPS returns its second operand when either is NaN: a NaN estimate
    // lowers the bound to NaN, which settles nothing.
    others = _mm512_mask_min_ps(others, static_cast<__mmask16>(~is_own), others,
                                _mm512_sub_ps(e, tau));
  }
}

// settle_by_movers for up to 16 consecutive rows, on AVX-512.
STRAY_AVX512_TARGET void settle_block(const MoverPlan& plan, const float* X, int64_t rows,
                                      int64_t d, const int32_t* labels, const float* row_norms,
                                      const float* half_gap, float rel, float c_norm_max,
                                      float* upper, float* lower, uint8_t* failed, float* xt,
                                      int64_t prefetch_rows) {
  const __mmask16 valid = rows >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << rows) - 1);
  alignas(64) float staging[16 * 16];
  if (prefetch_rows > 0) {  // the rows two blocks on, as the tile streams from memory
    const char* ahead = reinterpret_cast<const char*>(X + 32 * d);
    for (int64_t off = 0; off < prefetch_rows * d * static_cast<int64_t>(sizeof(float)); off += 64)
      _mm_prefetch(ahead + off, _MM_HINT_T0);
  }
  for (int64_t t0 = 0; t0 < d; t0 += 16) {
    const uint32_t* src = reinterpret_cast<const uint32_t*>(X + t0);
    int64_t stride = d;
    if (rows < 16 || t0 + 16 > d) {  // a partial block: zero-padded first
      const int64_t left = d - t0;
      const __mmask16 lanes = left >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
      for (int64_t r = 0; r < 16; ++r) {
        _mm512_store_ps(staging + r * 16,
                        r < rows ? _mm512_maskz_loadu_ps(lanes, X + r * d + t0) : _mm512_setzero_ps());
      }
      src = reinterpret_cast<const uint32_t*>(staging);
      stride = 16;
    }
    transpose16(src, stride, reinterpret_cast<uint32_t*>(xt + t0 * 16), 16);
  }
  const __m512 xn = _mm512_maskz_loadu_ps(valid, row_norms);
  const __m512 tau = _mm512_mul_ps(_mm512_set1_ps(rel), _mm512_add_ps(xn, _mm512_set1_ps(c_norm_max)));
  const __m512i lab = _mm512_mask_loadu_epi32(_mm512_set1_epi32(-1), valid, labels);
  __m512 own = _mm512_set1_ps(-1.0f);
  __m512 others = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  int64_t q = 0;
  for (; q + 8 <= plan.m; q += 8) fold_movers<8>(plan, q, xt, d, xn, tau, lab, own, others);
  if (q + 4 <= plan.m) fold_movers<4>(plan, q, xt, d, xn, tau, lab, own, others), q += 4;
  if (q + 2 <= plan.m) fold_movers<2>(plan, q, xt, d, xn, tau, lab, own, others), q += 2;
  if (q < plan.m) fold_movers<1>(plan, q, xt, d, xn, tau, lab, own, others);

  const __m512 zero = _mm512_setzero_ps();
  const __m512 up = _mm512_maskz_loadu_ps(valid, upper);
  const __m512 lo = _mm512_maskz_loadu_ps(valid, lower);
  const __mmask16 has_own = _mm512_cmp_ps_mask(own, zero, _CMP_GE_OQ);
  const __m512 u = _mm512_mask_mov_ps(up, has_own, _mm512_sqrt_ps(_mm512_max_ps(own, zero)));
  // Operand order as in the scalar path: a NaN bound stays NaN.
  const __m512 l = _mm512_min_ps(_mm512_sqrt_ps(_mm512_max_ps(others, zero)), lo);
  const __m512 gap = _mm512_mask_i32gather_ps(zero, valid, lab, half_gap, 4);
  const __mmask16 settled = _mm512_cmp_ps_mask(u, _mm512_max_ps(gap, l), _CMP_LT_OQ);
  _mm512_mask_storeu_ps(upper, valid, u);
  _mm512_mask_storeu_ps(lower, valid, l);
  for (int64_t r = 0; r < rows; ++r) failed[r] = !((settled >> r) & 1u);
}

}  // namespace
#endif

void settle_by_movers(const MoverPlan& plan, const float* X, int64_t count, int64_t d,
                      const int32_t* labels, const float* row_norms, const float* half_gap,
                      double relative_error, float c_norm_max, float* upper, float* lower,
                      uint8_t* failed, std::vector<float>& products, bool vector_kernel) {
  const int64_t m = plan.m;
#ifdef STRAY_AMX_POSSIBLE
  if (vector_kernel && avx512_available()) {
    products.resize(static_cast<std::size_t>((d + 15) / 16 * 16 * 16));
    const float rel = static_cast<float>(relative_error);
    for (int64_t r0 = 0; r0 < count; r0 += 16) {
      settle_block(plan, X + r0 * d, std::min<int64_t>(16, count - r0), d, labels + r0,
                   row_norms + r0, half_gap, rel, c_norm_max, upper + r0, lower + r0, failed + r0,
                   products.data(), std::clamp<int64_t>(count - r0 - 32, 0, 16));
    }
    return;
  }
#endif
  // [m x count] products, then per row: its allowance, the smallest lower
  // estimate of a squared distance to another mover, and the upper one to
  // its own centre where that is a mover (-1 where not).
  products.resize(static_cast<std::size_t>((m + 3) * count));
  Eigen::Map<RowMajorF> P(products.data(), m, count);
  P.noalias() = plan.centres * Eigen::Map<const RowMajorF>(X, count, d).transpose();
  float* tau = products.data() + m * count;
  float* others = tau + count;
  float* own = others + count;
  const float rel = static_cast<float>(relative_error);
  for (int64_t r = 0; r < count; ++r) {
    tau[r] = rel * (row_norms[r] + c_norm_max);
    others[r] = std::numeric_limits<float>::infinity();
    own[r] = -1.0f;
  }
  for (int64_t q = 0; q < m; ++q) {
    const int32_t id = plan.ids[q];
    const float cn = plan.norms[q];
    const float* p = products.data() + q * count;
#pragma omp simd
    for (int64_t r = 0; r < count; ++r) {
      const float e = row_norms[r] + cn - 2.0f * p[r];
      const bool is_own = labels[r] == id;
      own[r] = is_own ? std::max(0.0f, e) + tau[r] : own[r];
      others[r] = is_own ? others[r] : std::min(others[r], e - tau[r]);
    }
  }
  for (int64_t r = 0; r < count; ++r) {
    const float u = own[r] >= 0.0f ? std::sqrt(own[r]) : upper[r];
    const float l = std::min(lower[r], std::sqrt(std::max(0.0f, others[r])));
    upper[r] = u;
    lower[r] = l;
    failed[r] = !(u < std::max(l, half_gap[labels[r]]));
  }
}

}  // namespace stray::internal
