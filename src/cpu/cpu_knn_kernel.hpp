// The fused screening kernel of the CPU's k nearest neighbours, for narrow
// rows (d ≤ kFusedMaxWidth).
//
// At a dozen or two features a GEMM tile of products is output-bound: each
// product costs d multiply-adds to make and as much again to store, reload
// and compare. This kernel keeps a register block of 8 queries × 32
// reference rows in vector registers, builds each estimate there and
// compares it at once with the query's limit; only the rare pairs that
// pass leave the registers (as hits).
//
// The estimate: reference rows are stored in panels of 16 (feature-major,
// one vector per feature, each value −2·y'), and each lane starts from
// fl32(‖y'‖²), so e = fl32(‖y'‖²) + Σ_t x'_t·(−2y'_t) by d fused
// multiply-adds, any order. Against ‖x' − y'‖² = ‖x'‖² + ‖y'‖² − 2x'·y':
//   |‖x'‖² + e − ‖x' − y'‖²| ≤ γ_d·(‖y'‖²(1 + u) + 2Σ|x'_t y'_t|) + u‖y'‖²
//                            ≤ (2γ_d + 2u)·N,   N = ‖x'‖² + ‖y'‖²,
// and the symmetric test's fl(e + fl32(‖x'‖²)) adds at most 3u·N more;
// so fused_bound (below) is ExpandedBound with κ = 2·(2d + 8)·u, twice
// (2d + 8)·u for margin. A row is ruled out for the query when
// e > threshold − ‖x'‖², and the query for the row (symmetric tiles) when
// fl(e + fl32(‖x'‖²)) > the row's own threshold, each threshold rounded up
// to a float32 limit.
//
// Which kernel runs is decided at run time (the binary is built for any
// x86-64; the AVX-512 and AVX2 versions carry target attributes): AVX-512F,
// else AVX2 with FMA, else none — the caller then uses GEMM tiles.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/knn_exact.hpp"

namespace stray::internal {

/// The widest rows the fused kernel takes; wider rows amortise a GEMM
/// tile's stores over enough products.
constexpr int64_t kFusedMaxWidth = 64;
/// Queries per kernel call and rows per panel.
constexpr int kFusedQueries = 8;
constexpr int kPanelRows = 16;

enum class KnnKernel : uint8_t {
  automatic,  // the best this CPU has (the default)
  gemm,       // GEMM tiles and the TileFilter only
  avx2,       // the fused kernel on AVX2 + FMA
  avx512,     // the fused kernel on AVX-512F
};

/// The kernel that runs for rows of width d when `requested` is asked for:
/// a fused one only where the CPU has it and d ≤ kFusedMaxWidth, else gemm.
KnnKernel knn_kernel_for(int64_t d, KnnKernel requested);

/// One hit: query slot (0..7), row within the tile, and its estimate e.
struct FusedHit {
  uint32_t query;
  uint32_t row;
  float estimate;
};

/// One call of the kernel: kFusedQueries centred query rows `xs` ([8 x d],
/// row-major) against `panels` consecutive panels (values [panels][d][16],
/// starts [panels][16]; padding lanes start at +inf).
struct FusedScreen {
  const float* xs = nullptr;
  const float* limits = nullptr;  // [8] per query: e above it rules a row out
  const float* values = nullptr;
  const float* starts = nullptr;
  int64_t panels = 0, d = 0;
  /// Symmetric tiles (a self query's pairs, each computed once): per row of
  /// the panels its own limit on fl(e + fl32(‖x'‖²)), and each query's
  /// fl32(‖x'‖²). Null: queries only.
  const float* lane_limits = nullptr;
  const float* nx32 = nullptr;
};

/// Writes every (query, row) of `job` that a limit keeps to `hits` (room
/// for 8·16·panels) in any order, and returns how many. `kernel` must be
/// avx2 or avx512.
int64_t knn_fused_screen(KnnKernel kernel, const FusedScreen& job, FusedHit* hits);

/// The bound of the fused estimate (see the top of this file).
inline ExpandedBound fused_bound(int64_t d) {
  ExpandedBound b = ExpandedBound::make(d);
  b.kappa = 2.0 * static_cast<double>(2 * d + 8) / 16777216.0;
  return b;
}

/// The float32 limit of one query for a tile: e above it rules a row out.
/// `threshold` is fused_bound(d).threshold(...) with the tile's largest
/// norms; ‖x'‖² is taken off in float64 and the result rounded up.
inline float fused_limit(double threshold, double nx) {
  // Rounded up without nextafter: adding 1.2e-7·|t| (above float32's
  // relative half-ulp 2⁻²⁴ plus float64's) and 1e-38 (above the subnormal
  // spacing) before rounding to nearest leaves the float at or above t.
  const double t = threshold - nx;
  return static_cast<float>(t + std::abs(t) * 1.2e-7 + 1e-38);
}

}  // namespace stray::internal
