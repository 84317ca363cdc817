// JSON log mappings: checking one built in code, and reading one written as
// JSON (include/stray/io/json_log_mapping.hpp).
#include "stray/io/json_log_mapping.hpp"

#include <string>

#include "core/check.hpp"
#include "io/events/json_log_fields.hpp"
#include "io/events/mapping_file.hpp"

namespace stray {

const char* to_string(JsonValuePart part) {
  switch (part) {
    case JsonValuePart::whole: return "whole";
    case JsonValuePart::basename: return "basename";
    case JsonValuePart::extension: return "extension";
  }
  return "?";
}

namespace {

// Why `pointer` cannot name a member, or "" when it can.
std::string pointer_problem(const std::string& pointer) {
  const auto tokens = fleet::json_pointer_tokens(pointer);
  std::string problem;
  if (!tokens) {
    problem = " is not a JSON pointer to a member (\"/name/inner\"; '~' only as ~0 or ~1)";
  } else if (tokens->size() > kMaxJsonPointerDepth) {
    problem = " is nested deeper than " + std::to_string(kMaxJsonPointerDepth) + " levels";
  } else {
    return "";
  }
  std::string quoted = "'";
  quoted.append(internal::printable(pointer, 80)).append("'");
  return quoted + problem;
}

// Why `rule` cannot be applied, or "" when it can; `where` is its name.
std::string rule_problem(const JsonLogRule& rule, const std::string& where) {
  if (rule.fields.empty()) return where + " has no field";
  for (const std::string& f : rule.fields) {
    const std::string p = pointer_problem(f);
    if (!p.empty()) return where + ".field " + p;
  }
  if (rule.group.empty()) return where + ".group is empty";
  if (rule.group.find(':') != std::string::npos) {
    return where + ".group '" + internal::printable(rule.group, 80) + "' contains ':'";
  }
  for (const JsonLogCondition& c : rule.when) {
    const std::string p = pointer_problem(c.pointer);
    if (!p.empty()) return where + ".when " + p;
    if (c.values.empty()) {
      return where + ".when." + internal::printable(c.pointer, 80) +
             " has no values: it never holds";
    }
  }
  if (rule.ipv4_prefix < 0 || rule.ipv4_prefix > 32) {
    return where + ".ipv4_prefix is not an integer from 0 to 32";
  }
  if (rule.ipv6_prefix < 0 || rule.ipv6_prefix > 128) {
    return where + ".ipv6_prefix is not an integer from 0 to 128";
  }
  if (!rule.value.empty()) {
    const std::string p = pointer_problem(rule.value);
    if (!p.empty()) return where + ".value " + p;
  }
  return "";
}

// Why `mapping` cannot be applied, or "" when it can.
std::string mapping_problem(const JsonLogMapping& mapping) {
  if (mapping.entity.empty()) return "the mapping has no entity pointer";
  for (std::size_t i = 0; i < mapping.entity.size(); ++i) {
    const std::string where = "entity[" + std::to_string(i) + "]";
    if (mapping.entity[i].empty()) return where + " has no pointer";
    for (const std::string& e : mapping.entity[i]) {
      const std::string p = pointer_problem(e);
      if (!p.empty()) return where + " " + p;
    }
  }
  if (mapping.rules.empty()) return "the mapping has no rules: nothing would be read";
  if (mapping.rules.size() > kMaxJsonLogRules) {
    return "the mapping has " + std::to_string(mapping.rules.size()) + " rules, more than " +
           std::to_string(kMaxJsonLogRules);
  }
  for (std::size_t i = 0; i < mapping.rules.size(); ++i) {
    const std::string p = rule_problem(mapping.rules[i], "rules[" + std::to_string(i) + "]");
    if (!p.empty()) return p;
  }
  return "";
}

}  // namespace

void validate_json_log_mapping(const JsonLogMapping& mapping, const char* where) {
  const std::string problem = mapping_problem(mapping);
  internal::require(problem.empty(), ErrorCode::invalid_argument, where, problem);
}

namespace {

constexpr const char* kWhere = "read_json_log_mapping";
using Json = nlohmann::json;

// Reads the file's JSON into a JsonLogMapping; errors name the source and
// the member, so a mistake in a long mapping is found without reading it all.
class MappingFile {
 public:
  explicit MappingFile(const std::string& source) : source_(source.empty() ? "" : source + ": ") {}

  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    internal::fail(ErrorCode::parse_error, kWhere, source_, parts...);
  }

  JsonLogMapping mapping(const Json& doc) const {
    if (!doc.is_object()) fail("the mapping is not a JSON object");
    only_keys(doc, "the mapping", {"about", "entity", "entity_ignore", "rules"});
    const auto about = doc.find("about");
    if (about != doc.end() && !about->is_string()) fail("\"about\" is not a string");
    JsonLogMapping m;
    const auto entity = doc.find("entity");
    if (entity == doc.end()) fail("the mapping has no \"entity\"");
    m.entity = alternatives(*entity, "entity");
    const auto entity_ignore = doc.find("entity_ignore");
    if (entity_ignore != doc.end()) m.entity_ignore = strings(*entity_ignore, "entity_ignore");
    const auto rules = doc.find("rules");
    if (rules == doc.end() || !rules->is_array()) fail("the mapping has no \"rules\" array");
    if (rules->size() > kMaxJsonLogRules) {
      fail("the mapping has ", rules->size(), " rules, more than ", kMaxJsonLogRules);
    }
    for (std::size_t i = 0; i < rules->size(); ++i) {
      m.rules.push_back(rule((*rules)[i], "rules[" + std::to_string(i) + "]"));
    }
    const std::string problem = mapping_problem(m);
    if (!problem.empty()) fail(problem);
    return m;
  }

 private:
  void only_keys(const Json& object, const std::string& where,
                 std::initializer_list<const char*> keys) const {
    if (const auto key = fleet::unknown_member(object, keys)) {
      fail(where, " has an unknown member '", internal::printable(*key, 80), "'");
    }
  }

  // A pointer, or a non-empty array of them.
  std::vector<std::string> pointers(const Json& j, const std::string& where) const {
    std::vector<std::string> out;
    if (j.is_string()) out.push_back(j.get<std::string>());
    if (j.is_array()) {
      for (const Json& p : j) {
        if (!p.is_string()) break;
        out.push_back(p.get<std::string>());
      }
      if (out.size() != j.size()) out.clear();
    }
    if (out.empty()) fail(where, " is not a JSON pointer or a non-empty array of them");
    return out;
  }

  // The entity: a pointer, or an array of alternatives, each a pointer or a
  // non-empty array of pointers.
  std::vector<std::vector<std::string>> alternatives(const Json& j,
                                                     const std::string& where) const {
    if (j.is_string()) return {{j.get<std::string>()}};
    if (!j.is_array() || j.empty()) {
      fail(where, " is not a JSON pointer or a non-empty array of them");
    }
    std::vector<std::vector<std::string>> out;
    for (std::size_t i = 0; i < j.size(); ++i) {
      out.push_back(pointers(j[i], where + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  // A condition's values: a string, an integer, true or false, or an array of them.
  std::vector<std::string> values(const Json& j, const std::string& where) const {
    const auto text = [&](const Json& v) {
      if (v.is_string()) return v.get<std::string>();
      if (v.is_number_integer() || v.is_boolean()) return v.dump();
      fail(where, " is not a string, an integer, true or false, or an array of them");
    };
    std::vector<std::string> out;
    if (!j.is_array()) return {text(j)};
    for (const Json& v : j) out.push_back(text(v));
    return out;
  }

  std::vector<JsonLogCondition> conditions(const Json& j, const std::string& where) const {
    if (!j.is_object()) fail(where, " is not an object of pointers and values");
    std::vector<JsonLogCondition> out;
    for (const auto& [pointer, v] : j.items()) {
      out.push_back({pointer, values(v, where + "." + internal::printable(pointer, 80))});
    }
    return out;
  }

  JsonValuePart part(const Json& j, const std::string& where) const {
    if (j.is_string()) {
      for (const JsonValuePart p :
           {JsonValuePart::whole, JsonValuePart::basename, JsonValuePart::extension}) {
        if (j.get<std::string>() == to_string(p)) return p;
      }
    }
    fail(where, " is not \"whole\", \"basename\" or \"extension\"");
  }

  std::vector<std::string> strings(const Json& j, const std::string& where) const {
    if (!j.is_array()) fail(where, " is not an array of strings");
    std::vector<std::string> out;
    for (const Json& v : j) {
      if (!v.is_string()) fail(where, " is not an array of strings");
      out.push_back(v.get<std::string>());
    }
    return out;
  }

  int prefix(const Json& j, const std::string& where, int width) const {
    if (!j.is_number_integer() || j.get<int64_t>() < 0 || j.get<int64_t>() > width) {
      fail(where, " is not an integer from 0 to ", width);
    }
    return static_cast<int>(j.get<int64_t>());
  }

  JsonLogRule rule(const Json& j, const std::string& where) const {
    if (!j.is_object()) fail(where, " is not an object");
    only_keys(j, where, {"when", "field", "group", "part", "lowercase", "ignore", "ipv4_prefix",
                         "ipv6_prefix", "value"});
    JsonLogRule r;
    const auto field = j.find("field");
    if (field == j.end()) fail(where, " has no \"field\"");
    r.fields = pointers(*field, where + ".field");
    const auto group = j.find("group");
    if (group == j.end() || !group->is_string()) fail(where, ".group is not a string");
    r.group = group->get<std::string>();
    for (const auto& [key, v] : j.items()) {
      const std::string at = where + "." + key;
      if (key == "when") r.when = conditions(v, at);
      if (key == "part") r.part = part(v, at);
      if (key == "lowercase" && !v.is_boolean()) fail(at, " is not true or false");
      if (key == "lowercase") r.lowercase = v.get<bool>();
      if (key == "ignore") r.ignore_values = strings(v, at);
      if (key == "ipv4_prefix") r.ipv4_prefix = prefix(v, at, 32);
      if (key == "ipv6_prefix") r.ipv6_prefix = prefix(v, at, 128);
      if (key == "value" && !v.is_string()) fail(at, " is not a JSON pointer");
      if (key == "value") r.value = v.get<std::string>();
    }
    return r;
  }

  std::string source_;
};

}  // namespace

JsonLogMapping parse_json_log_mapping(std::string_view json, const std::string& source_name) {
  const MappingFile file(source_name);
  return file.mapping(fleet::parse_mapping_json(json, kMaxJsonLogMappingBytes, kWhere,
                                                source_name.empty() ? "" : source_name + ": "));
}

JsonLogMapping read_json_log_mapping(const std::filesystem::path& path) {
  return parse_json_log_mapping(fleet::read_mapping_text(path, kMaxJsonLogMappingBytes, kWhere),
                                path.string());
}

}  // namespace stray
