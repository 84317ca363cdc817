#include "io/events/csv_records.hpp"

#include "core/check.hpp"
#include "io/events/byte_scan.hpp"

namespace stray::fleet {

namespace {

bool is_blank_char(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_blanks(std::string_view v) {
  while (!v.empty() && is_blank_char(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_blank_char(v.back())) v.remove_suffix(1);
  return v;
}

}  // namespace

void find_csv_record_ends(std::string_view text, RecordScan& scan) {
  // From quote to quote (memchr), so text without quotes costs one search;
  // between quotes outside a field, the last line break is the boundary.
  std::size_t pos = scan.scanned;
  bool quoted = scan.quoted;
  while (pos < text.size()) {
    const std::size_t quote = text.find('"', pos);
    const std::size_t stop = quote == std::string_view::npos ? text.size() : quote;
    if (!quoted) {
      const std::size_t nl = text.substr(pos, stop - pos).rfind('\n');
      if (nl != std::string_view::npos) scan.end = pos + nl + 1;
    }
    if (quote == std::string_view::npos) break;
    scan.has_quotes = true;
    quoted = !quoted;
    pos = quote + 1;
  }
  scan.scanned = text.size();
  scan.quoted = quoted;
}

Quote scan_quotes(std::string_view text, Quote state) {
  for (const char c : text) {
    switch (state) {
      case Quote::field_start:
        if (c == '"') state = Quote::quoted;
        else if (c != ' ' && c != '\t' && c != ',') state = Quote::unquoted;
        break;
      case Quote::unquoted:
        if (c == ',') state = Quote::field_start;
        else if (c == '"') return Quote::malformed;  // split_csv_record says why
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

Split split_csv_record(std::string_view text, std::string& scratch,
                       std::vector<std::string_view>& fields, std::string* error) {
  fields.clear();
  scratch.clear();
  scratch.reserve(text.size());
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (true) {
    // Blanks before an opening quote are tolerated.
    std::size_t j = i;
    while (j < n && is_blank_char(text[j])) ++j;
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
      while (k < n && is_blank_char(text[k])) ++k;
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

void split_unquoted(std::string_view text, std::vector<std::string_view>& fields) {
  fields.clear();
  std::size_t start = 0;
  for_each_comma(text, [&](std::size_t k) {
    fields.push_back(trim_blanks(text.substr(start, k - start)));
    start = k + 1;
  });
  fields.push_back(trim_blanks(text.substr(start)));
}

}  // namespace stray::fleet
