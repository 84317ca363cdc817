// osquery mappings written as JSON: parse_osquery_mapping and
// read_osquery_mapping (include/stray/io/events.hpp).
#include <string>

#include "core/check.hpp"
#include "io/events/mapping_file.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

constexpr const char* kWhere = "read_osquery_mapping";
using Json = nlohmann::json;

// Errors name the source and the member, so a mistake in a long mapping is
// found without reading all of it.
class MappingReader {
 public:
  explicit MappingReader(const std::string& source) : source_(source.empty() ? "" : source + ": ") {}

  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    internal::fail(ErrorCode::parse_error, kWhere, source_, parts...);
  }

  void only_keys(const Json& object, const std::string& where,
                 std::initializer_list<const char*> keys) const {
    if (const auto key = fleet::unknown_member(object, keys)) {
      fail(where, " has an unknown member '", internal::printable(*key), "'");
    }
  }

  std::string name(const Json& rule, const std::string& where, const char* key) const {
    const auto it = rule.find(key);
    if (it == rule.end()) fail(where, " has no \"", key, "\"");
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      fail(where, ".", key, " is not a non-empty string");
    }
    return it->get<std::string>();
  }

  int prefix(const Json& rule, const std::string& where, const char* key, int width) const {
    const auto it = rule.find(key);
    if (it == rule.end()) return 0;
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > width) {
      fail(where, ".", key, " is not an integer from 0 to ", width);
    }
    return static_cast<int>(it->get<int64_t>());
  }

  std::vector<std::string> ignore(const Json& rule, const std::string& where) const {
    const auto it = rule.find("ignore");
    if (it == rule.end()) return {};
    if (!it->is_array()) fail(where, ".ignore is not an array of strings");
    std::vector<std::string> values;
    for (const Json& v : *it) {
      if (!v.is_string()) fail(where, ".ignore is not an array of strings");
      values.push_back(v.get<std::string>());
    }
    return values;
  }

  OsqueryColumnRule rule(const Json& j, const std::string& where) const {
    if (!j.is_object()) fail(where, " is not an object");
    only_keys(j, where, {"query", "column", "group", "ipv4_prefix", "ipv6_prefix", "ignore"});
    OsqueryColumnRule r;
    r.query = name(j, where, "query");
    r.column = name(j, where, "column");
    r.group = name(j, where, "group");
    if (r.group.find(':') != std::string::npos) {
      fail(where, ".group '", internal::printable(r.group), "' contains ':'");
    }
    r.ipv4_prefix = prefix(j, where, "ipv4_prefix", 32);
    r.ipv6_prefix = prefix(j, where, "ipv6_prefix", 128);
    r.ignore_values = ignore(j, where);
    return r;
  }

 private:
  std::string source_;
};

}  // namespace

OsqueryMapping parse_osquery_mapping(std::string_view json, const std::string& source_name) {
  const MappingReader reader(source_name);
  const Json doc = fleet::parse_mapping_json(json, kMaxOsqueryMappingBytes, kWhere,
                                             source_name.empty() ? "" : source_name + ": ");
  if (!doc.is_object()) reader.fail("the mapping is not a JSON object");
  reader.only_keys(doc, "the mapping", {"defaults", "rules"});
  const auto defaults = doc.find("defaults");
  if (defaults != doc.end() && !defaults->is_boolean()) reader.fail("\"defaults\" is not true or false");
  const auto rules = doc.find("rules");
  if (rules == doc.end() || !rules->is_array()) reader.fail("the mapping has no \"rules\" array");
  if (rules->size() > kMaxOsqueryRules) {
    reader.fail("the mapping has ", rules->size(), " rules, more than ", kMaxOsqueryRules);
  }
  OsqueryMapping mapping;
  if (defaults != doc.end() && defaults->get<bool>()) mapping = OsqueryMapping::defaults();
  for (std::size_t i = 0; i < rules->size(); ++i) {
    mapping.rules.push_back(reader.rule((*rules)[i], "rules[" + std::to_string(i) + "]"));
  }
  if (mapping.rules.empty()) reader.fail("the mapping has no rules: nothing would be read");
  return mapping;
}

OsqueryMapping read_osquery_mapping(const std::filesystem::path& path) {
  return parse_osquery_mapping(fleet::read_mapping_text(path, kMaxOsqueryMappingBytes, kWhere),
                               path.string());
}

}  // namespace stray
