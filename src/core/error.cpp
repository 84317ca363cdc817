#include "stray/core/error.hpp"

namespace stray {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::shape_mismatch: return "shape_mismatch";
    case ErrorCode::non_finite_input: return "non_finite_input";
    case ErrorCode::parse_error: return "parse_error";
    case ErrorCode::io_error: return "io_error";
    case ErrorCode::out_of_memory: return "out_of_memory";
    case ErrorCode::backend_unavailable: return "backend_unavailable";
    case ErrorCode::device_error: return "device_error";
    case ErrorCode::not_fitted: return "not_fitted";
  }
  return "unknown";
}

}  // namespace stray
