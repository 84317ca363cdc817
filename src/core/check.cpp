#include "core/check.hpp"

#include <unistd.h>

#include <limits>

namespace stray::internal {

namespace {

// True when every value of the row is finite. x * 0 is 0 for finite x and
// NaN for ±Inf or NaN, so one NaN-propagating sum tests the whole row
// without a branch per element, and the loop vectorises.
bool row_is_finite(const float* r, int64_t cols) {
  float probe = 0.0f;
#pragma omp simd reduction(+ : probe)
  for (int64_t j = 0; j < cols; ++j) probe += r[j] * 0.0f;
  return probe == 0.0f;
}

}  // namespace

namespace {

// Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 when it is
// not one: overlong forms, surrogates and code points past U+10FFFF are not.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

void append_hex_escape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 15]);
}

}  // namespace

bool is_utf8(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t len = utf8_length(bytes, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string printable(std::string_view bytes, std::size_t max_bytes) {
  const bool cut = bytes.size() > max_bytes;
  if (cut) bytes = bytes.substr(0, max_bytes);
  std::string out;
  out.reserve(bytes.size() + 8);
  for (std::size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    const std::size_t len = utf8_length(bytes, i);
    if (len == 0 || c < 0x20 || c == 0x7F) {
      append_hex_escape(out, c);
      ++i;
    } else if (c == '\\') {
      out += "\\\\";
      ++i;
    } else if (len == 2 && c == 0xC2 && static_cast<unsigned char>(bytes[i + 1]) < 0xA0) {
      // C1 controls (U+0080-U+009F): some terminals act on them as on ESC.
      append_hex_escape(out, c);
      append_hex_escape(out, static_cast<unsigned char>(bytes[i + 1]));
      i += 2;
    } else {
      out.append(bytes.substr(i, len));
      i += len;
    }
  }
  if (cut) out += "...";
  return out;
}

uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
}

void require_memory(const char* where, const char* what, std::initializer_list<int64_t> extents,
                    std::size_t element_bytes, const char* element_name) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t bytes = element_bytes;
  bool overflow = false;
  std::ostringstream shape;
  for (const int64_t e : extents) {
    require(e >= 0, ErrorCode::invalid_argument, where, what, " has a negative extent ", e);
    if (shape.tellp() > 0) shape << " x ";
    shape << e;
    const auto u = static_cast<uint64_t>(e);
    if (u != 0 && bytes > kMax / u) overflow = true;
    bytes = overflow ? kMax : bytes * u;
  }
  const uint64_t memory = physical_memory_bytes();
  if (!overflow && (memory == 0 || bytes <= memory)) return;
  fail(ErrorCode::out_of_memory, where, what, " of ", shape.str(), " ", element_name, " needs ",
       overflow ? "more than 2^64" : std::to_string(bytes), " bytes, more than this machine's memory (",
       memory >> 30, " GiB)");
}

void check_nonempty_matrix(MatrixView<const float> X, const char* where, const char* what) {
  require(X.rows() > 0 && X.cols() > 0, ErrorCode::invalid_argument, where, what,
          " is empty (", X.rows(), " x ", X.cols(), ")");
}

void check_finite_matrix(MatrixView<const float> X, const char* where, const char* what,
                         int64_t first_row) {
  check_nonempty_matrix(X, where, what);
  const int64_t rows = X.rows(), cols = X.cols();
  // Every public entry scans its input, so the scan runs on all cores; the
  // first bad row (lowest index) is reported whichever thread finds one.
  int64_t first_bad = rows;
#pragma omp parallel for schedule(static) reduction(min : first_bad) if (rows * cols > (1 << 18))
  for (int64_t i = 0; i < rows; ++i) {
    if (i < first_bad && !row_is_finite(X.row(i), cols)) first_bad = i;
  }
  if (first_bad == rows) return;
  const float* r = X.row(first_bad);
  for (int64_t j = 0; j < cols; ++j) {
    if (!std::isfinite(r[j])) {
      fail(ErrorCode::non_finite_input, where, what, "[", first_row + first_bad, ", ", j, "] = ",
           r[j], " is not finite");
    }
  }
}

void check_stats_finite(const std::vector<double>& mean, const std::vector<double>& var,
                        const MatrixView<const float>* host, const char* where,
                        int64_t first_row) {
  for (std::size_t j = 0; j < mean.size(); ++j) {
    if (!std::isfinite(mean[j]) || !std::isfinite(var[j])) {
      if (host) check_finite_matrix(*host, where, "X", first_row);
      fail(ErrorCode::non_finite_input, where, "X contains NaN or Inf in column ", j);
    }
  }
}

void check_sample_weight(const std::vector<float>& w, int64_t n, const char* where) {
  require(static_cast<int64_t>(w.size()) == n, ErrorCode::shape_mismatch, where,
          "sample_weight has ", w.size(), " entries for n_samples=", n);
  double total = 0.0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    require(std::isfinite(w[i]), ErrorCode::non_finite_input, where, "sample_weight[", i,
            "] = ", w[i], " is not finite");
    require(w[i] >= 0.0f, ErrorCode::invalid_argument, where, "sample_weight[", i, "] = ", w[i],
            " is negative");
    total += w[i];
  }
  require(total > 0.0, ErrorCode::invalid_argument, where, "sample_weight sums to 0");
}

void check_csr_arrays(const CsrView& host, const char* where) {
  require(host.rows >= 0 && host.cols >= 0, ErrorCode::invalid_argument, where,
          "negative extent ", host.rows, " x ", host.cols);
  require(host.indptr != nullptr, ErrorCode::invalid_argument, where, "indptr is null");
  require(host.nnz() == 0 || (host.indices != nullptr && host.values != nullptr),
          ErrorCode::invalid_argument, where, "indices/values are null with nnz=", host.nnz());
}

}  // namespace stray::internal
