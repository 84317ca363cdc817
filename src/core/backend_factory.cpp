#include "stray/core/backend.hpp"

#include <memory>
#include <type_traits>

#include "core/backend_factories.hpp"
#include "core/check.hpp"

namespace stray {

DeviceCsr Backend::borrow_or_upload_csr(const CsrView& host) {
  if (!shares_host_memory()) return upload_csr(host);
  internal::check_csr_arrays(host, "borrow_or_upload_csr");
  DeviceCsr out;
  out.rows = host.rows;
  out.cols = host.cols;
  out.nnz = host.nnz();
  // Views, as borrow_or_upload makes them: nothing is copied.
  const auto view = [](const auto* data, int64_t count) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(data)>>;
    return DeviceArray<T>(std::make_unique<BorrowedHostBuffer>(
                              data, static_cast<std::size_t>(count) * sizeof(T)),
                          count, 1);
  };
  out.indptr = view(host.indptr, host.rows + 1);
  out.indices = view(host.indices, out.nnz);
  out.values = view(host.values, out.nnz);
  return out;
}

std::unique_ptr<Backend> make_backend(std::string_view name, const BackendOptions& options) {
  internal::require(options.workspace_bytes >= (std::size_t{1} << 16), ErrorCode::invalid_argument,
                    "make_backend", "workspace_bytes=", options.workspace_bytes,
                    " is below the 64 KiB minimum");
  internal::require(options.threads >= 0, ErrorCode::invalid_argument, "make_backend",
                    "threads=", options.threads, " is negative");
  if (name == "cpu") return internal::make_cpu_backend(options);
  if (name == "cuda") {
    const std::string reason = internal::cuda_probe();
    if (!reason.empty()) {
      throw Error(ErrorCode::backend_unavailable, "make_backend: cuda unavailable: " + reason);
    }
    return internal::make_cuda_backend(options);
  }
  if (name == "auto") {
    // Any failure to find a device means "no GPU here": fall back quietly.
    if (internal::cuda_probe().empty()) return internal::make_cuda_backend(options);
    return internal::make_cpu_backend(options);
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
