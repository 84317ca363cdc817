// The one sort of the CUDA backend: a stable radix sort (CUB) of positions
// by an int32 key. It turns "sum rows per label" and "sum entries per CSR
// column" into contiguous segments that segment_sums (cuda_kernels.cuh)
// reduces in a fixed order, and builds the transpose of a CSR matrix.
// CUB is heavy to compile, so it lives in cuda_sort.cu alone.
#pragma once

#include <cstdint>
#include <vector>

#include "cuda_backend.hpp"

namespace stray::internal::cuda {

struct SortedSegments {
  /// int64 [n]: the positions 0..n-1 ordered by key; equal keys keep
  /// increasing position order (the sort is stable).
  ScratchBuffer order;
  /// int64 [num_keys + 1] on the device: key s occupies
  /// order[offsets[s] .. offsets[s+1]).
  ScratchBuffer offsets_device;
  /// The same offsets on the host.
  std::vector<int64_t> offsets;
};

/// Stable sort of positions 0..n-1 by keys[position]; every key must be in
/// [0, num_keys) (callers validate). Synchronises (the offsets come back to
/// the host).
SortedSegments sort_by_key(CudaBackend& be, const int32_t* keys, int64_t n, int64_t num_keys);

}  // namespace stray::internal::cuda
