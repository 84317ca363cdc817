// CUDA backend: the probe and factory, construction, memory, and column
// statistics.
#include <cuda_runtime.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cuda_backend.hpp"
#include "cuda_check.hpp"
#include "cuda_kernels.cuh"
#include "core/backend_factories.hpp"
#include "core/check.hpp"

namespace stray::internal {
namespace cuda {

// ---- small RAII pieces --------------------------------------------------------

DeviceGuard::DeviceGuard(int device) {
  if (cudaGetDevice(&previous_) != cudaSuccess) {
    (void)cudaGetLastError();
    previous_ = -1;
  }
  if (previous_ != device) {
    // A failure here resurfaces, attributed, at the first checked call.
    switched_ = cudaSetDevice(device) == cudaSuccess;
    if (!switched_) (void)cudaGetLastError();
  }
}

DeviceGuard::~DeviceGuard() {
  if (switched_ && previous_ >= 0 && cudaSetDevice(previous_) != cudaSuccess) {
    (void)cudaGetLastError();
  }
}

CudaBuffer::~CudaBuffer() {
  if (data_ == nullptr) return;
  DeviceGuard guard(device_);
  // cudaFree waits for queued work that may still use the memory.
  if (cudaFree(data_) != cudaSuccess) (void)cudaGetLastError();
}

ScratchBuffer::~ScratchBuffer() {
  if (owner_ != nullptr && data_ != nullptr) owner_->release_scratch(data_);
}

// ---- kernels ------------------------------------------------------------------

namespace {

__global__ void probe_kernel() {}

__global__ void segment_totals_kernel(const int64_t* chunk_first, int64_t num_keys, int64_t ncols,
                                      const double* partial, double* out) {
  const int64_t total = num_keys * ncols;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const int64_t key = i / ncols;
    const int64_t col = i - key * ncols;
    double s = 0.0;
    for (int64_t c = chunk_first[key]; c < chunk_first[key + 1]; ++c) s += partial[c * ncols + col];
    out[i] = s;
  }
}

// X[i, j] -= shift[j] in float32, as the CPU backend does.
__global__ void subtract_row_vector_kernel(float* X, int64_t n, int64_t d, const float* shift) {
  const int64_t row_stride = static_cast<int64_t>(gridDim.y) * blockDim.y;
  const int64_t col_stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; i < n;
       i += row_stride) {
    for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < d;
         j += col_stride) {
      X[i * d + j] -= shift[j];
    }
  }
}

// Loaders for segment_sums over the rows of a dense X [n x d].
struct WeightedValue {  // w_i x_ij
  const float* X;
  int64_t d;
  const float* w;
  __device__ double operator()(int64_t i, int64_t j, int64_t) const {
    const double x = X[i * d + j];
    return w != nullptr ? static_cast<double>(w[i]) * x : x;
  }
};

struct WeightedSquaredDeviation {  // w_i (x_ij - mean_j)^2
  const float* X;
  int64_t d;
  const float* w;
  const double* mean;
  __device__ double operator()(int64_t i, int64_t j, int64_t) const {
    const double c = static_cast<double>(X[i * d + j]) - mean[j];
    return w != nullptr ? static_cast<double>(w[i]) * c * c : c * c;
  }
};

struct WeightOnly {  // w_i
  const float* w;
  __device__ double operator()(int64_t i, int64_t, int64_t) const { return w[i]; }
};

std::string format_description(const cudaDeviceProp& prop) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %d SMs, %.1f GiB)", prop.name, prop.major, prop.minor,
                prop.multiProcessorCount,
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace

void launch_segment_totals(CudaBackend& be, const int64_t* chunk_first, int64_t num_keys,
                           int64_t ncols, const double* partial, double* out) {
  segment_totals_kernel<<<be.blocks_for(num_keys * ncols, kBlockThreads), kBlockThreads, 0,
                          be.stream()>>>(chunk_first, num_keys, ncols, partial, out);
  STRAY_CUDA_CHECK_LAUNCH("segment_totals_kernel");
}

}  // namespace cuda

// ---- probe and factory --------------------------------------------------------
// Called through the module's C entry points (cuda_module.cpp): the library
// reaches them only by loading this module (src/core/cuda_loader.cpp).

namespace cuda {
namespace {

// Why `device` (in range) cannot run this build's kernels, "" when it can:
// it must accept a context and have its architecture among
// CMAKE_CUDA_ARCHITECTURES (or newer, through the embedded PTX). Querying a
// kernel's attributes on it checks both. Never throws.
std::string device_unusable_reason(int device) {
  DeviceGuard guard(device);
  cudaFuncAttributes attributes{};
  const cudaError_t k = cudaFuncGetAttributes(&attributes, probe_kernel);
  if (k == cudaSuccess) return "";
  (void)cudaGetLastError();
  std::string what = "CUDA device " + std::to_string(device);
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) == cudaSuccess) {
    what += " (" + std::string(prop.name) + ", sm_" + std::to_string(prop.major) +
            std::to_string(prop.minor) + ")";
  } else {
    (void)cudaGetLastError();
  }
  const bool no_image = k == cudaErrorNoKernelImageForDevice || k == cudaErrorInvalidDeviceFunction;
  return what + " is not usable: " + status_text(k) +
         (no_image ? "; rebuild with CMAKE_CUDA_ARCHITECTURES including it" : "");
}

// The number of devices, or the reason there is none usable ("" and the
// count when there are some). Never throws.
std::string device_count(int* count) {
  *count = 0;
  const cudaError_t e = cudaGetDeviceCount(count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    *count = 0;
    return "cudaGetDeviceCount failed: " + status_text(e);
  }
  return *count > 0 ? "" : "no CUDA device found";
}

}  // namespace
}  // namespace cuda

std::string cuda_device_probe() {
  // Any failure means "no usable CUDA device": "auto" then falls back to
  // the CPU quietly. Never throws. The probe has no options, so it checks
  // the calling thread's current device; the constructor checks the device
  // asked for (CudaOptions::device) the same way.
  int count = 0;
  const std::string none = cuda::device_count(&count);
  if (!none.empty()) return none;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) {
    (void)cudaGetLastError();
    device = 0;
  }
  return cuda::device_unusable_reason(device);
}

std::unique_ptr<Backend> new_cuda_backend(std::size_t workspace_bytes, const CudaOptions& options) {
  return std::make_unique<CudaBackend>(workspace_bytes, options);
}

std::unique_ptr<Backend> CudaBackend::make_serial() const {
  return std::make_unique<CudaBackend>(workspace_bytes_, options_);
}

// ---- construction -------------------------------------------------------------

namespace {
// Two pinned chunks of 1/64 of the workspace budget each (4 MiB at the
// default budget): large enough that each transfer runs near the link's
// rate, small enough to pin little. The floor keeps the smallest budgets
// (tests) at many chunks per copy.
std::size_t staging_chunk_bytes(std::size_t workspace_bytes) {
  return std::clamp<std::size_t>(workspace_bytes / 64, std::size_t{4} << 10, std::size_t{4} << 20);
}
}  // namespace

CudaBackend::CudaBackend(std::size_t workspace_bytes, const CudaOptions& options)
    : workspace_bytes_(workspace_bytes),
      options_(options),
      device_(options.device),
      staging_(staging_chunk_bytes(workspace_bytes)) {
  // The device asked for, not just the one the probe saw: it must exist
  // and run this build's kernels, else there is no usable device.
  int count = 0;
  const std::string none = cuda::device_count(&count);
  require(none.empty(), ErrorCode::backend_unavailable, "make_backend", "cuda unavailable: ", none);
  require(device_ >= 0 && device_ < count, ErrorCode::backend_unavailable, "make_backend",
          "cuda unavailable: cuda.device=", device_, " but this machine has ", count,
          " CUDA device(s), numbered from 0");
  const std::string unusable = cuda::device_unusable_reason(device_);
  require(unusable.empty(), ErrorCode::backend_unavailable, "make_backend", "cuda unavailable: ",
          unusable);
  cuda::DeviceGuard guard(device_);
  try {
    cudaDeviceProp prop{};
    STRAY_CUDA_CHECK_AT("make_backend", cudaGetDeviceProperties(&prop, device_));
    sm_count_ = std::max(1, prop.multiProcessorCount);
    description_ = cuda::format_description(prop);

    STRAY_CUDA_CHECK_AT("make_backend", cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    STRAY_CUDA_CHECK_AT("make_backend", cublasCreate(&cublas_));
    STRAY_CUDA_CHECK_AT("make_backend", cublasSetStream(cublas_, stream_));
    // No TF32: float32 products must stay float32 (the CPU twin's precision).
    STRAY_CUDA_CHECK_AT("make_backend", cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));
    // Bitwise reproducible results (both are the libraries' defaults today).
    STRAY_CUDA_CHECK_AT("make_backend", cublasSetAtomicsMode(cublas_, CUBLAS_ATOMICS_NOT_ALLOWED));
    STRAY_CUDA_CHECK_AT("make_backend", cusolverDnCreate(&cusolver_));
    STRAY_CUDA_CHECK_AT("make_backend", cusolverDnSetStream(cusolver_, stream_));
    STRAY_CUDA_CHECK_AT("make_backend",
                        cusolverDnSetDeterministicMode(cusolver_, CUSOLVER_DETERMINISTIC_RESULTS));
    STRAY_CUDA_CHECK_AT("make_backend", cusolverDnCreateParams(&solver_params_));
    STRAY_CUDA_CHECK_AT("make_backend", cusparseCreate(&cusparse_));
    STRAY_CUDA_CHECK_AT("make_backend", cusparseSetStream(cusparse_, stream_));

    // Scratch comes from a pool of our own (not the device's default pool,
    // which other code in the process may tune), kept across calls so the
    // per-iteration temporaries of k-means cost no cudaMalloc.
    int pools_supported = 0;
    STRAY_CUDA_CHECK_AT("make_backend", cudaDeviceGetAttribute(
                                            &pools_supported, cudaDevAttrMemoryPoolsSupported,
                                            device_));
    if (pools_supported != 0 && options_.memory_pool) {
      cudaMemPoolProps props{};
      props.allocType = cudaMemAllocationTypePinned;
      props.handleTypes = cudaMemHandleTypeNone;
      props.location.type = cudaMemLocationTypeDevice;
      props.location.id = device_;
      STRAY_CUDA_CHECK_AT("make_backend", cudaMemPoolCreate(&pool_, &props));
      uint64_t keep = std::numeric_limits<uint64_t>::max();
      STRAY_CUDA_CHECK_AT("make_backend", cudaMemPoolSetAttribute(
                                              pool_, cudaMemPoolAttrReleaseThreshold, &keep));
    }
  } catch (...) {
    release();
    throw;
  }
}

CudaBackend::~CudaBackend() {
  cuda::DeviceGuard guard(device_);
  release();
}

void CudaBackend::release() noexcept {
  if (stream_ != nullptr && cudaStreamSynchronize(stream_) != cudaSuccess) {
    (void)cudaGetLastError();
  }
  staging_.release();
  if (cusparse_ != nullptr) cusparseDestroy(cusparse_);
  if (solver_params_ != nullptr) cusolverDnDestroyParams(solver_params_);
  if (cusolver_ != nullptr) cusolverDnDestroy(cusolver_);
  if (cublas_ != nullptr) cublasDestroy(cublas_);
  // Scratch is always returned before a method exits, so the pool is empty.
  if (pool_ != nullptr && cudaMemPoolDestroy(pool_) != cudaSuccess) (void)cudaGetLastError();
  if (stream_ != nullptr && cudaStreamDestroy(stream_) != cudaSuccess) (void)cudaGetLastError();
  cusparse_ = nullptr;
  solver_params_ = nullptr;
  cusolver_ = nullptr;
  cublas_ = nullptr;
  pool_ = nullptr;
  stream_ = nullptr;
}

// ---- helpers shared by the translation units ----------------------------------

const void* CudaBackend::checked_data(const DeviceBuffer* buffer, std::size_t bytes,
                                      const char* where) const {
  if (bytes == 0) return buffer != nullptr ? buffer->data() : nullptr;
  require(buffer != nullptr, ErrorCode::invalid_argument, where,
          "an array of ", bytes, " bytes has no storage");
  const auto* cb = dynamic_cast<const cuda::CudaBuffer*>(buffer);
  require(cb != nullptr, ErrorCode::invalid_argument, where,
          "an array was not allocated by the cuda backend");
  require(cb->device() == device_, ErrorCode::invalid_argument, where, "an array lives on device ",
          cb->device(), ", this backend uses device ", device_);
  require(cb->bytes() >= bytes, ErrorCode::invalid_argument, where, "an array's buffer holds ",
          cb->bytes(), " bytes, its shape needs ", bytes);
  return cb->data();
}

cuda::ScratchBuffer CudaBackend::scratch_bytes(std::size_t bytes) {
  if (bytes == 0) return {};
  void* p = nullptr;
  const cudaError_t e = pool_ != nullptr ? cudaMallocFromPoolAsync(&p, bytes, pool_, stream_)
                                         : cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    if (e == cudaErrorMemoryAllocation) {
      throw Error(ErrorCode::out_of_memory,
                  "cuda backend: cannot allocate " + std::to_string(bytes) +
                      " bytes of scratch on " + description_);
    }
    cuda::throw_status(e, "cuda backend scratch", "cudaMallocFromPoolAsync");
  }
  return cuda::ScratchBuffer(this, p, bytes);
}

void CudaBackend::release_scratch(void* p) noexcept {
  const cudaError_t e = pool_ != nullptr ? cudaFreeAsync(p, stream_) : cudaFree(p);
  if (e != cudaSuccess) (void)cudaGetLastError();
}

cuda::ScratchBuffer CudaBackend::upload_scratch(const void* host, std::size_t bytes) {
  cuda::ScratchBuffer buf = scratch_bytes(bytes);
  if (bytes == 0) return buf;
  host_to_device(buf.as<void>(), host, bytes, "cuda backend upload");
  return buf;
}

void CudaBackend::download_sync(void* host, const void* device_ptr, std::size_t bytes) {
  device_to_host(host, device_ptr, bytes, "cuda backend download");
}

void CudaBackend::host_to_device(void* device_ptr, const void* host, std::size_t bytes,
                                 const char* where) {
  if (bytes == 0) return;
  if (staging_.worth_staging(bytes)) {
    staging_.to_device(device_ptr, host, bytes, stream_, where);
    return;
  }
  STRAY_CUDA_CHECK_AT(where,
                      cudaMemcpyAsync(device_ptr, host, bytes, cudaMemcpyHostToDevice, stream_));
  // The host memory may be pageable and short-lived: wait for the copy.
  sync_stream();
}

void CudaBackend::device_to_host(void* host, const void* device_ptr, std::size_t bytes,
                                 const char* where) {
  if (bytes == 0) return;
  if (staging_.worth_staging(bytes)) {
    staging_.to_host(host, device_ptr, bytes, stream_, where);
    return;
  }
  STRAY_CUDA_CHECK_AT(where,
                      cudaMemcpyAsync(host, device_ptr, bytes, cudaMemcpyDeviceToHost, stream_));
  sync_stream();
}

void CudaBackend::sync_stream() {
  // A fault in any kernel queued since the last synchronisation shows here.
  STRAY_CUDA_CHECK_AT("cuda backend", cudaStreamSynchronize(stream_));
}

int64_t CudaBackend::distance_tile_rows(int64_t n, int64_t k) const {
  const int64_t per_row = 4 * std::max<int64_t>(k, 1) + 8;  // products + row norm
  int64_t rows = static_cast<int64_t>(workspace_bytes_) / per_row;
  // cuBLAS takes int extents; keep rows * k well inside them too.
  rows = std::min<int64_t>(rows, std::numeric_limits<int32_t>::max() / std::max<int64_t>(k, 1));
  return std::clamp<int64_t>(rows, 1, std::max<int64_t>(n, 1));
}

unsigned int CudaBackend::blocks_for(int64_t items, int64_t per_block) const {
  const int64_t wanted = cuda::ceil_div(std::max<int64_t>(items, 1), per_block);
  return static_cast<unsigned int>(std::clamp<int64_t>(wanted, 1, int64_t{sm_count_} * 32));
}

// ---- memory -------------------------------------------------------------------

std::unique_ptr<DeviceBuffer> CudaBackend::allocate_bytes(std::size_t bytes) {
  if (bytes == 0) return std::make_unique<cuda::CudaBuffer>(nullptr, 0, device_);
  cuda::DeviceGuard guard(device_);
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation && pool_ != nullptr) {
    // The scratch pool keeps freed memory for reuse: hand it back, retry once.
    (void)cudaGetLastError();
    sync_stream();
    STRAY_CUDA_CHECK_AT("allocate_bytes", cudaMemPoolTrimTo(pool_, 0));
    e = cudaMalloc(&p, bytes);
  }
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    if (e == cudaErrorMemoryAllocation) {
      std::size_t free_bytes = 0, total_bytes = 0;
      if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) (void)cudaGetLastError();
      char buf[128];
      std::snprintf(buf, sizeof buf, "%.2f GiB free of %.2f GiB",
                    static_cast<double>(free_bytes) / (1 << 30),
                    static_cast<double>(total_bytes) / (1 << 30));
      throw Error(ErrorCode::out_of_memory, "allocate_bytes: cannot allocate " +
                                                std::to_string(bytes) + " bytes on " +
                                                description_ + " (" + buf + ")");
    }
    cuda::throw_status(e, "allocate_bytes", "cudaMalloc");
  }
  try {
    return std::make_unique<cuda::CudaBuffer>(p, bytes, device_);
  } catch (...) {
    cudaFree(p);
    throw;
  }
}

namespace {
void check_range(const DeviceBuffer& buf, std::size_t offset, std::size_t bytes,
                 const char* where) {
  require(offset <= buf.bytes() && bytes <= buf.bytes() - offset, ErrorCode::invalid_argument,
          where, "copy of ", bytes, " bytes at offset ", offset, " exceeds the buffer's ",
          buf.bytes(), " bytes");
}
}  // namespace

void CudaBackend::copy_to_device(DeviceBuffer& dst, std::size_t dst_offset, const void* src,
                                 std::size_t bytes) {
  check_range(dst, dst_offset, bytes, "copy_to_device");
  if (bytes == 0) return;
  require(src != nullptr, ErrorCode::invalid_argument, "copy_to_device", "source is null");
  cuda::DeviceGuard guard(device_);
  void* base = const_cast<void*>(checked_data(&dst, dst.bytes(), "copy_to_device"));
  // Returns only when `src` has been read, whatever kind of host memory it is.
  host_to_device(static_cast<char*>(base) + dst_offset, src, bytes, "copy_to_device");
}

void CudaBackend::copy_to_host(void* dst, const DeviceBuffer& src, std::size_t src_offset,
                               std::size_t bytes) {
  check_range(src, src_offset, bytes, "copy_to_host");
  if (bytes == 0) return;
  require(dst != nullptr, ErrorCode::invalid_argument, "copy_to_host", "destination is null");
  cuda::DeviceGuard guard(device_);
  const void* base = checked_data(&src, src.bytes(), "copy_to_host");
  device_to_host(dst, static_cast<const char*>(base) + src_offset, bytes, "copy_to_host");
}

void CudaBackend::synchronize() {
  cuda::DeviceGuard guard(device_);
  sync_stream();
}

// ---- statistics ---------------------------------------------------------------

void CudaBackend::column_stats(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                               double* mean, double* var) {
  const int64_t n = X.rows(), d = X.cols();
  require(n > 0, ErrorCode::invalid_argument, "column_stats", "X has no rows");
  require(weights == nullptr || weights->size() == n, ErrorCode::shape_mismatch, "column_stats",
          "weights has ", weights ? weights->size() : 0, " entries for n=", n);
  cuda::DeviceGuard guard(device_);
  const float* x = ptr(X, "column_stats");
  const float* w = weights != nullptr ? ptr(*weights, "column_stats") : nullptr;
  const std::vector<int64_t> all_rows{0, n};

  // Two passes (mean, then centred squares) for accuracy; the CPU does the
  // same chunk by chunk in one pass over X, merging the chunks' moments.
  cuda::ScratchBuffer sums = scratch<double>(d);
  cuda::segment_sums(*this, all_rows, d, cuda::WeightedValue{x, d, w}, sums.as<double>());
  double total_weight = static_cast<double>(n);
  if (w != nullptr) {
    cuda::ScratchBuffer wsum = scratch<double>(1);
    cuda::segment_sums(*this, all_rows, 1, cuda::WeightOnly{w}, wsum.as<double>());
    download_sync(&total_weight, wsum.as<double>(), sizeof(double));
  }
  require(total_weight > 0.0, ErrorCode::invalid_argument, "column_stats", "weights sum to 0");
  std::vector<double> host(static_cast<std::size_t>(d));
  download_sync(host.data(), sums.as<double>(), host.size() * sizeof(double));
  for (int64_t j = 0; j < d; ++j) mean[j] = host[static_cast<std::size_t>(j)] / total_weight;

  cuda::ScratchBuffer d_mean = upload_scratch(mean, static_cast<std::size_t>(d) * sizeof(double));
  cuda::segment_sums(*this, all_rows, d,
                     cuda::WeightedSquaredDeviation{x, d, w, d_mean.as<double>()},
                     sums.as<double>());
  download_sync(host.data(), sums.as<double>(), host.size() * sizeof(double));
  for (int64_t j = 0; j < d; ++j) var[j] = host[static_cast<std::size_t>(j)] / total_weight;
}

void CudaBackend::subtract_row_vector(DeviceArray<float>& X, const double* shift) {
  const int64_t n = X.rows(), d = X.cols();
  if (n == 0 || d == 0) return;
  require(shift != nullptr, ErrorCode::invalid_argument, "subtract_row_vector", "shift is null");
  cuda::DeviceGuard guard(device_);
  float* x = ptr(X, "subtract_row_vector");
  const std::vector<float> s(shift, shift + d);  // float32 shift, as on the CPU
  cuda::ScratchBuffer d_shift = upload_scratch(s);
  const dim3 block(32, cuda::kBlockThreads / 32);
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>(cuda::ceil_div(d, 32), 1024)),
                  static_cast<unsigned>(std::min<int64_t>(cuda::ceil_div(n, block.y), cuda::kMaxGridYZ)));
  cuda::subtract_row_vector_kernel<<<grid, block, 0, stream_>>>(x, n, d, d_shift.as<float>());
  STRAY_CUDA_CHECK_LAUNCH("subtract_row_vector_kernel");
}

DeviceArray<float> CudaBackend::copy_shifted(const DeviceArray<float>& X, const double* shift) {
  DeviceArray<float> out = allocate<float>(X.rows(), X.cols());
  if (out.empty()) return out;
  cuda::DeviceGuard guard(device_);
  STRAY_CUDA_CHECK(cudaMemcpyAsync(ptr(out, "copy_shifted"), ptr(X, "copy_shifted"), out.bytes(),
                                   cudaMemcpyDeviceToDevice, stream_));
  subtract_row_vector(out, shift);
  return out;
}

}  // namespace stray::internal
