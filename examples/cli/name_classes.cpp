// Classes read off entity names (name_classes.hpp).
#include "name_classes.hpp"

#include "stray/core/error.hpp"

namespace stray::cli {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// "web-03.prod.example" → "web", "DB12" → "db", "ip-10-0-1-5" → "ip":
// hostnames number the members of a role at the end of their first label.
std::string stem_of(std::string_view name) {
  const std::string_view label = name.substr(0, name.find('.'));
  std::size_t end = label.size();
  while (end > 0 && (is_digit(label[end - 1]) || label[end - 1] == '-' || label[end - 1] == '_')) {
    --end;
  }
  std::string out(label.substr(0, end));
  for (char& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace

NameRule parse_name_rule(const std::string& spec) {
  NameRule rule;
  rule.text = spec;
  if (spec == "stem") return rule;
  const std::string before = "before:";
  if (spec.compare(0, before.size(), before) == 0 && spec.size() > before.size()) {
    rule.kind = NameRule::Kind::before;
    rule.stops = spec.substr(before.size());
    return rule;
  }
  throw Error(ErrorCode::invalid_argument,
              "compare: --truth-from-names takes stem or before:CHARS (e.g. before:@), got '" +
                  spec + "'");
}

std::string class_of_name(std::string_view name, const NameRule& rule) {
  std::string out = rule.kind == NameRule::Kind::stem
                        ? stem_of(name)
                        : std::string(name.substr(0, name.find_first_of(rule.stops)));
  return out.empty() ? std::string(name) : out;
}

}  // namespace stray::cli
