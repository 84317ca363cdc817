// Long-format CSV events: RFC 4180 records, header-named columns, parsed
// in blocks on several threads (event_blocks.hpp).
#include <functional>
#include <istream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "io/events/block_lines.hpp"
#include "io/events/byte_scan.hpp"
#include "io/events/csv_records.hpp"
#include "io/events/event_blocks.hpp"
#include "io/events/event_io.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

constexpr const char* kWhere = "read_events_csv";

std::string lower(std::string_view v) {
  std::string s(v);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// A parse's own working memory: blocks are parsed concurrently.
struct CsvScratch {
  std::string record;    // a record spanning lines, joined with '\n'
  std::string unquoted;  // its quoted fields, unescaped
  std::string error;
  std::vector<std::string_view> fields;
};

class CsvFormat final : public fleet::BlockFormat {
 public:
  CsvFormat(const EventReadOptions& options, std::size_t max_bytes)
      : options_(options), max_bytes_(max_bytes) {}

  void find_record_ends(std::string_view text, fleet::RecordScan& scan) const override {
    fleet::find_csv_record_ends(text, scan);
  }
  // Every record after the header is read by the header's columns.
  bool concurrent() const override { return have_header_; }
  void parse(const fleet::Block& block, fleet::ParsedBlock& out) override;

 private:
  bool read_record(const fleet::Block& block, fleet::BlockLines& lines, std::string_view text,
                   int64_t record_line, CsvScratch& s) const;
  std::string_view join_lines(const fleet::Block& block, fleet::BlockLines& lines,
                              std::string_view first, int64_t record_line, CsvScratch& s) const;
  void read_header(const CsvScratch& s, std::string_view text, int64_t line);
  Event to_event(const std::vector<std::string_view>& fields, int64_t line) const;

  const EventReadOptions& options_;
  const std::size_t max_bytes_;
  bool have_header_ = false;
  std::size_t n_columns_ = 0;
  int entity_col_ = -1, group_col_ = -1, feature_col_ = -1, value_col_ = -1;
};

// `v` where it outlives the parse: views of the block stay, text of the
// scratch buffers is copied into `out`.
std::string_view keep(std::string_view v, const fleet::Block& block, fleet::ParsedBlock& out) {
  const std::less_equal<const char*> le;
  const char* b = block.text.data();
  if (le(b, v.data()) && le(v.data() + v.size(), b + block.text.size())) return v;
  return out.owned.emplace_back(v);
}

void CsvFormat::parse(const fleet::Block& block, fleet::ParsedBlock& out) {
  fleet::BlockLines lines(block, max_bytes_);
  CsvScratch s;
  std::string_view line;
  while (lines.next(&line)) {
    const int64_t record_line = lines.line_number();
    std::string_view text = fleet::clean_line(line, block.first && record_line == 1);
    if (fleet::is_blank(text)) continue;
    const bool quoted = read_record(block, lines, text, record_line, s);
    if (quoted) text = s.record.empty() ? text : std::string_view(s.record);
    if (!have_header_) {
      read_header(s, text, record_line);
      continue;
    }
    ++out.records;
    if (quoted && s.fields.size() == n_columns_) {  // else to_event fails
      for (const int c : {entity_col_, group_col_, feature_col_}) {
        if (c < 0) continue;
        std::string_view& field = s.fields[static_cast<std::size_t>(c)];
        field = keep(field, block, out);
      }
    }
    out.events.push_back(to_event(s.fields, record_line));
  }
  out.lines = lines.line_number();
}

// Splits the record that starts with `text` into s.fields. True when it
// has quotes: its fields may then view s.unquoted, and s.record holds it
// when it spans lines (else s.record is empty).
bool CsvFormat::read_record(const fleet::Block& block, fleet::BlockLines& lines,
                            std::string_view text, int64_t record_line, CsvScratch& s) const {
  if (!block.has_quotes || text.find('"') == std::string_view::npos) {
    fleet::split_unquoted(text, s.fields);
    return false;
  }
  s.record.clear();
  if (fleet::scan_quotes(text, fleet::Quote::field_start) == fleet::Quote::quoted) {
    text = join_lines(block, lines, text, record_line, s);
  }
  const fleet::Split split = fleet::split_csv_record(text, s.unquoted, s.fields, &s.error);
  if (split == fleet::Split::open_quote) {  // scan_quotes saw the record closed
    fleet::fail_in_block(ErrorCode::parse_error, record_line, "quoted field not closed");
  }
  if (split == fleet::Split::error) {
    fleet::fail_in_block(ErrorCode::parse_error, record_line, s.error);
  }
  return true;
}

// The record whose first line `first` ends inside quotes, joined over the
// lines that follow until its quotes close, into s.record.
std::string_view CsvFormat::join_lines(const fleet::Block& block, fleet::BlockLines& lines,
                                       std::string_view first, int64_t record_line,
                                       CsvScratch& s) const {
  s.record.assign(first);
  fleet::Quote state = fleet::Quote::quoted;
  std::string_view line;
  while (state == fleet::Quote::quoted) {
    if (!lines.next(&line)) {
      // Blocks end outside quotes; only the input's end is inside them.
      if (!block.last) throw std::logic_error("read_events_csv: a block ends inside quotes");
      fleet::fail_in_block(ErrorCode::parse_error, record_line,
                           "quoted field not closed before the end of the input");
    }
    const std::string_view more = fleet::clean_line(line, false);
    if (s.record.size() + 1 + more.size() > max_bytes_) {
      std::ostringstream message;
      message << "record longer than " << max_bytes_
              << " bytes (EventReadOptions::max_line_bytes) by line ";
      throw fleet::BlockError{ErrorCode::parse_error, record_line, message.str(),
                              lines.line_number(), "; is a quote not closed?"};
    }
    s.record.push_back('\n');
    s.record.append(more);
    state = fleet::scan_quotes(more, fleet::Quote::quoted);  // the line break is inside the quotes
  }
  return s.record;
}

// The columns change only once the whole header is known good.
void CsvFormat::read_header(const CsvScratch& s, std::string_view text, int64_t line) {
  const std::vector<std::string_view>& fields = s.fields;
  int entity = -1, group = -1, feature = -1, value = -1;
  for (std::size_t c = 0; c < fields.size(); ++c) {
    const std::string name = lower(fields[c]);
    int* slot = name == "entity"    ? &entity
                : name == "group"   ? &group
                : name == "feature" ? &feature
                : name == "value"   ? &value
                                    : nullptr;
    if (slot == nullptr) continue;  // extra columns (timestamps, ...) are ignored
    if (*slot >= 0) {
      fleet::fail_in_block(ErrorCode::parse_error, line, "column '", name,
                           "' appears twice in the header");
    }
    *slot = static_cast<int>(c);
  }
  if (entity < 0 || feature < 0) {
    fleet::fail_in_block(ErrorCode::parse_error, line,
                         "the header must name the columns 'entity' and 'feature' "
                         "(and optionally 'group', 'value'); got ",
                         fleet::quoted(text));
  }
  n_columns_ = fields.size();
  entity_col_ = entity;
  group_col_ = group;
  feature_col_ = feature;
  value_col_ = value;
  have_header_ = true;
}

Event CsvFormat::to_event(const std::vector<std::string_view>& fields, int64_t line) const {
  if (fields.size() != n_columns_) {
    fleet::fail_in_block(ErrorCode::parse_error, line, "expected ", n_columns_,
                         " fields as in the header, got ", fields.size());
  }
  Event e;
  e.entity = fields[static_cast<std::size_t>(entity_col_)];
  e.feature = fields[static_cast<std::size_t>(feature_col_)];
  e.group = group_col_ >= 0 ? fields[static_cast<std::size_t>(group_col_)] : std::string_view();
  if (e.group.empty()) e.group = options_.default_group;
  if (e.entity.empty()) fleet::fail_in_block(ErrorCode::parse_error, line, "empty entity");
  if (e.feature.empty()) fleet::fail_in_block(ErrorCode::parse_error, line, "empty feature");
  if (fleet::contains_byte(e.group, ':')) {
    fleet::fail_in_block(ErrorCode::parse_error, line, "group ", fleet::quoted(e.group),
                         " contains ':'");
  }
  if (value_col_ >= 0) {
    const std::string_view v = fields[static_cast<std::size_t>(value_col_)];
    if (!v.empty()) {
      bool non_finite = false;
      if (!fleet::parse_number(v, &e.value, &non_finite)) {
        fleet::fail_in_block(non_finite ? ErrorCode::non_finite_input : ErrorCode::parse_error,
                             line, "value ", fleet::quoted(v),
                             non_finite ? " is not finite" : " is not a number");
      }
    }
  }
  return e;
}

}  // namespace

namespace fleet {

ReadStats read_events_csv_blocks(std::istream& raw, const EventSink& sink,
                                 const EventReadOptions& options, std::size_t block_bytes) {
  // gzip or zstd input is decoded (told by its first bytes) on this thread.
  DecodedInput decoded(raw, options.source_name, kWhere);
  const std::size_t max_bytes = max_line_bytes(options, kDefaultMaxLineBytes);
  CsvFormat format(options, max_bytes);
  return read_in_blocks(decoded.stream(), format, sink, options,
                        BlockReadSettings{kWhere, max_bytes, block_bytes});
}

}  // namespace fleet

ReadStats read_events_csv(std::istream& in, const EventSink& sink,
                          const EventReadOptions& options) {
  return fleet::read_events_csv_blocks(in, sink, options, fleet::kBlockBytes);
}

ReadStats read_events_csv(const std::filesystem::path& path, const EventSink& sink,
                          const EventReadOptions& options) {
  return fleet::read_from_path(path, sink, options, kWhere,
                                [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
                                  return read_events_csv(in, s, o);
                                });
}

}  // namespace stray
