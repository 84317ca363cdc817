// The CUDA backend: cuBLAS, cuSOLVER and cuSPARSE for the dense and sparse
// linear algebra, CUB for the one sort, and small kernels of our own for the
// fused distance epilogues and the fixed-order float64 reductions.
//
// Methods are split by concept: cuda_backend.cu (probe, construction,
// memory, column statistics), cuda_staging.cu (pinned staging of host
// copies), cuda_kmeans.cu (nearest centres: the fused kernel or GEMM
// tiles; centroid sums), cuda_nearest.cu (the fused distance kernel),
// cuda_sample.cu (k-means++ sampling), cuda_linalg.cu (Gram, GEMM),
// cuda_qr.cu (thin QR), cuda_eigen.cu (symmetric eigensolvers),
// cuda_sparse.cu (CSR), cuda_sparse_kmeans.cu (k-means distances of CSR
// rows), cuda_sort.cu (the CUB radix sort behind the deterministic
// reductions), cuda_knn.cu (k nearest neighbours: GEMM tiles, selection on
// the device), cuda_sparse_knn.cu (neighbours of CSR rows).
//
// Everything runs on one non-blocking stream owned by the backend; a method
// returns once its work is queued unless it hands results to the host, in
// which case it synchronises first. Temporaries come from a stream-ordered
// memory pool owned by the backend; user arrays (DeviceBuffer) use
// cudaMalloc. A backend is not thread-safe: use one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cuda_check.hpp"
#include "cuda_staging.hpp"
#include "stray/core/backend.hpp"

namespace stray::internal {

class CudaBackend;

namespace cuda {

/// Makes `device` current on the calling thread for the guard's lifetime and
/// restores the previous device afterwards (a library must not leave the
/// caller's current device changed).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
  bool switched_ = false;
};

/// Device memory from cudaMalloc, owned by a DeviceArray.
class CudaBuffer final : public DeviceBuffer {
 public:
  CudaBuffer(void* data, std::size_t bytes, int device) : data_(data), bytes_(bytes), device_(device) {}
  ~CudaBuffer() override;
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;
  void* data() override { return data_; }
  const void* data() const override { return data_; }
  std::size_t bytes() const override { return bytes_; }
  std::string memory_space() const override { return "cuda:" + std::to_string(device_); }
  int device() const { return device_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  int device_ = 0;
};

/// Temporary device memory from the backend's stream-ordered pool; freed in
/// stream order on destruction, so kernels queued before still see it.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(CudaBackend* owner, void* data, std::size_t bytes)
      : owner_(owner), data_(data), bytes_(bytes) {}
  ScratchBuffer(ScratchBuffer&& other) noexcept { swap(other); }
  ScratchBuffer& operator=(ScratchBuffer&& other) noexcept {
    ScratchBuffer tmp(std::move(other));
    swap(tmp);
    return *this;
  }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer();

  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void swap(ScratchBuffer& other) noexcept {
    std::swap(owner_, other.owner_);
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
  }
  CudaBackend* owner_ = nullptr;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

/// A run of positions [begin, end) of one segment `key`, summed by one
/// thread block (see segment_sums in cuda_kernels.cuh).
struct Chunk {
  int64_t begin;
  int64_t end;
  int64_t key;
};

}  // namespace cuda

class CudaBackend final : public Backend {
 public:
  CudaBackend(std::size_t workspace_bytes, const CudaOptions& options);
  ~CudaBackend() override;

  std::string name() const override { return "cuda"; }
  std::string device_description() const override { return description_; }
  std::size_t workspace_bytes() const override { return workspace_bytes_; }
  std::string memory_space() const override { return "cuda:" + std::to_string(device_); }
  /// Kernels are serial per stream already: another backend like this one.
  std::unique_ptr<Backend> make_serial() const override;

  std::unique_ptr<DeviceBuffer> allocate_bytes(std::size_t bytes) override;
  void copy_to_device(DeviceBuffer& dst, std::size_t dst_offset, const void* src,
                      std::size_t bytes) override;
  void copy_to_host(void* dst, const DeviceBuffer& src, std::size_t src_offset,
                    std::size_t bytes) override;
  void synchronize() override;

  void column_stats(const DeviceArray<float>& X, const DeviceArray<float>* weights, double* mean,
                    double* var) override;
  void subtract_row_vector(DeviceArray<float>& X, const double* shift) override;
  DeviceArray<float> copy_shifted(const DeviceArray<float>& X, const double* shift) override;

  void nearest_centroid(const DeviceArray<float>& X, const DeviceArray<float>& C,
                        DeviceArray<int32_t>& labels, DeviceArray<float>& min_sq_dist) override;
  void accumulate_centroids(const DeviceArray<float>& X, const DeviceArray<int32_t>& labels,
                            const DeviceArray<float>* weights, int64_t k, double* sums,
                            double* counts) override;
  int64_t count_label_changes(const DeviceArray<int32_t>& current,
                              DeviceArray<int32_t>& previous) override;
  void assigned_sq_distances(const DeviceArray<float>& X, const DeviceArray<float>& C,
                             const DeviceArray<int32_t>& labels, DeviceArray<float>& out) override;
  void update_closest(const DeviceArray<float>& X, const DeviceArray<float>& C,
                      DeviceArray<float>& closest) override;
  void candidate_potentials(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                            const DeviceArray<float>& closest, const DeviceArray<float>& C,
                            double* potentials) override;
  double cumulative_mass(const DeviceArray<float>& mass, const DeviceArray<float>* weights,
                         DeviceArray<double>& cumulative) override;
  void draw_from_cumulative(const DeviceArray<double>& cumulative, const double* targets,
                            int64_t count, int64_t* rows) override;

  void gram(const DeviceArray<float>& X, const DeviceArray<float>* weights, const double* shift,
            double* out) override;
  void gemm(bool transpose_a, bool transpose_b, float alpha, const DeviceArray<float>& A,
            const DeviceArray<float>& B, float beta, DeviceArray<float>& C) override;
  void orthonormalize_columns(DeviceArray<float>& A) override;
  void symmetric_eigen(int64_t d, const double* A, double* eigenvalues,
                       double* eigenvectors) override;
  bool symmetric_eigen_largest(int64_t d, const double* A, int64_t k, double* values,
                               double* vectors) override;

  DeviceCsr upload_csr(const CsrView& host) override;
  void csr_column_stats(const DeviceCsr& A, double* mean, double* var) override;
  void csr_rows_to_dense(const DeviceCsr& A, int64_t begin, DeviceArray<float>& out) override;
  void csr_nearest_centroid(const DeviceCsr& A, const DeviceArray<float>& C,
                            DeviceArray<int32_t>& labels, DeviceArray<float>& min_sq_dist) override;
  void csr_sq_distances(const DeviceCsr& A, const DeviceArray<float>& C,
                        DeviceArray<float>& out) override;
  void csr_centroid_sums(const DeviceCsr& A, const DeviceArray<int32_t>& labels,
                         const DeviceArray<float>* weights, int64_t k, double* sums,
                         double* counts) override;
  void csr_cluster_sums(const DeviceCsr& A, const int32_t* labels, int64_t k, double* sums,
                        double* sq_sums, double* stored) override;
  void csr_profile_scores(const DeviceCsr& A, const ClusterProfiles& profiles,
                          const int32_t* reference, const uint8_t* leave_out, float* out) override;
  void spmm(bool transpose_a, const DeviceCsr& A, const DeviceArray<float>& B,
            DeviceArray<float>& C) override;

  void knn(const DeviceArray<float>& reference, const DeviceArray<float>* queries, int64_t k,
           DeviceArray<int64_t>& indices, DeviceArray<double>& distances) override;
  void csr_knn(const DeviceCsr& reference, const DeviceCsr* queries, int64_t k,
               DeviceArray<int64_t>& indices, DeviceArray<double>& distances) override;

  // ---- shared by the translation units of this backend ---------------------
  int device() const { return device_; }
  int sm_count() const { return sm_count_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  cusolverDnHandle_t cusolver() const { return cusolver_; }
  /// Settings of the 64-bit cuSOLVER calls (cusolverDnX*): the defaults.
  cusolverDnParams_t solver_params() const { return solver_params_; }
  cusparseHandle_t cusparse() const { return cusparse_; }

  /// Stream-ordered temporary memory (nullptr for 0 bytes).
  cuda::ScratchBuffer scratch_bytes(std::size_t bytes);
  template <typename T>
  cuda::ScratchBuffer scratch(int64_t count) {
    return scratch_bytes(static_cast<std::size_t>(count) * sizeof(T));
  }
  /// Copies host memory into fresh scratch; the host memory may be reused
  /// as soon as this returns.
  cuda::ScratchBuffer upload_scratch(const void* host, std::size_t bytes);
  template <typename T>
  cuda::ScratchBuffer upload_scratch(const std::vector<T>& host) {
    return upload_scratch(host.data(), host.size() * sizeof(T));
  }
  /// Queues a device-to-host copy and waits for the stream (and so for all
  /// work queued before it).
  void download_sync(void* host, const void* device_ptr, std::size_t bytes);
  /// Host to device; returns once `host` has been read. Large copies go
  /// through the pinned staging buffers, small ones are direct.
  void host_to_device(void* device_ptr, const void* host, std::size_t bytes, const char* where);
  /// Device to host, after all work queued before; returns with `host` filled.
  void device_to_host(void* host, const void* device_ptr, std::size_t bytes, const char* where);
  /// Waits for the stream, reporting asynchronous kernel faults.
  void sync_stream();
  /// Frees scratch in stream order (used by ScratchBuffer; never throws).
  void release_scratch(void* ptr) noexcept;

  /// The device pointer of an array of this backend; throws invalid_argument
  /// for an array from another backend or device.
  template <typename T>
  const T* ptr(const DeviceArray<T>& a, const char* where) const {
    return static_cast<const T*>(checked_data(a.buffer(), a.bytes(), where));
  }
  template <typename T>
  T* ptr(DeviceArray<T>& a, const char* where) const {
    return static_cast<T*>(const_cast<void*>(checked_data(a.buffer(), a.bytes(), where)));
  }

  /// G += Σ_i w_i (x_i − s)(x_i − s)ᵀ over the rows of x [n x d] (device,
  /// float32, row-major), in float64 into the lower triangle of G (device,
  /// column-major [d x d]). `shift` (device [d]) and `w` (device [n]) may be
  /// null (zero shift, unit weights). Row tiles within the workspace budget.
  void gram_lower(const float* x, int64_t n, int64_t d, const double* shift, const float* w,
                  double* G, const char* where);

  /// Rows per distance tile against `k` centres: the float tile of x·c
  /// products (rows × k) fits the workspace budget.
  int64_t distance_tile_rows(int64_t n, int64_t k) const;
  /// Grid size for a grid-stride kernel over `items` with `per_block` items
  /// per block: enough blocks to fill the device, never zero.
  unsigned int blocks_for(int64_t items, int64_t per_block) const;

 private:
  /// csr_nearest_centroid's and csr_sq_distances' one kernel launch
  /// (cuda_sparse_kmeans.cu): labels and min_dist, or out (the other null).
  void launch_csr_distances(const DeviceCsr& A, const DeviceArray<float>& C, int32_t* labels,
                            float* min_dist, float* out, const char* where);

  const void* checked_data(const DeviceBuffer* buffer, std::size_t bytes, const char* where) const;
  void release() noexcept;
  // Thin QR (cuda_qr.cu): one CholeskyQR pass on A [n x l] in place, or
  // false (A untouched) where its rule rejects A; the Householder path.
  bool cholesky_qr_pass(float* a, int64_t n, int64_t l, bool first, const char* where);
  void householder_orthonormalize(float* a, int64_t n, int64_t l, const char* where);

  std::size_t workspace_bytes_;
  CudaOptions options_;
  int device_ = 0;
  int sm_count_ = 1;
  std::string description_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cusolverDnHandle_t cusolver_ = nullptr;
  cusolverDnParams_t solver_params_ = nullptr;
  cusparseHandle_t cusparse_ = nullptr;
  cudaMemPool_t pool_ = nullptr;  // null: the device has no memory pools; use cudaMalloc
  cuda::PinnedStaging staging_;
};

}  // namespace stray::internal
