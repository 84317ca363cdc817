// stray — errors.
//
// The library never prints, aborts or exits: every failure reaches the caller
// as a stray::Error carrying a code and a message that names the function and
// the offending value, e.g. "kmeans_fit: n_samples=12 < n_clusters=16"
// (where() and detail() hold the two parts).
//
// Thread safety: an Error is an immutable value; error_code_name may be
// called from any thread.
#pragma once

#include <stdexcept>
#include <string>

namespace stray {

enum class ErrorCode {
  invalid_argument,     // a parameter outside its documented range
  shape_mismatch,       // extents that do not fit together
  non_finite_input,     // NaN or Inf in numeric input
  parse_error,          // malformed file or text input
  io_error,             // a file that cannot be opened, read or written
  out_of_memory,        // host or device allocation failed
  backend_unavailable,  // e.g. "cuda" asked for on a machine without a GPU
  device_error,         // a CUDA / cuBLAS / cuSOLVER / cuSPARSE call failed
  not_fitted,           // a model used before it was fitted or loaded
};

/// Short, stable name of a code ("invalid_argument", ...), for logs and JSON.
const char* error_code_name(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code), detail_(message) {}
  /// what() is "where: detail"; where() and detail() give the two apart.
  Error(ErrorCode code, const std::string& where, const std::string& detail)
      : std::runtime_error(where.empty() ? detail : where + ": " + detail),
        code_(code), where_(where), detail_(detail) {}
  ErrorCode code() const noexcept { return code_; }
  /// The library function that failed ("read_events_csv"), for logs and bug
  /// reports; empty when the message names no function.
  const std::string& where() const noexcept { return where_; }
  /// The message without the function's name — what a person who gave the
  /// input needs ("y.csv line 2: value 'abc' is not a number"); the
  /// command-line tool prints this.
  const std::string& detail() const noexcept { return detail_; }

 private:
  ErrorCode code_;
  std::string where_;
  std::string detail_;
};

}  // namespace stray
