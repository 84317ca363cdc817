// Shared pieces of the event readers and writers: line-numbered errors,
// number parsing, file opening (decoded when compressed), bounded lines.
#pragma once

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/check.hpp"
#include "io/events/byte_scan.hpp"
#include "io/events/decompress.hpp"
#include "io/events/line_reader.hpp"
#include "stray/io/events.hpp"

namespace stray::fleet {

/// "where: source line N: message" (source omitted when unnamed).
template <typename... Parts>
[[noreturn]] void fail_at_line(ErrorCode code, const char* where, const EventReadOptions& options,
                               int64_t line, const Parts&... parts) {
  if (options.source_name.empty()) {
    internal::fail(code, where, "line ", line, ": ", parts...);
  }
  internal::fail(code, where, options.source_name, " line ", line, ": ", parts...);
}

/// Parses a finite double from the whole of `text` (surrounding blanks
/// allowed). Returns false when it is not a number; sets *non_finite for
/// nan/inf spellings.
inline bool parse_number(std::string_view text, double* out, bool* non_finite) {
  *non_finite = false;
  if (parse_digits(text, out)) return true;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  double v = 0.0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) return false;
  if (!std::isfinite(v)) {
    *non_finite = true;
    return false;
  }
  *out = v;
  return true;
}

/// Quotes bytes from the input for a message: shortened when long, control
/// characters and invalid UTF-8 escaped (internal::printable), so a message
/// stays one line and cannot drive the reader's terminal.
inline std::string quoted(std::string_view s) {
  std::string out = internal::printable(s, 60);
  out.insert(out.begin(), '\'');
  out.push_back('\'');
  return out;
}

/// The path overload of a stream reader: opens `path` ("-": standard
/// input; io_error naming `where` when it cannot), decoded when compressed,
/// and names the source after it unless the caller did.
template <typename StreamReader>
ReadStats read_from_path(const std::filesystem::path& path, const EventSink& sink,
                         const EventReadOptions& options, const char* where,
                         StreamReader&& read_stream) {
  EventInput input(path, where);
  EventReadOptions named = options;
  if (named.source_name.empty()) named.source_name = input.name();
  return read_stream(input.stream(), sink, named);
}

/// The line limit of `options` for a format whose default is `fallback`.
inline std::size_t max_line_bytes(const EventReadOptions& options, std::size_t fallback) {
  return options.max_line_bytes > 0 ? options.max_line_bytes : fallback;
}

/// The next line of `lines` into *line; false at the end of the input. A
/// line over the limit is a parse_error naming it.
inline bool next_line(LineReader& lines, std::string_view* line, const EventReadOptions& options,
                      std::size_t max_bytes, const char* where) {
  switch (lines.next(line)) {
    case LineReader::Status::line: return true;
    case LineReader::Status::end: return false;
    case LineReader::Status::too_long: break;
  }
  fail_at_line(ErrorCode::parse_error, where, options, lines.line_number(),
               "line longer than ", max_bytes,
               " bytes (EventReadOptions::max_line_bytes; is this a text file of the format?)");
}

/// Strips a trailing '\r' (CRLF files) and, on the input's first line, a
/// UTF-8 BOM.
inline std::string_view clean_line(std::string_view line, bool first_line) {
  std::string_view v(line);
  if (!v.empty() && v.back() == '\r') v.remove_suffix(1);
  if (first_line && v.size() >= 3 && v.substr(0, 3) == "\xEF\xBB\xBF") v.remove_prefix(3);
  return v;
}
inline std::string_view clean_line(std::string_view line, int64_t line_no) {
  return clean_line(line, line_no == 1);
}

inline bool is_blank(std::string_view v) {
  for (char c : v) {
    if (c != ' ' && c != '\t') return false;
  }
  return true;
}

}  // namespace stray::fleet
