// Stand-ins for the CUDA backend's entry points in builds without CUDA.
#include "core/backend_factories.hpp"

namespace stray::internal {

bool cuda_compiled() { return false; }
std::string cuda_probe() { return "stray was built without the CUDA backend (STRAY_WITH_CUDA=OFF or no nvcc)"; }
std::unique_ptr<Backend> make_cuda_backend(std::size_t, const CudaOptions&) {
  throw Error(ErrorCode::backend_unavailable, "make_backend: " + cuda_probe());
}

}  // namespace stray::internal
