// Constructors of the concrete backends, kept out of the public headers so
// no Eigen or CUDA type leaks to users.
#pragma once

#include <memory>
#include <string>

#include "stray/core/backend.hpp"

namespace stray::internal {

std::unique_ptr<Backend> make_cpu_backend(std::size_t workspace_bytes, const CpuOptions& options);

/// Built from cuda/ when the CUDA backend is compiled in, else from
/// src/core/cuda_absent.cpp.
bool cuda_compiled();
/// "" when a CUDA device can be used now, else the reason it cannot.
std::string cuda_probe();
std::unique_ptr<Backend> make_cuda_backend(std::size_t workspace_bytes,
                                           const CudaOptions& options);

}  // namespace stray::internal
