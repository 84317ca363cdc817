// EventInput: a file or standard input, decoded when compressed; and telling
// an input's format from its first line.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <system_error>

#include "core/check.hpp"
#include "io/events/decompress.hpp"
#include "stray/io/events.hpp"

namespace stray {

namespace {

// What sniffing reads at most of the decoded input (a first line longer
// than this is told by its beginning).
constexpr std::size_t kSniffBytes = std::size_t{16} << 10;

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\r')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
  return v;
}

// The first non-blank line of `head`, without a UTF-8 BOM.
std::string_view first_line(std::string_view head) {
  if (head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);
  while (!head.empty()) {
    const std::size_t nl = head.find('\n');
    const std::string_view line = trim(head.substr(0, nl));
    if (!line.empty() || nl == std::string_view::npos) return line;
    head.remove_prefix(nl + 1);
  }
  return {};
}

// `"key"` somewhere in the line (a guess: it may be a value).
bool has_key(std::string_view line, std::string_view key) {
  for (std::size_t at = line.find(key); at != std::string_view::npos; at = line.find(key, at + 1)) {
    if (at > 0 && line[at - 1] == '"' && at + key.size() < line.size() &&
        line[at + key.size()] == '"')
      return true;
  }
  return false;
}

// A CSV header naming (case aside, quoted or not) entity and feature.
bool is_csv_header(std::string_view line) {
  bool entity = false, feature = false;
  while (true) {
    const std::size_t comma = line.find(',');
    std::string_view field = trim(line.substr(0, comma));
    if (field.size() >= 2 && field.front() == '"' && field.back() == '"')
      field = field.substr(1, field.size() - 2);
    std::string name(field);
    for (char& c : name)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    entity = entity || name == "entity";
    feature = feature || name == "feature";
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  return entity && feature;
}

}  // namespace

std::optional<EventFormat> sniff_event_format(std::string_view head) {
  const std::string_view line = first_line(head);
  if (line.empty()) return std::nullopt;
  if (line.front() == '{') {
    if (has_key(line, "entity") && has_key(line, "feature")) return EventFormat::jsonl;
    // An SBOM is one document, usually indented: its telling keys may be
    // lines further on (syft's "artifacts" comes first, SPDX's and
    // CycloneDX's version keys near the top).
    if (has_key(head, "spdxVersion") || has_key(head, "bomFormat") || has_key(head, "artifacts"))
      return EventFormat::sbom;
    if (has_key(line, "columns") || has_key(line, "diffResults") || has_key(line, "snapshot"))
      return EventFormat::osquery;
    return std::nullopt;
  }
  if (is_csv_header(line)) return EventFormat::csv;
  return std::nullopt;
}

struct EventInput::Impl {
  std::string name;
  std::ifstream file;  // unused for standard input
  uint64_t size = 0;
  std::unique_ptr<fleet::DecompressingBuf> decoded;
  std::unique_ptr<std::istream> stream;
  fleet::Compression compression = fleet::Compression::none;
  bool from_stdin = false;
};

EventInput::EventInput(const std::filesystem::path& path, const char* where)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.from_stdin = path == "-";
  std::streambuf* raw = nullptr;
  if (m.from_stdin) {
    m.name = "standard input";
    raw = std::cin.rdbuf();
  } else {
    m.name = path.string();
    m.file.open(path, std::ios::binary);
    if (!m.file) internal::fail(ErrorCode::io_error, where, "cannot open ", m.name);
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(path, ec);
    if (!ec) m.size = bytes;
    raw = m.file.rdbuf();
  }
  // The first bytes say how to decode; they are handed back through the
  // decoder.
  std::string head(4, '\0');
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(raw->sgetn(head.data(), 4), 0)));
  m.compression = fleet::compression_of(head);
  m.decoded = std::make_unique<fleet::DecompressingBuf>(*raw, m.compression, std::move(head),
                                                        m.name, where);
  m.stream = std::make_unique<std::istream>(m.decoded.get());
  m.stream->exceptions(std::ios::badbit);
}

EventInput::~EventInput() = default;

std::istream& EventInput::stream() { return *impl_->stream; }
const std::string& EventInput::name() const { return impl_->name; }
const char* EventInput::compression() const { return fleet::to_string(impl_->compression); }
uint64_t EventInput::bytes_read() const { return impl_->decoded->raw_bytes(); }
uint64_t EventInput::size() const { return impl_->size; }

std::optional<EventFormat> EventInput::guess_format() {
  if (!impl_->from_stdin) {
    try {
      return event_format_from_path(impl_->name);
    } catch (const Error&) {
      // the name does not tell: the content may
    }
  }
  return sniff_event_format(impl_->decoded->peek(kSniffBytes));
}

}  // namespace stray
