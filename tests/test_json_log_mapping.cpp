// JSON log mappings: JSON Pointers as RFC 6901 reads them, a mapping file as
// it reads, and every mistake in one an error naming the member at fault.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "io/events/json_log_fields.hpp"
#include "stray/core/error.hpp"
#include "stray/io/json_log_mapping.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using Tokens = std::vector<std::string>;

TEST(JsonPointer, TokensAsRfc6901ReadsThem) {
  EXPECT_EQ(fleet::json_pointer_tokens("/a"), Tokens{"a"});
  EXPECT_EQ(fleet::json_pointer_tokens("/output_fields/proc.name"),
            (Tokens{"output_fields", "proc.name"}));
  // RFC 6901's own examples: "~1" is '/', "~0" is '~', in that order.
  EXPECT_EQ(fleet::json_pointer_tokens("/a~1b"), Tokens{"a/b"});
  EXPECT_EQ(fleet::json_pointer_tokens("/m~0n"), Tokens{"m~n"});
  EXPECT_EQ(fleet::json_pointer_tokens("/~01"), Tokens{"~1"});
  EXPECT_EQ(fleet::json_pointer_tokens("/"), Tokens{""});
  EXPECT_EQ(fleet::json_pointer_tokens("/a//0/"), (Tokens{"a", "", "0", ""}));
  for (const char* bad : {"", "a", "a/b", "/~", "/~2", "/a~"}) {
    EXPECT_FALSE(fleet::json_pointer_tokens(bad)) << bad;
  }
}

// What a line's members are found as, by slot.
std::vector<std::string> found_texts(const std::vector<std::string>& pointers,
                                     const std::string& line) {
  fleet::JsonFields fields;
  for (const std::string& p : pointers) fields.add(p);
  std::deque<std::string> escaped;
  std::vector<fleet::FoundMember> found;
  std::string error;
  EXPECT_TRUE(fields.find(line, &escaped, found, &error)) << error;
  std::vector<std::string> out;
  for (const fleet::FoundMember& m : found) {
    out.push_back(m.present ? std::string(m.value.text) : "-");
  }
  return out;
}

TEST(JsonFields, FindsNestedMembersAndArrayElements) {
  const std::string line =
      R"({"a": {"b": [10, {"c": "x\u0041"}], "a/b": 1}, "n": null, "z": [1, 2]})";
  EXPECT_EQ(found_texts({"/a/b/1/c", "/a/b/0", "/a/a~1b", "/n", "/z", "/a/b/2", "/a/b/01", "/q"},
                        line),
            (std::vector<std::string>{"xA", "10", "1", "null", "[1, 2]", "-", "-", "-"}));
  // The same pointer twice is one slot.
  fleet::JsonFields fields;
  EXPECT_EQ(fields.add("/a/b"), fields.add("/a/b"));
  EXPECT_EQ(fields.slots(), 1u);
}

TEST(JsonFields, TheLastOfRepeatedNamesCountsWithWhatLiesBelowIt) {
  // As Python's json and most readers: the later member replaces the
  // earlier, including members found inside the earlier one.
  EXPECT_EQ(found_texts({"/a/b", "/a/c", "/d"},
                        R"({"a": {"b": 1, "c": 2}, "d": 3, "a": {"c": 4}, "d": 5})"),
            (std::vector<std::string>{"-", "4", "5"}));
  EXPECT_EQ(found_texts({"/a/b"}, R"({"a": {"b": 1}, "a": "flat"})"),
            (std::vector<std::string>{"-"}));
}

TEST(JsonFields, RefusesWhatIsNotAnObject) {
  fleet::JsonFields fields;
  fields.add("/a");
  std::deque<std::string> escaped;
  std::vector<fleet::FoundMember> found;
  std::string error;
  for (const char* bad : {"[1]", "\"a\"", "{\"a\": }", "{\"a\": 1} x", "{\"a\": [1}"}) {
    EXPECT_FALSE(fields.find(bad, &escaped, found, &error)) << bad;
    EXPECT_FALSE(error.empty());
  }
  EXPECT_THROW(fields.add("no-slash"), std::invalid_argument);
}

const char* const kSysmon = R"({
  "about": "Sysmon through NXLog",
  "entity": [["/host/name", "/container"], "/Hostname"], "entity_ignore": ["host"],
  "rules": [
    {"when": {"/EventID": 1}, "field": "/Image", "group": "process",
     "part": "basename", "lowercase": true},
    {"when": {"/EventID": [3, "3"], "/Protocol": "tcp"}, "field": "/DestinationIp",
     "group": "net.remote_net", "ipv4_prefix": 24, "ipv6_prefix": 64, "ignore": ["-"]},
    {"when": {"/Flag": true}, "field": ["/SourceName", "/EventID"], "group": "event",
     "part": "extension", "value": "/Count"}]})";

TEST(JsonLogMappingFile, ReadsEveryMember) {
  const JsonLogMapping m = parse_json_log_mapping(kSysmon);
  EXPECT_EQ(m.entity, (std::vector<Tokens>{{"/host/name", "/container"}, {"/Hostname"}}));
  EXPECT_EQ(m.entity_ignore, Tokens{"host"});
  ASSERT_EQ(m.rules.size(), 3u);
  const JsonLogRule& a = m.rules[0];
  ASSERT_EQ(a.when.size(), 1u);
  EXPECT_EQ(a.when[0].pointer, "/EventID");
  EXPECT_EQ(a.when[0].values, Tokens{"1"});
  EXPECT_EQ(a.fields, Tokens{"/Image"});
  EXPECT_EQ(a.group, "process");
  EXPECT_EQ(a.part, JsonValuePart::basename);
  EXPECT_TRUE(a.lowercase);
  EXPECT_EQ(a.ipv4_prefix, 0);
  EXPECT_TRUE(a.value.empty());
  const JsonLogRule& b = m.rules[1];
  ASSERT_EQ(b.when.size(), 2u);
  // Conditions hold together, whatever order the file names them in.
  const auto& id = b.when[0].pointer == "/EventID" ? b.when[0] : b.when[1];
  EXPECT_EQ(id.values, (Tokens{"3", "3"}));
  EXPECT_EQ(b.ipv4_prefix, 24);
  EXPECT_EQ(b.ipv6_prefix, 64);
  EXPECT_EQ(b.ignore_values, Tokens{"-"});
  EXPECT_FALSE(b.lowercase);
  const JsonLogRule& c = m.rules[2];
  EXPECT_EQ(c.when[0].values, Tokens{"true"});
  EXPECT_EQ(c.fields, (Tokens{"/SourceName", "/EventID"}));
  EXPECT_EQ(c.part, JsonValuePart::extension);
  EXPECT_EQ(c.value, "/Count");
  // One pointer, not an array, for the entity.
  EXPECT_EQ(parse_json_log_mapping(R"({"entity": "/h", "rules": [{"field": "/f", "group": "g"}]})")
                .entity,
            std::vector<Tokens>{{"/h"}});
}

// The message of the parse_error `json` is, or "" when it parses.
std::string mapping_error(const std::string& json) {
  try {
    parse_json_log_mapping(json, "map.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::parse_error) << e.what();
    return e.what();
  }
  return "";
}

std::string with_rule(const std::string& rule) {
  return R"({"entity": "/h", "rules": [)" + rule + "]}";
}

TEST(JsonLogMappingFile, EveryMistakeNamesItsMember) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not valid JSON"},
      {"[]", "not a JSON object"},
      {R"({"rules": [{"field": "/f", "group": "g"}]})", "no \"entity\""},
      {R"({"entity": "/h"})", "no \"rules\" array"},
      {R"({"entity": "/h", "rules": []})", "no rules"},
      {R"({"entity": "/h", "rules": [], "extra": 1})", "the mapping has an unknown member 'extra'"},
      {R"({"about": 1, "entity": "/h", "rules": []})", "\"about\" is not a string"},
      {R"({"entity": "h", "rules": [{"field": "/f", "group": "g"}]})", "entity[0] 'h' is not a JSON pointer"},
      {R"({"entity": [], "rules": [{"field": "/f", "group": "g"}]})", "entity is not a JSON pointer"},
      {R"({"entity": ["/h", 3], "rules": [{"field": "/f", "group": "g"}]})", "entity[1] is not a JSON pointer"},
      {R"({"entity": ["/h", []], "rules": [{"field": "/f", "group": "g"}]})", "entity[1] is not a JSON pointer"},
      {R"({"entity": [["/h", "x"]], "rules": [{"field": "/f", "group": "g"}]})", "entity[0] 'x' is not a JSON pointer"},
      {R"({"entity": "/h", "entity_ignore": "host", "rules": [{"field": "/f", "group": "g"}]})",
       "entity_ignore is not an array of strings"},
      {with_rule("3"), "rules[0] is not an object"},
      {with_rule(R"({"group": "g"})"), "rules[0] has no \"field\""},
      {with_rule(R"({"field": "/f"})"), "rules[0].group is not a string"},
      {with_rule(R"({"field": "/f", "group": ""})"), "rules[0].group is empty"},
      {with_rule(R"({"field": "/f", "group": "a:b"})"), "rules[0].group 'a:b' contains ':'"},
      {with_rule(R"({"field": "/f", "group": "g", "feild": 1})"), "rules[0] has an unknown member 'feild'"},
      {with_rule(R"({"field": "/f~2", "group": "g"})"), "rules[0].field '/f~2' is not a JSON pointer"},
      {with_rule(R"({"field": ["/f", 1], "group": "g"})"), "rules[0].field is not a JSON pointer"},
      {with_rule(R"({"field": "/f", "group": "g", "when": [1]})"), "rules[0].when is not an object"},
      {with_rule(R"({"field": "/f", "group": "g", "when": {"/k": 1.5}})"),
       "rules[0].when./k is not a string, an integer"},
      {with_rule(R"({"field": "/f", "group": "g", "when": {"/k": [null]}})"),
       "rules[0].when./k is not a string, an integer"},
      {with_rule(R"({"field": "/f", "group": "g", "when": {"/k": []}})"), "rules[0].when./k has no values"},
      {with_rule(R"({"field": "/f", "group": "g", "when": {"k": 1}})"), "rules[0].when 'k' is not a JSON pointer"},
      {with_rule(R"({"field": "/f", "group": "g", "part": "stem"})"),
       "rules[0].part is not \"whole\", \"basename\" or \"extension\""},
      {with_rule(R"({"field": "/f", "group": "g", "lowercase": 1})"), "rules[0].lowercase is not true or false"},
      {with_rule(R"({"field": "/f", "group": "g", "ignore": "-"})"), "rules[0].ignore is not an array of strings"},
      {with_rule(R"({"field": "/f", "group": "g", "ipv4_prefix": 33})"),
       "rules[0].ipv4_prefix is not an integer from 0 to 32"},
      {with_rule(R"({"field": "/f", "group": "g", "ipv6_prefix": -1})"),
       "rules[0].ipv6_prefix is not an integer from 0 to 128"},
      {with_rule(R"({"field": "/f", "group": "g", "value": 3})"), "rules[0].value is not a JSON pointer"},
      {with_rule(R"({"field": "/f", "group": "g", "value": "count"})"), "rules[0].value 'count' is not a JSON pointer"},
  };
  for (const auto& [json, message] : cases) {
    const std::string error = mapping_error(json);
    EXPECT_NE(error.find(message), std::string::npos) << json << " -> " << error;
    if (!error.empty()) EXPECT_NE(error.find("map.json: "), std::string::npos) << error;
  }
  std::string deep = "/a";
  for (std::size_t i = 0; i < kMaxJsonPointerDepth; ++i) deep += "/a";
  EXPECT_NE(mapping_error(with_rule(R"({"field": ")" + deep + R"(", "group": "g"})"))
                .find("nested deeper than 64 levels"),
            std::string::npos);
}

TEST(JsonLogMappingFile, BoundsItsSize) {
  std::string rules;
  for (std::size_t i = 0; i <= kMaxJsonLogRules; ++i) {
    rules += std::string(i ? "," : "") + R"({"field": "/f", "group": "g"})";
  }
  EXPECT_NE(mapping_error(R"({"entity": "/h", "rules": [)" + rules + "]}").find("more than 10000"),
            std::string::npos);
  const std::string huge = with_rule(R"({"field": "/f", "group": ")" +
                                     std::string(kMaxJsonLogMappingBytes, 'g') + R"("})");
  EXPECT_NE(mapping_error(huge).find("bytes, more than"), std::string::npos);
}

TEST(JsonLogMappingFile, ReadsFromAFileAndSaysWhenItCannot) {
  testing::TempDir dir;
  const auto path = dir.path() / "map.json";
  std::ofstream(path) << kSysmon;
  EXPECT_EQ(read_json_log_mapping(path).rules.size(), 3u);
  try {
    read_json_log_mapping(dir.path() / "missing.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io_error);
  }
}

TEST(JsonLogMapping, ValidatesOneBuiltInCode) {
  JsonLogMapping m;
  EXPECT_THROW(validate_json_log_mapping(m, "test"), Error);
  m.entity = {{"/h"}};
  m.rules.push_back({});
  try {
    validate_json_log_mapping(m, "test");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("rules[0] has no field"), std::string::npos) << e.what();
  }
  m.rules[0].fields = {"/f"};
  m.rules[0].group = "g";
  EXPECT_NO_THROW(validate_json_log_mapping(m, "test"));
  m.rules[0].ipv4_prefix = 40;
  EXPECT_THROW(validate_json_log_mapping(m, "test"), Error);
}

}  // namespace
}  // namespace stray
