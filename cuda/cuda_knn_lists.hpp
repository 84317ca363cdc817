// CUDA backend: the neighbour lists knn and csr_knn keep in their output
// arrays (core/knn_exact.hpp's KnnList), set up and finished on the device.
#pragma once

#include <cstdint>

#include "core/knn_exact.hpp"

namespace stray::internal {
class CudaBackend;
namespace cuda {

/// Every list empty: squared distances +inf, indices −1 (`total` = q·k).
void clear_lists(CudaBackend& be, double* sq, int64_t* index, int64_t total, const char* where);
/// The squared distances made distances, in place.
void take_roots(CudaBackend& be, double* sq, int64_t total, const char* where);

#if defined(__CUDACC__)
/// In a warp searching for one query: each lane with `keep` offers (s, its
/// row `first` + lane) to the query's list; lane 0 inserts them in lane
/// order, so in index order, and the whole warp sees the list afterwards.
/// Every lane of the warp must call it.
__device__ inline void offer_in_lane_order(KnnList& list, bool keep, double s, int64_t first) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  unsigned pending = __ballot_sync(0xffffffffu, keep);
  while (pending != 0u) {
    const int src = __ffs(pending) - 1;
    pending &= pending - 1u;
    const double sv = __shfl_sync(0xffffffffu, s, src);
    if (lane == 0) list.offer(sv, first + src);
  }
  __syncwarp();  // lane 0's writes to the list, seen by the warp
}
#endif

}  // namespace cuda
}  // namespace stray::internal
