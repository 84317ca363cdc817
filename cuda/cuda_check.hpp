// One macro turns every CUDA runtime, cuBLAS, cuSOLVER and cuSPARSE status
// into a stray::Error:
//
//   STRAY_CUDA_CHECK(cudaMemcpyAsync(...));
//   -> "nearest_centroid: cudaMemcpyAsync failed: cudaErrorIllegalAddress (an
//       illegal memory access was encountered)"
//
// Allocation failures become ErrorCode::out_of_memory, everything else
// ErrorCode::device_error. STRAY_CUDA_CHECK_LAUNCH("kernel") checks the launch
// of the kernel just queued (bad configuration, missing kernel image); faults
// inside a kernel surface at the next synchronising call, which reports them.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusolverDn.h>
#include <cusparse.h>

#include <string>

#include "stray/core/error.hpp"

namespace stray::internal::cuda {

inline bool status_ok(cudaError_t s) { return s == cudaSuccess; }
inline bool status_ok(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS; }
inline bool status_ok(cusolverStatus_t s) { return s == CUSOLVER_STATUS_SUCCESS; }
inline bool status_ok(cusparseStatus_t s) { return s == CUSPARSE_STATUS_SUCCESS; }

inline bool status_is_oom(cudaError_t s) { return s == cudaErrorMemoryAllocation; }
inline bool status_is_oom(cublasStatus_t s) { return s == CUBLAS_STATUS_ALLOC_FAILED; }
inline bool status_is_oom(cusolverStatus_t s) { return s == CUSOLVER_STATUS_ALLOC_FAILED; }
inline bool status_is_oom(cusparseStatus_t s) {
  return s == CUSPARSE_STATUS_ALLOC_FAILED || s == CUSPARSE_STATUS_INSUFFICIENT_RESOURCES;
}

inline std::string status_text(cudaError_t s) {
  return std::string(cudaGetErrorName(s)) + " (" + cudaGetErrorString(s) + ")";
}
inline std::string status_text(cublasStatus_t s) {
  return std::string(cublasGetStatusName(s)) + " (" + cublasGetStatusString(s) + ")";
}
inline std::string status_text(cusparseStatus_t s) {
  return std::string(cusparseGetErrorName(s)) + " (" + cusparseGetErrorString(s) + ")";
}
inline std::string status_text(cusolverStatus_t s) {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS: return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_MAPPING_ERROR: return "CUSOLVER_STATUS_MAPPING_ERROR";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED:
      return "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    case CUSOLVER_STATUS_INVALID_WORKSPACE: return "CUSOLVER_STATUS_INVALID_WORKSPACE";
    default: return "cusolverStatus_t " + std::to_string(static_cast<int>(s));
  }
}

/// Throws the stray::Error for a failed status. `call` is the stringified
/// call; only the function name (up to the first '(') is kept.
template <typename Status>
[[noreturn]] void throw_status(Status s, const char* where, const char* call) {
  std::string name(call);
  const std::size_t paren = name.find('(');
  if (paren != std::string::npos) name.resize(paren);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  throw Error(status_is_oom(s) ? ErrorCode::out_of_memory : ErrorCode::device_error,
              std::string(where) + ": " + name + " failed: " + status_text(s));
}

/// After a <<<...>>> launch: throws "<where>: <kernel> launch failed: ..."
/// if the launch was rejected (bad configuration, no kernel image).
inline void check_launch(const char* where, const char* kernel) {
  const cudaError_t s = cudaGetLastError();
  if (s != cudaSuccess) throw_status(s, where, (std::string(kernel) + " launch").c_str());
}

}  // namespace stray::internal::cuda

/// Evaluates a CUDA / cuBLAS / cuSOLVER / cuSPARSE call once and throws a
/// stray::Error naming `where` and the call if it failed.
#define STRAY_CUDA_CHECK_AT(where, call)                                  \
  do {                                                                    \
    const auto stray_status_ = (call);                                    \
    if (!::stray::internal::cuda::status_ok(stray_status_)) {             \
      ::stray::internal::cuda::throw_status(stray_status_, (where), #call); \
    }                                                                     \
  } while (0)

/// STRAY_CUDA_CHECK_AT naming the enclosing function.
#define STRAY_CUDA_CHECK(call) STRAY_CUDA_CHECK_AT(__func__, call)

/// check_launch naming the enclosing function.
#define STRAY_CUDA_CHECK_LAUNCH(kernel_name) \
  ::stray::internal::cuda::check_launch(__func__, kernel_name)
