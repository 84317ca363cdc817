// SBOMs as fleet events: one document per input, read whole (bounded),
// parsed keeping only what becomes events, and walked by its format.
#include <algorithm>
#include <array>
#include <filesystem>
#include <istream>
#include <string>
#include <system_error>

#include "io/events/event_io.hpp"
#include "io/events/sbom_document.hpp"
#include "io/events/sbom_formats.hpp"
#include "io/events/sbom_parse.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

namespace fs = std::filesystem;
using fleet::Json;

constexpr const char* kWhere = "read_events_sbom";

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// The whole input, refused past `max_bytes` before more than that is held.
std::string read_bounded(std::istream& in, std::size_t max_bytes, const std::string& source) {
  std::string text;
  std::array<char, 1 << 16> buf;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got > max_bytes - std::min(max_bytes, text.size())) {
      internal::fail(ErrorCode::parse_error, kWhere, source, ": larger than ", max_bytes,
                     " bytes, the SBOM size limit (EventReadOptions::max_sbom_bytes; the tool's "
                     "--sbom-max-mib); is this one SBOM document?");
    }
    text.append(buf.data(), got);
  }
  if (in.bad()) internal::fail(ErrorCode::io_error, kWhere, source, ": read failed");
  return text;
}

// The entity of a document that names none: the file's name without its
// directory, compression, ".json" and SBOM-tool suffixes ("web-01" for
// sboms/web-01.spdx.json.gz); "" for standard input or an unnamed stream.
std::string entity_from_file_name(const std::string& source) {
  if (source.empty() || source == "standard input") return {};
  const std::string name = fs::path(source).filename().string();
  std::string stem = name;
  const auto strip = [&stem](std::initializer_list<std::string_view> suffixes) {
    const std::string l = lower(stem);
    for (const std::string_view s : suffixes) {
      if (l.size() > s.size() && l.compare(l.size() - s.size(), s.size(), s) == 0) {
        stem.resize(stem.size() - s.size());
        return;
      }
    }
  };
  strip({".gz", ".zst", ".zstd"});
  strip({".json"});
  strip({".spdx", ".cdx", ".cyclonedx", ".syft", ".sbom", ".bom"});
  return stem.empty() ? name : stem;
}

}  // namespace

namespace fleet {

std::optional<SbomKind> sbom_kind(const Json& document) {
  if (!document.is_object()) return std::nullopt;
  if (document.contains("spdxVersion")) return SbomKind::spdx;
  if (document.contains("bomFormat")) return SbomKind::cyclonedx;
  if (document.contains("artifacts")) return SbomKind::syft;
  return std::nullopt;
}

}  // namespace fleet

ReadStats read_events_sbom(std::istream& raw, const EventSink& sink,
                           const EventReadOptions& options) {
  const std::string source = options.source_name.empty() ? "input" : options.source_name;
  fleet::DecodedInput decoded(raw, options.source_name, kWhere);
  const std::size_t max_bytes =
      options.max_sbom_bytes > 0 ? options.max_sbom_bytes : kDefaultMaxSbomBytes;
  const std::string text = read_bounded(decoded.stream(), max_bytes, source);
  const Json document = fleet::parse_sbom_json(text, source);
  fleet::SbomDocument doc(sink, options, source, entity_from_file_name(options.source_name));
  if (!document.is_object()) doc.fail("$", "expected an object (one SBOM document)");
  const auto kind = fleet::sbom_kind(document);
  if (!kind) {
    doc.fail("$", "not an SPDX 2.x, CycloneDX or syft JSON document (no \"spdxVersion\", "
                  "\"bomFormat\" or \"artifacts\" key)");
  }
  switch (*kind) {
    case fleet::SbomKind::spdx: fleet::read_spdx(document, doc); break;
    case fleet::SbomKind::cyclonedx: fleet::read_cyclonedx(document, doc); break;
    case fleet::SbomKind::syft: fleet::read_syft(document, doc); break;
  }
  ReadStats stats = doc.stats();
  stats.lines = static_cast<int64_t>(std::count(text.begin(), text.end(), '\n')) +
                (text.empty() || text.back() == '\n' ? 0 : 1);
  return stats;
}

ReadStats read_events_sbom(const std::filesystem::path& path, const EventSink& sink,
                           const EventReadOptions& options) {
  return fleet::read_from_path(path, sink, options, kWhere,
                                [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
                                  return read_events_sbom(in, s, o);
                                });
}

std::vector<fs::path> list_sbom_files(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) internal::fail(ErrorCode::io_error, "list_sbom_files", "cannot list ", dir.string(), ": ", ec.message());
  std::vector<fs::path> out;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::string name = lower(it->path().filename().string());
    for (const char* z : {".gz", ".zst", ".zstd"}) {
      const std::string_view s(z);
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
        name.resize(name.size() - s.size());
        break;
      }
    }
    const bool json = name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
    if (json && it->is_regular_file(ec)) out.push_back(it->path());
  }
  if (ec) internal::fail(ErrorCode::io_error, "list_sbom_files", "cannot list ", dir.string(), ": ", ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace stray
