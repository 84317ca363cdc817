// CUDA backend: k-means on sparse rows — distances from CSR rows to dense
// centres without densifying (one thread per row; the distance and its
// order of sums are core/sparse_distance.hpp's, so the bits are the CPU's).
// The centres' squared norms are summed on the host, in the same order as
// the CPU backend sums them. Unverified on a GPU (docs/cuda-backend.md).
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "core/check.hpp"
#include "core/sparse_distance.hpp"
#include "cuda_backend.hpp"
#include "cuda_check.hpp"
#include "cuda_kernels.cuh"

namespace stray::internal {
namespace cuda {
namespace {

// Row i's squared distance to centre c: products in the row's stored order.
__device__ double row_centre_distance(const int64_t* indptr, const int32_t* indices,
                                      const float* values, const float* C, int64_t d,
                                      const double* center_sq, int64_t i, int64_t c,
                                      double row_sq) {
  double dot = 0.0;
  const float* centre = C + c * d;
  for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) {
    dot += static_cast<double>(values[p]) * static_cast<double>(centre[indices[p]]);
  }
  return sparse_sq_distance(row_sq, center_sq[c], dot);
}

// labels/min_dist non-null: the nearest centre (ties to the lower index);
// else every distance into out [rows x k].
__global__ void csr_distances_kernel(const int64_t* indptr, const int32_t* indices,
                                     const float* values, int64_t rows, const float* C, int64_t k,
                                     int64_t d, const double* center_sq, int32_t* labels,
                                     float* min_dist, float* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < rows;
       i += stride) {
    const double row_sq = sparse_row_sq_norm(indptr, values, i);
    double best = 0.0;
    int32_t best_c = 0;
    for (int64_t c = 0; c < k; ++c) {
      const double s = row_centre_distance(indptr, indices, values, C, d, center_sq, i, c, row_sq);
      if (out != nullptr) {
        out[i * k + c] = static_cast<float>(s);
      } else if (c == 0 || s < best) {
        best = s;
        best_c = static_cast<int32_t>(c);
      }
    }
    if (labels != nullptr) {
      labels[i] = best_c;
      min_dist[i] = static_cast<float>(best);
    }
  }
}

}  // namespace
}  // namespace cuda

namespace {

void check_centres(const DeviceCsr& A, const DeviceArray<float>& C, const char* where) {
  require(C.cols() == A.cols && C.rows() >= 1, ErrorCode::shape_mismatch, where, "centres are ",
          C.rows(), " x ", C.cols(), " for a CSR with ", A.cols, " columns");
}

}  // namespace

// One launch of csr_distances_kernel: labels and min_dist, or out.
void CudaBackend::launch_csr_distances(const DeviceCsr& A, const DeviceArray<float>& C,
                                       int32_t* labels, float* min_dist, float* out,
                                       const char* where) {
  if (A.rows == 0) return;
  const Matrix<float> host_c = download(C);
  const std::vector<double> sq = center_sq_norms(host_c.data(), C.rows(), C.cols());
  cuda::DeviceGuard guard(device_);
  cuda::ScratchBuffer center_sq = upload_scratch(sq);
  cuda::csr_distances_kernel<<<blocks_for(A.rows, cuda::kBlockThreads), cuda::kBlockThreads, 0,
                               stream_>>>(
      ptr(A.indptr, where), ptr(A.indices, where), ptr(A.values, where), A.rows, ptr(C, where),
      C.rows(), C.cols(), center_sq.as<double>(), labels, min_dist, out);
  cuda::check_launch(where, "csr_distances_kernel");
  synchronize();
}

void CudaBackend::csr_nearest_centroid(const DeviceCsr& A, const DeviceArray<float>& C,
                                       DeviceArray<int32_t>& labels,
                                       DeviceArray<float>& min_sq_dist) {
  const char* where = "csr_nearest_centroid";
  check_centres(A, C, where);
  require(labels.size() == A.rows && min_sq_dist.size() == A.rows, ErrorCode::shape_mismatch,
          where, "outputs of ", labels.size(), " and ", min_sq_dist.size(), " for ", A.rows,
          " rows");
  launch_csr_distances(A, C, ptr(labels, where), ptr(min_sq_dist, where), nullptr, where);
}

void CudaBackend::csr_sq_distances(const DeviceCsr& A, const DeviceArray<float>& C,
                                   DeviceArray<float>& out) {
  const char* where = "csr_sq_distances";
  check_centres(A, C, where);
  require(out.rows() == A.rows && out.cols() == C.rows(), ErrorCode::shape_mismatch, where,
          "out is ", out.rows(), " x ", out.cols(), ", expected ", A.rows, " x ", C.rows());
  launch_csr_distances(A, C, nullptr, nullptr, ptr(out, where), where);
}

}  // namespace stray::internal
