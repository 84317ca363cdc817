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
// Sample rows per chunk of the plan's work (fixed: see plan_movers).
constexpr int64_t kSampleChunkRows = 128;
// Below this many rows a call is cheap anyway: no plan.
constexpr int64_t kMinRows = 16 * kSampleRows;
// Movers only where at least this fraction of the sample fails its plain
// bounds (the first iterations). A row they settle keeps a lower bound that
// goes on falling by the rest's largest shift every iteration, where a full
// computation would have reset it; in the late iterations, where only
// 10–15% fail, checking them against 32 movers settled 98% at first, but
// the failing rows then grew from 31,000 to 115,000 in 13 iterations.
constexpr double kMinFailingFraction = 0.5;

// The cost model, in CPU cycles per row at 2 threads with X in cache,
// its constants fitted to bench_kmeans and the fit at 200,000 x 64,
// k = 100 (see RESULTS.md, 'Figures moved from source comments
// (2026-12-05)'): a row computed against all k centres costs a fixed part
// plus its k·d products at the tile unit's rate (or float32 GEMM's); a
// movers check costs a fixed part a row (its own centre's product
// included) plus its m·d products at the AVX-512 kernel's rate, about
// four times slower in Eigen's GEMM.
double full_row_cost(int64_t k, int64_t d, bool tile_unit) {
  return 50.0 + static_cast<double>(k * d) / (tile_unit ? 43.0 : 32.0);
}
double movers_row_cost(int64_t m, int64_t d) {
  return 40.0 + static_cast<double>(m * d) / (avx512_available() ? 19.0 : 5.0);
}
// Movers are used only where the model expects them to save this fraction.
constexpr double kRequiredSaving = 0.25;

// An upper bound on a row's distance to its own centre a, from the
// expanded formula and its rounding allowance tau (the scalar paths).
float own_centre_upper(const MoverRows& in, const float* x, int32_t a, float xn, float tau) {
  const float* c = in.C + static_cast<int64_t>(a) * in.d;
  float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
  for (int64_t t = 0; t < in.d; ++t) dot += x[t] * c[t];
  return std::sqrt(std::max(0.0f, xn + in.c_norms[a] - 2.0f * dot) + tau);
}

// Centres by shift, farthest first (ties: the lower index).
struct ShiftOrder {
  std::vector<int32_t> order;  // [k]
  const float* shift_up;       // [k]
  int64_t k;

  explicit ShiftOrder(const MoverShifts& shifts)
      : order(static_cast<std::size_t>(shifts.k)), shift_up(shifts.shift_up), k(shifts.k) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      return shifts.center_shift[a] > shifts.center_shift[b];
    });
  }

  // The largest shift of a centre outside the first m movers, other than a.
  float rest_shift(int64_t m, int32_t a) const {
    if (order[m] != a) return shift_up[order[m]];
    return m + 1 < k ? shift_up[order[m + 1]] : 0.0f;
  }
};

// The rows of the fixed sample whose plain bounds fail: only those are checked.
std::vector<int64_t> failing_sample_rows(const MoverRows& in, const ShiftOrder& by_shift,
                                         int64_t n) {
  std::vector<int64_t> failing;
  for (int64_t s = 0; s < kSampleRows; ++s) {
    const int64_t i = s * n / kSampleRows;
    const int32_t a = in.labels[i];
    const float u = in.upper[i] + by_shift.shift_up[a];
    const float l = in.lower[i] - by_shift.rest_shift(0, a);
    if (!(u < std::max(l, in.half_gap[a]))) failing.push_back(i);
  }
  return failing;
}

// For the sample rows rows_here rows of `ids`: how many each candidate m
// settles, added into settled [candidates], checking them against their
// own centre and the movers [most x d] as settle_by_movers computes them.
void count_settled_in_chunk(const MoverRows& in, const ShiftOrder& by_shift,
                            const RowMajorF& movers, const std::vector<int64_t>& candidates,
                            const int64_t* ids, int64_t rows_here, int64_t* settled) {
  const int64_t d = in.d, k = by_shift.k, most = movers.rows();
  const std::vector<int32_t>& order = by_shift.order;
  const int64_t n_candidates = static_cast<int64_t>(candidates.size());
  RowMajorF rows(rows_here, d);
  for (int64_t s = 0; s < rows_here; ++s) {
    const int64_t i = ids[s];
    std::copy(in.X + i * d, in.X + (i + 1) * d, rows.row(s).data());
  }
  const RowMajorF products = movers * rows.transpose();  // [most x rows_here]
  // Row by row this was a slow chain of dependent minima (see RESULTS.md,
  // 'Figures moved from source comments (2026-12-05)'); mover by mover it
  // runs across the chunk's rows in vectors.
  std::vector<float> u(rows_here), tau(rows_here), xn(rows_here), lower(rows_here),
      gap(rows_here), others(rows_here, std::numeric_limits<float>::infinity());
  std::vector<int32_t> own(rows_here);
  for (int64_t s = 0; s < rows_here; ++s) {
    const int64_t i = ids[s];
    own[s] = in.labels[i];
    xn[s] = in.row_norms[i];
    tau[s] = in.relative_error * (xn[s] + in.c_norm_max);
    u[s] = own_centre_upper(in, rows.row(s).data(), own[s], xn[s], tau[s]);
    lower[s] = in.lower[i];
    gap[s] = in.half_gap[own[s]];
  }
  int64_t next = 0;
  for (int64_t q = 0; q < most; ++q) {
    const int32_t mover = order[q];
    const float cn = in.c_norms[mover];
    const float* p = products.row(q).data();
#pragma omp simd
    for (int64_t s = 0; s < rows_here; ++s) {
      const float e = xn[s] + cn - 2.0f * p[s] - tau[s];
      others[s] = own[s] != mover ? std::min(others[s], e) : others[s];
    }
    if (next < n_candidates && candidates[next] == q + 1) {
      // rest_shift(q + 1, a) for every row, without the branch.
      const float rest = by_shift.shift_up[order[q + 1]];
      const float rest_if_own = q + 2 < k ? by_shift.shift_up[order[q + 2]] : 0.0f;
      const int32_t rest_centre = order[q + 1];
      int64_t count = 0;
#pragma omp simd reduction(+ : count)
      for (int64_t s = 0; s < rows_here; ++s) {
        const float l = std::min(lower[s] - (own[s] != rest_centre ? rest : rest_if_own),
                                 std::sqrt(std::max(0.0f, others[s])));
        count += u[s] < std::max(l, gap[s]);
      }
      settled[next] += count;
      ++next;
    }
  }
}

// How many of the failing sample rows each candidate m settles. In fixed
// chunks of the sample, on the backend's threads: on one, it held the
// other thread idle before every early pass (see RESULTS.md, 'k-means
// against scikit-learn', the movers' plan). Counts are integers, so the
// plan does not depend on the thread count.
std::vector<int64_t> settled_per_candidate(const MoverRows& in, const ShiftOrder& by_shift,
                                           const RowMajorF& movers,
                                           const std::vector<int64_t>& candidates,
                                           const std::vector<int64_t>& failing, WorkTeam* team) {
  const int64_t tried = static_cast<int64_t>(failing.size());
  const int64_t n_candidates = static_cast<int64_t>(candidates.size());
  const int64_t chunks = (tried + kSampleChunkRows - 1) / kSampleChunkRows;
  std::vector<int64_t> chunk_settled(static_cast<std::size_t>(chunks * n_candidates), 0);
  const auto chunk_fn = [&](int64_t chunk, int) {
    const int64_t first = chunk * kSampleChunkRows;
    count_settled_in_chunk(in, by_shift, movers, candidates, failing.data() + first,
                           std::min(kSampleChunkRows, tried - first),
                           chunk_settled.data() + chunk * n_candidates);
  };
  if (team) {
    team->run(chunks, chunk_fn);
  } else {
    for (int64_t chunk = 0; chunk < chunks; ++chunk) chunk_fn(chunk, 0);
  }
  std::vector<int64_t> settled(candidates.size(), 0);
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    for (int64_t c = 0; c < n_candidates; ++c) {
      settled[c] += chunk_settled[chunk * n_candidates + c];
    }
  }
  return settled;
}

// The candidate m with the cheapest cost per failing row by the model,
// where it saves kRequiredSaving of a full computation (0: none does).
// Plain, a row costs a full computation; with m movers, the check, then a
// full computation for those it leaves.
int64_t cheapest_movers(const std::vector<int64_t>& candidates,
                        const std::vector<int64_t>& settled, int64_t tried, int64_t k,
                        int64_t d, bool tile_unit) {
  const double full = full_row_cost(k, d, tile_unit);
  double best_cost = full * (1.0 - kRequiredSaving);
  int64_t best_m = 0;
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    const double left = static_cast<double>(tried - settled[c]) / static_cast<double>(tried);
    const double cost = movers_row_cost(candidates[c], d) + left * full;
    if (cost < best_cost) {
      best_cost = cost;
      best_m = candidates[c];
    }
  }
  return best_m;
}

}  // namespace

MoverPlan plan_movers(const MoverRows& in, const MoverShifts& shifts) {
  MoverPlan plan;
  const int64_t n = shifts.n, d = in.d, k = shifts.k;
  const int64_t most = std::min(kMaxMovers, k / 2);
  if (most < 1 || n < kMinRows) return plan;

  const ShiftOrder by_shift(shifts);
  const std::vector<int32_t>& order = by_shift.order;
  const std::vector<int64_t> failing = failing_sample_rows(in, by_shift, n);
  const int64_t tried = static_cast<int64_t>(failing.size());
  if (tried < kSampleRows * kMinFailingFraction) return plan;

  // Those rows against their own centre and the `most` farthest movers,
  // and how many each candidate m (1, 2, 4, ..., most) settles.
  RowMajorF movers(most, d);
  for (int64_t q = 0; q < most; ++q) {
    std::copy(in.C + order[q] * d, in.C + (order[q] + 1) * d, movers.row(q).data());
  }
  std::vector<int64_t> candidates;
  for (int64_t m = 1; m < most; m *= 2) candidates.push_back(m);
  candidates.push_back(most);
  const std::vector<int64_t> settled =
      settled_per_candidate(in, by_shift, movers, candidates, failing, shifts.team);
  const int64_t best_m = cheapest_movers(candidates, settled, tried, k, d, shifts.tile_unit);
  if (best_m == 0) return plan;

  plan.m = best_m;
  plan.ids.assign(order.begin(), order.begin() + best_m);
  plan.centres = movers.topRows(best_m);
  plan.norms.resize(static_cast<std::size_t>(best_m));
  for (int64_t q = 0; q < best_m; ++q) plan.norms[q] = in.c_norms[order[q]];
  plan.rest_argmax = order[best_m];
  plan.rest_largest = shifts.shift_up[order[best_m]];
  plan.rest_second = best_m + 1 < k ? shifts.shift_up[order[best_m + 1]] : 0.0f;
  return plan;
}

#ifdef STRAY_AMX_POSSIBLE
namespace {

// The movers q0 .. q0 + NQ − 1 against 16 rows whose features xt [d x 16]
// holds transposed (feature t of all rows in one vector): each mover's
// products build up in one register, then fold into the rows' running
// lower estimate of the smallest squared distance to a mover other than
// their own centre.
template <int NQ>
STRAY_AVX512_TARGET inline void fold_movers(const MoverPlan& plan, int64_t q0, const float* xt,
                                            int64_t d, __m512 xn, __m512 tau, __m512i lab,
                                            __m512& others) {
  const float* c = plan.centres.data() + q0 * d;
  __m512 acc[NQ];
  for (int j = 0; j < NQ; ++j) acc[j] = _mm512_setzero_ps();
  for (int64_t t = 0; t < d; ++t) {
    const __m512 xv = _mm512_loadu_ps(xt + t * 16);
    for (int j = 0; j < NQ; ++j) acc[j] = _mm512_fmadd_ps(xv, _mm512_set1_ps(c[j * d + t]), acc[j]);
  }
  const __m512 minus_two = _mm512_set1_ps(-2.0f);
  for (int j = 0; j < NQ; ++j) {
    const __m512 e =
        _mm512_fmadd_ps(minus_two, acc[j], _mm512_add_ps(xn, _mm512_set1_ps(plan.norms[q0 + j])));
    const __mmask16 is_own = _mm512_cmpeq_epi32_mask(lab, _mm512_set1_epi32(plan.ids[q0 + j]));
    // MINPS returns its second operand when either is NaN: a NaN estimate
    // lowers the bound to NaN, which settles nothing.
    others =
        _mm512_mask_min_ps(others, static_cast<__mmask16>(~is_own), others, _mm512_sub_ps(e, tau));
  }
}

// settle_by_movers for up to 16 of the listed rows, on AVX-512: the rows
// are staged (zero-padded to whole 16-feature bands), their own-centre
// products taken there, then transposed for the movers.
STRAY_AVX512_TARGET void settle_block(const MoverPlan& plan, const MoverRows& in,
                                      const int64_t* ids, int64_t rows, const float* lower_rest,
                                      uint8_t* failed, float* stage, float* xt) {
  const int64_t d = in.d, dp = (d + 15) / 16 * 16;
  alignas(64) float xn_s[16] = {}, own_dot[16] = {}, cn_s[16] = {}, rest_s[16] = {}, gap_s[16] = {};
  alignas(64) int32_t lab_s[16];
  for (int64_t r = 0; r < 16; ++r) {
    float* staged = stage + r * dp;
    if (r >= rows) {
      for (int64_t t0 = 0; t0 < dp; t0 += 16) _mm512_storeu_ps(staged + t0, _mm512_setzero_ps());
      lab_s[r] = -1;
      continue;
    }
    const int64_t i = ids[r];
    const int32_t a = in.labels[i];
    const float* x = in.X + i * d;
    const float* c = in.C + static_cast<int64_t>(a) * d;
    __m512 dot = _mm512_setzero_ps();
    for (int64_t t0 = 0; t0 < dp; t0 += 16) {
      const int64_t left = d - t0;
      const __mmask16 lanes =
          left >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(lanes, x + t0);
      dot = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(lanes, c + t0), dot);
      _mm512_storeu_ps(staged + t0, v);
    }
    own_dot[r] = _mm512_reduce_add_ps(dot);
    xn_s[r] = in.row_norms[i];
    cn_s[r] = in.c_norms[a];
    rest_s[r] = lower_rest[r];
    gap_s[r] = in.half_gap[a];
    lab_s[r] = a;
  }
  for (int64_t t0 = 0; t0 < dp; t0 += 16) {
    transpose16(reinterpret_cast<const uint32_t*>(stage + t0), dp,
                reinterpret_cast<uint32_t*>(xt + t0 * 16), 16);
  }
  const __m512 zero = _mm512_setzero_ps();
  const __m512 xn = _mm512_load_ps(xn_s);
  const __m512 tau = _mm512_mul_ps(_mm512_set1_ps(in.relative_error),
                                   _mm512_add_ps(xn, _mm512_set1_ps(in.c_norm_max)));
  const __m512i lab = _mm512_load_si512(lab_s);
  __m512 others = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  int64_t q = 0;
  for (; q + 8 <= plan.m; q += 8) fold_movers<8>(plan, q, xt, d, xn, tau, lab, others);
  if (q + 4 <= plan.m) fold_movers<4>(plan, q, xt, d, xn, tau, lab, others), q += 4;
  if (q + 2 <= plan.m) fold_movers<2>(plan, q, xt, d, xn, tau, lab, others), q += 2;
  if (q < plan.m) fold_movers<1>(plan, q, xt, d, xn, tau, lab, others);

  const __m512 own = _mm512_fmadd_ps(_mm512_set1_ps(-2.0f), _mm512_load_ps(own_dot),
                                     _mm512_add_ps(xn, _mm512_load_ps(cn_s)));
  const __m512 u = _mm512_sqrt_ps(_mm512_add_ps(_mm512_max_ps(own, zero), tau));
  // Operand order as in the scalar path: a NaN bound stays NaN.
  const __m512 l =
      _mm512_min_ps(_mm512_sqrt_ps(_mm512_max_ps(others, zero)), _mm512_load_ps(rest_s));
  const __mmask16 settled =
      _mm512_cmp_ps_mask(u, _mm512_max_ps(_mm512_load_ps(gap_s), l), _CMP_LT_OQ);
  alignas(64) float u_s[16], l_s[16];
  _mm512_store_ps(u_s, u);
  _mm512_store_ps(l_s, l);
  for (int64_t r = 0; r < rows; ++r) {
    in.upper[ids[r]] = u_s[r];
    in.lower[ids[r]] = l_s[r];
    failed[r] = !((settled >> r) & 1u);
  }
}

}  // namespace
#endif

void settle_by_movers(const MoverPlan& plan, const MoverRows& in, const int64_t* ids, int64_t count,
                      const float* lower_rest, uint8_t* failed, std::vector<float>& scratch,
                      bool vector_kernel) {
  const int64_t d = in.d, m = plan.m;
  const float rel = in.relative_error;
#ifdef STRAY_AMX_POSSIBLE
  if (vector_kernel && avx512_available()) {
    const int64_t dp = (d + 15) / 16 * 16;
    scratch.resize(static_cast<std::size_t>(2 * dp * 16));
    constexpr int64_t kPrefetchAhead = 16;  // the next block's rows come from memory
    for (int64_t q0 = 0; q0 < count; q0 += 16) {
      for (int64_t q = q0 + kPrefetchAhead; q < std::min(count, q0 + 2 * kPrefetchAhead); ++q) {
        const char* row = reinterpret_cast<const char*>(in.X + ids[q] * d);
        for (int64_t off = 0; off < d * static_cast<int64_t>(sizeof(float)); off += 64)
          _mm_prefetch(row + off, _MM_HINT_T0);
      }
      settle_block(plan, in, ids + q0, std::min<int64_t>(16, count - q0), lower_rest + q0,
                   failed + q0, scratch.data(), scratch.data() + dp * 16);
    }
    return;
  }
#endif
  // Elsewhere: the rows gathered, their products with the movers by Eigen.
  scratch.resize(static_cast<std::size_t>((count + m) * d + m * count));
  Eigen::Map<RowMajorF> rows(scratch.data(), count, d);
  for (int64_t q = 0; q < count; ++q) {
    std::copy(in.X + ids[q] * d, in.X + (ids[q] + 1) * d, rows.row(q).data());
  }
  Eigen::Map<RowMajorF> P(scratch.data() + count * d, m, count);
  P.noalias() = plan.centres * rows.transpose();
  for (int64_t q = 0; q < count; ++q) {
    const int64_t i = ids[q];
    const int32_t a = in.labels[i];
    const float xn = in.row_norms[i];
    const float tau = rel * (xn + in.c_norm_max);
    const float u = own_centre_upper(in, rows.row(q).data(), a, xn, tau);
    float others = std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < m; ++j) {
      if (plan.ids[j] != a) others = std::min(others, xn + plan.norms[j] - 2.0f * P(j, q) - tau);
    }
    const float l = std::min(lower_rest[q], std::sqrt(std::max(0.0f, others)));
    in.upper[i] = u;
    in.lower[i] = l;
    failed[q] = !(u < std::max(l, in.half_gap[a]));
  }
}

}  // namespace stray::internal
