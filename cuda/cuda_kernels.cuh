// Device helpers shared by the CUDA backend's translation units: launch
// shapes, group reductions, and segment_sums — the fixed-order float64
// reduction behind every deterministic sum of the backend.
//
// segment_sums: positions [offsets[s], offsets[s+1]) form segment s. Each
// segment is cut into chunks of a fixed number of positions (a function of
// the shapes and the workspace budget only); one thread block sums a chunk
// (thread row r takes positions r, r + rows, ... in order, then the thread
// rows are added in order), and the chunk partials of a segment are added
// in chunk order. No atomics: the result is bitwise identical run to run.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cuda_backend.hpp"
#include "cuda_check.hpp"

namespace stray::internal::cuda {

/// Threads per block of the backend's own kernels.
constexpr int kBlockThreads = 256;
/// Smallest chunk of a segmented sum (positions per thread block).
constexpr int64_t kMinChunkPositions = 1024;
/// Largest gridDim.y / gridDim.z.
constexpr int64_t kMaxGridYZ = 65535;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Threads that cooperate on one row of width `d`: the smallest power of two
/// that is >= min(d, 32). Depends on the shape only, so reductions over a
/// group have a fixed order.
inline int group_size_for(int64_t d) {
  int g = 1;
  while (g < 32 && g < d) g <<= 1;
  return g;
}

/// Sum over aligned groups of `group` lanes (a power of two <= 32) with a
/// fixed butterfly; every lane of the warp must call it.
__device__ __forceinline__ double group_sum(double v, int group) {
  for (int offset = group / 2; offset > 0; offset >>= 1) {
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  }
  return v;
}

/// Index of this thread's warp among all warps of the grid, and their count.
__device__ __forceinline__ int64_t global_warp() {
  return (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
}
__device__ __forceinline__ int64_t warp_count() {
  return (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
}

// partial[c * ncols + col] = sum over the positions p of chunk c of
// load(p, col, chunk.key). Block shape (cx, cy) with cx * cy == kBlockThreads:
// cx threads across columns, cy thread rows across positions.
template <typename Load>
__global__ void chunk_sums_kernel(const Chunk* chunks, int64_t ncols, Load load, double* partial) {
  __shared__ double buf[kBlockThreads];
  const Chunk chunk = chunks[blockIdx.x];
  const int cx = static_cast<int>(blockDim.x);
  const int cy = static_cast<int>(blockDim.y);
  const int tx = static_cast<int>(threadIdx.x);
  const int ty = static_cast<int>(threadIdx.y);
  const int64_t column_blocks = (ncols + cx - 1) / cx;
  for (int64_t cb = blockIdx.y; cb < column_blocks; cb += gridDim.y) {
    const int64_t col = cb * cx + tx;
    double acc = 0.0;
    if (col < ncols) {
      for (int64_t p = chunk.begin + ty; p < chunk.end; p += cy) acc += load(p, col, chunk.key);
    }
    buf[ty * cx + tx] = acc;
    __syncthreads();
    if (ty == 0 && col < ncols) {
      double s = buf[tx];
      for (int r = 1; r < cy; ++r) s += buf[r * cx + tx];
      partial[static_cast<int64_t>(blockIdx.x) * ncols + col] = s;
    }
    __syncthreads();
  }
}

/// Most chunks a segmented sum aims for (beyond one per non-empty segment):
/// enough blocks to fill any GPU, few enough partials per segment that the
/// final in-order pass over them stays short.
constexpr int64_t kMaxChunks = 8192;

/// Positions per chunk: at least kMinChunkPositions, and few enough chunks
/// (about kMaxChunks, plus one per segment) that their partials (chunks ×
/// ncols doubles) take at most half the workspace budget.
inline int64_t chunk_positions_for(int64_t total, int64_t ncols, std::size_t workspace_bytes) {
  const int64_t per_chunk_bytes = 8 * std::max<int64_t>(ncols, 1);
  const int64_t max_chunks = std::clamp<int64_t>(
      static_cast<int64_t>(workspace_bytes / 2) / per_chunk_bytes, 16, kMaxChunks);
  return std::max<int64_t>(kMinChunkPositions, ceil_div(std::max<int64_t>(total, 1), max_chunks));
}

/// out[key * ncols + col] = sum of the key's chunk partials
/// partial[c * ncols + col], c in [chunk_first[key], chunk_first[key + 1]),
/// in chunk order (kernel defined once, in cuda_backend.cu).
void launch_segment_totals(CudaBackend& be, const int64_t* chunk_first, int64_t num_keys,
                           int64_t ncols, const double* partial, double* out);

/// out (device, [num_keys x ncols], float64) = per-segment sums of
/// load(p, col, key) over the segment's positions p, in a fixed order.
/// `offsets` (host, [num_keys + 1], non-decreasing) bounds the segments.
/// Load is a trivially copyable functor with
///   __device__ double operator()(int64_t p, int64_t col, int64_t key) const.
template <typename Load>
void segment_sums(CudaBackend& be, const std::vector<int64_t>& offsets, int64_t ncols,
                  const Load& load, double* out) {
  const int64_t num_keys = static_cast<int64_t>(offsets.size()) - 1;
  if (num_keys <= 0 || ncols <= 0) return;
  const int64_t step =
      chunk_positions_for(offsets.back() - offsets.front(), ncols, be.workspace_bytes());
  std::vector<Chunk> chunks;
  std::vector<int64_t> first(static_cast<std::size_t>(num_keys + 1));
  for (int64_t key = 0; key < num_keys; ++key) {
    first[static_cast<std::size_t>(key)] = static_cast<int64_t>(chunks.size());
    const int64_t end = offsets[static_cast<std::size_t>(key + 1)];
    for (int64_t b = offsets[static_cast<std::size_t>(key)]; b < end; b += step) {
      chunks.push_back(Chunk{b, std::min(b + step, end), key});
    }
  }
  const int64_t num_chunks = static_cast<int64_t>(chunks.size());
  first[static_cast<std::size_t>(num_keys)] = num_chunks;
  if (num_chunks == 0) {
    STRAY_CUDA_CHECK(cudaMemsetAsync(out, 0, static_cast<std::size_t>(num_keys * ncols) * 8,
                                     be.stream()));
    return;
  }
  ScratchBuffer d_chunks = be.upload_scratch(chunks);
  ScratchBuffer d_first = be.upload_scratch(first);
  ScratchBuffer partial = be.scratch<double>(num_chunks * ncols);
  const int cx = group_size_for(ncols);
  const dim3 block(static_cast<unsigned>(cx), static_cast<unsigned>(kBlockThreads / cx));
  const dim3 grid(static_cast<unsigned>(num_chunks),
                  static_cast<unsigned>(std::min(ceil_div(ncols, cx), kMaxGridYZ)));
  chunk_sums_kernel<Load><<<grid, block, 0, be.stream()>>>(d_chunks.as<Chunk>(), ncols, load,
                                                           partial.as<double>());
  STRAY_CUDA_CHECK_LAUNCH("chunk_sums_kernel");
  launch_segment_totals(be, d_first.as<int64_t>(), num_keys, ncols, partial.as<double>(), out);
}

}  // namespace stray::internal::cuda
