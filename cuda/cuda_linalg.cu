// CUDA backend: Gram matrices and GEMM, the dense products behind PCA (thin
// QR is in cuda_qr.cu, the eigensolvers in cuda_eigen.cu).
//
// Layout: every array is row-major, cuBLAS and cuSOLVER are column-major. A
// row-major [r x c] array is the column-major [c x r] matrix of its
// transpose, so most calls need no copy, only swapped operands:
//   row-major C = op(A) op(B)   <=>   column-major Cᵀ = op(B)ᵀ op(A)ᵀ.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cuda_backend.hpp"
#include "cuda_check.hpp"
#include "cuda_kernels.cuh"
#include "core/check.hpp"

namespace stray::internal {
namespace cuda {
namespace {

// Y[i, j] = sqrt(w_i) · (x_ij − shift_j) in float64, for the rows of a tile
// (no shift: 0; no weights: 1).
__global__ void shifted_rows_kernel(const float* X, int64_t rows, int64_t d, const double* shift,
                                    const float* w, double* Y) {
  const int64_t row_stride = static_cast<int64_t>(gridDim.y) * blockDim.y;
  const int64_t col_stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; i < rows;
       i += row_stride) {
    const double s = w != nullptr ? sqrt(static_cast<double>(w[i])) : 1.0;
    for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < d;
         j += col_stride) {
      const double x = static_cast<double>(X[i * d + j]);
      Y[i * d + j] = (shift != nullptr ? x - shift[j] : x) * s;
    }
  }
}

}  // namespace
}  // namespace cuda

// ---- Gram -------------------------------------------------------------------

void CudaBackend::gram_lower(const float* x, int64_t n, int64_t d, const double* shift,
                             const float* w, double* G, const char* where) {
  // G += Yᵀ Y per row tile, Y the shifted, sqrt(w)-scaled tile in float64
  // (FP64 is fast on the data-centre GPUs; the result needs float64 anyway).
  // Y row-major [rows x d] is column-major [d x rows] = M, and Yᵀ Y = M Mᵀ:
  // one DSYRK (no transpose) per tile, lower triangle of column-major G.
  if (n == 0 || d == 0) return;
  const int64_t tile = std::clamp<int64_t>(
      static_cast<int64_t>(workspace_bytes_ / (8 * static_cast<std::size_t>(d))), 1, n);
  cuda::ScratchBuffer Y = scratch<double>(tile * d);
  const double one = 1.0;
  const dim3 block(32, cuda::kBlockThreads / 32);
  for (int64_t r0 = 0; r0 < n; r0 += tile) {
    const int64_t rows = std::min(tile, n - r0);
    const dim3 grid(static_cast<unsigned>(std::min<int64_t>(cuda::ceil_div(d, 32), 1024)),
                    static_cast<unsigned>(std::min<int64_t>(cuda::ceil_div(rows, block.y),
                                                            cuda::kMaxGridYZ)));
    cuda::shifted_rows_kernel<<<grid, block, 0, stream_>>>(x + r0 * d, rows, d, shift,
                                                           w != nullptr ? w + r0 : nullptr,
                                                           Y.as<double>());
    cuda::check_launch(where, "shifted_rows_kernel");
    STRAY_CUDA_CHECK_AT(where, cublasDsyrk_64(cublas_, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, d, rows,
                                              &one, Y.as<double>(), d, &one, G, d));
  }
}

void CudaBackend::gram(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                       const double* shift, double* out) {
  const char* where = "gram";
  const int64_t n = X.rows(), d = X.cols();
  require(weights == nullptr || weights->size() == n, ErrorCode::shape_mismatch, where,
          "weights has ", weights ? weights->size() : 0, " entries for n=", n);
  require(shift != nullptr || d == 0, ErrorCode::invalid_argument, where, "shift is null");
  std::fill(out, out + d * d, 0.0);
  if (n == 0 || d == 0) return;
  cuda::DeviceGuard guard(device_);
  const float* x = ptr(X, where);
  const float* w = weights != nullptr ? ptr(*weights, where) : nullptr;
  cuda::ScratchBuffer d_shift = upload_scratch(shift, static_cast<std::size_t>(d) * sizeof(double));
  cuda::ScratchBuffer G = scratch<double>(d * d);
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(G.as<void>(), 0,
                                             static_cast<std::size_t>(d * d) * sizeof(double),
                                             stream_));
  gram_lower(x, n, d, d_shift.as<double>(), w, G.as<double>(), where);
  // Column-major lower triangle = row-major upper triangle; mirror it.
  download_sync(out, G.as<double>(), static_cast<std::size_t>(d * d) * sizeof(double));
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = i + 1; j < d; ++j) out[j * d + i] = out[i * d + j];
  }
}

// ---- GEMM -------------------------------------------------------------------

void CudaBackend::gemm(bool transpose_a, bool transpose_b, float alpha, const DeviceArray<float>& A,
                       const DeviceArray<float>& B, float beta, DeviceArray<float>& C) {
  const char* where = "gemm";
  const int64_t m = transpose_a ? A.cols() : A.rows();
  const int64_t ka = transpose_a ? A.rows() : A.cols();
  const int64_t kb = transpose_b ? B.cols() : B.rows();
  const int64_t n = transpose_b ? B.rows() : B.cols();
  require(ka == kb, ErrorCode::shape_mismatch, where, "inner dimensions differ: op(A) is ", m,
          " x ", ka, ", op(B) is ", kb, " x ", n);
  require(C.rows() == m && C.cols() == n, ErrorCode::shape_mismatch, where, "C is ", C.rows(),
          " x ", C.cols(), ", expected ", m, " x ", n);
  if (m == 0 || n == 0) return;
  cuda::DeviceGuard guard(device_);
  float* c = ptr(C, where);
  if (ka == 0) {  // empty product: C = beta · C
    if (beta == 0.0f) {
      STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(c, 0, C.bytes(), stream_));
    } else {
      STRAY_CUDA_CHECK_AT(where, cublasSscal_64(cublas_, m * n, &beta, c, 1));
    }
    return;
  }
  // Column-major Cᵀ [n x m] = op(B)ᵀ [n x k] · op(A)ᵀ [k x m]. Stored B is
  // column-major Bᵀ (leading dimension B.cols()): op(B)ᵀ is it as is when
  // op(B) = B, its transpose when op(B) = Bᵀ; likewise for A.
  STRAY_CUDA_CHECK_AT(
      where, cublasSgemm_64(cublas_, transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                            transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, ka, &alpha,
                            ptr(B, where), std::max<int64_t>(B.cols(), 1), ptr(A, where),
                            std::max<int64_t>(A.cols(), 1), &beta, c, n));
}

}  // namespace stray::internal
