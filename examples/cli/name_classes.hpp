// Classes read off entity names, for `stray compare --truth-from-names`:
// a fleet's own naming (hostname prefixes, image@date) as the reference
// labeling, without writing a truth file first.
#pragma once

#include <string>
#include <string_view>

namespace stray::cli {

/// How a name becomes its class.
struct NameRule {
  enum class Kind {
    stem,    // the first DNS label, lower-cased, less trailing digits and - _
    before,  // the name up to the first of `stops` (all of it without one)
  };
  Kind kind = Kind::stem;
  std::string stops;  // Kind::before
  std::string text;   // as given, for messages
};

/// "stem" or "before:CHARS" (CHARS: one or more stop characters); throws
/// stray::Error (invalid_argument) otherwise.
NameRule parse_name_rule(const std::string& spec);

/// The class of `name` under `rule`. A name the rule would empty (a stem of
/// digits only, or a stop as its first character) is its own class.
std::string class_of_name(std::string_view name, const NameRule& rule);

}  // namespace stray::cli
