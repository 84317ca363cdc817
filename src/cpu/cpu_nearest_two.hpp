// The nearest and second-nearest of k centres for a set of rows, fused: the
// k-means assignment's float32 path where the CPU has AVX-512F or AVX2 + FMA.
//
// A GEMM of the rows against the centres writes a [k x rows] block of
// products, which a second pass reads back to find each row's two nearest.
// At the widths k-means sees most (d of a few dozen, after PCA) the GEMM
// has a short inner dimension: packing its operands and storing the block
// cost as much as the multiply-adds. Here a register block of rows × 32
// centres is built in vector registers and folded at once into per-lane
// running minima; only each row's two nearest leave the kernel.
//
// The arithmetic is the GEMM path's: each lane sums x_t·(−2c_t) by fused
// multiply-adds in feature order, then adds fl32(‖c‖²), so v = ‖c‖² − 2c·x
// with the same rounding allowance (a length-d dot product, any order, and
// one addition). The AVX-512 and AVX2 versions do the same operations lane
// by lane, so they give the same bits. Ties keep the lower centre index and
// a NaN never displaces a value, as in nearest_two_of_products.
#pragma once

#include <cstdint>
#include <vector>

namespace stray::internal {

/// Which fused kernel runs, if any.
enum class NearestTwoKernel : uint8_t { none, avx2, avx512 };

/// The kernel for k centres of width d on this CPU: none where the CPU has
/// neither, or where the centres (k·d floats) would not stay in a core's
/// L2 cache (a GEMM blocks its operands for the cache; this kernel reads
/// every centre for every group of rows). Depends on the shape and the
/// CPU only.
NearestTwoKernel nearest_two_kernel(int64_t k, int64_t d);

/// Centres as the kernel reads them: panels of 16, feature-major, each
/// value −2·c (exact), and each lane's fl32(‖c‖²) (+inf on padding lanes,
/// which never win).
struct NearestTwoCentres {
  NearestTwoCentres(const float* c, const float* c_norms, int64_t k, int64_t d);
  int64_t k, d, panels;
  std::vector<float> values;  // [panels][d][16]
  std::vector<float> norms;   // [panels][16]
};

/// Rows `rows[0..m)` of x [· x d] (or, with rows null, rows begin..begin+m):
/// best[r], second[r] the two smallest v over the centres and best_j[r] the
/// index of the first. With `kernel` none, scalar code does the same
/// operations (slow: for CPUs without either vector unit, and for tests).
void nearest_two_fused(NearestTwoKernel kernel, const NearestTwoCentres& centres, const float* x,
                       const int64_t* rows, int64_t begin, int64_t m, float* best, float* second,
                       int32_t* best_j);

}  // namespace stray::internal
