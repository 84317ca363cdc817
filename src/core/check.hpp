// Input validation shared by every public entry point: one place that
// words the messages, so errors read the same everywhere.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "stray/core/error.hpp"
#include "stray/core/matrix.hpp"

namespace stray::internal {

template <typename... Parts>
[[noreturn]] void fail(ErrorCode code, const char* where, const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(code, where, os.str());
}

template <typename... Parts>
void require(bool ok, ErrorCode code, const char* where, const Parts&... parts) {
  if (!ok) fail(code, where, parts...);
}

/// Bytes from a file, made safe to put in a one-line message: control
/// characters (newlines, ESC and the rest of C0, DEL, and the C1 range) and
/// bytes that are not valid UTF-8 become \xNN escapes, a backslash becomes
/// "\\", and text past `max_bytes` of input is cut with "...". Valid
/// UTF-8 otherwise passes unchanged, so names read as written.
std::string printable(std::string_view bytes, std::size_t max_bytes = 200);
/// Whether `bytes` is valid UTF-8 (no overlong forms, surrogates or code
/// points past U+10FFFF).
bool is_utf8(std::string_view bytes);

/// The machine's physical memory in bytes (0 when it cannot be told).
uint64_t physical_memory_bytes();
/// Checked before allocating what `extents` (multiplied, overflow-checked)
/// elements of `element_bytes` need: more than the machine's physical memory
/// can only end in std::bad_alloc or the OOM killer, so it is an
/// ErrorCode::out_of_memory naming `what`, its extents and the bytes, e.g.
/// "pca_fit: the covariance of 1000000 x 1000000 float64 needs 8000000000000
/// bytes, more than this machine's memory (16 GiB)".
void require_memory(const char* where, const char* what,
                    std::initializer_list<int64_t> extents, std::size_t element_bytes,
                    const char* element_name);

/// What a product of the data that came out NaN or Inf means once the data
/// passed the door's finiteness checks: values too large for float32
/// arithmetic (a square passes float's range from |x| ≈ 1.8e19). For the
/// message of an ErrorCode::non_finite_input raised there.
inline constexpr const char* kProductsOverflow =
    "NaN or Inf in the data, or finite values too large for float32 products (|x| well "
    "below 1e19 is needed; scale the data, e.g. by a logarithm)";

/// At least one row and one column.
void check_nonempty_matrix(MatrixView<const float> X, const char* where, const char* what = "X");
/// Non-empty and all finite; names the first offending cell, its row
/// counted from `first_row` (the row of X's first in a larger whole, such
/// as a batch's in its source).
void check_finite_matrix(MatrixView<const float> X, const char* where, const char* what = "X",
                         int64_t first_row = 0);
/// Column statistics of X from a float64 pass: a sum of floats cannot
/// overflow a double, so they are finite exactly when the column is. If one
/// is not, fails naming the first bad cell of `host` (when the data are
/// there; its row counted from `first_row`), else the column.
void check_stats_finite(const std::vector<double>& mean, const std::vector<double>& var,
                        const MatrixView<const float>* host, const char* where,
                        int64_t first_row = 0);
/// Sample weights: right length, finite, non-negative, positive sum.
void check_sample_weight(const std::vector<float>& w, int64_t n, const char* where);
/// A CSR's arrays are there to be read (what a backend checks before it
/// copies or views them; validate_csr checks the contents): non-negative
/// extents, an indptr, and indices and values wherever there are entries.
void check_csr_arrays(const CsrView& host, const char* where);

}  // namespace stray::internal
