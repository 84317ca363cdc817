// osquery mappings written as JSON: what they read as, that they change
// what a log reads as, and that every mistake in one is an error naming
// the member at fault.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "stray/core/error.hpp"
#include "stray/io/events.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

const char* const kSocketEvents = R"({"defaults": true, "rules": [
  {"query": "sec_sockets", "column": "remote_address", "group": "net.remote_net",
   "ipv4_prefix": 24, "ipv6_prefix": 48, "ignore": ["", "0"]},
  {"query": "sec_sockets", "column": "remote_port", "group": "net.remote", "ignore": ["0"]}]})";

TEST(OsqueryMapping, ParsesRulesAfterTheDefaults) {
  const OsqueryMapping m = parse_osquery_mapping(kSocketEvents);
  const std::size_t n = OsqueryMapping::defaults().rules.size();
  ASSERT_EQ(m.rules.size(), n + 2);
  EXPECT_EQ(m.rules[0].query, OsqueryMapping::defaults().rules[0].query);
  const OsqueryColumnRule& a = m.rules[n];
  EXPECT_EQ(a.query, "sec_sockets");
  EXPECT_EQ(a.column, "remote_address");
  EXPECT_EQ(a.group, "net.remote_net");
  EXPECT_EQ(a.ipv4_prefix, 24);
  EXPECT_EQ(a.ipv6_prefix, 48);
  EXPECT_EQ(a.ignore_values, (std::vector<std::string>{"", "0"}));
  const OsqueryColumnRule& b = m.rules[n + 1];
  EXPECT_EQ(b.ipv4_prefix, 0);
  EXPECT_EQ(b.ipv6_prefix, 0);
  EXPECT_EQ(b.ignore_values, std::vector<std::string>{"0"});
  // Without "defaults" the file is the whole mapping.
  const OsqueryMapping only = parse_osquery_mapping(
      R"({"rules": [{"query": "shell_history", "column": "command", "group": "command"}]})");
  ASSERT_EQ(only.rules.size(), 1u);
  EXPECT_EQ(only.rules[0].query, "shell_history");
}

TEST(OsqueryMapping, ChangesWhatALogReadsAs) {
  const std::string log =
      R"({"name":"pack/sec/sec_sockets","hostIdentifier":"h","columns":{"remote_address":"2001:db8:7:1::5","remote_port":"4444"},"action":"added"})"
      "\n"
      R"({"name":"deb_packages","hostIdentifier":"h","columns":{"name":"bash"},"action":"added"})"
      "\n";
  EventReadOptions options;
  options.osquery = parse_osquery_mapping(kSocketEvents);
  std::istringstream in(log);
  std::vector<EventRecord> ev;
  const ReadStats stats = read_events_osquery(in, collect_events(ev), options);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0], EventRecord("h", "net.remote_net", "2001:db8:7::/48", 1.0));
  EXPECT_EQ(ev[1], EventRecord("h", "net.remote", "4444", 1.0));
  EXPECT_EQ(ev[2], EventRecord("h", "package", "bash", 1.0));
  EXPECT_EQ(stats.skipped, 0);
  // The defaults alone do not know sec_sockets.
  std::istringstream again(log);
  std::vector<EventRecord> plain;
  read_events_osquery(again, collect_events(plain));
  ASSERT_EQ(plain.size(), 1u);
}

// A log whose queries no rule maps says so: the names (a few, cut short)
// reach the reason a caller gives for reading nothing.
TEST(OsqueryMapping, UnmappedQueriesAreNamed) {
  std::string log;
  for (int q = 0; q < 12; ++q) {
    log += R"({"name":"pack/sec/q)" + std::to_string(q % 10) +
           R"(","hostIdentifier":"h","columns":{"x":"1"},"action":"added"})" + "\n";
  }
  log += R"({"name":")" + std::string(5000, 'n') +
         R"(","hostIdentifier":"h","columns":{"x":"1"},"action":"added"})" + "\n";
  std::istringstream in(log);
  std::vector<EventRecord> ev;
  const ReadStats stats = read_events_osquery(in, collect_events(ev));
  EXPECT_TRUE(ev.empty());
  ASSERT_EQ(stats.unmapped_queries.size(), kMaxUnmappedQueries);
  EXPECT_EQ(stats.unmapped_queries[0], "pack/sec/q0");
  EXPECT_EQ(stats.unmapped_queries[7], "pack/sec/q7");
  const std::string reason = no_events_reason(stats);
  EXPECT_NE(reason.find("13 records"), std::string::npos) << reason;
  EXPECT_NE(reason.find("pack/sec/q0, pack/sec/q1"), std::string::npos) << reason;

  ReadStats two = stats;
  ReadStats more;
  more.records = 1;
  more.events = 1;
  more.unmapped_queries = {"pack/sec/q0", "other"};
  two.merge(more);
  EXPECT_EQ(two.records, 14);
  EXPECT_EQ(two.events, 1);
  EXPECT_EQ(two.unmapped_queries.size(), kMaxUnmappedQueries);  // no repeats, no growth
  EXPECT_EQ(no_events_reason(two), "");
  EXPECT_NE(no_events_reason(ReadStats{}).find("no records"), std::string::npos);
}

void expect_refused(const std::string& json, const std::string& needle) {
  try {
    parse_osquery_mapping(json, "map.json");
    ADD_FAILURE() << "accepted: " << json;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::parse_error) << e.what();
    const std::string what = e.what();
    EXPECT_NE(what.find("map.json"), std::string::npos) << what;
    EXPECT_NE(what.find(needle), std::string::npos) << "wanted '" << needle << "' in " << what;
  }
}

TEST(OsqueryMapping, EveryMistakeNamesItsMember) {
  const std::string rule = R"("query": "q", "column": "c", "group": "g")";
  const auto one = [&](const std::string& extra) {
    return R"({"rules": [{)" + rule + extra + "}]}";
  };
  expect_refused("{", "not valid JSON");
  expect_refused("[]", "not a JSON object");
  expect_refused(R"({"rules": []})", "no rules");
  expect_refused(R"({"rule": []})", "unknown member 'rule'");
  expect_refused(R"({"defaults": 1, "rules": []})", "\"defaults\"");
  expect_refused(R"({"rules": {}})", "no \"rules\" array");
  expect_refused(R"({"rules": [7]})", "rules[0] is not an object");
  expect_refused(R"({"rules": [{"query": "q", "group": "g"}]})", "rules[0] has no \"column\"");
  expect_refused(R"({"rules": [{"query": "", "column": "c", "group": "g"}]})", "rules[0].query");
  expect_refused(R"({"rules": [{"query": 5, "column": "c", "group": "g"}]})", "rules[0].query");
  expect_refused(R"({"rules": [{"query": "q", "column": "c", "group": "a:b"}]})", "contains ':'");
  expect_refused(one(R"(, "ipv4prefix": 24)"), "unknown member 'ipv4prefix'");
  expect_refused(one(R"(, "ipv4_prefix": 33)"), "rules[0].ipv4_prefix");
  expect_refused(one(R"(, "ipv4_prefix": -1)"), "rules[0].ipv4_prefix");
  expect_refused(one(R"(, "ipv4_prefix": 24.5)"), "rules[0].ipv4_prefix");
  expect_refused(one(R"(, "ipv4_prefix": "24")"), "rules[0].ipv4_prefix");
  expect_refused(one(R"(, "ipv6_prefix": 129)"), "rules[0].ipv6_prefix");
  expect_refused(one(R"(, "ipv6_prefix": 18446744073709551615)"), "rules[0].ipv6_prefix");
  expect_refused(one(R"(, "ignore": "0")"), "rules[0].ignore");
  expect_refused(one(R"(, "ignore": ["0", 0])"), "rules[0].ignore");
  // A control byte in a key is escaped in the one-line message.
  expect_refused(one(", \"a\\u001bb\": 1"), "unknown member 'a\\x1bb'");
}

TEST(OsqueryMapping, SizeLimits) {
  std::string many = R"({"rules": [)";
  for (std::size_t i = 0; i <= kMaxOsqueryRules; ++i) {
    many += std::string(i ? "," : "") + R"({"query":"q","column":"c","group":"g"})";
  }
  expect_refused(many + "]}", "rules, more than");
  expect_refused(std::string(kMaxOsqueryMappingBytes + 1, ' '), "bytes, more than");
  // Deep nesting is refused, not a crash.
  const std::size_t depth = 100000;
  expect_refused(std::string(depth, '[') + std::string(depth, ']'), "not a JSON object");
}

TEST(OsqueryMapping, ReadsAFileAndNamesOneItCannotOpen) {
  ::stray::testing::TempDir dir;
  const std::string path = dir.file("map.json");
  std::ofstream(path) << kSocketEvents;
  EXPECT_EQ(read_osquery_mapping(path).rules.size(), OsqueryMapping::defaults().rules.size() + 2);
  try {
    read_osquery_mapping(dir.file("missing.json"));
    ADD_FAILURE() << "no error for a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io_error);
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos) << e.what();
  }
  std::ofstream(dir.file("big.json")) << std::string(kMaxOsqueryMappingBytes + 10, ' ');
  EXPECT_THROW(read_osquery_mapping(dir.file("big.json")), Error);
}

}  // namespace
}  // namespace stray
