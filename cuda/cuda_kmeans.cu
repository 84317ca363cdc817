// CUDA backend: the k-means primitives.
//
// Distances to many centres use the expanded form ‖x‖² + ‖c‖² − 2 x·c with
// the CPU backend's expressions (float32 distances, ties to the lower
// index); ‖c‖² is computed once per call. Rows up to kFusedMaxDim wide go
// through the fused kernel of cuda_nearest.cu, which never stores x·c.
// Wider rows take per-tile cuBLAS SGEMMs into a tile buffer sized from the
// workspace budget, consumed at once by an epilogue kernel (argmin, running
// minimum, or potential sums), so no n×k matrix is ever stored either way.
// Row norms are summed in float64 here and in float32 SIMD order on the
// CPU, so near-ties may break differently between the backends.
//
// Centroid sums are deterministic without atomics: a stable CUB radix sort
// groups row indices by label (rows of a cluster stay in increasing order),
// then segment_sums adds each cluster's rows in a fixed order in float64.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "cuda_backend.hpp"
#include "cuda_check.hpp"
#include "cuda_kernels.cuh"
#include "cuda_nearest.hpp"
#include "cuda_sort.hpp"
#include "core/check.hpp"

namespace stray::internal {
namespace cuda {
namespace {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kWarpsPerBlock = kBlockThreads / 32;

// out[i] = ‖X[i, :]‖² (float64 accumulation, stored as float). A group of
// `group` lanes shares a row.
__global__ void row_sq_norms_kernel(const float* X, int64_t rows, int64_t d, int group,
                                    float* out) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  const int sub = lane / group;
  const int gl = lane - sub * group;
  const int64_t per_warp = 32 / group;
  for (int64_t base = global_warp() * per_warp; base < rows; base += warp_count() * per_warp) {
    const int64_t i = base + sub;
    double s = 0.0;
    if (i < rows) {
      const float* x = X + i * d;
      for (int64_t j = gl; j < d; j += group) {
        const double v = x[j];
        s += v * v;
      }
    }
    s = group_sum(s, group);
    if (i < rows && gl == 0) out[i] = static_cast<float>(s);
  }
}

// One warp per row of a tile: dots [rows x k] holds x·c. With kAssign,
// labels[r] = argmin_j (‖c_j‖² − 2 x·c_j) (ties to the lower j) and
// dist[r] = max(0, ‖x‖² + that minimum); otherwise dist[r] (the running
// "closest") becomes min(dist[r], min_j max(0, ‖x‖² + ‖c_j‖² − 2 x·c_j)).
// Same expressions as the CPU backend (2·x·c is exact, so a contracted FMA
// rounds as the separate operations do).
template <bool kAssign>
__global__ void tile_argmin_kernel(const float* X, int64_t rows, int64_t d, const float* dots,
                                   int64_t k, const float* c_norms, int32_t* labels, float* dist) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  for (int64_t r = global_warp(); r < rows; r += warp_count()) {  // uniform per warp
    const float* x = X + r * d;
    double xs = 0.0;
    for (int64_t j = lane; j < d; j += 32) {
      const double v = x[j];
      xs += v * v;
    }
    const float x_norm = static_cast<float>(group_sum(xs, 32));

    const float* p = dots + r * k;
    float best = INFINITY;
    int32_t best_j = INT_MAX;
    for (int64_t j = lane; j < k; j += 32) {  // each lane scans increasing j
      const float v = kAssign ? c_norms[j] - 2.0f * p[j]
                              : fmaxf(0.0f, x_norm + c_norms[j] - 2.0f * p[j]);
      if (v < best) {  // strict: a lane keeps its lowest j among equals
        best = v;
        best_j = static_cast<int32_t>(j);
      }
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
      const float other = __shfl_xor_sync(kFullMask, best, offset);
      const int32_t other_j = __shfl_xor_sync(kFullMask, best_j, offset);
      if (other < best || (other == best && other_j < best_j)) {
        best = other;
        best_j = other_j;
      }
    }
    if (lane == 0) {
      if (kAssign) {
        labels[r] = best_j == INT_MAX ? 0 : best_j;
        dist[r] = fmaxf(0.0f, x_norm + best);
      } else {
        dist[r] = fminf(dist[r], best);
      }
    }
  }
}

// out[i] = ‖x_i − C[labels_i]‖², differences then squares in float64.
__global__ void assigned_sq_kernel(const float* X, int64_t n, int64_t d, const float* C,
                                   const int32_t* labels, int group, float* out) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  const int sub = lane / group;
  const int gl = lane - sub * group;
  const int64_t per_warp = 32 / group;
  for (int64_t base = global_warp() * per_warp; base < n; base += warp_count() * per_warp) {
    const int64_t i = base + sub;
    double s = 0.0;
    if (i < n) {
      const float* x = X + i * d;
      const float* c = C + static_cast<int64_t>(labels[i]) * d;
      for (int64_t j = gl; j < d; j += group) {
        const double diff = static_cast<double>(x[j]) - c[j];
        s += diff * diff;
      }
    }
    s = group_sum(s, group);
    if (i < n && gl == 0) out[i] = static_cast<float>(s);
  }
}

// *first_bad = min over rows with a label outside [0, k) of the row index.
__global__ void find_bad_label_kernel(const int32_t* labels, int64_t n, int64_t k,
                                      unsigned long long* first_bad) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int32_t l = labels[i];
    if (l < 0 || l >= k) atomicMin(first_bad, static_cast<unsigned long long>(i));
  }
}

// *changed += the rows whose label differs; previous becomes current.
__global__ void count_changes_kernel(const int32_t* current, int32_t* previous, int64_t n,
                                     unsigned long long* changed) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  unsigned long long mine = 0;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int32_t now = current[i];
    mine += now != previous[i];
    previous[i] = now;
  }
  // One atomic per warp, after a warp sum.
  for (int offset = 16; offset > 0; offset /= 2) mine += __shfl_down_sync(0xffffffffu, mine, offset);
  if ((threadIdx.x & 31) == 0 && mine != 0) atomicAdd(changed, mine);
}

// Loaders for segment_sums.
struct SortedRowValue {  // w_i x_ij for i = order[p]
  const float* X;
  int64_t d;
  const float* w;
  const int64_t* order;
  __device__ double operator()(int64_t p, int64_t j, int64_t) const {
    const int64_t i = order[p];
    const double x = X[i * d + j];
    return w != nullptr ? static_cast<double>(w[i]) * x : x;
  }
};

struct SortedWeight {  // w_i for i = order[p]
  const float* w;
  const int64_t* order;
  __device__ double operator()(int64_t p, int64_t, int64_t) const { return w[order[p]]; }
};

struct PotentialLoad {  // w_i · min(closest_i, max(0, ‖x_i‖² + ‖c_j‖² − 2 x_i·c_j))
  const float* dots;    // [rows x t] of the tile
  int64_t t;
  const float* x_norms;  // [rows] of the tile
  const float* c_norms;  // [t]
  const float* closest;  // [rows] of the tile
  const float* w;        // [rows] of the tile, or null
  __device__ double operator()(int64_t i, int64_t j, int64_t) const {
    const float dist = fmaxf(0.0f, x_norms[i] + c_norms[j] - 2.0f * dots[i * t + j]);
    const float near = closest[i];
    const double m = dist < near ? dist : near;
    return w != nullptr ? static_cast<double>(w[i]) * m : m;
  }
};

void check_same_width(const DeviceArray<float>& X, const DeviceArray<float>& C, const char* where) {
  require(X.cols() == C.cols(), ErrorCode::shape_mismatch, where, "X has ", X.cols(),
          " features, centres have ", C.cols());
  require(C.rows() > 0, ErrorCode::invalid_argument, where, "no centres");
  require(X.cols() <= INT_MAX && C.rows() <= INT_MAX, ErrorCode::invalid_argument, where,
          "d=", X.cols(), " or the number of centres ", C.rows(), " exceeds 2^31-1");
}

void launch_row_sq_norms(CudaBackend& be, const float* X, int64_t rows, int64_t d, float* out,
                         const char* where) {
  if (rows == 0) return;
  const int group = group_size_for(d);
  const int64_t rows_per_block = int64_t{kWarpsPerBlock} * (32 / group);
  row_sq_norms_kernel<<<be.blocks_for(rows, rows_per_block), kBlockThreads, 0, be.stream()>>>(
      X, rows, d, group, out);
  check_launch(where, "row_sq_norms_kernel");
}

/// Labels outside [0, k) are an error naming the first offending row.
void check_labels(CudaBackend& be, const int32_t* labels, int64_t n, int64_t k, const char* where) {
  if (n == 0) return;
  ScratchBuffer flag = be.scratch<unsigned long long>(1);
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(flag.as<void>(), 0xff, sizeof(unsigned long long),
                                             be.stream()));
  find_bad_label_kernel<<<be.blocks_for(n, kBlockThreads), kBlockThreads, 0, be.stream()>>>(
      labels, n, k, flag.as<unsigned long long>());
  check_launch(where, "find_bad_label_kernel");
  unsigned long long first_bad = 0;
  be.download_sync(&first_bad, flag.as<void>(), sizeof first_bad);
  if (first_bad == std::numeric_limits<unsigned long long>::max()) return;
  int32_t value = 0;
  be.download_sync(&value, labels + first_bad, sizeof value);
  fail(ErrorCode::invalid_argument, where, "label ", value, " of row ", first_bad,
       " outside [0, ", k, ")");
}

/// One SGEMM per row tile: dots [rows x k] (row-major) = X[r0:r0+rows] · Cᵀ.
/// Row-major X is column-major Xᵀ [d x n] and C is column-major Cᵀ [d x k],
/// so column-major dotsᵀ [k x rows] = (Cᵀ)ᵀ · Xᵀ: op(A) = T, op(B) = N.
void tile_products(CudaBackend& be, const float* X, int64_t r0, int64_t rows, int64_t d,
                   const float* C, int64_t k, float* dots, const char* where) {
  const float one = 1.0f, zero = 0.0f;
  const int ld = static_cast<int>(std::max<int64_t>(d, 1));
  STRAY_CUDA_CHECK_AT(where, cublasSgemm(be.cublas(), CUBLAS_OP_T, CUBLAS_OP_N,
                                         static_cast<int>(k), static_cast<int>(rows),
                                         static_cast<int>(d), &one, C, ld, X + r0 * d, ld, &zero,
                                         dots, static_cast<int>(k)));
}

// Shared by nearest_centroid (kAssign) and update_closest.
template <bool kAssign>
void tiled_min_distances(CudaBackend& be, const float* X, int64_t n, int64_t d, const float* C,
                         int64_t k, int32_t* labels, float* dist, const char* where) {
  ScratchBuffer c_norms = be.scratch<float>(k);
  launch_row_sq_norms(be, C, k, d, c_norms.as<float>(), where);
  if (fused_distances_fit(d)) {
    if (kAssign) {
      fused_nearest(be, X, n, d, C, k, c_norms.as<float>(), labels, dist, where);
    } else {
      fused_closest(be, X, n, d, C, k, c_norms.as<float>(), dist, where);
    }
    return;
  }
  const int64_t tile = be.distance_tile_rows(n, k);
  ScratchBuffer dots = be.scratch<float>(tile * k);
  for (int64_t r0 = 0; r0 < n; r0 += tile) {
    const int64_t rows = std::min(tile, n - r0);
    tile_products(be, X, r0, rows, d, C, k, dots.as<float>(), where);
    tile_argmin_kernel<kAssign><<<be.blocks_for(rows, kWarpsPerBlock), kBlockThreads, 0,
                                  be.stream()>>>(X + r0 * d, rows, d, dots.as<float>(), k,
                                                 c_norms.as<float>(),
                                                 kAssign ? labels + r0 : nullptr, dist + r0);
    check_launch(where, "tile_argmin_kernel");
  }
}

// candidate_potentials through GEMM tiles (rows too wide for the fused
// kernel): per tile a fixed-order float64 sum per candidate; tiles are
// added in tile order on the host into `potentials` (zeroed by the caller).
void tiled_potentials(CudaBackend& be, const float* x, int64_t n, int64_t d, const float* c,
                      int64_t t, const float* c_norms, const float* near, const float* w,
                      double* potentials, const char* where) {
  const int64_t tile = be.distance_tile_rows(n, t);
  ScratchBuffer dots = be.scratch<float>(tile * t);
  ScratchBuffer x_norms = be.scratch<float>(tile);
  ScratchBuffer tile_sums = be.scratch<double>(t);
  std::vector<double> host(static_cast<std::size_t>(t));
  for (int64_t r0 = 0; r0 < n; r0 += tile) {
    const int64_t rows = std::min(tile, n - r0);
    tile_products(be, x, r0, rows, d, c, t, dots.as<float>(), where);
    launch_row_sq_norms(be, x + r0 * d, rows, d, x_norms.as<float>(), where);
    const PotentialLoad load{dots.as<float>(), t,         x_norms.as<float>(),
                             c_norms,          near + r0, w != nullptr ? w + r0 : nullptr};
    segment_sums(be, {0, rows}, t, load, tile_sums.as<double>());
    be.download_sync(host.data(), tile_sums.as<double>(), host.size() * sizeof(double));
    for (int64_t j = 0; j < t; ++j) potentials[j] += host[static_cast<std::size_t>(j)];
  }
}

}  // namespace
}  // namespace cuda

void CudaBackend::nearest_centroid(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                   DeviceArray<int32_t>& labels, DeviceArray<float>& min_sq_dist) {
  const char* where = "nearest_centroid";
  cuda::check_same_width(X, C, where);
  require(labels.size() == X.rows() && min_sq_dist.size() == X.rows(), ErrorCode::shape_mismatch,
          where, "output length must equal n=", X.rows());
  if (X.rows() == 0) return;
  cuda::DeviceGuard guard(device_);
  cuda::tiled_min_distances<true>(*this, ptr(X, where), X.rows(), X.cols(), ptr(C, where), C.rows(),
                                  ptr(labels, where), ptr(min_sq_dist, where), where);
}

void CudaBackend::update_closest(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                 DeviceArray<float>& closest) {
  const char* where = "update_closest";
  cuda::check_same_width(X, C, where);
  require(closest.size() == X.rows(), ErrorCode::shape_mismatch, where, "closest has ",
          closest.size(), " entries for n=", X.rows());
  if (X.rows() == 0) return;
  cuda::DeviceGuard guard(device_);
  cuda::tiled_min_distances<false>(*this, ptr(X, where), X.rows(), X.cols(), ptr(C, where),
                                   C.rows(), nullptr, ptr(closest, where), where);
}

void CudaBackend::candidate_potentials(const DeviceArray<float>& X,
                                       const DeviceArray<float>* weights,
                                       const DeviceArray<float>& closest,
                                       const DeviceArray<float>& C, double* potentials) {
  const char* where = "candidate_potentials";
  cuda::check_same_width(X, C, where);
  const int64_t n = X.rows(), d = X.cols(), t = C.rows();
  require(closest.size() == n, ErrorCode::shape_mismatch, where, "closest has ", closest.size(),
          " entries for n=", n);
  require(weights == nullptr || weights->size() == n, ErrorCode::shape_mismatch, where,
          "weights has ", weights ? weights->size() : 0, " entries for n=", n);
  std::fill(potentials, potentials + t, 0.0);
  if (n == 0) return;
  cuda::DeviceGuard guard(device_);
  const float* x = ptr(X, where);
  const float* c = ptr(C, where);
  const float* near = ptr(closest, where);
  const float* w = weights != nullptr ? ptr(*weights, where) : nullptr;

  cuda::ScratchBuffer c_norms = scratch<float>(t);
  cuda::launch_row_sq_norms(*this, c, t, d, c_norms.as<float>(), where);
  if (cuda::fused_distances_fit(d)) {
    cuda::ScratchBuffer sums = scratch<double>(t);
    cuda::fused_potentials(*this, x, n, d, c, t, c_norms.as<float>(), near, w, sums.as<double>(),
                           where);
    download_sync(potentials, sums.as<double>(), static_cast<std::size_t>(t) * sizeof(double));
    return;
  }
  cuda::tiled_potentials(*this, x, n, d, c, t, c_norms.as<float>(), near, w, potentials, where);
}

void CudaBackend::accumulate_centroids(const DeviceArray<float>& X,
                                       const DeviceArray<int32_t>& labels,
                                       const DeviceArray<float>* weights, int64_t k, double* sums,
                                       double* counts) {
  const char* where = "accumulate_centroids";
  const int64_t n = X.rows(), d = X.cols();
  require(labels.size() == n, ErrorCode::shape_mismatch, where, "labels has ", labels.size(),
          " entries for n=", n);
  require(k > 0, ErrorCode::invalid_argument, where, "k=", k);
  require(weights == nullptr || weights->size() == n, ErrorCode::shape_mismatch, where,
          "weights has ", weights ? weights->size() : 0, " entries for n=", n);
  std::fill(sums, sums + k * d, 0.0);
  std::fill(counts, counts + k, 0.0);
  if (n == 0) return;
  cuda::DeviceGuard guard(device_);
  const float* x = ptr(X, where);
  const int32_t* lab = ptr(labels, where);
  const float* w = weights != nullptr ? ptr(*weights, where) : nullptr;
  cuda::check_labels(*this, lab, n, k, where);

  const cuda::SortedSegments sorted = cuda::sort_by_key(*this, lab, n, k);
  const int64_t* order = sorted.order.as<int64_t>();
  if (d > 0) {
    cuda::ScratchBuffer d_sums = scratch<double>(k * d);
    cuda::segment_sums(*this, sorted.offsets, d, cuda::SortedRowValue{x, d, w, order},
                       d_sums.as<double>());
    download_sync(sums, d_sums.as<double>(), static_cast<std::size_t>(k * d) * sizeof(double));
  }
  if (w == nullptr) {
    for (int64_t c = 0; c < k; ++c) {
      counts[c] = static_cast<double>(sorted.offsets[static_cast<std::size_t>(c + 1)] -
                                      sorted.offsets[static_cast<std::size_t>(c)]);
    }
  } else {
    cuda::ScratchBuffer d_counts = scratch<double>(k);
    cuda::segment_sums(*this, sorted.offsets, 1, cuda::SortedWeight{w, order},
                       d_counts.as<double>());
    download_sync(counts, d_counts.as<double>(), static_cast<std::size_t>(k) * sizeof(double));
  }
}

int64_t CudaBackend::count_label_changes(const DeviceArray<int32_t>& current,
                                         DeviceArray<int32_t>& previous) {
  const char* where = "count_label_changes";
  const int64_t n = current.size();
  require(previous.size() == n, ErrorCode::shape_mismatch, where, "current has ", n,
          " labels, previous ", previous.size());
  if (n == 0) return 0;
  cuda::DeviceGuard guard(device_);
  cuda::ScratchBuffer counter = scratch<unsigned long long>(1);
  STRAY_CUDA_CHECK(cudaMemsetAsync(counter.as<void>(), 0, sizeof(unsigned long long), stream_));
  cuda::count_changes_kernel<<<blocks_for(n, cuda::kBlockThreads), cuda::kBlockThreads, 0,
                               stream_>>>(ptr(current, where), ptr(previous, where), n,
                                          counter.as<unsigned long long>());
  cuda::check_launch(where, "count_changes_kernel");
  unsigned long long changed = 0;
  download_sync(&changed, counter.as<void>(), sizeof(changed));
  return static_cast<int64_t>(changed);
}

void CudaBackend::assigned_sq_distances(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                        const DeviceArray<int32_t>& labels,
                                        DeviceArray<float>& out) {
  const char* where = "assigned_sq_distances";
  cuda::check_same_width(X, C, where);
  const int64_t n = X.rows(), d = X.cols(), k = C.rows();
  require(labels.size() == n && out.size() == n, ErrorCode::shape_mismatch, where,
          "labels and output must have n=", n, " entries");
  if (n == 0) return;
  cuda::DeviceGuard guard(device_);
  const int32_t* lab = ptr(labels, where);
  cuda::check_labels(*this, lab, n, k, where);
  const int group = cuda::group_size_for(d);
  const int64_t rows_per_block = int64_t{cuda::kWarpsPerBlock} * (32 / group);
  cuda::assigned_sq_kernel<<<blocks_for(n, rows_per_block), cuda::kBlockThreads, 0, stream_>>>(
      ptr(X, where), n, d, ptr(C, where), lab, group, ptr(out, where));
  cuda::check_launch(where, "assigned_sq_kernel");
}

}  // namespace stray::internal
