// JSON Lines events: {"entity": .., "group": .., "feature": .., "value": ..},
// parsed in blocks on several threads (event_blocks.hpp).
#include <istream>
#include <string>

#include "io/events/block_lines.hpp"
#include "io/events/byte_scan.hpp"
#include "io/events/event_blocks.hpp"
#include "io/events/event_io.hpp"
#include "io/events/json_scan.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

constexpr const char* kWhere = "read_events_jsonl";

class JsonlFormat final : public fleet::BlockFormat {
 public:
  JsonlFormat(const EventReadOptions& options, std::size_t max_bytes)
      : options_(options), max_bytes_(max_bytes) {}

  // Every line break ends a record.
  void find_record_ends(std::string_view text, fleet::RecordScan& scan) const override {
    fleet::find_line_ends(text, scan);
  }
  bool concurrent() const override { return true; }
  void parse(const fleet::Block& block, fleet::ParsedBlock& out) override;

 private:
  Event to_event(std::string_view text, int64_t line_no, fleet::ParsedBlock& out) const;

  const EventReadOptions& options_;
  const std::size_t max_bytes_;
};

void JsonlFormat::parse(const fleet::Block& block, fleet::ParsedBlock& out) {
  fleet::BlockLines lines(block, max_bytes_);
  std::string_view line;
  while (lines.next(&line)) {
    const int64_t line_no = lines.line_number();
    const std::string_view text = fleet::clean_line(line, block.first && line_no == 1);
    if (fleet::is_blank(text)) continue;
    ++out.records;
    out.events.push_back(to_event(text, line_no, out));
  }
  out.lines = lines.line_number();
}

// Strings with escapes are decoded into out.owned, which outlives the parse.
Event JsonlFormat::to_event(std::string_view text, int64_t line_no,
                            fleet::ParsedBlock& out) const {
  fleet::JsonScanner scan(text, &out.owned);
  if (scan.first() != '{') {
    fleet::fail_in_block(ErrorCode::parse_error, line_no, "expected a JSON object");
  }
  fleet::JsonValue entity, group, feature, value;
  bool has_entity = false;
  const bool ok = scan.object([&](std::string_view key, const fleet::JsonValue& v) {
    if (key == "entity") {
      entity = v;
      has_entity = true;
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
    fleet::fail_in_block(ErrorCode::parse_error, line_no, "invalid JSON (", scan.error(), ")");
  }
  Event e;
  if (!has_entity) {
    // Most likely a collector's own log, named .jsonl: say how to read it.
    fleet::fail_in_block(ErrorCode::parse_error, line_no,
                         "no 'entity' member: not one of stray's JSON Lines events (a collector's "
                         "own JSON log reads through a mapping: format json-log, stray fleet "
                         "--json-map FILE)");
  }
  if (entity.type != fleet::JsonType::string || entity.text.empty()) {
    fleet::fail_in_block(ErrorCode::parse_error, line_no, "'entity' is empty or not a string");
  }
  e.entity = entity.text;
  // Ports and ids may come as integers; their literal is the feature.
  if (feature.type == fleet::JsonType::string || feature.is_integer_literal()) {
    e.feature = feature.text;
  }
  if (e.feature.empty()) {
    fleet::fail_in_block(ErrorCode::parse_error, line_no,
                         "'feature' is missing, empty or neither a string nor an integer");
  }
  if (group.type == fleet::JsonType::string) {
    e.group = group.text;
  } else if (group.type != fleet::JsonType::null) {
    fleet::fail_in_block(ErrorCode::parse_error, line_no, "'group' is not a string");
  }
  if (e.group.empty()) e.group = options_.default_group;
  if (fleet::contains_byte(e.group, ':')) {
    fleet::fail_in_block(ErrorCode::parse_error, line_no, "group ", fleet::quoted(e.group),
                         " contains ':'");
  }
  if (value.type == fleet::JsonType::number) {
    if (!value.to_double(&e.value)) {
      fleet::fail_in_block(ErrorCode::non_finite_input, line_no, "'value' ", value.text,
                           " is not a finite double");
    }
  } else if (value.type != fleet::JsonType::null) {
    fleet::fail_in_block(ErrorCode::parse_error, line_no, "'value' is not a number: ",
                         fleet::quoted(value.text));
  }
  return e;
}

}  // namespace

namespace fleet {

ReadStats read_events_jsonl_blocks(std::istream& raw, const EventSink& sink,
                                   const EventReadOptions& options, std::size_t block_bytes) {
  // gzip or zstd input is decoded (told by its first bytes) on this thread.
  DecodedInput decoded(raw, options.source_name, kWhere);
  const std::size_t max_bytes = max_line_bytes(options, kDefaultMaxLineBytes);
  JsonlFormat format(options, max_bytes);
  return read_in_blocks(decoded.stream(), format, sink, options,
                        BlockReadSettings{kWhere, max_bytes, block_bytes});
}

}  // namespace fleet

ReadStats read_events_jsonl(std::istream& in, const EventSink& sink,
                            const EventReadOptions& options) {
  return fleet::read_events_jsonl_blocks(in, sink, options, fleet::kBlockBytes);
}

ReadStats read_events_jsonl(const std::filesystem::path& path, const EventSink& sink,
                            const EventReadOptions& options) {
  return fleet::read_from_path(path, sink, options, kWhere,
                                [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
                                  return read_events_jsonl(in, s, o);
                                });
}

}  // namespace stray
