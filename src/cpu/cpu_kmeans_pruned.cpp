// CPU backend: nearest-centre assignment with Hamerly's bounds. Each row
// keeps an upper bound on the distance to its assigned centre and a lower
// bound on the distance to any other; when centres move little (every
// Lloyd iteration after the first few), the bounds prove most labels
// unchanged and those rows cost two comparisons instead of k dot products.
// Rows that cannot be proven are gathered and computed against every
// centre: on the AMX tile unit where the CPU has one (cpu_kmeans_amx.hpp),
// else by the fused AVX-512 / AVX2 kernel (cpu_nearest_two.hpp), else by
// an Eigen GEMM.
//
// The bounds are widened by the rounding error of the expanded distance
// formula (and of the tile unit's products), so a row is skipped only when
// brute force (nearest_centroid) would give it the same label: results
// equal plain Lloyd's.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/cpu_kmeans_amx.hpp"
#include "cpu/cpu_kmeans_movers.hpp"
#include "cpu/cpu_nearest_two.hpp"
#include "core/check.hpp"

namespace stray::internal {
namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMajorD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rounding allowance of the expanded formula ‖x‖² + ‖c‖² − 2x·c in float32,
// relative to ‖x‖² + max‖c‖²: the worst case of a length-d float32 dot
// product is about d·2⁻²⁴, so the allowance grows with d and stays above it
// (1e-5 up to d = 128, then 1e-5 · d/128 ≈ 1.3 · d·2⁻²⁴).
double expanded_relative_error(int64_t d) {
  return 1e-5 * std::max(1.0, static_cast<double>(d) / 128.0);
}
// Where the tile unit pays (bench_kmeans PrunedFullPass, 2 threads; see
// RESULTS.md, 'k-means primitives and fit', the full pass with and
// without the tile unit): from 32 features (padding) and 16 centres, up to
// 64 features. It wins at d = 32 to 64 but loses at d = 256, where Eigen's
// float32 GEMM has a long inner dimension to work with and the rows'
// conversion costs as much as the products saved.
constexpr int64_t kAmxMinFeatures = 32;
constexpr int64_t kAmxMaxFeatures = 64;
constexpr int64_t kAmxMinCentres = 16;
// Allowance for float32 rounding when bounds are moved by centre shifts.
constexpr float kBoundSlack = 1e-6f;

// The smallest float not below v (v ≥ 0).
float round_up_to_float(double v) {
  const float f = static_cast<float>(v);
  return static_cast<double>(f) < v ? std::nextafter(f, std::numeric_limits<float>::infinity()) : f;
}

// Moves the bounds of `count` rows by their centres' shifts (shift_up [k],
// rounded up, so that float rounding only loosens them; kBoundSlack covers
// the sums) and sets failed[r] where they no longer prove the label: the
// upper bound is not below the larger of the lower bound and the centre's
// half gap (a NaN bound proves nothing). Its own function, with restrict
// pointers and a 32-bit count: that is how GCC vectorises the gathers.
void move_bounds(const int32_t* __restrict labels, int count, const float* __restrict shift_up,
                 const float* __restrict half_gap, int32_t largest_mover, float largest_shift,
                 float second_shift, float* __restrict upper, float* __restrict lower,
                 uint8_t* __restrict failed) {
  for (int r = 0; r < count; ++r) {
    const int32_t a = labels[r];
    const float u = (upper[r] + shift_up[a]) * (1.0f + kBoundSlack);
    // A row's lower bound drops by the largest shift of any *other* centre.
    const float other = a == largest_mover ? second_shift : largest_shift;
    const float l = (lower[r] - other) * (1.0f - kBoundSlack);
    upper[r] = u;
    lower[r] = l;
    failed[r] = !(u < std::max(l, half_gap[a]));
  }
}

// The label and bounds of `count` consecutive rows from their nearest two
// v = ‖c‖² − 2·c·x (best, second), squared norms and rounding allowances.
// Restrict pointers and a plain count, so that GCC vectorises it.
void finish_rows(int64_t count, const int32_t* __restrict best_j, const float* __restrict best,
                 const float* __restrict second, const float* __restrict tau,
                 const float* __restrict norms, int32_t* __restrict labels,
                 float* __restrict upper, float* __restrict lower) {
  for (int64_t r = 0; r < count; ++r) {
    labels[r] = best_j[r];
    upper[r] = std::sqrt(std::max(0.0f, norms[r] + best[r]) + tau[r]);
    lower[r] = std::sqrt(std::max(0.0f, norms[r] + second[r] - tau[r]));
  }
}

// Half the distance from each centre to its nearest other centre (s_j in
// Hamerly's paper): a row within s_j of centre j is nearest to it. Every
// pruned pass computes it first, in O(k²·d): negligible at k = 100,
// d = 64, but at k = 1,000, d = 32 more than the rest of a pass whose
// bounds settle most rows. Large cases run in fixed bands of centres on
// the threads (the bits do not depend on the thread count); small ones
// stay on one, where a parallel region cost more than it saved (see
// RESULTS.md, 'k-means against scikit-learn', the half gaps).
std::vector<float> half_gaps(const float* c, int64_t k, int64_t d, WorkTeam& team) {
  std::vector<float> gap(static_cast<std::size_t>(k), std::numeric_limits<float>::infinity());
  if (k < 2) return gap;
  const RowMajorD centres = Eigen::Map<const RowMajorF>(c, k, d).cast<double>();
  std::vector<double> sq_norms(static_cast<std::size_t>(k));
  for (int64_t a = 0; a < k; ++a) sq_norms[a] = centres.row(a).squaredNorm();
  constexpr int64_t kBand = 32;
  const int64_t bands = (k + kBand - 1) / kBand;
  const auto band_fn = [&](int64_t band, int) {
    const int64_t first = band * kBand, rows = std::min(kBand, k - first);
    const RowMajorD dots = centres.middleRows(first, rows) * centres.transpose();
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t a = first + r;
      double nearest = std::numeric_limits<double>::infinity();
      for (int64_t b = 0; b < k; ++b) {
        if (b != a) nearest = std::min(nearest, sq_norms[a] + sq_norms[b] - 2.0 * dots(r, b));
      }
      gap[a] = static_cast<float>(0.5 * std::sqrt(std::max(0.0, nearest)) * (1.0 - 1e-7));
    }
  };
  if (bands > 1 && k * k * d > (1 << 22)) {
    team.run(bands, band_fn);
  } else {
    for (int64_t band = 0; band < bands; ++band) band_fn(band, 0);
  }
  return gap;
}

// The nearest and second-nearest of k centres for m rows from their
// float32 products [k x m] (one contiguous run of rows per centre), with
// v = ‖c‖² − 2·c·x; ties keep the lower index.
void nearest_two_of_products(const float* products, const float* c_norms, int64_t k, int64_t m,
                             float* best, float* second, int32_t* best_j) {
  for (int64_t r = 0; r < m; ++r) {
    best[r] = second[r] = std::numeric_limits<float>::infinity();
    best_j[r] = 0;
  }
  for (int64_t j = 0; j < k; ++j) {
    const float cn = c_norms[j];
    const float* p = products + j * m;
    const int32_t label = static_cast<int32_t>(j);
#pragma omp simd
    for (int64_t r = 0; r < m; ++r) {
      // Branch-free so it vectorises: the new second-best is the smaller
      // of the old second and the larger of (v, old best).
      const float v = cn - 2.0f * p[r];
      const float b = best[r];
      const bool closer = v < b;  // strict: ties keep the lower index
      const float larger = closer ? b : v;
      const float s = second[r];
      second[r] = larger < s ? larger : s;
      best[r] = closer ? v : b;
      best_j[r] = closer ? label : best_j[r];
    }
  }
}

// Every kRetrySampleEvery-th tile tries the own-centre retry even where it
// is skipped, so that its counts stay current; a retried row is prefetched
// kRetryPrefetchRows rows ahead.
constexpr int64_t kRetrySampleEvery = 16;
constexpr int64_t kRetryPrefetchRows = 4;

// Each centre's ‖c‖² (summed in float64, stored as float) and the largest.
struct CentreNorms {
  std::vector<float> norms;  // [k]
  float max = 0.0f;
};

CentreNorms centre_norms(const float* c, int64_t k, int64_t d) {
  CentreNorms out;
  out.norms.resize(static_cast<std::size_t>(k));
  for (int64_t j = 0; j < k; ++j) {
    double s = 0.0;
    for (int64_t t = 0; t < d; ++t) s += static_cast<double>(c[j * d + t]) * c[j * d + t];
    out.norms[j] = static_cast<float>(s);
    out.max = std::max(out.max, out.norms[j]);
  }
  return out;
}

// The call's centre shifts as the bounds use them. A row's lower bound
// drops by the largest shift of any *other* centre, so the largest, which
// centre it is and the second largest are kept. The bounds are moved in
// float32 with the shifts rounded up, so that rounding only ever loosens
// them (kBoundSlack covers the sums' own).
struct CentreShifts {
  std::vector<float> up;  // [k] each shift rounded up
  int32_t argmax = -1;
  float largest_up = 0.0f, second_up = 0.0f;
};

CentreShifts centre_shifts(const double* center_shift, int64_t k, bool fresh) {
  CentreShifts out;
  double shift_max = 0.0, shift_second = 0.0;
  out.up.assign(static_cast<std::size_t>(k), 0.0f);
  if (!fresh) {
    for (int64_t j = 0; j < k; ++j) {
      if (center_shift[j] > shift_max) {
        shift_second = shift_max;
        shift_max = center_shift[j];
        out.argmax = static_cast<int32_t>(j);
      } else {
        shift_second = std::max(shift_second, center_shift[j]);
      }
      out.up[j] = round_up_to_float(center_shift[j]);
    }
  }
  out.largest_up = round_up_to_float(shift_max);
  out.second_up = round_up_to_float(shift_second);
  return out;
}

// Each row's ‖x‖² in float32, into norms [n].
void row_sq_norms_into(const CpuBackend& be, const float* x, int64_t n, int64_t d, float* norms) {
  be.for_row_blocks(n, CpuBackend::elementwise_block_rows(d), [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      const float* row = x + i * d;
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < d; ++j) s += row[j] * row[j];
      norms[i] = s;
    }
  });
}

// What every tile of one call reads and writes, fixed before the tiles
// start.
struct TilePass {
  const float* x;  // [n x d]
  int64_t n, d, k;
  const float* c;  // [k x d]
  Eigen::Map<const RowMajorF> centres;
  const CentreNorms& c_norms;
  const float* gap;  // [k] half gaps
  const CentreShifts& shifts;
  const MoverPlan& movers;
  const MoverRows& mover_rows;
  const float* row_norms;  // [n]
  float* fresh_norms;      // [n] summed by the tile unit's fresh pass, or null
  int32_t* labels;         // [n]
  float* upper;            // [n]
  float* lower;            // [n]
  double relative_error;   // of the expanded formula
  double product_error;    // the same, plus the tile unit's where it is used
  bool fresh, use_amx;
  // The fused float32 kernel where the tile unit is not used and the CPU
  // has one (cpu_nearest_two.hpp); none: GEMM.
  NearestTwoKernel fused;
  const NearestTwoCentres* fused_c;
  bool retry;  // the own-centre retry pays, by the last counts
  const AmxCentres& amx_c;
  int64_t tile;  // rows per tile
};

// One thread's working memory for the tiles it takes, and its counts of
// retried rows and of those the retry settled.
struct TileScratch {
  explicit TileScratch(const TilePass& p)
      : bound_failed(static_cast<std::size_t>(p.tile)),
        gathered(p.use_amx || p.fused != NearestTwoKernel::none ? 0 : p.tile, p.d),
        products(p.use_amx || p.fused != NearestTwoKernel::none
                     ? 0
                     : static_cast<std::size_t>(p.k * p.tile)),
        best(static_cast<std::size_t>(p.tile)),
        second(best.size()),
        best_j(best.size()),
        row_tau(best.size()) {
    pending.reserve(static_cast<std::size_t>(p.tile));
  }

  AmxRowScratch amx_rows;
  std::vector<int64_t> pending, retry_rows;  // rows of the tile
  std::vector<float> retry_bounds;            // z of each retry row
  std::vector<uint8_t> bound_failed;
  // Rows gathered for float32 products: the unresolved rows (float32
  // path) or the tile unit's near ties; grown as needed.
  RowMajorF gathered;
  // [k x rows] products, one contiguous run of rows per centre.
  std::vector<float> products;
  std::vector<float> best, second;
  std::vector<int32_t> best_j;
  std::vector<float> row_tau;     // each row's rounding allowance
  std::vector<int64_t> near_ties;  // positions in pending
  std::vector<float> tie_best, tie_second;
  std::vector<int32_t> tie_j;
  // The movers' check: the tile's lower bounds before they move, the
  // failing rows' lower bounds moved by the rest's shift, its verdicts.
  std::vector<float> lower_before, lower_rest, mover_scratch;
  std::vector<uint8_t> mover_failed;
  int64_t retried = 0, settled = 0;
};

// The failing rows s.pending [0, count) against their own centre and the
// movers, with the lower bound moved by the largest shift of the rest
// only; those the check settles leave s.pending.
void settle_failed_by_movers(const TilePass& p, TileScratch& s, int64_t begin, int64_t count) {
  const MoverPlan& movers = p.movers;
  s.lower_rest.resize(static_cast<std::size_t>(count));
  s.mover_failed.resize(s.lower_rest.size());
  for (int64_t q = 0; q < count; ++q) {
    const int64_t i = s.pending[q];
    const float other =
        p.labels[i] == movers.rest_argmax ? movers.rest_second : movers.rest_largest;
    s.lower_rest[q] = (s.lower_before[i - begin] - other) * (1.0f - kBoundSlack);
  }
  settle_by_movers(movers, p.mover_rows, s.pending.data(), count, s.lower_rest.data(),
                   s.mover_failed.data(), s.mover_scratch);
  int64_t still = 0;
  for (int64_t q = 0; q < count; ++q) {  // branch-free compaction
    s.pending[still] = s.pending[q];
    still += s.mover_failed[q];
  }
  s.pending.resize(static_cast<std::size_t>(still));
}

// Moves every row's bounds (vectorised), then gathers the rows they no
// longer settle (a NaN bound settles nothing): into s.retry_rows, with
// the bound each must beat, where this tile tries the own-centre retry;
// otherwise into s.pending, after the movers' check where there are movers.
void gather_failed_rows(const TilePass& p, TileScratch& s, int64_t begin, int64_t end,
                        bool try_retry) {
  uint8_t* failed = s.bound_failed.data();
  if (p.movers.m > 0) s.lower_before.assign(p.lower + begin, p.lower + end);
  move_bounds(p.labels + begin, static_cast<int>(end - begin), p.shifts.up.data(), p.gap,
              p.shifts.argmax, p.shifts.largest_up, p.shifts.second_up, p.upper + begin,
              p.lower + begin, failed);
  std::vector<int64_t>& left = try_retry ? s.retry_rows : s.pending;
  left.resize(static_cast<std::size_t>(end - begin));
  int64_t count = 0;
  for (int64_t i = begin; i < end; ++i) {  // branch-free compaction
    left[count] = i;
    count += failed[i - begin];
  }
  left.resize(static_cast<std::size_t>(count));
  // With movers there is no retry, so the failing rows are in s.pending.
  if (p.movers.m > 0 && count > 0) settle_failed_by_movers(p, s, begin, count);
  if (try_retry) {
    for (const int64_t i : s.retry_rows) {
      s.retry_bounds.push_back(std::max(p.lower[i], p.gap[p.labels[i]]));
    }
  }
}

// Tightens the upper bound of s.retry_rows with the exact distance to
// their assigned centre; those it does not settle join s.pending. They are
// scattered through the tile and come from memory: each is prefetched a
// few rows ahead.
void retry_own_centre(const TilePass& p, TileScratch& s) {
  const int64_t d = p.d;
  const int64_t retries = static_cast<int64_t>(s.retry_rows.size());
  for (int64_t q = 0; q < retries; ++q) {
    if (q + kRetryPrefetchRows < retries) {
      const int64_t next = s.retry_rows[q + kRetryPrefetchRows];
      const char* ahead = reinterpret_cast<const char*>(p.x + next * d);
      for (int64_t off = 0; off < d * static_cast<int64_t>(sizeof(float)); off += 64)
        __builtin_prefetch(ahead + off);
    }
    const int64_t i = s.retry_rows[q];
    const float* row = p.x + i * d;
    const float* centre = p.c + static_cast<int64_t>(p.labels[i]) * d;
    float exact = 0.0f;
#pragma omp simd reduction(+ : exact)
    for (int64_t j = 0; j < d; ++j) {
      const float diff = row[j] - centre[j];
      exact += diff * diff;
    }
    const float tau = static_cast<float>(p.relative_error * (p.row_norms[i] + p.c_norms.max));
    const float u = std::sqrt(exact + tau);
    p.upper[i] = u;
    ++s.retried;
    if (u < s.retry_bounds[q]) {
      ++s.settled;
      continue;
    }
    s.pending.push_back(i);
  }
}

// The nearest and second-nearest centre of the m rows in s.pending (the
// tile's rows from `begin` when `consecutive`), on the tile unit, by the
// fused kernel or by an Eigen GEMM, into s.best, s.second, s.best_j.
void nearest_two_of_pending(const TilePass& p, TileScratch& s, int64_t begin, int64_t m,
                            bool consecutive) {
  const int64_t d = p.d;
  if (p.use_amx) {
    amx_nearest_two(p.amx_c, p.c_norms.norms.data(), p.x,
                    consecutive ? nullptr : s.pending.data(), begin, m, s.amx_rows,
                    s.best.data(), s.second.data(), s.best_j.data(),
                    p.fresh_norms ? p.fresh_norms + begin : nullptr);
    return;
  }
  if (p.fused != NearestTwoKernel::none) {
    nearest_two_fused(p.fused, *p.fused_c, p.x, consecutive ? nullptr : s.pending.data(), begin,
                      m, s.best.data(), s.second.data(), s.best_j.data());
    return;
  }
  Eigen::Map<RowMajorF> out(s.products.data(), p.k, m);
  if (consecutive) {
    // Every row of the tile is unresolved (the first iterations): they
    // are consecutive in X, so multiply in place instead of gathering.
    const Eigen::Map<const RowMajorF> rows(p.x + begin * d, m, d);
    out.noalias() = p.centres * rows.transpose();
  } else {
    for (int64_t r = 0; r < m; ++r) {
      std::copy(p.x + s.pending[r] * d, p.x + (s.pending[r] + 1) * d, s.gathered.row(r).data());
    }
    out.noalias() = p.centres * s.gathered.topRows(m).transpose();
  }
  nearest_two_of_products(s.products.data(), p.c_norms.norms.data(), p.k, m, s.best.data(),
                          s.second.data(), s.best_j.data());
}

// The tile unit's error could hide the order of the two nearest: the rows
// of s.pending [0, m) where it could are computed again with float32
// products, in one GEMM, and take the float32 rounding allowance.
void redo_near_ties(const TilePass& p, TileScratch& s, int64_t m) {
  const int64_t d = p.d, k = p.k;
  s.near_ties.resize(static_cast<std::size_t>(m));
  int64_t ties = 0;
  for (int64_t r = 0; r < m; ++r) {  // branch-free compaction
    s.near_ties[ties] = r;
    ties += s.second[r] - s.best[r] <= 2.0f * s.row_tau[r];
  }
  s.near_ties.resize(static_cast<std::size_t>(ties));
  if (ties == 0) return;
  if (s.gathered.rows() < ties) s.gathered.resize(std::max<int64_t>(ties, 64), d);
  if (static_cast<int64_t>(s.products.size()) < k * ties) {
    s.products.resize(static_cast<std::size_t>(k * ties));
  }
  s.tie_best.resize(static_cast<std::size_t>(ties));
  s.tie_second.resize(s.tie_best.size());
  s.tie_j.resize(s.tie_best.size());
  for (int64_t q = 0; q < ties; ++q) {
    const float* row = p.x + s.pending[s.near_ties[q]] * d;
    std::copy(row, row + d, s.gathered.row(q).data());
  }
  Eigen::Map<RowMajorF> out(s.products.data(), k, ties);
  out.noalias() = p.centres * s.gathered.topRows(ties).transpose();
  nearest_two_of_products(s.products.data(), p.c_norms.norms.data(), k, ties, s.tie_best.data(),
                          s.tie_second.data(), s.tie_j.data());
  for (int64_t q = 0; q < ties; ++q) {
    const int64_t r = s.near_ties[q];
    s.best[r] = s.tie_best[q];
    s.second[r] = s.tie_second[q];
    s.best_j[r] = s.tie_j[q];
    s.row_tau[r] =
        static_cast<float>(p.relative_error * (p.row_norms[s.pending[r]] + p.c_norms.max));
  }
}

// Exact labels and fresh bounds for the m rows of s.pending the bounds
// could not settle.
void recompute_pending(const TilePass& p, TileScratch& s, int64_t begin, int64_t end) {
  const int64_t m = static_cast<int64_t>(s.pending.size());
  const bool consecutive = m == end - begin;
  nearest_two_of_pending(p, s, begin, m, consecutive);
  const float product_error_f = static_cast<float>(p.product_error);
  const float c_norm_max = p.c_norms.max;
  const float* row_norms = p.row_norms;
  const int64_t* rows = s.pending.data();
  float* row_tau = s.row_tau.data();
#pragma omp simd
  for (int64_t r = 0; r < m; ++r) {
    row_tau[r] = product_error_f * (row_norms[rows[r]] + c_norm_max);
  }
  if (p.use_amx) redo_near_ties(p, s, m);
  // Labels and fresh bounds: plain stores for consecutive rows (the
  // first iterations' case), scattered ones otherwise.
  if (consecutive) {
    finish_rows(m, s.best_j.data(), s.best.data(), s.second.data(), s.row_tau.data(),
                row_norms + begin, p.labels + begin, p.upper + begin, p.lower + begin);
  } else {
    for (int64_t r = 0; r < m; ++r) {
      const int64_t i = rows[r];
      finish_rows(1, s.best_j.data() + r, s.best.data() + r, s.second.data() + r,
                  s.row_tau.data() + r, row_norms + i, p.labels + i, p.upper + i, p.lower + i);
    }
  }
}

// Tile t: the rows its bounds no longer settle, the own-centre retry where
// it is tried, then the rows still unsettled against every centre.
void assign_tile(const TilePass& p, TileScratch& s, int64_t t) {
  const int64_t begin = t * p.tile, end = std::min(p.n, begin + p.tile);
  s.pending.clear();
  s.retry_rows.clear();
  s.retry_bounds.clear();
  const bool try_retry = p.movers.m == 0 && (p.retry || t % kRetrySampleEvery == 0);
  if (p.fresh) {
    for (int64_t i = begin; i < end; ++i) s.pending.push_back(i);
  } else {
    gather_failed_rows(p, s, begin, end, try_retry);
  }
  retry_own_centre(p, s);
  if (!s.pending.empty()) recompute_pending(p, s, begin, end);
}

// The call's bounds: new ones (for n rows) on a fresh call, else those of
// the last call, which must have been made for the same X.
HamerlyState& prepared_bounds(Backend& backend, AssignmentState& state, int64_t n, bool fresh) {
  auto* hamerly = dynamic_cast<HamerlyState*>(&state);
  require(hamerly != nullptr, ErrorCode::invalid_argument, "nearest_centroid_pruned",
          "the state was made by another backend");
  HamerlyState& bounds = *hamerly;
  if (fresh) {
    bounds.upper = backend.allocate<float>(n);
    bounds.lower = backend.allocate<float>(n);
    bounds.row_norms = backend.allocate<float>(n);
    bounds.retried = bounds.settled_by_retry = 0;
  }
  require(bounds.upper.size() == n && bounds.lower.size() == n && bounds.row_norms.size() == n,
          ErrorCode::invalid_argument, "nearest_centroid_pruned",
          "bounds were made for another X; pass fresh = true");
  return bounds;
}

// A row whose bounds fail gets the exact distance to its own centre, which
// may settle it without the k products. That read of the row and its d
// products cost about 3/8 of the row's k products on the tile unit at
// d = 64, k = 100 (see RESULTS.md, 'Figures moved from source comments
// (2026-12-05)'), so there it pays only where it settles more than 3/8 of
// the rows it tries; against float32 products, already from 1/8. While
// centres still move far (the first iterations) it almost never does, and
// it is skipped, judged by the last counts (fixed by the data, so the
// choice is the same for any thread count; every 16th tile always tries,
// so the counts stay current). Right after a fresh pass there are no
// counts, and the centres' first moves are their largest: skip it. Labels
// are the same either way.
bool retry_pays(const HamerlyState& bounds, bool use_amx) {
  const int64_t pays_eighths = use_amx ? 3 : 1;
  return bounds.retried > 0 && bounds.settled_by_retry * 8 >= bounds.retried * pays_eighths;
}

// Every tile of the pass on the team; the own-centre retry's counts kept
// for the next call.
void assign_tiles(const TilePass& pass, int64_t tiles, WorkTeam& team, HamerlyState& bounds) {
  PerWorker<TileScratch> scratch(team, [&] { return TileScratch(pass); });
  team.run(tiles, [&](int64_t t, int worker) {
#ifdef STRAY_AMX_POSSIBLE
    if (pass.use_amx) amx_begin();  // the tile state is per thread, and cheap to set
#endif
    assign_tile(pass, scratch[worker], t);
#ifdef STRAY_AMX_POSSIBLE
    if (pass.use_amx) amx_end();
#endif
  });
  int64_t retried = 0, settled_by_retry = 0;
  scratch.for_each([&](const TileScratch& s) {
    retried += s.retried;
    settled_by_retry += s.settled;
  });
  if (retried > 0 || pass.fresh) {  // a call with no failed bounds keeps the last counts
    bounds.retried = retried;
    bounds.settled_by_retry = settled_by_retry;
  }
}

}  // namespace

std::unique_ptr<AssignmentState> CpuBackend::make_assignment_state() {
  return std::make_unique<HamerlyState>();
}

void CpuBackend::nearest_centroid_pruned(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                         DeviceArray<int32_t>& labels,
                                         AssignmentState& state, const double* center_shift,
                                         bool fresh) {
  require_host("nearest_centroid_pruned", {X.buffer(), C.buffer(), labels.buffer()});
  const int64_t n = X.rows(), d = X.cols(), k = C.rows();
  require(X.cols() == C.cols() && k > 0, ErrorCode::shape_mismatch, "nearest_centroid_pruned",
          "X has ", X.cols(), " features, ", k, " centres have ", C.cols());
  require(labels.size() == n, ErrorCode::shape_mismatch, "nearest_centroid_pruned",
          "labels must have n=", n, " entries");
  require(fresh || center_shift != nullptr, ErrorCode::invalid_argument,
          "nearest_centroid_pruned", "center_shift is required unless fresh");
  HamerlyState& bounds = prepared_bounds(*this, state, n, fresh);

  const CentreNorms c_norms = centre_norms(C.data(), k, d);
  const std::vector<float> gap = half_gaps(C.data(), k, d, *team_);
  const double relative_error = expanded_relative_error(d);
  const CentreShifts shifts = centre_shifts(center_shift, k, fresh);
  // Products on the tile unit where there is one (see cpu_kmeans_amx.hpp):
  // the rounding allowance widens by its error, and rows whose two nearest
  // centres fall within it are settled again in float32.
  const bool use_amx = options_.tile_unit && k >= kAmxMinCentres && d >= kAmxMinFeatures &&
                       d <= kAmxMaxFeatures && amx_available();
  // The tile unit's path keeps no [k x rows] products, so its tiles are
  // sized by its own working set.
  const int64_t tile = use_amx ? amx_tile_rows(d, k, workspace_bytes_, threads_)
                               : distance_tile_rows(d, k);
  const int64_t tiles = (n + tile - 1) / tile;
  const AmxCentres amx_c = use_amx ? amx_centres(C.data(), k, d) : AmxCentres{};
  const NearestTwoKernel fused = use_amx ? NearestTwoKernel::none : nearest_two_kernel(k, d);
  const std::optional<NearestTwoCentres> fused_c =
      fused == NearestTwoKernel::none
          ? std::nullopt
          : std::optional<NearestTwoCentres>(std::in_place, C.data(), c_norms.norms.data(), k, d);
  // Each row's ‖x‖², once per X: on the tile unit's path the fresh pass
  // sums them as it converts the rows (every row is computed then).
  if (fresh && !use_amx) row_sq_norms_into(*this, X.data(), n, d, bounds.row_norms.data());
  // Rows whose bounds fail compared exactly with their own centre and the
  // few that moved far, their lower bound moved by the largest shift of the
  // rest (cpu_kmeans_movers.hpp); retries are not needed then.
  const MoverRows mover_rows{.X = X.data(), .d = d, .C = C.data(),
                             .c_norms = c_norms.norms.data(), .c_norm_max = c_norms.max,
                             .labels = labels.data(), .row_norms = bounds.row_norms.data(),
                             .half_gap = gap.data(),
                             .relative_error = static_cast<float>(relative_error),
                             .upper = bounds.upper.data(), .lower = bounds.lower.data()};
  const MoverPlan movers =
      fresh ? MoverPlan{}
            : plan_movers(mover_rows, {n, k, center_shift, shifts.up.data(), use_amx, team_.get()});
  const TilePass pass{
      .x = X.data(), .n = n, .d = d, .k = k, .c = C.data(),
      .centres = Eigen::Map<const RowMajorF>(C.data(), k, d), .c_norms = c_norms,
      .gap = gap.data(), .shifts = shifts, .movers = movers, .mover_rows = mover_rows,
      .row_norms = bounds.row_norms.data(),
      .fresh_norms = fresh && use_amx ? bounds.row_norms.data() : nullptr,
      .labels = labels.data(), .upper = bounds.upper.data(), .lower = bounds.lower.data(),
      .relative_error = relative_error,
      .product_error = relative_error + (use_amx ? amx_relative_error(d) : 0.0),
      .fresh = fresh, .use_amx = use_amx, .fused = fused,
      .fused_c = fused_c ? &*fused_c : nullptr,
      .retry = movers.m == 0 && retry_pays(bounds, use_amx),
      .amx_c = amx_c, .tile = tile};

  assign_tiles(pass, tiles, *team_, bounds);
}

}  // namespace stray::internal
