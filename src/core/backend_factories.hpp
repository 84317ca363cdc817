// Constructors of the concrete backends, kept out of the public headers so
// no Eigen or CUDA type leaks to users.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "stray/core/backend.hpp"

namespace stray::internal {

std::unique_ptr<Backend> make_cpu_backend(std::size_t workspace_bytes, const CpuOptions& options);

// ---- the CUDA backend, as the library sees it (src/core/cuda_loader.cpp) ----
//
// The CUDA backend is a separate module, libstray_cuda.so, loaded with dlopen
// the first time one of these needs it: programs that never ask for CUDA
// then never map the CUDA runtime, cuBLAS, cuSOLVER and cuSPARSE, and
// nothing that links stray links them (docs/cuda-backend.md, "Loading").

/// Whether this build of stray built the CUDA module (not whether it loads
/// here: that is cuda_probe's question).
bool cuda_compiled();
/// "" when the module loads and a CUDA device can be used now, else the
/// reason it cannot (no module, a module from another build, no driver, no
/// device, ...). Never throws.
std::string cuda_probe();
/// A CUDA backend from the module; throws backend_unavailable when the
/// module cannot be loaded, else whatever constructing the backend throws.
std::unique_ptr<Backend> make_cuda_backend(std::size_t workspace_bytes,
                                           const CudaOptions& options);

// ---- the module's side (cuda/) --------------------------------------------------

/// The module's file name. The loader looks for it beside the loaded stray
/// library, then under this name on the dynamic linker's search path; the
/// environment variable STRAY_CUDA_MODULE (a full path) replaces both.
inline constexpr const char* kCudaModuleFile = "libstray_cuda.so";
/// Version of the C entry points below: change it whenever their names,
/// signatures or meaning change. The loader checks it before it resolves
/// anything else.
inline constexpr int kCudaModuleAbi = 1;

// The entry points, resolved by name with dlsym. They are C functions so
// that they can be found by name; what they pass (Backend, CudaOptions) are
// C++ objects, which is sound only between a library and a module from the
// same build — hence stray_cuda_build_id, which the loader compares with its
// own before it calls anything else.
extern "C" {
/// kCudaModuleAbi as the module was compiled ("stray_cuda_abi_version").
using StrayCudaAbiVersionFn = int (*)();
/// "<stray version>+<hash of the headers whose types cross the boundary>"
/// ("stray_cuda_build_id"): must equal the library's STRAY_BUILD_ID.
using StrayCudaBuildIdFn = const char* (*)();
/// The probe ("stray_cuda_probe"): writes the reason a device cannot be used
/// ("" when it can), NUL-terminated and cut to `capacity`, and returns its
/// full length (0 when usable). Never throws.
using StrayCudaProbeFn = std::size_t (*)(char* reason, std::size_t capacity);
/// A new backend ("stray_cuda_make_backend"), owned by the caller and
/// deleted through Backend's virtual destructor; or null, with the
/// stray::ErrorCode in *error_code and the message (cut to `capacity`) in
/// `message`. Never throws.
using StrayCudaMakeBackendFn = Backend* (*)(std::size_t workspace_bytes, const CudaOptions* options,
                                            int* error_code, char* message, std::size_t capacity);
}

/// Behind the module's entry points (cuda/cuda_backend.cu); the library
/// never defines or calls these.
std::string cuda_device_probe();
std::unique_ptr<Backend> new_cuda_backend(std::size_t workspace_bytes, const CudaOptions& options);

}  // namespace stray::internal
