// CUDA backend: symmetric eigensolvers, on the 64-bit cuSOLVER API
// (cusolverDnXsyevd, cusolverDnXsyevdx): sizes and workspaces are int64 and
// size_t, so d is limited by memory alone (d² doubles for the matrix plus
// the solver's workspace), not by int extents.
//
// A symmetric matrix is its own transpose, so the row-major host array is
// the column-major matrix as it is; eigenvector j comes back as column j of
// the column-major result.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cuda_backend.hpp"
#include "cuda_check.hpp"
#include "core/check.hpp"

namespace stray::internal {
namespace {

// Below this dimension symmetric_eigen_largest declines (the full solver
// costs nothing there), as the CPU backend does.
constexpr int64_t kMinLargestDim = 8;

// (A + Aᵀ)/2 of host A [d x d] after checking it is finite: the solvers
// read one triangle, and the CPU backend symmetrises the same way.
std::vector<double> symmetrised(int64_t d, const double* A, const char* where) {
  for (int64_t i = 0; i < d * d; ++i) {
    require(std::isfinite(A[i]), ErrorCode::non_finite_input, where, "entry ", i,
            " is not finite");
  }
  std::vector<double> S(static_cast<std::size_t>(d * d));
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = 0; j < d; ++j) S[i * d + j] = 0.5 * (A[i * d + j] + A[j * d + i]);
  }
  return S;
}

void check_info(int info, const char* solver, int64_t d, const char* where) {
  require(info == 0, ErrorCode::device_error, where, solver,
          info > 0 ? ": eigensolver did not converge (d=" : ": invalid solver argument (d=", d,
          ", info=", info, ")");
}

}  // namespace

void CudaBackend::symmetric_eigen(int64_t d, const double* A, double* eigenvalues,
                                  double* eigenvectors) {
  const char* where = "symmetric_eigen";
  require(d >= 0, ErrorCode::invalid_argument, where, "d=", d);
  if (d == 0) return;
  const int64_t dd = checked_mul(d, d, where);
  std::vector<double> S = symmetrised(d, A, where);
  cuda::DeviceGuard guard(device_);
  cuda::ScratchBuffer M = upload_scratch(S);
  cuda::ScratchBuffer W = scratch<double>(d);
  std::size_t device_bytes = 0, host_bytes = 0;
  STRAY_CUDA_CHECK_AT(where, cusolverDnXsyevd_bufferSize(
                                 cusolver_, solver_params_, CUSOLVER_EIG_MODE_VECTOR,
                                 CUBLAS_FILL_MODE_LOWER, d, CUDA_R_64F, M.as<double>(), d,
                                 CUDA_R_64F, W.as<double>(), CUDA_R_64F, &device_bytes,
                                 &host_bytes));
  cuda::ScratchBuffer work = scratch_bytes(std::max<std::size_t>(device_bytes, 1));
  std::vector<char> host_work(host_bytes);
  cuda::ScratchBuffer info = scratch<int>(1);
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(info.as<void>(), 0, sizeof(int), stream_));
  STRAY_CUDA_CHECK_AT(where, cusolverDnXsyevd(cusolver_, solver_params_, CUSOLVER_EIG_MODE_VECTOR,
                                              CUBLAS_FILL_MODE_LOWER, d, CUDA_R_64F,
                                              M.as<double>(), d, CUDA_R_64F, W.as<double>(),
                                              CUDA_R_64F, work.as<void>(), device_bytes,
                                              host_work.data(), host_bytes, info.as<int>()));
  int host_info = 0;
  download_sync(&host_info, info.as<int>(), sizeof host_info);
  check_info(host_info, "cusolverDnXsyevd", d, where);
  // Eigenvalues come ascending. M[j * d + i] is component i of eigenvector
  // j; the row-major output wants it at eigenvectors[i * d + j].
  download_sync(eigenvalues, W.as<double>(), static_cast<std::size_t>(d) * sizeof(double));
  download_sync(S.data(), M.as<double>(), static_cast<std::size_t>(dd) * sizeof(double));
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = 0; j < d; ++j) eigenvectors[i * d + j] = S[j * d + i];
  }
}

bool CudaBackend::symmetric_eigen_largest(int64_t d, const double* A, int64_t k, double* values,
                                          double* vectors) {
  // cusolverDnXsyevdx with an index range: one tridiagonal reduction, then
  // only the eigenvalues il..iu (1-based, ascending) and their vectors —
  // here the k largest, d − k + 1 .. d.
  const char* where = "symmetric_eigen_largest";
  if (d < kMinLargestDim || k <= 0 || k >= d) return false;
  (void)checked_mul(d, d, where);
  std::vector<double> S = symmetrised(d, A, where);
  cuda::DeviceGuard guard(device_);
  cuda::ScratchBuffer M = upload_scratch(S);
  cuda::ScratchBuffer W = scratch<double>(d);
  double vl = 0.0, vu = 0.0;  // unused with an index range
  const int64_t il = d - k + 1, iu = d;
  int64_t found = 0;
  std::size_t device_bytes = 0, host_bytes = 0;
  STRAY_CUDA_CHECK_AT(where, cusolverDnXsyevdx_bufferSize(
                                 cusolver_, solver_params_, CUSOLVER_EIG_MODE_VECTOR,
                                 CUSOLVER_EIG_RANGE_I, CUBLAS_FILL_MODE_LOWER, d, CUDA_R_64F,
                                 M.as<double>(), d, &vl, &vu, il, iu, &found, CUDA_R_64F,
                                 W.as<double>(), CUDA_R_64F, &device_bytes, &host_bytes));
  cuda::ScratchBuffer work = scratch_bytes(std::max<std::size_t>(device_bytes, 1));
  std::vector<char> host_work(host_bytes);
  cuda::ScratchBuffer info = scratch<int>(1);
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(info.as<void>(), 0, sizeof(int), stream_));
  STRAY_CUDA_CHECK_AT(where, cusolverDnXsyevdx(cusolver_, solver_params_, CUSOLVER_EIG_MODE_VECTOR,
                                               CUSOLVER_EIG_RANGE_I, CUBLAS_FILL_MODE_LOWER, d,
                                               CUDA_R_64F, M.as<double>(), d, &vl, &vu, il, iu,
                                               &found, CUDA_R_64F, W.as<double>(), CUDA_R_64F,
                                               work.as<void>(), device_bytes, host_work.data(),
                                               host_bytes, info.as<int>()));
  int host_info = 0;
  download_sync(&host_info, info.as<int>(), sizeof host_info);
  check_info(host_info, "cusolverDnXsyevdx", d, where);
  // Anything but k pairs: decline, writing nothing; the caller then takes
  // symmetric_eigen_top.
  if (found != k) return false;
  // The k eigenvalues ascending in W[0..k), their vectors in the first k
  // columns of M: the largest is the last.
  std::vector<double> w(static_cast<std::size_t>(k));
  download_sync(w.data(), W.as<double>(), w.size() * sizeof(double));
  const std::size_t kd = static_cast<std::size_t>(k * d);
  std::vector<double> columns(kd);
  download_sync(columns.data(), M.as<double>(), kd * sizeof(double));
  for (int64_t c = 0; c < k; ++c) {
    values[c] = w[static_cast<std::size_t>(k - 1 - c)];
    std::copy_n(columns.data() + (k - 1 - c) * d, d, vectors + c * d);
  }
  return true;
}

}  // namespace stray::internal
