// JSON Lines events: {"entity": .., "group": .., "feature": .., "value": ..}.
#include <deque>
#include <istream>
#include <string>

#include "io/events/event_io.hpp"
#include "io/events/json_scan.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

constexpr const char* kWhere = "read_events_jsonl";

}  // namespace

ReadStats read_events_jsonl(std::istream& raw, const EventSink& sink,
                            const EventReadOptions& options) {
  // gzip or zstd input is decoded (told by its first bytes).
  fleet::DecodedInput decoded(raw, options.source_name, kWhere);
  std::istream& in = decoded.stream();
  ReadStats stats;
  const std::size_t max_bytes = fleet::max_line_bytes(options, kDefaultMaxLineBytes);
  fleet::LineReader lines(in, max_bytes);
  std::string_view line;
  std::deque<std::string> escaped;  // decoded strings with escapes, per line
  while (fleet::next_line(lines, &line, options, max_bytes, kWhere)) {
    const int64_t line_no = lines.line_number();
    const std::string_view text = fleet::clean_line(line, line_no);
    if (fleet::is_blank(text)) continue;
    ++stats.records;
    escaped.clear();
    fleet::JsonScanner scan(text, &escaped);
    if (scan.first() != '{') {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                          "expected a JSON object");
    }
    fleet::JsonValue entity, group, feature, value;
    const bool ok = scan.object([&](std::string_view key, const fleet::JsonValue& v) {
      if (key == "entity") {
        entity = v;
      } else if (key == "feature") {
        feature = v;
      } else if (key == "group") {
        group = v;
      } else if (key == "value") {
        value = v;
      }
      return true;
    });
    if (!ok) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no, "invalid JSON (",
                          scan.error(), ")");
    }
    Event e;
    if (entity.type != fleet::JsonType::string || entity.text.empty()) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                          "'entity' is missing, empty or not a string");
    }
    e.entity = entity.text;
    // Ports and ids may come as integers; their literal is the feature.
    if (feature.type == fleet::JsonType::string || feature.is_integer_literal()) {
      e.feature = feature.text;
    }
    if (e.feature.empty()) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                          "'feature' is missing, empty or neither a string nor an integer");
    }
    if (group.type == fleet::JsonType::string) {
      e.group = group.text;
    } else if (group.type != fleet::JsonType::null) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                          "'group' is not a string");
    }
    if (e.group.empty()) e.group = options.default_group;
    if (e.group.find(':') != std::string_view::npos) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no, "group ",
                          fleet::quoted(e.group), " contains ':'");
    }
    if (value.type == fleet::JsonType::number) {
      if (!value.to_double(&e.value)) {
        fleet::fail_at_line(ErrorCode::non_finite_input, kWhere, options, line_no, "'value' ",
                            value.text, " is not a finite double");
      }
    } else if (value.type != fleet::JsonType::null) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                          "'value' is not a number: ", fleet::quoted(value.text));
    }
    sink(e);
    ++stats.events;
  }
  if (in.bad()) {
    internal::fail(ErrorCode::io_error, kWhere, "read failed after line ", lines.line_number());
  }
  stats.lines = lines.line_number();
  return stats;
}

ReadStats read_events_jsonl(const std::filesystem::path& path, const EventSink& sink,
                            const EventReadOptions& options) {
  return fleet::read_from_path(path, sink, options, kWhere,
                                [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
                                  return read_events_jsonl(in, s, o);
                                });
}

}  // namespace stray
