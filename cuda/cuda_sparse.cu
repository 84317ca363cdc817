// CUDA backend: CSR matrices — upload, column statistics, and sparse ×
// dense products through the cuSPARSE generic API (cusparseSpMM).
//
// Index types: a DeviceCsr has int64 row offsets and int32 column indices;
// cusparseSpMM is used with one index type for both, so each call makes a
// converted copy of the smaller array (int32 offsets when nnz and the
// extents are below 2^31, else int64 column indices).
//
// Determinism: cusparseSpMM is bitwise reproducible for op(A) = A but not
// for op(A) = Aᵀ. So Aᵀ·B is computed as (Aᵀ as CSR)·B: the transpose is
// built by a stable sort of the entries by column (rows stay in increasing
// order within a column), then multiplied without transposition.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <vector>

#include "cuda_backend.hpp"
#include "cuda_check.hpp"
#include "cuda_kernels.cuh"
#include "cuda_sort.hpp"
#include "core/check.hpp"

namespace stray::internal {
namespace cuda {
namespace {

template <typename From, typename To>
__global__ void convert_kernel(const From* in, To* out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    out[i] = static_cast<To>(in[i]);
  }
}

// Rows [begin, begin + count) of a CSR matrix as dense rows: one thread
// per row, adding its entries in stored order (duplicates add up, as on the
// CPU). `out` was cleared first.
__global__ void csr_rows_to_dense_kernel(const int64_t* indptr, const int32_t* indices,
                                         const float* values, int64_t begin, int64_t count,
                                         int64_t d, float* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < count;
       r += stride) {
    const int64_t i = begin + r;
    float* dst = out + r * d;
    for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) dst[indices[p]] += values[p];
  }
}

// Entries of Aᵀ in CSR order: entry q is A's entry p = order[q]; its column
// index in Aᵀ is p's row in A, the last row r with indptr[r] <= p.
template <typename Index>
__global__ void transpose_entries_kernel(const int64_t* indptr, int64_t rows, const int64_t* order,
                                         const float* values, int64_t nnz, Index* t_indices,
                                         float* t_values) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < nnz;
       q += stride) {
    const int64_t p = order[q];
    int64_t lo = 0, hi = rows;  // invariant: indptr[lo] <= p < indptr[hi]
    while (hi - lo > 1) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (indptr[mid] <= p) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    t_indices[q] = static_cast<Index>(lo);
    t_values[q] = values[p];
  }
}

// Loaders for segment_sums over entries sorted by column.
struct SortedEntry {  // a_p for p = order[q]
  const float* values;
  const int64_t* order;
  __device__ double operator()(int64_t q, int64_t, int64_t) const { return values[order[q]]; }
};

struct SortedEntrySqDev {  // (a_p − mean_col)² for p = order[q] in column `col`
  const float* values;
  const int64_t* order;
  const double* mean;
  __device__ double operator()(int64_t q, int64_t, int64_t col) const {
    const double c = static_cast<double>(values[order[q]]) - mean[col];
    return c * c;
  }
};

template <typename From, typename To>
ScratchBuffer converted_copy(CudaBackend& be, const From* in, int64_t n, const char* where) {
  ScratchBuffer out = be.scratch<To>(n);
  if (n == 0) return out;
  convert_kernel<From, To><<<be.blocks_for(n, kBlockThreads), kBlockThreads, 0, be.stream()>>>(
      in, out.as<To>(), n);
  check_launch(where, "convert_kernel");
  return out;
}

// Owners of cuSPARSE descriptors, destroyed on every path.
struct SpMatHandle {
  cusparseConstSpMatDescr_t h = nullptr;
  ~SpMatHandle() {
    if (h != nullptr) cusparseDestroySpMat(h);
  }
};
struct ConstDnMatHandle {
  cusparseConstDnMatDescr_t h = nullptr;
  ~ConstDnMatHandle() {
    if (h != nullptr) cusparseDestroyDnMat(h);
  }
};
struct DnMatHandle {
  cusparseDnMatDescr_t h = nullptr;
  ~DnMatHandle() {
    if (h != nullptr) cusparseDestroyDnMat(h);
  }
};

/// C [rows x k] = A [rows x cols] · B [cols x k]; A in CSR with `index`
/// offsets and column indices; B and C row-major, contiguous.
void csr_times_dense(CudaBackend& be, int64_t rows, int64_t cols, int64_t nnz, const void* indptr,
                     const void* indices, const float* values, cusparseIndexType_t index,
                     const float* B, int64_t k, float* C, const char* where) {
  SpMatHandle a;
  ConstDnMatHandle b;
  DnMatHandle c;
  STRAY_CUDA_CHECK_AT(where, cusparseCreateConstCsr(&a.h, rows, cols, nnz, indptr, indices, values,
                                                    index, index, CUSPARSE_INDEX_BASE_ZERO,
                                                    CUDA_R_32F));
  STRAY_CUDA_CHECK_AT(where, cusparseCreateConstDnMat(&b.h, cols, k, k, B, CUDA_R_32F,
                                                      CUSPARSE_ORDER_ROW));
  STRAY_CUDA_CHECK_AT(where,
                      cusparseCreateDnMat(&c.h, rows, k, k, C, CUDA_R_32F, CUSPARSE_ORDER_ROW));
  const float alpha = 1.0f, beta = 0.0f;
  // The default algorithm serves any layout; should a library version
  // refuse it for row-major operands, fall back to the CSR algorithms
  // (all reproducible for op(A) = A).
  for (const cusparseSpMMAlg_t alg :
       {CUSPARSE_SPMM_ALG_DEFAULT, CUSPARSE_SPMM_CSR_ALG2, CUSPARSE_SPMM_CSR_ALG1}) {
    std::size_t bytes = 0;
    const cusparseStatus_t sized = cusparseSpMM_bufferSize(
        be.cusparse(), CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha,
        a.h, b.h, &beta, c.h, CUDA_R_32F, alg, &bytes);
    if (sized == CUSPARSE_STATUS_NOT_SUPPORTED) continue;
    if (sized != CUSPARSE_STATUS_SUCCESS) throw_status(sized, where, "cusparseSpMM_bufferSize");
    ScratchBuffer buffer = be.scratch_bytes(std::max<std::size_t>(bytes, 256));
    const cusparseStatus_t done =
        cusparseSpMM(be.cusparse(), CUSPARSE_OPERATION_NON_TRANSPOSE,
                     CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, a.h, b.h, &beta, c.h, CUDA_R_32F,
                     alg, buffer.as<void>());
    if (done == CUSPARSE_STATUS_NOT_SUPPORTED) continue;
    if (done != CUSPARSE_STATUS_SUCCESS) throw_status(done, where, "cusparseSpMM");
    return;
  }
  throw Error(ErrorCode::device_error,
              std::string(where) + ": cusparseSpMM supports no algorithm for a " +
                  std::to_string(rows) + " x " + std::to_string(cols) +
                  " CSR matrix times a row-major dense matrix");
}

}  // namespace
}  // namespace cuda

DeviceCsr CudaBackend::upload_csr(const CsrView& host) {
  check_csr_arrays(host, "upload_csr");
  DeviceCsr out;
  out.rows = host.rows;
  out.cols = host.cols;
  out.nnz = host.nnz();
  out.indptr = allocate<int64_t>(host.rows + 1);
  out.indices = allocate<int32_t>(out.nnz);
  out.values = allocate<float>(out.nnz);
  copy_to_device(*out.indptr.buffer(), 0, host.indptr, out.indptr.bytes());
  if (out.nnz > 0) {
    copy_to_device(*out.indices.buffer(), 0, host.indices, out.indices.bytes());
    copy_to_device(*out.values.buffer(), 0, host.values, out.values.bytes());
  }
  return out;
}

void CudaBackend::csr_rows_to_dense(const DeviceCsr& A, int64_t begin, DeviceArray<float>& out) {
  const char* where = "csr_rows_to_dense";
  const int64_t count = out.rows(), d = A.cols;
  require(out.cols() == d && begin >= 0 && count <= A.rows - begin, ErrorCode::shape_mismatch,
          where, "rows [", begin, ", ", begin + count, ") x ", out.cols(),
          " do not fit a CSR of ", A.rows, " x ", d);
  if (count == 0 || d == 0) return;
  cuda::DeviceGuard guard(device_);
  float* dense = ptr(out, where);
  STRAY_CUDA_CHECK(cudaMemsetAsync(dense, 0, out.bytes(), stream_));
  if (A.nnz == 0) return;
  cuda::csr_rows_to_dense_kernel<<<blocks_for(count, cuda::kBlockThreads), cuda::kBlockThreads, 0,
                                   stream_>>>(ptr(A.indptr, where), ptr(A.indices, where),
                                              ptr(A.values, where), begin, count, d, dense);
  cuda::check_launch(where, "csr_rows_to_dense_kernel");
}

void CudaBackend::csr_column_stats(const DeviceCsr& A, double* mean, double* var) {
  const char* where = "csr_column_stats";
  const int64_t n = A.rows, d = A.cols, nnz = A.nnz;
  require(n > 0, ErrorCode::invalid_argument, where, "matrix has no rows");
  std::fill(mean, mean + d, 0.0);
  std::fill(var, var + d, 0.0);
  if (d == 0 || nnz == 0) return;
  require(A.indices.size() == nnz && A.values.size() == nnz, ErrorCode::shape_mismatch, where,
          "indices/values hold ", A.indices.size(), "/", A.values.size(), " entries, nnz=", nnz);
  cuda::DeviceGuard guard(device_);
  const float* values = ptr(A.values, where);

  // Entries grouped by column, rows in increasing order within a column:
  // each column's sums then run in a fixed order (two passes, as on the CPU).
  const cuda::SortedSegments sorted = cuda::sort_by_key(*this, ptr(A.indices, where), nnz, d);
  const int64_t* order = sorted.order.as<int64_t>();
  cuda::ScratchBuffer sums = scratch<double>(d);
  std::vector<double> host(static_cast<std::size_t>(d));
  cuda::segment_sums(*this, sorted.offsets, 1, cuda::SortedEntry{values, order}, sums.as<double>());
  download_sync(host.data(), sums.as<double>(), host.size() * sizeof(double));
  const double rows = static_cast<double>(n);
  for (int64_t j = 0; j < d; ++j) mean[j] = host[static_cast<std::size_t>(j)] / rows;

  // Centred squares over stored entries, plus the implicit zeros' share.
  cuda::ScratchBuffer d_mean = upload_scratch(mean, static_cast<std::size_t>(d) * sizeof(double));
  cuda::segment_sums(*this, sorted.offsets, 1,
                     cuda::SortedEntrySqDev{values, order, d_mean.as<double>()}, sums.as<double>());
  download_sync(host.data(), sums.as<double>(), host.size() * sizeof(double));
  for (int64_t j = 0; j < d; ++j) {
    const int64_t stored = sorted.offsets[static_cast<std::size_t>(j + 1)] -
                           sorted.offsets[static_cast<std::size_t>(j)];
    const double zeros = static_cast<double>(std::max<int64_t>(0, n - stored));
    var[j] = (host[static_cast<std::size_t>(j)] + zeros * mean[j] * mean[j]) / rows;
  }
}

void CudaBackend::spmm(bool transpose_a, const DeviceCsr& A, const DeviceArray<float>& B,
                       DeviceArray<float>& C) {
  const char* where = "spmm";
  const int64_t m = A.rows, n = A.cols, nnz = A.nnz;
  const int64_t inner = transpose_a ? m : n, outer = transpose_a ? n : m;
  require(B.rows() == inner, ErrorCode::shape_mismatch, where, "op(A) is ", outer, " x ", inner,
          ", B has ", B.rows(), " rows");
  const int64_t k = B.cols();
  require(C.rows() == outer && C.cols() == k, ErrorCode::shape_mismatch, where, "C is ", C.rows(),
          " x ", C.cols(), ", expected ", outer, " x ", k);
  if (outer == 0 || k == 0) return;
  cuda::DeviceGuard guard(device_);
  float* c = ptr(C, where);
  if (nnz == 0 || inner == 0) {
    STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(c, 0, C.bytes(), stream_));
    return;
  }
  require(A.indptr.size() == m + 1 && A.indices.size() == nnz && A.values.size() == nnz,
          ErrorCode::shape_mismatch, where, "CSR arrays do not match rows=", m, " nnz=", nnz);
  const float* b = ptr(B, where);
  const int64_t* indptr = ptr(A.indptr, where);
  const int32_t* indices = ptr(A.indices, where);
  const float* values = ptr(A.values, where);

  // 32-bit indices (the common case) need every extent and offset below 2^31.
  const bool index32 = nnz <= INT_MAX && m <= INT_MAX && n <= INT_MAX;
  if (!transpose_a) {
    if (index32) {
      const cuda::ScratchBuffer offsets32 =
          cuda::converted_copy<int64_t, int32_t>(*this, indptr, m + 1, where);
      cuda::csr_times_dense(*this, m, n, nnz, offsets32.as<void>(), indices, values,
                            CUSPARSE_INDEX_32I, b, k, c, where);
    } else {
      const cuda::ScratchBuffer indices64 =
          cuda::converted_copy<int32_t, int64_t>(*this, indices, nnz, where);
      cuda::csr_times_dense(*this, m, n, nnz, indptr, indices64.as<void>(), values,
                            CUSPARSE_INDEX_64I, b, k, c, where);
    }
    return;
  }

  // Aᵀ [n x m] as CSR: rows of Aᵀ are A's columns (the sort's segments),
  // its column indices are A's row numbers.
  require(n <= INT_MAX, ErrorCode::invalid_argument, where, "cols=", n,
          " exceeds 2^31-1 (column indices are int32)");
  const cuda::SortedSegments sorted = cuda::sort_by_key(*this, indices, nnz, n);
  cuda::ScratchBuffer t_values = scratch<float>(nnz);
  const unsigned blocks = blocks_for(nnz, cuda::kBlockThreads);
  if (index32) {
    const cuda::ScratchBuffer t_offsets = cuda::converted_copy<int64_t, int32_t>(
        *this, sorted.offsets_device.as<int64_t>(), n + 1, where);
    cuda::ScratchBuffer t_indices = scratch<int32_t>(nnz);
    cuda::transpose_entries_kernel<int32_t><<<blocks, cuda::kBlockThreads, 0, stream_>>>(
        indptr, m, sorted.order.as<int64_t>(), values, nnz, t_indices.as<int32_t>(),
        t_values.as<float>());
    cuda::check_launch(where, "transpose_entries_kernel");
    cuda::csr_times_dense(*this, n, m, nnz, t_offsets.as<void>(), t_indices.as<void>(),
                          t_values.as<float>(), CUSPARSE_INDEX_32I, b, k, c, where);
  } else {
    cuda::ScratchBuffer t_indices = scratch<int64_t>(nnz);
    cuda::transpose_entries_kernel<int64_t><<<blocks, cuda::kBlockThreads, 0, stream_>>>(
        indptr, m, sorted.order.as<int64_t>(), values, nnz, t_indices.as<int64_t>(),
        t_values.as<float>());
    cuda::check_launch(where, "transpose_entries_kernel");
    cuda::csr_times_dense(*this, n, m, nnz, sorted.offsets_device.as<void>(),
                          t_indices.as<void>(), t_values.as<float>(), CUSPARSE_INDEX_64I, b, k, c,
                          where);
  }
}

}  // namespace stray::internal
