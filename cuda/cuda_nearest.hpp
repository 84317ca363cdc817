// The fused distance kernel of the CUDA backend: nearest centres, closest
// distances and k-means++ potentials without a [rows x k] products tile.
//
// A thread block keeps 64 rows of X in shared memory for the whole call and
// streams the centres past them 64 at a time; each thread accumulates a
// 4 x 4 block of x·c in registers and folds it at once into its rows'
// running (minimum, argmin), so nothing n-by-k is written to memory. The
// fold uses the CPU backend's expressions (see cuda_nearest.cu).
//
// Which path runs: fused_distances_fit(d). Rows up to kFusedMaxDim wide fit
// shared memory (64 rows × 256 features × 4 bytes = 64 KiB, plus an 8 KiB
// centre slice); wider rows keep the cuBLAS GEMM tiles of cuda_kmeans.cu,
// where a GEMM's blocking over d pays and the tile's extra traffic (4k
// bytes per row) is small next to the row itself.
#pragma once

#include <cstdint>

#include "cuda_backend.hpp"

namespace stray::internal::cuda {

/// Widest rows the fused kernel takes.
constexpr int64_t kFusedMaxDim = 256;

/// The rule for the fused kernel over the GEMM tiles: rows of width d fit
/// a block's shared memory. k plays no part: centres are streamed.
inline bool fused_distances_fit(int64_t d) { return d <= kFusedMaxDim; }

/// nearest_centroid on rows [0, n) of X [n x d] against C [k x d]:
/// labels[i] = argmin_j (‖c_j‖² − 2x·c_j), ties to the lower j, and
/// dist[i] = max(0, ‖x‖² + that minimum), ‖x‖² summed in float64.
/// `c_norms` [k] on the device (‖c_j‖², float64 sums stored as float).
void fused_nearest(CudaBackend& be, const float* X, int64_t n, int64_t d, const float* C,
                   int64_t k, const float* c_norms, int32_t* labels, float* dist,
                   const char* where);

/// update_closest: closest[i] = min(closest[i], min_j max(0, ‖x‖² + ‖c_j‖² − 2x·c_j)).
void fused_closest(CudaBackend& be, const float* X, int64_t n, int64_t d, const float* C,
                   int64_t k, const float* c_norms, float* closest, const char* where);

/// candidate_potentials: out[j] (device, float64 [t]) = Σ_i w_i ·
/// min(closest_i, max(0, ‖x‖² + ‖c_j‖² − 2x·c_j)); `w` null = all ones.
/// Summed in a fixed order: per block of rows, then blocks in order.
void fused_potentials(CudaBackend& be, const float* X, int64_t n, int64_t d, const float* C,
                      int64_t t, const float* c_norms, const float* closest, const float* w,
                      double* out, const char* where);

}  // namespace stray::internal::cuda
