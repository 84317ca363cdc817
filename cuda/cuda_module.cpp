// The CUDA module's C entry points: all that libstray_cuda.so exports (the
// rest of it is built with hidden visibility). The library resolves them by
// name with dlsym (src/core/cuda_loader.cpp); their contract is in
// src/core/backend_factories.hpp.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "core/backend_factories.hpp"
#include "stray/core/error.hpp"

#define STRAY_CUDA_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

// Copies `text` into out[capacity], cut to fit and NUL-terminated.
void copy_out(const std::string& text, char* out, std::size_t capacity) noexcept {
  if (out == nullptr || capacity == 0) return;
  const std::size_t n = std::min(text.size(), capacity - 1);
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

}  // namespace

STRAY_CUDA_EXPORT int stray_cuda_abi_version() { return stray::internal::kCudaModuleAbi; }

STRAY_CUDA_EXPORT const char* stray_cuda_build_id() { return STRAY_BUILD_ID; }

STRAY_CUDA_EXPORT std::size_t stray_cuda_probe(char* reason, std::size_t capacity) noexcept {
  std::string text;
  try {
    text = stray::internal::cuda_device_probe();
  } catch (const std::exception& e) {
    // The probe is meant not to throw; if it does, the device is not usable.
    text = std::string("the CUDA probe failed: ") + e.what();
  } catch (...) {
    text = "the CUDA probe failed";
  }
  copy_out(text, reason, capacity);
  return text.size();
}

STRAY_CUDA_EXPORT stray::Backend* stray_cuda_make_backend(std::size_t workspace_bytes,
                                                          const stray::CudaOptions* options,
                                                          int* error_code, char* message,
                                                          std::size_t capacity) noexcept {
  // Errors go back as a code and a message, which the library throws again
  // as the same stray::Error: nothing unwinds through the C entry point.
  const auto report = [&](stray::ErrorCode code, const std::string& text) {
    if (error_code != nullptr) *error_code = static_cast<int>(code);
    copy_out(text, message, capacity);
  };
  try {
    if (options == nullptr) {
      report(stray::ErrorCode::invalid_argument, "make_backend: no CUDA options given");
      return nullptr;
    }
    return stray::internal::new_cuda_backend(workspace_bytes, *options).release();
  } catch (const stray::Error& e) {
    report(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    report(stray::ErrorCode::out_of_memory, "make_backend: out of host memory");
  } catch (const std::exception& e) {
    report(stray::ErrorCode::device_error, std::string("make_backend: ") + e.what());
  } catch (...) {
    report(stray::ErrorCode::device_error, "make_backend: unknown failure in the CUDA module");
  }
  return nullptr;
}
