// CSV records (RFC 4180): where they end, how a line continues one, and
// their fields.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "io/events/event_blocks.hpp"

namespace stray::fleet {

/// Record boundaries for the block reader: line breaks outside quotes. A
/// quote toggles between outside and inside a quoted field (a doubled quote
/// inside one toggles twice), so a line break after an even number of
/// quotes since a record start ends a record — in well-formed input. In
/// malformed input (a quote inside an unquoted field) the record the quote
/// is in is an error, which comes before any wrong boundary after it.
void find_csv_record_ends(std::string_view text, RecordScan& scan);

/// Where a record stands after some of its text: what split_csv_record
/// would see, tracked character by character so that a record spanning
/// lines is scanned once (each new line from the state the last one ended
/// in) and split once, however many lines it has.
enum class Quote { field_start, unquoted, quoted, quote_in_quoted, after_close, malformed };

/// The state after `text`, from `state`.
Quote scan_quotes(std::string_view text, Quote state);

enum class Split { ok, open_quote, error };

/// Splits one record into fields. Unquoted fields are views of `text`
/// (blanks trimmed); quoted fields are unescaped into `scratch`, which is
/// reserved up front so the views stay valid. `open_quote` means the record
/// continues on the next line; `error` says why in *error.
Split split_csv_record(std::string_view text, std::string& scratch,
                       std::vector<std::string_view>& fields, std::string* error);

/// split_csv_record for a record without quotes: fields at the commas,
/// blanks trimmed, all views of `text`.
void split_unquoted(std::string_view text, std::vector<std::string_view>& fields);

}  // namespace stray::fleet
