// CUB radix sort behind the backend's deterministic segmented reductions.
#include <cub/device/device_radix_sort.cuh>

#include <cstdint>
#include <vector>

#include "cuda_check.hpp"
#include "cuda_kernels.cuh"
#include "cuda_sort.hpp"

namespace stray::internal::cuda {
namespace {

__global__ void iota_kernel(int64_t* out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    out[i] = i;
  }
}

// offsets[s] = first position whose sorted key is >= s, for s in [0, num_keys].
__global__ void lower_bounds_kernel(const uint32_t* sorted_keys, int64_t n, int64_t num_keys,
                                    int64_t* offsets) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t s = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; s <= num_keys;
       s += stride) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (static_cast<int64_t>(sorted_keys[mid]) < s) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    offsets[s] = lo;
  }
}

}  // namespace

SortedSegments sort_by_key(CudaBackend& be, const int32_t* keys, int64_t n, int64_t num_keys) {
  SortedSegments out;
  out.offsets.assign(static_cast<std::size_t>(num_keys + 1), 0);
  out.offsets_device = be.scratch<int64_t>(num_keys + 1);
  if (n == 0) {
    STRAY_CUDA_CHECK(cudaMemsetAsync(out.offsets_device.as<int64_t>(), 0,
                                     out.offsets.size() * sizeof(int64_t), be.stream()));
    return out;
  }
  // Keys are validated to [0, num_keys), so as unsigned they sort the same
  // and only the low bits that can differ need radix passes.
  int end_bit = 1;
  while (end_bit < 32 && (uint64_t{1} << end_bit) < static_cast<uint64_t>(num_keys)) ++end_bit;
  const auto* keys_in = reinterpret_cast<const uint32_t*>(keys);

  ScratchBuffer keys_out = be.scratch<uint32_t>(n);
  ScratchBuffer positions = be.scratch<int64_t>(n);
  out.order = be.scratch<int64_t>(n);
  iota_kernel<<<be.blocks_for(n, kBlockThreads), kBlockThreads, 0, be.stream()>>>(
      positions.as<int64_t>(), n);
  STRAY_CUDA_CHECK_LAUNCH("iota_kernel");

  std::size_t temp_bytes = 0;
  STRAY_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      nullptr, temp_bytes, keys_in, keys_out.as<uint32_t>(), positions.as<int64_t>(),
      out.order.as<int64_t>(), n, 0, end_bit, be.stream()));
  ScratchBuffer temp = be.scratch_bytes(temp_bytes);
  STRAY_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      temp.as<void>(), temp_bytes, keys_in, keys_out.as<uint32_t>(), positions.as<int64_t>(),
      out.order.as<int64_t>(), n, 0, end_bit, be.stream()));

  lower_bounds_kernel<<<be.blocks_for(num_keys + 1, kBlockThreads), kBlockThreads, 0,
                        be.stream()>>>(keys_out.as<uint32_t>(), n, num_keys,
                                       out.offsets_device.as<int64_t>());
  STRAY_CUDA_CHECK_LAUNCH("lower_bounds_kernel");
  be.download_sync(out.offsets.data(), out.offsets_device.as<int64_t>(),
                   out.offsets.size() * sizeof(int64_t));
  return out;
}

}  // namespace stray::internal::cuda
