// CUDA backend: Gram matrices, GEMM, thin QR and the symmetric eigensolver —
// the dense primitives behind PCA.
//
// Layout: every array is row-major, cuBLAS and cuSOLVER are column-major. A
// row-major [r x c] array is the column-major [c x r] matrix of its
// transpose, so most calls need no copy, only swapped operands:
//   row-major C = op(A) op(B)   <=>   column-major Cᵀ = op(B)ᵀ op(A)ᵀ.
// Only QR transposes explicitly (cublasSgeam), because Householder QR must
// see the columns of A as columns.
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

// Y[i, j] = sqrt(w_i) · (x_ij − shift_j) in float64, for the rows of a tile.
__global__ void shifted_rows_kernel(const float* X, int64_t rows, int64_t d, const double* shift,
                                    const float* w, double* Y) {
  const int64_t row_stride = static_cast<int64_t>(gridDim.y) * blockDim.y;
  const int64_t col_stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; i < rows;
       i += row_stride) {
    const double s = w != nullptr ? sqrt(static_cast<double>(w[i])) : 1.0;
    for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < d;
         j += col_stride) {
      Y[i * d + j] = (static_cast<double>(X[i * d + j]) - shift[j]) * s;
    }
  }
}

}  // namespace
}  // namespace cuda

// ---- Gram -------------------------------------------------------------------

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

  // G += Yᵀ Y per row tile, Y the shifted, sqrt(w)-scaled tile in float64
  // (FP64 is fast on the data-centre GPUs; the result needs float64 anyway).
  // Y row-major [rows x d] is column-major [d x rows] = M, and Yᵀ Y = M Mᵀ:
  // one DSYRK (no transpose) per tile, lower triangle of column-major G.
  cuda::ScratchBuffer d_shift = upload_scratch(shift, static_cast<std::size_t>(d) * sizeof(double));
  const int64_t tile = std::clamp<int64_t>(
      static_cast<int64_t>(workspace_bytes_ / (8 * static_cast<std::size_t>(d))), 1, n);
  cuda::ScratchBuffer Y = scratch<double>(tile * d);
  cuda::ScratchBuffer G = scratch<double>(d * d);
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(G.as<void>(), 0,
                                             static_cast<std::size_t>(d * d) * sizeof(double),
                                             stream_));
  const double one = 1.0;
  const dim3 block(32, cuda::kBlockThreads / 32);
  for (int64_t r0 = 0; r0 < n; r0 += tile) {
    const int64_t rows = std::min(tile, n - r0);
    const dim3 grid(static_cast<unsigned>(std::min<int64_t>(cuda::ceil_div(d, 32), 1024)),
                    static_cast<unsigned>(std::min<int64_t>(cuda::ceil_div(rows, block.y),
                                                            cuda::kMaxGridYZ)));
    cuda::shifted_rows_kernel<<<grid, block, 0, stream_>>>(x + r0 * d, rows, d,
                                                           d_shift.as<double>(),
                                                           w != nullptr ? w + r0 : nullptr,
                                                           Y.as<double>());
    cuda::check_launch(where, "shifted_rows_kernel");
    STRAY_CUDA_CHECK_AT(where, cublasDsyrk_64(cublas_, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, d, rows,
                                              &one, Y.as<double>(), d, &one, G.as<double>(), d));
  }
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

// ---- thin QR ----------------------------------------------------------------

void CudaBackend::orthonormalize_columns(DeviceArray<float>& A) {
  const char* where = "orthonormalize_columns";
  const int64_t n = A.rows(), l = A.cols();
  require(n >= l, ErrorCode::shape_mismatch, where, "A is ", n, " x ", l, ", needs rows >= cols");
  if (l == 0 || n == 0) return;
  require(n <= INT_MAX, ErrorCode::invalid_argument, where, "n=", n,
          " rows exceed the solver's 2^31-1 limit");
  cuda::DeviceGuard guard(device_);
  float* a = ptr(A, where);
  const int rows = static_cast<int>(n), cols = static_cast<int>(l);
  const float one = 1.0f, zero = 0.0f;

  // W = A in column-major [n x l]: the transpose of the stored column-major
  // [l x n] (beta = 0, so the second operand is not read).
  cuda::ScratchBuffer W = scratch<float>(n * l);
  STRAY_CUDA_CHECK_AT(where, cublasSgeam(cublas_, CUBLAS_OP_T, CUBLAS_OP_T, rows, cols, &one, a,
                                         cols, &zero, a, cols, W.as<float>(), rows));
  cuda::ScratchBuffer tau = scratch<float>(l);
  cuda::ScratchBuffer info = scratch<int>(2);
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(info.as<void>(), 0, 2 * sizeof(int), stream_));
  int lwork_qr = 0, lwork_q = 0;
  STRAY_CUDA_CHECK_AT(where, cusolverDnSgeqrf_bufferSize(cusolver_, rows, cols, W.as<float>(), rows,
                                                         &lwork_qr));
  STRAY_CUDA_CHECK_AT(where, cusolverDnSorgqr_bufferSize(cusolver_, rows, cols, cols, W.as<float>(),
                                                         rows, tau.as<float>(), &lwork_q));
  const int lwork = std::max({lwork_qr, lwork_q, 1});
  cuda::ScratchBuffer work = scratch<float>(lwork);
  STRAY_CUDA_CHECK_AT(where, cusolverDnSgeqrf(cusolver_, rows, cols, W.as<float>(), rows,
                                              tau.as<float>(), work.as<float>(), lwork,
                                              info.as<int>()));
  STRAY_CUDA_CHECK_AT(where, cusolverDnSorgqr(cusolver_, rows, cols, cols, W.as<float>(), rows,
                                              tau.as<float>(), work.as<float>(), lwork,
                                              info.as<int>() + 1));
  int host_info[2] = {0, 0};
  download_sync(host_info, info.as<int>(), sizeof host_info);
  require(host_info[0] == 0 && host_info[1] == 0, ErrorCode::device_error, where,
          "cusolverDnSgeqrf/Sorgqr reported info=", host_info[0], "/", host_info[1]);
  // Back to row-major: the stored column-major [l x n] is Wᵀ.
  STRAY_CUDA_CHECK_AT(where, cublasSgeam(cublas_, CUBLAS_OP_T, CUBLAS_OP_T, cols, rows, &one,
                                         W.as<float>(), rows, &zero, W.as<float>(), rows, a, cols));
}

// ---- symmetric eigensolver --------------------------------------------------

void CudaBackend::symmetric_eigen(int64_t d, const double* A, double* eigenvalues,
                                  double* eigenvectors) {
  const char* where = "symmetric_eigen";
  require(d >= 0, ErrorCode::invalid_argument, where, "d=", d);
  if (d == 0) return;
  // cusolverDnDsyevd takes int sizes, its workspace (~2d² doubles) included.
  require(d <= 32767, ErrorCode::invalid_argument, where, "d=", d,
          " exceeds the CUDA eigensolver's limit of 32767; use the cpu backend");
  for (int64_t i = 0; i < d * d; ++i) {
    require(std::isfinite(A[i]), ErrorCode::non_finite_input, where, "entry ", i,
            " is not finite");
  }
  // Symmetrise explicitly, as the CPU does: the solver reads one triangle.
  const std::size_t dd = static_cast<std::size_t>(d * d);
  std::vector<double> S(dd);
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = 0; j < d; ++j) S[i * d + j] = 0.5 * (A[i * d + j] + A[j * d + i]);
  }
  cuda::DeviceGuard guard(device_);
  const int dim = static_cast<int>(d);
  cuda::ScratchBuffer M = upload_scratch(S);
  cuda::ScratchBuffer W = scratch<double>(d);
  cuda::ScratchBuffer info = scratch<int>(1);
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(info.as<void>(), 0, sizeof(int), stream_));
  int lwork = 0;
  STRAY_CUDA_CHECK_AT(where, cusolverDnDsyevd_bufferSize(cusolver_, CUSOLVER_EIG_MODE_VECTOR,
                                                         CUBLAS_FILL_MODE_LOWER, dim,
                                                         M.as<double>(), dim, W.as<double>(),
                                                         &lwork));
  cuda::ScratchBuffer work = scratch<double>(std::max(lwork, 1));
  STRAY_CUDA_CHECK_AT(where, cusolverDnDsyevd(cusolver_, CUSOLVER_EIG_MODE_VECTOR,
                                              CUBLAS_FILL_MODE_LOWER, dim, M.as<double>(), dim,
                                              W.as<double>(), work.as<double>(), lwork,
                                              info.as<int>()));
  int host_info = 0;
  download_sync(&host_info, info.as<int>(), sizeof host_info);
  require(host_info == 0, ErrorCode::device_error, where,
          host_info > 0 ? "eigensolver did not converge (d=" : "invalid solver argument (d=", d,
          ", info=", host_info, ")");
  // Eigenvalues come ascending. Eigenvector j is column j of the
  // column-major result, i.e. M[j * d + i] is its component i; the
  // row-major output wants that at eigenvectors[i * d + j].
  download_sync(eigenvalues, W.as<double>(), static_cast<std::size_t>(d) * sizeof(double));
  download_sync(S.data(), M.as<double>(), dd * sizeof(double));
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = 0; j < d; ++j) eigenvectors[i * d + j] = S[j * d + i];
  }
}

}  // namespace stray::internal
