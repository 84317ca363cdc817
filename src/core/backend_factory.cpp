// make_backend and the backend lists: which backend a name gives, and
// whether it can be used here.
#include "stray/core/backend.hpp"

#include <memory>

#include "core/backend_factories.hpp"
#include "core/check.hpp"

namespace stray {

std::unique_ptr<Backend> make_backend(std::string_view name, const BackendOptions& options) {
  internal::require(options.workspace_bytes >= (std::size_t{1} << 16), ErrorCode::invalid_argument,
                    "make_backend", "workspace_bytes=", options.workspace_bytes,
                    " is below the 64 KiB minimum");
  internal::require(options.cpu.threads >= 0, ErrorCode::invalid_argument, "make_backend",
                    "cpu.threads=", options.cpu.threads, " is negative");
  internal::require(options.cuda.device >= 0, ErrorCode::invalid_argument, "make_backend",
                    "cuda.device=", options.cuda.device, " is negative");
  // Each backend is handed the shared settings and its own, nothing else.
  const auto cpu = [&] { return internal::make_cpu_backend(options.workspace_bytes, options.cpu); };
  const auto cuda = [&] {
    return internal::make_cuda_backend(options.workspace_bytes, options.cuda);
  };
  if (name == "cpu") return cpu();
  if (name == "cuda") {
    const std::string reason = internal::cuda_probe();
    if (!reason.empty()) {
      throw Error(ErrorCode::backend_unavailable, "make_backend: cuda unavailable: " + reason);
    }
    return cuda();
  }
  if (name == "auto") {
    // Any failure to find a device means "no GPU here": fall back quietly.
    // That includes a device index the probe could not see (it checks the
    // current device): the backend refuses one that is absent or unusable
    // with backend_unavailable.
    if (internal::cuda_probe().empty()) {
      try {
        return cuda();
      } catch (const Error& e) {
        if (e.code() != ErrorCode::backend_unavailable) throw;
      }
    }
    return cpu();
  }
  internal::fail(ErrorCode::invalid_argument, "make_backend", "unknown backend '", name,
                 "' (expected auto, cpu or cuda)");
}

std::vector<std::string> available_backends() {
  std::vector<std::string> names{"cpu"};
  if (internal::cuda_probe().empty()) names.emplace_back("cuda");
  return names;
}

std::vector<std::string> compiled_backends() {
  std::vector<std::string> names{"cpu"};
  if (internal::cuda_compiled()) names.emplace_back("cuda");
  return names;
}

std::string cuda_unavailable_reason() { return internal::cuda_probe(); }

}  // namespace stray
