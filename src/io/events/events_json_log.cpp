// A collector's JSON log read through a JsonLogMapping (format "json-log"):
// one JSON object a line, parsed in blocks on several threads like JSON
// Lines (event_blocks.hpp); each line gives the events of the rules that
// hold for it.
#include <algorithm>
#include <istream>
#include <string>

#include "io/events/block_lines.hpp"
#include "io/events/byte_scan.hpp"
#include "io/events/event_blocks.hpp"
#include "io/events/event_io.hpp"
#include "io/events/ip_network.hpp"
#include "io/events/json_log_fields.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

constexpr const char* kWhere = "read_events_json_log";

using fleet::FoundMember;
using fleet::JsonType;
using fleet::JsonValue;

// A member's text as a condition or a feature reads it: a string's decoded
// text, a number or true / false as written; nothing for null or a container.
std::optional<std::string_view> scalar_text(const FoundMember& m) {
  if (!m.present) return std::nullopt;
  const JsonType t = m.value.type;
  if (t == JsonType::string || t == JsonType::number || t == JsonType::boolean) {
    return m.value.text;
  }
  return std::nullopt;
}

// After the last '/' or '\\' (both: the log may come from Windows or Linux).
std::string_view basename_of(std::string_view path) {
  const std::size_t slash = path.find_last_of("/\\");
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// os.path.splitext's extension of the basename: from its last '.', unless
// the dots lead the name (".bashrc" has none).
std::string_view extension_of(std::string_view path) {
  const std::string_view name = basename_of(path);
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || name.find_first_not_of('.') > dot) return {};
  return name.substr(dot);
}

bool has_upper(std::string_view s) {
  for (const char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

// A rule with its pointers as slots of the reader's JsonFields.
struct SlottedRule {
  const JsonLogRule* rule = nullptr;
  std::vector<std::pair<int, const std::vector<std::string>*>> when;  // slot, values
  std::vector<int> fields;
  int value = -1;  // -1: every event is 1
};

class JsonLogFormat final : public fleet::BlockFormat {
 public:
  JsonLogFormat(const EventReadOptions& options, std::size_t max_bytes);

  // Every line break ends a record.
  void find_record_ends(std::string_view text, fleet::RecordScan& scan) const override {
    fleet::find_line_ends(text, scan);
  }
  bool concurrent() const override { return true; }
  void parse(const fleet::Block& block, fleet::ParsedBlock& out) override;

 private:
  void read_line(std::string_view text, int64_t line_no, fleet::ParsedBlock& out,
                 std::vector<FoundMember>& found) const;
  std::optional<std::string_view> entity_of(const std::vector<FoundMember>& found,
                                            std::deque<std::string>* owned) const;
  bool ignored_entity(std::string_view name) const {
    for (const std::string& v : entity_ignore_) {
      if (name == v) return true;
    }
    return false;
  }
  static bool holds(const SlottedRule& r, const std::vector<FoundMember>& found,
                    std::deque<std::string>* escaped);
  double value_of(const SlottedRule& r, const std::vector<FoundMember>& found,
                  int64_t line_no) const;
  void add_features(std::string_view entity, const SlottedRule& r, double value,
                    const std::vector<FoundMember>& found, fleet::ParsedBlock& out) const;
  void add_event(std::string_view entity, const JsonLogRule& rule, std::string_view text,
                 double value, fleet::ParsedBlock& out) const;

  const std::size_t max_bytes_;
  fleet::JsonFields fields_;
  std::vector<std::vector<int>> entity_;  // the alternatives, each its slots to join
  std::vector<std::string> entity_ignore_;
  std::vector<SlottedRule> rules_;
};

JsonLogFormat::JsonLogFormat(const EventReadOptions& options, std::size_t max_bytes)
    : max_bytes_(max_bytes) {
  internal::require(!options.json_log.empty(), ErrorCode::invalid_argument, kWhere,
                    "the json-log format needs a mapping (EventReadOptions::json_log; "
                    "stray fleet --json-map FILE)");
  validate_json_log_mapping(options.json_log, kWhere);
  for (const std::vector<std::string>& alternative : options.json_log.entity) {
    std::vector<int> slots;
    for (const std::string& p : alternative) slots.push_back(fields_.add(p));
    entity_.push_back(std::move(slots));
  }
  entity_ignore_ = options.json_log.entity_ignore;
  for (const JsonLogRule& rule : options.json_log.rules) {
    SlottedRule r;
    r.rule = &rule;
    for (const JsonLogCondition& c : rule.when) {
      r.when.emplace_back(fields_.add(c.pointer), &c.values);
    }
    for (const std::string& f : rule.fields) r.fields.push_back(fields_.add(f));
    if (!rule.value.empty()) r.value = fields_.add(rule.value);
    rules_.push_back(std::move(r));
  }
}

void JsonLogFormat::parse(const fleet::Block& block, fleet::ParsedBlock& out) {
  fleet::BlockLines lines(block, max_bytes_);
  std::vector<FoundMember> found;
  std::string_view line;
  while (lines.next(&line)) {
    const int64_t line_no = lines.line_number();
    const std::string_view text = fleet::clean_line(line, block.first && line_no == 1);
    if (fleet::is_blank(text)) continue;
    ++out.records;
    read_line(text, line_no, out, found);
  }
  out.lines = lines.line_number();
}

void JsonLogFormat::read_line(std::string_view text, int64_t line_no, fleet::ParsedBlock& out,
                              std::vector<FoundMember>& found) const {
  if (fleet::JsonScanner(text, &out.owned).first() != '{') {
    fleet::fail_in_block(ErrorCode::parse_error, line_no, "expected a JSON object");
  }
  std::string error;
  if (!fields_.find(text, &out.owned, found, &error)) {
    fleet::fail_in_block(ErrorCode::parse_error, line_no, "invalid JSON (", error, ")");
  }
  const std::optional<std::string_view> entity = entity_of(found, &out.owned);
  if (!entity) {
    ++out.without_entity;
    return;
  }
  bool matched = false;
  for (const SlottedRule& r : rules_) {
    if (!holds(r, found, &out.owned)) continue;
    matched = true;
    add_features(*entity, r, value_of(r, found, line_no), found, out);
  }
  if (!matched) ++out.unmatched;
}

// The first alternative whose members all name something: a non-empty
// string or an integer, not one of entity_ignore.
std::optional<std::string_view> JsonLogFormat::entity_of(const std::vector<FoundMember>& found,
                                                         std::deque<std::string>* owned) const {
  const auto name = [&](int slot) -> std::optional<std::string_view> {
    const FoundMember& m = found[static_cast<std::size_t>(slot)];
    const bool named = m.present && ((m.value.type == JsonType::string && !m.value.text.empty()) ||
                                     m.value.is_integer_literal());
    if (!named || ignored_entity(m.value.text)) return std::nullopt;
    return m.value.text;
  };
  for (const std::vector<int>& alternative : entity_) {
    if (alternative.size() == 1) {
      if (const auto text = name(alternative[0])) return text;
      continue;
    }
    std::string joined;
    bool whole = true;
    for (std::size_t i = 0; i < alternative.size() && whole; ++i) {
      const auto text = name(alternative[i]);
      whole = text.has_value();
      if (whole) joined.append(i > 0 ? ":" : "").append(*text);
    }
    if (whole) return owned->emplace_back(std::move(joined));
  }
  return std::nullopt;
}

// Every condition holds: its member, or an element of it where it is an
// array (ECS's event.category is one), is one of its values.
bool JsonLogFormat::holds(const SlottedRule& r, const std::vector<FoundMember>& found,
                          std::deque<std::string>* escaped) {
  for (const auto& [slot, values] : r.when) {
    const auto is_value = [values = values](const FoundMember& m) {
      const std::optional<std::string_view> text = scalar_text(m);
      return text && std::find(values->begin(), values->end(), *text) != values->end();
    };
    const FoundMember& m = found[static_cast<std::size_t>(slot)];
    bool any = is_value(m);
    if (m.present && m.value.type == JsonType::array) {
      fleet::JsonScanner(m.value.text, escaped).array([&](const JsonValue& element) {
        any = is_value(FoundMember{true, element});
        return !any;  // stops at the first that is
      });
    }
    if (!any) return false;
  }
  return true;
}

double JsonLogFormat::value_of(const SlottedRule& r, const std::vector<FoundMember>& found,
                               int64_t line_no) const {
  if (r.value < 0) return 1.0;
  const FoundMember& m = found[static_cast<std::size_t>(r.value)];
  if (!m.present || m.value.type == JsonType::null) return 1.0;
  if (m.value.type != JsonType::number) {
    fleet::fail_in_block(ErrorCode::parse_error, line_no, "the value member ",
                         fleet::quoted(r.rule->value), " is not a number: it is ",
                         m.value.type_name());
  }
  double v = 0.0;
  if (!m.value.to_double(&v)) {
    fleet::fail_in_block(ErrorCode::non_finite_input, line_no, "the value member ",
                         fleet::quoted(r.rule->value), " (", fleet::quoted(m.value.text),
                         ") is not a finite double");
  }
  return v;
}

void JsonLogFormat::add_features(std::string_view entity, const SlottedRule& r, double value,
                                 const std::vector<FoundMember>& found,
                                 fleet::ParsedBlock& out) const {
  const JsonLogRule& rule = *r.rule;
  if (r.fields.size() == 1) {
    const FoundMember& m = found[static_cast<std::size_t>(r.fields[0])];
    if (m.present && m.value.type == JsonType::array) {
      fleet::JsonScanner scan(m.value.text, &out.owned);
      scan.array([&](const JsonValue& element) {
        const auto text = scalar_text(FoundMember{true, element});
        if (text) add_event(entity, rule, *text, value, out);
        return true;
      });
      return;
    }
    if (const auto text = scalar_text(m)) add_event(entity, rule, *text, value, out);
    return;
  }
  std::string joined;
  for (std::size_t i = 0; i < r.fields.size(); ++i) {
    const auto text = scalar_text(found[static_cast<std::size_t>(r.fields[i])]);
    if (!text) return;
    if (i > 0) joined.push_back(':');
    joined.append(*text);
  }
  add_event(entity, rule, out.owned.emplace_back(std::move(joined)), value, out);
}

// The feature `text` as the rule shapes it; values that carry nothing are
// counted as skipped.
void JsonLogFormat::add_event(std::string_view entity, const JsonLogRule& rule,
                              std::string_view text, double value,
                              fleet::ParsedBlock& out) const {
  if (rule.part == JsonValuePart::basename) text = basename_of(text);
  if (rule.part == JsonValuePart::extension) text = extension_of(text);
  if (rule.lowercase && has_upper(text)) {
    std::string& lower = out.owned.emplace_back(text);
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    text = lower;
  }
  bool ignored = text.empty();
  for (const std::string& v : rule.ignore_values) ignored = ignored || text == v;
  if (!ignored && (rule.ipv4_prefix > 0 || rule.ipv6_prefix > 0)) {
    std::string network;
    const fleet::AddressFeature kind =
        fleet::address_feature(text, rule.ipv4_prefix, rule.ipv6_prefix, &network);
    ignored = kind == fleet::AddressFeature::unspecified;
    if (kind == fleet::AddressFeature::network) text = out.owned.emplace_back(std::move(network));
  }
  if (ignored) {
    ++out.skipped;
    return;
  }
  out.events.push_back(Event{entity, rule.group, text, value});
}

}  // namespace

namespace fleet {

ReadStats read_events_json_log_blocks(std::istream& raw, const EventSink& sink,
                                      const EventReadOptions& options, std::size_t block_bytes) {
  const std::size_t max_bytes = max_line_bytes(options, kDefaultMaxLineBytes);
  JsonLogFormat format(options, max_bytes);  // checks the mapping before reading
  DecodedInput decoded(raw, options.source_name, kWhere);
  return read_in_blocks(decoded.stream(), format, sink, options,
                        BlockReadSettings{kWhere, max_bytes, block_bytes});
}

}  // namespace fleet

ReadStats read_events_json_log(std::istream& in, const EventSink& sink,
                               const EventReadOptions& options) {
  return fleet::read_events_json_log_blocks(in, sink, options, fleet::kBlockBytes);
}

ReadStats read_events_json_log(const std::filesystem::path& path, const EventSink& sink,
                               const EventReadOptions& options) {
  const auto read = [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
    return read_events_json_log(in, s, o);
  };
  return fleet::read_from_path(path, sink, options, kWhere, read);
}

}  // namespace stray
