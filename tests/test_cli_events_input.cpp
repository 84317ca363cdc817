// `stray fleet` on compressed event files and on standard input, as a user
// meets it: the same scores from events.csv, events.csv.gz and zstd on
// standard input; a format told by the first line or asked for with
// --format; and broken input as one line on stderr naming the file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "temp_dir.hpp"

#ifdef STRAY_CLI_PATH

namespace stray {
namespace {

using ::stray::testing::slurp;
using ::stray::testing::lines_of;

using ::stray::testing::run_cli;
using ::stray::testing::TempDir;

class FleetInput : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto r = run_cli("synth --entities 400 --seed 3 --out " + dir.file("fleet"));
    ASSERT_EQ(r.status, 0) << r.err;
    csv = dir.file("fleet/events.csv");
    // The system's gzip and zstd, as a user would compress the file.
    ASSERT_EQ(std::system(("gzip -c " + csv + " > " + csv + ".gz").c_str()), 0);
    ASSERT_EQ(std::system(("zstd -q -c " + csv + " > " + dir.file("events.zst")).c_str()), 0);
  }
  // Scores CSV of `stray fleet <args>`.
  std::string scores(const std::string& args) {
    const std::string out = dir.file("scores-" + std::to_string(runs++) + ".csv");
    const auto r = run_cli("fleet " + args + " -k 4 --scores " + out);
    EXPECT_EQ(r.status, 0) << r.err;
    return slurp(out);
  }

  TempDir dir;
  std::string csv;
  int runs = 0;
};

TEST_F(FleetInput, CompressedFilesAndStandardInputGiveTheSameScores) {
  const std::string plain = scores("--events " + csv);
  ASSERT_GT(lines_of(plain), 400);
  EXPECT_EQ(scores("--events " + csv + ".gz"), plain);
  EXPECT_EQ(scores("--events - < " + csv), plain);            // the header tells csv
  EXPECT_EQ(scores("--events - < " + dir.file("events.zst")), plain);
  EXPECT_EQ(scores("--events - --format csv < " + csv + ".gz"), plain);
  // events.zst has no format in its name: its first line tells.
  EXPECT_EQ(scores("--events " + dir.file("events.zst")), plain);
}

TEST_F(FleetInput, UnknownFormatOnStandardInputAsksForFormat) {
  const std::string odd = dir.file("odd.txt");
  std::ofstream(odd) << "host,package\nweb-1,nginx\n";
  const auto r = run_cli("fleet --events - < " + odd);
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("standard input"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--format"), std::string::npos) << r.err;
  // A file whose name and first line do not tell: stopped before any work.
  const auto f = run_cli("fleet --events " + odd);
  EXPECT_NE(f.status, 0);
  EXPECT_NE(f.err.find(odd), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("--format"), std::string::npos) << f.err;
}

TEST_F(FleetInput, StandardInputOnlyOnce) {
  const auto r = run_cli("fleet --baseline - --events - < " + csv);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("only once"), std::string::npos) << r.err;
}

TEST_F(FleetInput, BrokenCompressedFileNamesIt) {
  const std::string gz = slurp(csv + ".gz");
  const std::string cut = dir.file("cut.csv.gz");
  std::ofstream(cut, std::ios::binary) << gz.substr(0, gz.size() / 2);
  const auto r = run_cli("fleet --events " + cut);
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(cut), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
}

// An osquery log read through a mapping file: the defaults kept by
// "defaults": true give the default's scores; a mapping of packages alone
// reads fewer features; a broken mapping stops the run with one line naming
// the member, before anything is written.
TEST_F(FleetInput, OsqueryMappingFile) {
  const auto synth = run_cli("synth --entities 400 --seed 3 --format osquery --out " +
                             dir.file("osq"));
  ASSERT_EQ(synth.status, 0) << synth.err;
  const std::string log = dir.file("osq/events.log");
  const std::string keep = dir.file("keep.json"), packages = dir.file("packages.json"),
                    broken = dir.file("broken.json");
  std::ofstream(keep) << R"({"defaults": true, "rules": []})";
  std::ofstream(packages)
      << R"({"rules": [{"query": "deb_packages", "column": "name", "group": "package"}]})";
  std::ofstream(broken) << R"({"rules": [{"query": "q", "column": "c", "group": "g",)"
                        << R"( "ipv4_prefix": 40}]})";
  const std::string plain = scores("--events " + log);
  ASSERT_GT(lines_of(plain), 400);
  EXPECT_EQ(scores("--events " + log + " --osquery-map " + keep), plain);

  const auto features = [&](const std::string& extra) {
    const auto r = run_cli("fleet --events " + log + " -k 4 --json" + extra);
    EXPECT_EQ(r.status, 0) << r.err;
    return nlohmann::json::parse(r.out)["features"].get<int64_t>();
  };
  const int64_t all = features(""), only_packages = features(" --osquery-map " + packages);
  EXPECT_GT(only_packages, 10);
  EXPECT_LT(only_packages, all);

  const std::string out = dir.file("never.csv");
  const auto r = run_cli("fleet --events " + log + " --osquery-map " + broken + " --scores " + out);
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("rules[0].ipv4_prefix"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(broken), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  // A mapping that knows none of the log's queries: said so, with their names.
  const std::string other = dir.file("other.json");
  std::ofstream(other) << R"({"rules": [{"query": "shell_history", "column": "command",)"
                       << R"( "group": "command"}]})";
  const auto none = run_cli("fleet --events " + log + " --osquery-map " + other);
  EXPECT_NE(none.status, 0);
  EXPECT_EQ(lines_of(none.err), 1) << none.err;
  EXPECT_NE(none.err.find("no osquery mapping rule knows their queries"), std::string::npos)
      << none.err;
  EXPECT_NE(none.err.find("deb_packages"), std::string::npos) << none.err;
  const auto day = run_cli("stability --day1 " + log + " --day2 " + log + " -k 3 --osquery-map " +
                           broken);
  EXPECT_NE(day.status, 0);
  EXPECT_NE(day.err.find("rules[0].ipv4_prefix"), std::string::npos) << day.err;
}

// The synthetic fleet's events as a collector's JSON log, nested and
// named its own way, with the mapping that reads them back.
void write_as_json_log(const std::string& csv, const std::string& log, const std::string& map) {
  std::ifstream in(csv);
  std::ofstream out(log);
  std::string line;
  std::getline(in, line);  // the header
  std::set<std::string> groups;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string field; std::getline(fields, field, ',');) f.push_back(field);
    ASSERT_EQ(f.size(), 4u) << line;
    groups.insert(f[1]);
    out << nlohmann::json{{"host", {{"name", f[0]}}}, {"kind", f[1]},
                          {"seen", {{"what", f[2]}, {"n", std::stod(f[3])}}}}
               .dump()
        << "\n";
  }
  nlohmann::json rules = nlohmann::json::array();
  for (const std::string& g : groups) {
    rules.push_back({{"when", {{"/kind", g}}}, {"field", "/seen/what"}, {"group", g},
                     {"value", "/seen/n"}});
  }
  std::ofstream(map) << nlohmann::json{{"entity", "/host/name"}, {"rules", rules}}.dump();
}

// A JSON log read through --json-map reads as the same events in CSV do:
// the same scores, from fleet and from stability; mistakes are one line on
// stderr, before anything is written.
TEST_F(FleetInput, JsonLogThroughAMapping) {
  const std::string log = dir.file("fleet.log.jsonl"), map = dir.file("map.json");
  write_as_json_log(csv, log, map);
  const std::string plain = scores("--events " + csv);
  ASSERT_GT(lines_of(plain), 400);
  EXPECT_EQ(scores("--events " + log + " --json-map " + map), plain);
  EXPECT_EQ(scores("--events - --format json-log --json-map " + map + " < " + log), plain);
  const auto day = run_cli("stability --day1 " + log + " --day2 " + log + " -k 4 --json-map " +
                           map + " --json");
  EXPECT_EQ(day.status, 0) << day.err;

  const std::string out = dir.file("never.csv");
  const auto refused = [&](const std::string& args, const std::string& message) {
    const auto r = run_cli(args + " --scores " + out);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(lines_of(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
  };
  refused("fleet --events " + log + " --format json-log", "--format json-log needs --json-map");
  refused("fleet --events " + log + " --format csv --json-map " + map,
          "--json-map reads JSON logs; --format csv does not apply");
  const std::string broken = dir.file("broken.json");
  std::ofstream(broken) << R"({"entity": "/host/name", "rules": [{"field": "/seen/what",)"
                        << R"( "group": "g", "part": "stem"}]})";
  refused("fleet --events " + log + " --json-map " + broken, "rules[0].part is not");
  const std::string elsewhere = dir.file("elsewhere.json");
  std::ofstream(elsewhere) << R"({"entity": "/hostname", "rules": [{"field": "/seen/what",)"
                           << R"( "group": "g"}]})";
  refused("fleet --events " + log + " --json-map " + elsewhere,
          "without any of the JSON log mapping's entity members");
}

// `stray events` shows what a mapping reads: the synthetic fleet's JSON log
// comes back as the very CSV it was made from; --head stops early; a log
// the mapping reads nothing of is one line on stderr.
TEST_F(FleetInput, EventsCommandWritesWhatAMappingReads) {
  const std::string log = dir.file("fleet.log.jsonl"), map = dir.file("map.json");
  write_as_json_log(csv, log, map);
  const std::string back = dir.file("back.csv");
  const auto r = run_cli("events --events " + log + " --json-map " + map + " --out " + back);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(slurp(back), slurp(csv));
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("records -> "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("events of 5 groups and 400 entities"), std::string::npos) << r.err;

  const auto head = run_cli("events --events " + log + " --json-map " + map +
                            " --head 3 --out-format jsonl");
  ASSERT_EQ(head.status, 0) << head.err;
  EXPECT_EQ(lines_of(head.out), 3) << head.out;
  EXPECT_EQ(head.out.rfind("{\"entity\":", 0), 0u) << head.out;
  EXPECT_NE(head.err.find("the first 3 events"), std::string::npos) << head.err;

  const std::string elsewhere = dir.file("elsewhere.json");
  std::ofstream(elsewhere) << R"({"entity": "/hostname", "rules": [{"field": "/seen/what",)"
                           << R"( "group": "g"}]})";
  const std::string never = dir.file("never.csv");
  const auto none =
      run_cli("events --events " + log + " --json-map " + elsewhere + " --out " + never);
  EXPECT_NE(none.status, 0);
  EXPECT_EQ(lines_of(none.err), 1) << none.err;
  EXPECT_NE(none.err.find("events: no events in " + log), std::string::npos) << none.err;
  EXPECT_FALSE(std::filesystem::exists(never));
}

// --ephemeral-ports: high ports of the port groups are one feature by
// default, every port its own with 0; a fit option, so refused with --model.
TEST_F(FleetInput, EphemeralPortsOption) {
  const std::string events = dir.file("ports.csv");
  {
    std::ofstream out(events);
    out << "entity,group,feature,value\n";
    for (int h = 0; h < 40; ++h) {
      out << "web-" << h << ",net.port,443,1\n";
      out << "web-" << h << ",net.remote," << 40000 + 97 * h << ",1\n";
      out << "web-" << h << ",package," << (h % 2 ? "nginx" : "postgres") << ",1\n";
    }
  }
  const auto features = [&](const std::string& extra) {
    const auto r = run_cli("fleet --events " + events + " -k 2 --json" + extra);
    EXPECT_EQ(r.status, 0) << r.err;
    return r.status == 0 ? nlohmann::json::parse(r.out)["features"].get<int64_t>() : -1;
  };
  EXPECT_EQ(features(""), 4);  // 443, ephemeral, nginx, postgres
  EXPECT_EQ(features(" --ephemeral-ports 0"), 43);
  EXPECT_EQ(features(" --ephemeral-ports 60000"), 43);
  const auto bad = run_cli("fleet --events " + events + " --ephemeral-ports 65536");
  EXPECT_NE(bad.status, 0);
  EXPECT_EQ(lines_of(bad.err), 1) << bad.err;
  const std::string model = dir.file("ports.model");
  ASSERT_EQ(run_cli("fleet --events " + events + " -k 2 --save-model " + model).status, 0);
  const auto refit = run_cli("fleet --model " + model + " --events " + events +
                             " --ephemeral-ports 0");
  EXPECT_NE(refit.status, 0);
  EXPECT_NE(refit.err.find("--ephemeral-ports"), std::string::npos) << refit.err;
}

}  // namespace
}  // namespace stray

#endif  // STRAY_CLI_PATH
