// CUDA backend: k-means++'s D² sampling on the device — the running float64
// sums of w·mass (cumulative_mass) and the search for each target
// (draw_from_cumulative), so a step brings back one total and a few row
// indices instead of n distances.
//
// The scan is our own, not CUB's DeviceScan: a decoupled look-back scan
// adds a tile's predecessors in an order that depends on timing, which
// float64 addition does not forgive. Here every addition has a place fixed
// by n alone, in three levels:
//   1. thread t of block b sums its run of `run` rows in row order: r_i;
//   2. one thread adds the block's run totals in order: P_t, and the row
//      gets fl(P_t + r_i); the block total is P_256;
//   3. one thread adds the block totals in order: B_b, and the row gets
//      fl(B_b + its value from step 2).
// Each level's prefix is the very sum its last row computed, and rounding
// is monotone, so the sums never decrease and a row with w·mass = 0 repeats
// its predecessor's sum bit for bit: such a row is never the first to
// exceed a target, as on the host.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cuda_backend.hpp"
#include "cuda_check.hpp"
#include "cuda_kernels.cuh"
#include "core/check.hpp"

namespace stray::internal {
namespace cuda {
namespace {

/// Most blocks of the scan: few enough for one thread to add their totals.
constexpr int64_t kScanBlocks = 1024;

/// Rows per thread: a function of n alone.
int64_t scan_run(int64_t n) { return std::max<int64_t>(1, ceil_div(n, kScanBlocks * kBlockThreads)); }

__device__ __forceinline__ double mass_at(const float* mass, const float* w, int64_t i) {
  const double m = mass[i];
  return w != nullptr ? static_cast<double>(w[i]) * m : m;
}

// Levels 1 and 2: out[i] = fl(P_t + r_i) within the block, block_total[b].
__global__ void block_scan_kernel(const float* mass, const float* w, int64_t n, int64_t run,
                                  double* out, double* block_total) {
  __shared__ double prefix[kBlockThreads + 1];
  const int64_t begin = (static_cast<int64_t>(blockIdx.x) * kBlockThreads + threadIdx.x) * run;
  const int64_t end = begin + run < n ? begin + run : n;
  double r = 0.0;
  for (int64_t i = begin; i < end; ++i) r += mass_at(mass, w, i);
  prefix[threadIdx.x + 1] = r;
  __syncthreads();
  if (threadIdx.x == 0) {
    double p = 0.0;
    prefix[0] = 0.0;
    for (int t = 1; t <= kBlockThreads; ++t) {
      p += prefix[t];
      prefix[t] = p;
    }
    block_total[blockIdx.x] = p;
  }
  __syncthreads();
  const double base = prefix[threadIdx.x];
  r = 0.0;
  for (int64_t i = begin; i < end; ++i) {
    r += mass_at(mass, w, i);
    out[i] = base + r;
  }
}

// Level 3, first half: block_total[b] becomes the sum of the totals before
// b (one thread; at most kScanBlocks additions).
__global__ void block_offsets_kernel(double* block_total, int64_t blocks) {
  double p = 0.0;
  for (int64_t b = 0; b < blocks; ++b) {
    const double total = block_total[b];
    block_total[b] = p;
    p += total;
  }
}

// Level 3, second half: every row of block b adds the block's offset.
__global__ void add_offsets_kernel(double* out, int64_t n, int64_t span, const double* offset) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    out[i] = offset[i / span] + out[i];
  }
}

__device__ int64_t first_above(const double* cumulative, int64_t n, double target, bool or_equal) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    const double v = cumulative[mid];
    if (v > target || (or_equal && v == target)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

// rows[t] = the first row whose sum exceeds targets[t]; where none does,
// the first that reaches the total (the host's upper_bound, lower_bound).
__global__ void draw_kernel(const double* cumulative, int64_t n, const double* targets,
                            int64_t count, int64_t* rows) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= count) return;
  int64_t row = first_above(cumulative, n, targets[t], false);
  if (row == n) row = first_above(cumulative, n, cumulative[n - 1], true);
  rows[t] = row;
}

}  // namespace
}  // namespace cuda

double CudaBackend::cumulative_mass(const DeviceArray<float>& mass,
                                    const DeviceArray<float>* weights,
                                    DeviceArray<double>& cumulative) {
  const char* where = "cumulative_mass";
  const int64_t n = mass.size();
  require(cumulative.size() == n && (weights == nullptr || weights->size() == n),
          ErrorCode::shape_mismatch, where, "mass has ", n, " entries, cumulative ",
          cumulative.size(), ", weights ", weights ? weights->size() : n);
  if (n == 0) return 0.0;
  cuda::DeviceGuard guard(device_);
  double* out = ptr(cumulative, where);
  const int64_t run = cuda::scan_run(n);
  const int64_t span = run * cuda::kBlockThreads;
  const int64_t blocks = cuda::ceil_div(n, span);
  cuda::ScratchBuffer totals = scratch<double>(blocks);
  cuda::block_scan_kernel<<<static_cast<unsigned>(blocks), cuda::kBlockThreads, 0, stream_>>>(
      ptr(mass, where), weights ? ptr(*weights, where) : nullptr, n, run, out,
      totals.as<double>());
  cuda::check_launch(where, "block_scan_kernel");
  cuda::block_offsets_kernel<<<1, 1, 0, stream_>>>(totals.as<double>(), blocks);
  cuda::check_launch(where, "block_offsets_kernel");
  cuda::add_offsets_kernel<<<blocks_for(n, cuda::kBlockThreads), cuda::kBlockThreads, 0,
                             stream_>>>(out, n, span, totals.as<double>());
  cuda::check_launch(where, "add_offsets_kernel");
  double total = 0.0;
  download_sync(&total, out + (n - 1), sizeof total);
  return total;
}

void CudaBackend::draw_from_cumulative(const DeviceArray<double>& cumulative,
                                       const double* targets, int64_t count, int64_t* rows) {
  const char* where = "draw_from_cumulative";
  const int64_t n = cumulative.size();
  require(count <= 0 || n > 0, ErrorCode::invalid_argument, where, "no rows to draw from");
  if (count <= 0) return;
  cuda::DeviceGuard guard(device_);
  const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(double);
  cuda::ScratchBuffer d_targets = upload_scratch(targets, bytes);
  cuda::ScratchBuffer d_rows = scratch<int64_t>(count);
  cuda::draw_kernel<<<static_cast<unsigned>(cuda::ceil_div(count, cuda::kBlockThreads)),
                      cuda::kBlockThreads, 0, stream_>>>(ptr(cumulative, where), n,
                                                         d_targets.as<double>(), count,
                                                         d_rows.as<int64_t>());
  cuda::check_launch(where, "draw_kernel");
  download_sync(rows, d_rows.as<int64_t>(), static_cast<std::size_t>(count) * sizeof(int64_t));
}

}  // namespace stray::internal
