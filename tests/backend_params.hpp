// Parametrisation of suites over every compiled backend. A backend that is
// compiled but has no device here (CUDA without a GPU) is skipped with the
// reason printed — unless STRAY_REQUIRE_CUDA=1, where the skip becomes a
// failure (the GPU check runs that way, so nothing is silently skipped).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "stray/core/backend.hpp"

namespace stray::testing {

inline std::vector<std::string> backend_names() { return compiled_backends(); }

/// The options the backend suites run with: the tile unit on (where the
/// CPU has one), unless STRAY_TEST_TILE_UNIT=off. scripts/test runs the
/// backend suites both ways on CPUs with a tile unit.
inline BackendOptions suite_options() {
  BackendOptions options;
  const char* v = std::getenv("STRAY_TEST_TILE_UNIT");
  options.cpu.tile_unit = v == nullptr || std::string(v) != "off";
  return options;
}

inline bool cuda_required() {
  const char* v = std::getenv("STRAY_REQUIRE_CUDA");
  return v != nullptr && std::string(v) == "1";
}

/// Makes the named backend, or returns null after GTEST_SKIP-ing (the
/// caller must `return` on null; use STRAY_BACKEND_OR_SKIP).
inline std::unique_ptr<Backend> backend_or_skip_reason(const std::string& name, std::string* reason,
                                                       const BackendOptions& options = suite_options()) {
  if (name == "cuda") {
    *reason = cuda_unavailable_reason();
    if (!reason->empty()) return nullptr;
  }
  return make_backend(name, options);
}

inline std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace stray::testing

/// In a TEST_P over backend names: declares `backend` (unique_ptr<Backend>)
/// or skips (fails under STRAY_REQUIRE_CUDA=1) with the reason.
#define STRAY_BACKEND_OR_SKIP(backend, name, ...)                                   \
  std::string backend##_skip_reason;                                                \
  auto backend = ::stray::testing::backend_or_skip_reason(name, &backend##_skip_reason \
                                                          __VA_OPT__(, ) __VA_ARGS__); \
  if (!backend) {                                                                   \
    if (::stray::testing::cuda_required()) {                                        \
      FAIL() << "CUDA required but unavailable: " << backend##_skip_reason;         \
    }                                                                               \
    GTEST_SKIP() << "backend '" << (name) << "' unavailable: " << backend##_skip_reason; \
  }
