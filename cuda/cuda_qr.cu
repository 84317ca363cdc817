// CUDA backend: thin QR — orthonormal columns spanning those of a tall A
// [n x l] (randomized PCA's range finder, the Gram solver's last resort).
//
// CholeskyQR2 where it is safe: G = AᵀA (float64, the tiled DSYRK of
// gram), G = LLᵀ (cusolverDnXpotrf), A ← A·L⁻ᵀ (cublasStrsm), twice. Two
// passes over A that are all BLAS 3, where Householder QR is a sequence of
// panel factorisations bound by their reductions. Q comes out with R's
// diagonal positive, so the result does not depend on the path taken
// within a pass and repeats run to run.
//
// The rule (docs/cuda-backend.md, "Thin QR"). CholeskyQR2 is backward stable
// with orthogonality at rounding level when κ(A) ≲ u^(-1/2) (Yamamoto et
// al., 2015). Here the Gram is float64 but A, L⁻ᵀ and the triangular solve
// are float32, so u = 2⁻²⁴ and the limit is 2¹². The first pass estimates
// κ(A) = κ(R) by ‖R‖_F·‖R⁻¹‖_F, which bounds κ₂ from above (within a
// factor l), and rejects A past the limit or where the Cholesky fails
// (info > 0): A is then untouched and goes to Householder. Within the limit
// the first pass leaves ‖QᵀQ − I‖ ≲ l·u·κ + n·u₆₄·κ², below 1/4 for
// l ≤ 512 and n ≤ 10⁸, so the second pass's R must be within 1/4 of I
// (Frobenius); if it is not (it should not happen), Householder finishes
// from the first pass's Q, which spans the same space.
//
// Householder: cusolverDnXgeqrf (64-bit extents) on a column-major copy,
// then Q formed explicitly as Q = (I − V·T·Vᵀ)·E = E − V·(T·V₁ᵀ) with T from
// cusolverDnXlarft and one GEMM (cuSOLVER has no 64-bit orgqr), written
// straight into the row-major output.
#include <cuda_runtime.h>

#include <algorithm>
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

// CholeskyQR2 for tall, narrow A only: its Gram is l×l and its host checks
// are O(l³); Householder is fine where A is nearly square.
constexpr int64_t kCholeskyMaxCols = 512;
constexpr int64_t kCholeskyMinRowsPerCol = 4;
// u^(-1/2) for float32's u = 2⁻²⁴.
constexpr double kMaxCondition = 4096.0;
// The second pass's ‖R − I‖_F: κ(R) ≤ (1 + 1/4)/(1 − 1/4).
constexpr double kMaxSecondDeviation = 0.25;

// The top l×l block of column-major V [n x l] (ld n) made explicitly unit
// lower triangular: ones on the diagonal, zeros above (geqrf left R there).
__global__ void unit_lower_kernel(float* V, int64_t n, int64_t l) {
  const int64_t total = l * l;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += stride) {
    const int64_t j = t / l, i = t - j * l;  // row i of column j
    if (i <= j) V[j * n + i] = i == j ? 1.0f : 0.0f;
  }
}

// Row-major A [n x l] (n ≥ l) := the first l columns of the identity.
__global__ void set_diagonal_kernel(float* A, int64_t l) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < l; i += stride)
    A[i * l + i] = 1.0f;
}

// ‖L‖_F·‖L⁻¹‖_F for lower triangular, column-major L [l x l] with a positive
// diagonal (L⁻¹ column by column, forward substitution, float64).
double frobenius_condition(const std::vector<double>& L, int64_t l) {
  double norm = 0.0, inverse = 0.0;
  for (int64_t j = 0; j < l; ++j)
    for (int64_t i = j; i < l; ++i) norm += L[j * l + i] * L[j * l + i];
  std::vector<double> x(static_cast<std::size_t>(l));
  for (int64_t c = 0; c < l; ++c) {  // L x = e_c; x is zero above c
    for (int64_t i = c; i < l; ++i) {
      double s = i == c ? 1.0 : 0.0;
      for (int64_t p = c; p < i; ++p) s -= L[p * l + i] * x[p];
      x[i] = s / L[i * l + i];
      inverse += x[i] * x[i];
    }
  }
  return std::sqrt(norm) * std::sqrt(inverse);
}

// ‖L − I‖_F for column-major L [l x l] (lower triangle).
double deviation_from_identity(const std::vector<double>& L, int64_t l) {
  double s = 0.0;
  for (int64_t j = 0; j < l; ++j) {
    for (int64_t i = j; i < l; ++i) {
      const double e = L[j * l + i] - (i == j ? 1.0 : 0.0);
      s += e * e;
    }
  }
  return std::sqrt(s);
}

}  // namespace
}  // namespace cuda

void CudaBackend::orthonormalize_columns(DeviceArray<float>& A) {
  const char* where = "orthonormalize_columns";
  const int64_t n = A.rows(), l = A.cols();
  require(n >= l, ErrorCode::shape_mismatch, where, "A is ", n, " x ", l, ", needs rows >= cols");
  if (l == 0 || n == 0) return;
  cuda::DeviceGuard guard(device_);
  float* a = ptr(A, where);
  if (l <= cuda::kCholeskyMaxCols && n >= cuda::kCholeskyMinRowsPerCol * l &&
      cholesky_qr_pass(a, n, l, /*first=*/true, where)) {
    if (cholesky_qr_pass(a, n, l, /*first=*/false, where)) return;
  }
  householder_orthonormalize(a, n, l, where);
}

bool CudaBackend::cholesky_qr_pass(float* a, int64_t n, int64_t l, bool first,
                                   const char* where) {
  // Row-major A [n x l] is column-major Aᵀ [l x n]: G = AᵀA by gram_lower,
  // and A·R⁻¹ = A·L⁻ᵀ is, column-major, L⁻¹·Aᵀ — a left-side solve in place.
  const std::size_t ll = static_cast<std::size_t>(l * l);
  cuda::ScratchBuffer G = scratch<double>(l * l);
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(G.as<void>(), 0, ll * sizeof(double), stream_));
  gram_lower(a, n, l, nullptr, nullptr, G.as<double>(), where);

  std::size_t device_bytes = 0, host_bytes = 0;
  STRAY_CUDA_CHECK_AT(where, cusolverDnXpotrf_bufferSize(
                                 cusolver_, solver_params_, CUBLAS_FILL_MODE_LOWER, l, CUDA_R_64F,
                                 G.as<double>(), l, CUDA_R_64F, &device_bytes, &host_bytes));
  cuda::ScratchBuffer work = scratch_bytes(std::max<std::size_t>(device_bytes, 1));
  std::vector<char> host_work(host_bytes);
  cuda::ScratchBuffer info = scratch<int>(1);
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(info.as<void>(), 0, sizeof(int), stream_));
  STRAY_CUDA_CHECK_AT(where, cusolverDnXpotrf(cusolver_, solver_params_, CUBLAS_FILL_MODE_LOWER, l,
                                              CUDA_R_64F, G.as<double>(), l, CUDA_R_64F,
                                              work.as<void>(), device_bytes, host_work.data(),
                                              host_bytes, info.as<int>()));
  int host_info = 0;
  download_sync(&host_info, info.as<int>(), sizeof host_info);
  require(host_info >= 0, ErrorCode::device_error, where, "cusolverDnXpotrf reported info=",
          host_info);
  if (host_info > 0) return false;  // not positive definite in float64: rank deficient

  // The upper triangle of G was zeroed and potrf leaves it: L is all of G.
  std::vector<double> L(ll);
  download_sync(L.data(), G.as<double>(), ll * sizeof(double));
  if (first ? !(cuda::frobenius_condition(L, l) <= cuda::kMaxCondition)
            : !(cuda::deviation_from_identity(L, l) <= cuda::kMaxSecondDeviation)) {
    return false;
  }
  const std::vector<float> Lf(L.begin(), L.end());
  cuda::ScratchBuffer d_L = upload_scratch(Lf);
  const float one = 1.0f;
  STRAY_CUDA_CHECK_AT(where, cublasStrsm_64(cublas_, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_LOWER,
                                            CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT, l, n, &one,
                                            d_L.as<float>(), l, a, l));
  return true;
}

void CudaBackend::householder_orthonormalize(float* a, int64_t n, int64_t l, const char* where) {
  const float one = 1.0f, zero = 0.0f, minus_one = -1.0f;
  // W = A in column-major [n x l]: the transpose of the stored column-major
  // [l x n] (beta = 0, so the second operand is not read).
  cuda::ScratchBuffer W = scratch<float>(n * l);
  float* w = W.as<float>();
  STRAY_CUDA_CHECK_AT(where, cublasSgeam_64(cublas_, CUBLAS_OP_T, CUBLAS_OP_T, n, l, &one, a, l,
                                            &zero, a, l, w, n));
  cuda::ScratchBuffer tau = scratch<float>(l);
  cuda::ScratchBuffer T = scratch<float>(l * l);
  cuda::ScratchBuffer info = scratch<int>(1);
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(info.as<void>(), 0, sizeof(int), stream_));
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(T.as<void>(), 0,
                                             static_cast<std::size_t>(l * l) * sizeof(float),
                                             stream_));
  std::size_t qr_device = 0, qr_host = 0, t_device = 0, t_host = 0;
  STRAY_CUDA_CHECK_AT(where, cusolverDnXgeqrf_bufferSize(cusolver_, solver_params_, n, l,
                                                         CUDA_R_32F, w, n, CUDA_R_32F,
                                                         tau.as<float>(), CUDA_R_32F, &qr_device,
                                                         &qr_host));
  STRAY_CUDA_CHECK_AT(where, cusolverDnXlarft_bufferSize(
                                 cusolver_, solver_params_, CUBLAS_DIRECT_FORWARD,
                                 CUBLAS_STOREV_COLUMNWISE, n, l, CUDA_R_32F, w, n, CUDA_R_32F,
                                 tau.as<float>(), CUDA_R_32F, T.as<float>(), l, CUDA_R_32F,
                                 &t_device, &t_host));
  const std::size_t device_bytes = std::max<std::size_t>({qr_device, t_device, 1});
  cuda::ScratchBuffer work = scratch_bytes(device_bytes);
  std::vector<char> host_work(std::max(qr_host, t_host));
  STRAY_CUDA_CHECK_AT(where, cusolverDnXgeqrf(cusolver_, solver_params_, n, l, CUDA_R_32F, w, n,
                                              CUDA_R_32F, tau.as<float>(), CUDA_R_32F,
                                              work.as<void>(), qr_device, host_work.data(),
                                              qr_host, info.as<int>()));
  int host_info = 0;
  download_sync(&host_info, info.as<int>(), sizeof host_info);
  require(host_info == 0, ErrorCode::device_error, where, "cusolverDnXgeqrf reported info=",
          host_info);

  // The reflectors as an explicit unit lower trapezoidal V (R is not
  // needed), their block factor T, then M = T·V₁ᵀ [l x l].
  cuda::unit_lower_kernel<<<blocks_for(l * l, cuda::kBlockThreads), cuda::kBlockThreads, 0,
                            stream_>>>(w, n, l);
  cuda::check_launch(where, "unit_lower_kernel");
  STRAY_CUDA_CHECK_AT(where, cusolverDnXlarft(cusolver_, solver_params_, CUBLAS_DIRECT_FORWARD,
                                              CUBLAS_STOREV_COLUMNWISE, n, l, CUDA_R_32F, w, n,
                                              CUDA_R_32F, tau.as<float>(), CUDA_R_32F,
                                              T.as<float>(), l, CUDA_R_32F, work.as<void>(),
                                              t_device, host_work.data(), t_host));
  cuda::ScratchBuffer M = scratch<float>(l * l);
  STRAY_CUDA_CHECK_AT(where, cublasSgemm_64(cublas_, CUBLAS_OP_N, CUBLAS_OP_T, l, l, l, &one,
                                            T.as<float>(), l, w, n, &zero, M.as<float>(), l));
  // Row-major Q is column-major Qᵀ = Eᵀ − Mᵀ·Vᵀ [l x n]: A := Eᵀ, then one
  // GEMM adds −Mᵀ·Vᵀ.
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(a, 0, static_cast<std::size_t>(n * l) * sizeof(float),
                                             stream_));
  cuda::set_diagonal_kernel<<<blocks_for(l, cuda::kBlockThreads), cuda::kBlockThreads, 0,
                              stream_>>>(a, l);
  cuda::check_launch(where, "set_diagonal_kernel");
  STRAY_CUDA_CHECK_AT(where, cublasSgemm_64(cublas_, CUBLAS_OP_T, CUBLAS_OP_T, l, n, l, &minus_one,
                                            M.as<float>(), l, w, n, &one, a, l));
}

}  // namespace stray::internal
