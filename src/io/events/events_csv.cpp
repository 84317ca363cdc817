// Long-format CSV events: RFC 4180 records, header-named columns.
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "io/events/event_io.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

constexpr const char* kWhere = "read_events_csv";

enum class Split { ok, open_quote, error };

std::string_view trim_blanks(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Splits one record into fields. Unquoted fields are views of `text`
// (blanks trimmed); quoted fields are unescaped into `scratch`, which is
// reserved up front so the views stay valid. `open_quote` means the record
// continues on the next line.
Split split_record(std::string_view text, std::string& scratch,
                   std::vector<std::string_view>& fields, std::string* error) {
  fields.clear();
  scratch.clear();
  scratch.reserve(text.size());
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (true) {
    // Blanks before an opening quote are tolerated.
    std::size_t j = i;
    while (j < n && (text[j] == ' ' || text[j] == '\t')) ++j;
    if (j < n && text[j] == '"') {
      const std::size_t start = scratch.size();
      std::size_t k = j + 1;
      bool closed = false;
      while (k < n) {
        const char c = text[k];
        if (c == '"') {
          if (k + 1 < n && text[k + 1] == '"') {
            scratch.push_back('"');
            k += 2;
            continue;
          }
          closed = true;
          ++k;
          break;
        }
        scratch.push_back(c);
        ++k;
      }
      if (!closed) return Split::open_quote;
      while (k < n && (text[k] == ' ' || text[k] == '\t')) ++k;
      fields.emplace_back(scratch.data() + start, scratch.size() - start);
      if (k == n) return Split::ok;
      if (text[k] != ',') {
        *error = "unexpected character '" + internal::printable(text.substr(k, 1)) +
                 "' after a closing quote in field " + std::to_string(fields.size());
        return Split::error;
      }
      i = k + 1;
      continue;
    }
    std::size_t k = i;
    while (k < n && text[k] != ',') {
      if (text[k] == '"') {
        *error = "quote inside unquoted field " + std::to_string(fields.size() + 1) +
                 " (quote the whole field and double inner quotes)";
        return Split::error;
      }
      ++k;
    }
    fields.push_back(trim_blanks(text.substr(i, k - i)));
    if (k == n) return Split::ok;
    i = k + 1;
  }
}

// Where a record stands after some of its text: what split_record would
// see, tracked character by character so that a record spanning lines is
// scanned once (each new line from the state the last one ended in) and
// split once, however many lines it has.
enum class Quote { field_start, unquoted, quoted, quote_in_quoted, after_close, malformed };

Quote scan_quotes(std::string_view text, Quote state) {
  for (const char c : text) {
    switch (state) {
      case Quote::field_start:
        if (c == '"') state = Quote::quoted;
        else if (c != ' ' && c != '\t' && c != ',') state = Quote::unquoted;
        break;
      case Quote::unquoted:
        if (c == ',') state = Quote::field_start;
        else if (c == '"') return Quote::malformed;  // split_record says why
        break;
      case Quote::quoted:
        if (c == '"') state = Quote::quote_in_quoted;
        break;
      case Quote::quote_in_quoted:  // a doubled quote, or the closing one
        if (c == '"') state = Quote::quoted;
        else if (c == ',') state = Quote::field_start;
        else if (c == ' ' || c == '\t') state = Quote::after_close;
        else return Quote::malformed;
        break;
      case Quote::after_close:
        if (c == ',') state = Quote::field_start;
        else if (c != ' ' && c != '\t') return Quote::malformed;
        break;
      case Quote::malformed:
        return state;
    }
  }
  return state;
}

std::string lower(std::string_view v) {
  std::string s(v);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

ReadStats read_events_csv(std::istream& raw, const EventSink& sink,
                          const EventReadOptions& options) {
  // gzip or zstd input is decoded (told by its first bytes).
  fleet::DecodedInput decoded(raw, options.source_name, kWhere);
  std::istream& in = decoded.stream();
  ReadStats stats;
  const std::size_t max_bytes = fleet::max_line_bytes(options, kDefaultMaxLineBytes);
  fleet::LineReader lines(in, max_bytes);
  std::string_view line;
  std::string record;  // a record spanning lines (quoted line breaks)
  std::string scratch;
  std::string error;
  std::vector<std::string_view> fields;

  bool have_header = false;
  std::size_t n_columns = 0;
  int entity_col = -1, group_col = -1, feature_col = -1, value_col = -1;

  while (fleet::next_line(lines, &line, options, max_bytes, kWhere)) {
    const int64_t record_line = lines.line_number();
    // `text` views the reader's buffer, or `record` for a record of several
    // lines: either stays valid until the next line is read.
    std::string_view text = fleet::clean_line(line, record_line);
    if (fleet::is_blank(text)) continue;

    if (scan_quotes(text, Quote::field_start) == Quote::quoted) {
      record.assign(text);
      Quote state = Quote::quoted;
      while (state == Quote::quoted) {
        if (!fleet::next_line(lines, &line, options, max_bytes, kWhere)) {
          fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, record_line,
                              "quoted field not closed before the end of the input");
        }
        const std::string_view more = fleet::clean_line(line, lines.line_number());
        if (record.size() + 1 + more.size() > max_bytes) {
          fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, record_line,
                              "record longer than ", max_bytes,
                              " bytes (EventReadOptions::max_line_bytes) by line ",
                              lines.line_number(), "; is a quote not closed?");
        }
        record.push_back('\n');
        record.append(more);
        state = scan_quotes(more, Quote::quoted);  // the line break is inside the quotes
      }
      text = record;
    }
    const Split split = split_record(text, scratch, fields, &error);
    if (split == Split::open_quote) {  // scan_quotes saw the record closed
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, record_line,
                          "quoted field not closed");
    }
    if (split == Split::error) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, record_line, error);
    }

    if (!have_header) {
      have_header = true;
      n_columns = fields.size();
      for (std::size_t c = 0; c < fields.size(); ++c) {
        const std::string name = lower(fields[c]);
        int* slot = name == "entity"    ? &entity_col
                    : name == "group"   ? &group_col
                    : name == "feature" ? &feature_col
                    : name == "value"   ? &value_col
                                        : nullptr;
        if (slot == nullptr) continue;  // extra columns (timestamps, ...) are ignored
        if (*slot >= 0) {
          fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, record_line,
                              "column '", name, "' appears twice in the header");
        }
        *slot = static_cast<int>(c);
      }
      if (entity_col < 0 || feature_col < 0) {
        fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, record_line,
                            "the header must name the columns 'entity' and 'feature' "
                            "(and optionally 'group', 'value'); got ",
                            fleet::quoted(text));
      }
      continue;
    }

    ++stats.records;
    if (fields.size() != n_columns) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, record_line, "expected ",
                          n_columns, " fields as in the header, got ", fields.size());
    }
    Event e;
    e.entity = fields[static_cast<std::size_t>(entity_col)];
    e.feature = fields[static_cast<std::size_t>(feature_col)];
    e.group = group_col >= 0 ? fields[static_cast<std::size_t>(group_col)] : std::string_view();
    if (e.group.empty()) e.group = options.default_group;
    if (e.entity.empty()) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, record_line, "empty entity");
    }
    if (e.feature.empty()) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, record_line, "empty feature");
    }
    if (e.group.find(':') != std::string_view::npos) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, record_line, "group ",
                          fleet::quoted(e.group), " contains ':'");
    }
    if (value_col >= 0) {
      const std::string_view v = fields[static_cast<std::size_t>(value_col)];
      if (!v.empty()) {
        bool non_finite = false;
        if (!fleet::parse_number(v, &e.value, &non_finite)) {
          fleet::fail_at_line(non_finite ? ErrorCode::non_finite_input : ErrorCode::parse_error,
                              kWhere, options, record_line, "value ", fleet::quoted(v),
                              non_finite ? " is not finite" : " is not a number");
        }
      }
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

ReadStats read_events_csv(const std::filesystem::path& path, const EventSink& sink,
                          const EventReadOptions& options) {
  return fleet::read_from_path(path, sink, options, kWhere,
                                [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
                                  return read_events_csv(in, s, o);
                                });
}

}  // namespace stray
