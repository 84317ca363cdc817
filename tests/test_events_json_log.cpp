// The json-log reader: held to what Python's json module and the mapping's
// documented rules make of 3,000 random collector lines
// (tests/fixtures/json_log/, made by make_json_log_fixtures.py), on one
// thread and several, in blocks large and small; its errors; and the
// example mappings on sample lines in their collectors' documented shapes
// (tests/fixtures/json_log/samples/).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "io/events/event_blocks.hpp"
#include "stray/core/error.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

const std::string kFixtures = std::string(STRAY_FIXTURES_DIR) + "/json_log/";
const std::string kMappings = std::string(STRAY_FIXTURES_DIR) + "/../../examples/mappings/";

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

struct Read {
  std::vector<EventRecord> events;
  ReadStats stats;
};

Read read_log(const std::string& text, const JsonLogMapping& mapping, int threads = 1,
              std::size_t block_bytes = fleet::kBlockBytes) {
  EventReadOptions options;
  options.json_log = mapping;
  options.threads = threads;
  std::istringstream in(text);
  Read r;
  r.stats = fleet::read_events_json_log_blocks(in, collect_events(r.events), options, block_bytes);
  return r;
}

TEST(EventsJsonLog, ReadsAsTheReferenceDoes) {
  const JsonLogMapping mapping = read_json_log_mapping(kFixtures + "mapping.json");
  const std::string lines = file_text(kFixtures + "lines.jsonl");
  const nlohmann::json golden = nlohmann::json::parse(file_text(kFixtures + "golden.json"));
  const nlohmann::json& expected = golden["events"];
  for (const auto& [threads, block_bytes] :
       std::vector<std::pair<int, std::size_t>>{{1, fleet::kBlockBytes}, {2, 4096}, {3, 97}}) {
    SCOPED_TRACE("threads " + std::to_string(threads) + ", blocks of " +
                 std::to_string(block_bytes));
    const Read r = read_log(lines, mapping, threads, block_bytes);
    ASSERT_EQ(r.events.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const nlohmann::json& e = expected[i];
      const EventRecord want(e[1].get<std::string>(), e[2].get<std::string>(),
                             e[3].get<std::string>(), e[4].get<double>());
      ASSERT_EQ(r.events[i], want) << "event " << i << ", line " << e[0] << ": read "
                                   << r.events[i].entity << " " << r.events[i].group << ":"
                                   << r.events[i].feature << " = " << r.events[i].value;
    }
    const nlohmann::json& s = golden["stats"];
    EXPECT_EQ(r.stats.records, s["records"].get<int64_t>());
    EXPECT_EQ(r.stats.events, s["events"].get<int64_t>());
    EXPECT_EQ(r.stats.skipped, s["skipped"].get<int64_t>());
    EXPECT_EQ(r.stats.without_entity, s["without_entity"].get<int64_t>());
    EXPECT_EQ(r.stats.unmatched, s["unmatched"].get<int64_t>());
  }
}

TEST(EventsJsonLog, TheFixtureExercisesEveryOutcome) {
  const nlohmann::json golden = nlohmann::json::parse(file_text(kFixtures + "golden.json"));
  const nlohmann::json& s = golden["stats"];
  for (const char* counted : {"events", "skipped", "without_entity", "unmatched"}) {
    EXPECT_GT(s[counted].get<int64_t>(), 100) << counted;
  }
  std::set<std::string> groups;
  bool network = false, non_unit = false;
  for (const nlohmann::json& e : golden["events"]) {
    groups.insert(e[2].get<std::string>());
    network = network || e[3].get<std::string>().find("/24") != std::string::npos;
    non_unit = non_unit || e[4].get<double>() != 1.0;
  }
  EXPECT_EQ(groups.size(), 9u);
  EXPECT_TRUE(network);
  EXPECT_TRUE(non_unit);
}

JsonLogMapping small_mapping() {
  return parse_json_log_mapping(R"({"entity": "/h", "rules": [
      {"field": "/f", "group": "g", "value": "/v"}]})");
}

// The error reading `text` through small_mapping(), with its code.
std::string read_error(const std::string& text, ErrorCode code = ErrorCode::parse_error) {
  try {
    EventReadOptions options;
    options.json_log = small_mapping();
    options.source_name = "x.jsonl";
    options.max_line_bytes = 64;
    std::istringstream in(text);
    read_events_json_log(in, [](const Event&) {}, options);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  return "";
}

TEST(EventsJsonLog, MalformedLinesAreErrorsNamingTheLine) {
  const std::string ok = R"({"h": "a", "f": "x"})";
  EXPECT_EQ(read_error(ok + "\n"), "");
  EXPECT_NE(read_error(ok + "\n[1, 2]\n").find("x.jsonl line 2: expected a JSON object"),
            std::string::npos);
  EXPECT_NE(read_error(ok + "\n\n{\"h\": \"a\",}\n").find("x.jsonl line 3: invalid JSON"),
            std::string::npos);
  EXPECT_NE(read_error(R"({"h": "a", "f": "x", "v": "2"})").find(
                "line 1: the value member '/v' is not a number: it is string"),
            std::string::npos);
  EXPECT_NE(read_error(R"({"h": "a", "f": "x", "v": 1e999})", ErrorCode::non_finite_input)
                .find("is not a finite double"),
            std::string::npos);
  EXPECT_NE(read_error(ok + "\n{\"h\": \"" + std::string(100, 'a') + "\"}\n")
                .find("line 2: line longer than 64 bytes"),
            std::string::npos);
}

TEST(EventsJsonLog, NeedsAValidMapping) {
  EventReadOptions options;
  std::istringstream in("{}\n");
  try {
    read_events_json_log(in, [](const Event&) {}, options);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("needs a mapping"), std::string::npos) << e.what();
  }
  options.json_log = small_mapping();
  options.json_log.rules[0].group = "a:b";
  EXPECT_THROW(read_events_json_log(in, [](const Event&) {}, options), Error);
}

TEST(EventsJsonLog, ANullValueMemberCountsOne) {
  const Read r = read_log(R"({"h": "a", "f": "x", "v": null})"
                          "\n"
                          R"({"h": "a", "f": "y", "v": 2.5})"
                          "\n",
                          small_mapping());
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].value, 1.0);
  EXPECT_EQ(r.events[1].value, 2.5);
}

TEST(EventsJsonLog, SaysWhyNothingWasRead) {
  const Read none = read_log(R"({"host": "a", "f": "x"})"
                             "\n"
                             R"({"h": "a", "g": "x"})"
                             "\n",
                             parse_json_log_mapping(R"({"entity": "/h", "rules": [
                                 {"when": {"/k": 1}, "field": "/f", "group": "g"}]})"));
  EXPECT_EQ(none.stats.events, 0);
  EXPECT_EQ(none.stats.without_entity, 1);
  EXPECT_EQ(none.stats.unmatched, 1);
  EXPECT_EQ(no_events_reason(none.stats),
            "2 records, none of them an event: 1 without any of the JSON log mapping's entity "
            "members, 1 that no rule of it matched");
}

TEST(EventsJsonLog, IsAFormatToReadNotToWrite) {
  EXPECT_EQ(parse_event_format("json-log"), EventFormat::json_log);
  EXPECT_EQ(std::string(to_string(EventFormat::json_log)), "json-log");
  std::ostringstream out;
  EXPECT_THROW(EventWriter(out, EventFormat::json_log), Error);
}

// ---- the example mappings, on lines in their collectors' shapes ---------
// (tests/fixtures/json_log/samples/, a file per mapping of examples/mappings/)

// "entity group:feature" of the events the sample log of `name` reads as
// through the example mapping of that name.
std::vector<std::string> features_of(const std::string& name) {
  const Read r = read_log(file_text(kFixtures + "samples/" + name + ".jsonl"),
                          read_json_log_mapping(kMappings + name + ".json"));
  std::vector<std::string> out;
  for (const EventRecord& e : r.events) {
    out.push_back(e.entity + " " + e.group + ":" + e.feature);
  }
  return out;
}

TEST(EventsJsonLog, SysmonThroughNxlog) {
  EXPECT_EQ(features_of("sysmon-nxlog"),
            (std::vector<std::string>{
                "WORKSTATION5.theshire.local event:Microsoft-Windows-Sysmon:1",
                "WORKSTATION5.theshire.local process:powershell.exe",
                "WORKSTATION5.theshire.local event:Microsoft-Windows-Sysmon:3",
                "WORKSTATION5.theshire.local net.remote:445",
                "WORKSTATION5.theshire.local net.remote_net:10.0.1.0/24",
                "WORKSTATION5.theshire.local event:Microsoft-Windows-Sysmon:11",
                "WORKSTATION5.theshire.local file.ext:.ps1",
                // An inbound connection: no remote port or network.
                "WORKSTATION5.theshire.local event:Microsoft-Windows-Sysmon:3",
                "MORDORDC.theshire.local event:Microsoft-Windows-Security-Auditing:4624"}));
}

TEST(EventsJsonLog, Falco) {
  EXPECT_EQ(features_of("falco"),
            (std::vector<std::string>{
                "node-1:lab9-target alert:Terminal shell in container",
                "node-1:lab9-target process:sh",
                "node-2 alert:Unexpected outbound connection", "node-2 process:nc",
                "node-2 net.remote:4444", "node-2 net.remote_net:203.0.113.0/24"}));
}

TEST(EventsJsonLog, Tetragon) {
  EXPECT_EQ(features_of("tetragon"),
            (std::vector<std::string>{"nginx-deployment-6c8b449b8f-tpz4h process:nginx",
                                      "xwing net.remote:443",
                                      "xwing net.remote_net:35.163.232.0/24",
                                      "kind-control-plane process:kubelet"}));
}

TEST(EventsJsonLog, ElasticCommonSchema) {
  EXPECT_EQ(features_of("ecs"),
            (std::vector<std::string>{"web-1 process:curl", "web-1 net.remote:8443",
                                      "web-1 net.remote_net:2001:db8:5:6::/64",
                                      "web-2 file.ext:.sh", "web-2 package:lua5.3"}));
}

TEST(EventsJsonLog, AuditbeatAuditd) {
  // The last line is another Auditbeat module's: no rule of this mapping.
  EXPECT_EQ(features_of("auditbeat"),
            (std::vector<std::string>{"web-1 syscall:execve", "web-1 process:curl",
                                      "web-1 syscall:connect",
                                      "web-1 net.remote:8080",
                                      "web-1 net.remote_net:198.51.100.0/24",
                                      "web-2 syscall:openat", "web-2 file:/etc/shadow"}));
}

TEST(EventsJsonLog, KubernetesAudit) {
  EXPECT_EQ(features_of("k8s-audit"),
            (std::vector<std::string>{
                "alice@example.com api:create:pods",
                "alice@example.com api.subresource:create:pods:exec",
                "alice@example.com namespace:shop",
                "alice@example.com net.remote_net:198.51.100.0/24",
                "alice@example.com net.remote_net:10.0.0.0/24",
                "system:serviceaccount:shop:web api:list:secrets",
                "system:serviceaccount:shop:web net.remote_net:10.244.1.0/24",
                "system:serviceaccount:shop:web denied:list:secrets"}));
}

}  // namespace
}  // namespace stray
