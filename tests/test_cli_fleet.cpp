// `stray fleet`, `stray synth` and `stray demo` as a user meets them: files
// written, JSON shapes, baseline and model round trips, and bad input as one
// line on stderr, a non-zero exit and no output file.
#include <gtest/gtest.h>

#include "cli_runner.hpp"
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "stray/fleet/pipeline.hpp"

#ifdef STRAY_CLI_PATH

namespace stray {
namespace {

using ::stray::testing::slurp;
using ::stray::testing::lines_of;

namespace fs = std::filesystem;

using RunResult = ::stray::testing::CliRun;
using ::stray::testing::run_cli;

class CliFleet : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("stray_cli_fleet_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::set<std::string> files() const {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) {
      out.insert(fs::relative(e.path(), dir_).string());
    }
    return out;
  }
  fs::path dir_;
};

TEST_F(CliFleet, SynthThenFleetFindsTheGroundTruth) {
  RunResult r = run_cli("synth --entities 2000 --seed 3 --per-kind 1 --out " + path("fleet") +
                        " --format jsonl --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto s = nlohmann::json::parse(r.out);
  EXPECT_EQ(s["entities"], 2000);
  EXPECT_EQ(s["anomalies"], 6);
  EXPECT_EQ(files(), (std::set<std::string>{"fleet", "fleet/events.jsonl", "fleet/truth.json"}));
  const auto truth = nlohmann::json::parse(slurp(path("fleet/truth.json")));
  ASSERT_EQ(truth["anomalies"].size(), 6u);

  r = run_cli("fleet --events " + path("fleet/events.jsonl") + " --backend cpu --json --out " +
              path("findings.json") + " --scores " + path("scores.csv"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["entities"], 2000);
  EXPECT_EQ(j["fitted_on"], "events");
  EXPECT_EQ(nlohmann::json::parse(slurp(path("findings.json"))), j);
  std::set<std::string> flagged;
  std::map<std::string, std::string> first;
  for (const auto& f : j["findings"]) {
    flagged.insert(f["entity"].get<std::string>());
    ASSERT_FALSE(f["features"].empty());
    first[f["entity"].get<std::string>()] = f["features"][0]["feature"].get<std::string>();
    for (const char* key : {"cluster", "score", "rank", "rules"}) EXPECT_TRUE(f.contains(key));
  }
  for (const auto& a : truth["anomalies"]) {
    const std::string e = a["entity"].get<std::string>();
    EXPECT_TRUE(flagged.count(e)) << e;
    bool signature = false;
    for (const auto& s : a["signature"]) signature |= s["feature"].get<std::string>() == first[e];
    EXPECT_TRUE(signature) << e << " " << first[e];
  }
  const std::string csv = slurp(path("scores.csv"));
  // The synthetic fleet is event telemetry: the automatic detector is
  // both, and rarity is on; the three scores follow the one findings rank by.
  EXPECT_EQ(csv.rfind("entity,cluster,score,outlier,fleet_rank,distance,lof,rarity\n", 0), 0u);
  EXPECT_EQ(lines_of(csv), 2001);
  int outliers = 0;
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string field;
    for (int i = 0; i < 4; ++i) std::getline(fields, field, ',');
    outliers += field == "1";
  }
  EXPECT_EQ(outliers, static_cast<int>(j["findings"].size()));
}

TEST_F(CliFleet, TableOnStdout) {
  ASSERT_EQ(run_cli("synth --entities 600 --seed 1 --out " + path("f")).status, 0);
  const RunResult r = run_cli("fleet --events " + path("f/events.csv") + " --backend cpu --limit 3");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("findings:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("top features"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("... and"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("defining features"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;  // no progress line when stderr is not a terminal
}

// Every cluster has a profile in the JSON, sizes add up to the fleet, and
// the k scan says what it tried.
TEST_F(CliFleet, ClusterProfilesAndTheKCurveInJson) {
  ASSERT_EQ(run_cli("synth --entities 600 --seed 3 --out " + path("f")).status, 0);
  const RunResult r = run_cli("fleet --events " + path("f/events.csv") + " --backend cpu --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["cluster_profiles"].size(), j["clusters"].get<std::size_t>());
  int64_t total = 0;
  for (const auto& p : j["cluster_profiles"]) {
    total += p["size"].get<int64_t>();
    ASSERT_FALSE(p["defining"].empty());
    const auto& f = p["defining"][0];
    EXPECT_GT(f["members"].get<double>(), f["others"].get<double>());
  }
  EXPECT_EQ(total, 600);
  ASSERT_FALSE(j["cluster_choice"].empty());
  for (const auto& c : j["cluster_choice"]) EXPECT_TRUE(c.contains("inertia"));
}

TEST_F(CliFleet, BaselineSaveModelAndScoreGiveTheSameScores) {
  ASSERT_EQ(run_cli("synth --entities 1500 --seed 1 --per-kind 0 --out " + path("base")).status, 0);
  ASSERT_EQ(run_cli("synth --entities 1500 --seed 2 --per-kind 1 --out " + path("new")).status, 0);
  RunResult r = run_cli("fleet --baseline " + path("base/events.csv") + " --events " +
                        path("new/events.csv") + " --backend cpu --save-model " + path("m.model") +
                        " --scores " + path("a.csv") + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["fitted_on"], "baseline");
  EXPECT_GT(j["unseen_features"].get<int>(), 0);
  bool unseen_first = false;
  for (const auto& f : j["findings"]) {
    if (f["features"][0]["feature"] == "package:lua5.3") {
      unseen_first = f["features"][0]["unseen"].get<bool>();
    }
  }
  EXPECT_TRUE(unseen_first);
  const std::string header = "stray-fleet-model " + std::to_string(kFleetModelVersion) + " ";
  EXPECT_EQ(slurp(path("m.model")).rfind(header, 0), 0u);

  r = run_cli("fleet --model " + path("m.model") + " --events " + path("new/events.csv") +
              " --backend cpu --scores " + path("b.csv"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("scored with a saved model"), std::string::npos);
  EXPECT_EQ(slurp(path("a.csv")), slurp(path("b.csv")));

  // Options that shape the fit cannot change with --model.
  r = run_cli("fleet --model " + path("m.model") + " --events " + path("new/events.csv") +
              " --pca 8");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--pca"), std::string::npos) << r.err;
  EXPECT_EQ(lines_of(r.err), 1);
}

// --shrinkage shapes the fit: it is in the JSON's parameters and in the
// model, so scoring with the saved model gives the fit's scores again.
TEST_F(CliFleet, ShrinkageIsKeptInTheModel) {
  ASSERT_EQ(run_cli("synth --entities 800 --seed 1 --per-kind 0 --out " + path("base")).status, 0);
  ASSERT_EQ(run_cli("synth --entities 800 --seed 2 --per-kind 1 --out " + path("new")).status, 0);
  const std::string events = " --events " + path("new/events.csv") + " --backend cpu";
  RunResult r = run_cli("fleet --baseline " + path("base/events.csv") + events +
                        " --shrinkage 5 --save-model " + path("m.model") + " --scores " +
                        path("a.csv") + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["shrinkage"], 5.0);
  r = run_cli("fleet --model " + path("m.model") + events + " --scores " + path("b.csv"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(slurp(path("a.csv")), slurp(path("b.csv")));
  // Without shrinkage the scores differ: the option reached the score.
  r = run_cli("fleet --baseline " + path("base/events.csv") + events + " --scores " +
              path("c.csv"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(slurp(path("a.csv")), slurp(path("c.csv")));
  // It cannot change with --model.
  r = run_cli("fleet --model " + path("m.model") + events + " --shrinkage 1");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--shrinkage"), std::string::npos) << r.err;
}

TEST_F(CliFleet, BadShrinkageIsOneLine) {
  ASSERT_EQ(run_cli("synth --entities 200 --seed 1 --out " + path("f")).status, 0);
  for (const char* bad : {"-1", "nan", "inf", "abc", "2x", ""}) {
    const RunResult r = run_cli("fleet --events " + path("f/events.csv") + " --shrinkage '" +
                                bad + "'");
    EXPECT_NE(r.status, 0) << bad;
    EXPECT_EQ(lines_of(r.err), 1) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("shrinkage"), std::string::npos) << bad << ": " << r.err;
  }
}

TEST_F(CliFleet, DemoFindsEveryInjectedAnomaly) {
  RunResult r = run_cli("demo --entities 2000 --seed 2 --backend cpu --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["recall"]["injected"], 12);
  EXPECT_EQ(j["recall"]["flagged"], 12);
  EXPECT_EQ(j["recall"]["signature_first"], 12);

  r = run_cli("demo --entities 2000 --seed 2 --backend cpu --show 5");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("recall: 12 of 12 injected anomalies flagged, 12 of them explained by "
                       "their signature first"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("package:lua5.3 +"), std::string::npos) << r.out;
}

TEST_F(CliFleet, BadInputIsOneLineAndNothingWritten) {
  {
    std::ofstream bad(path("bad.csv"));
    bad << "entity,group,feature,value\nweb-1,package,nginx,1\nweb-2,package,\"nginx,1\n";
  }
  RunResult r = run_cli("fleet --events " + path("bad.csv") + " --out " + path("f.json") +
                        " --scores " + path("s.csv") + " --save-model " + path("m.model"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("bad.csv"), std::string::npos) << r.err;
  EXPECT_EQ(files(), std::set<std::string>{"bad.csv"});

  // A corrupt model: one line naming the problem.
  {
    std::ofstream m(path("m.model"));
    m << "stray-fleet-model 1 100 00000000\n{\"truncated\":";
  }
  {
    std::ofstream ok(path("ok.csv"));
    ok << "entity,feature\na,x\nb,y\n";
  }
  r = run_cli("fleet --model " + path("m.model") + " --events " + path("ok.csv") + " --out " +
              path("f.json"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("f.json")));

  // Unknown format, unknown normalisation, a single entity.
  r = run_cli("fleet --events " + path("ok.csv") + " --format xml");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  r = run_cli("fleet --events " + path("ok.csv") + " --normalize package=sqrt");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  {
    std::ofstream one(path("one.csv"));
    one << "entity,feature\na,x\n";
  }
  r = run_cli("fleet --events " + path("one.csv"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("at least two entities"), std::string::npos) << r.err;

  // A group no event has (a typo) and more clusters than entities: errors
  // that say what to fix, not silent defaults.
  r = run_cli("fleet --events " + path("ok.csv") + " --normalize packages=binary");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("'packages'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("groups present"), std::string::npos) << r.err;
  r = run_cli("fleet --events " + path("ok.csv") + " -k 3");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("more than the 2 entities"), std::string::npos) << r.err;

  // synth into a path that is a file.
  r = run_cli("synth --entities 10 --out " + path("ok.csv"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
}

// Entity and feature names are whatever the event source wrote: an escape
// sequence or a byte that is not UTF-8 shows escaped in the table, leaves the
// JSON valid and stays as it was in the scores CSV.
TEST_F(CliFleet, HostileNamesAreEscapedNotObeyed) {
  {
    std::ofstream f(path("f.csv"), std::ios::binary);
    f << "entity,group,feature,value\n";
    for (int i = 0; i < 40; ++i) {
      for (const char* p : {"a", "b", "c"}) f << "web-" << i << ",package," << p << ",1\n";
    }
    for (const char* p : {"a", "b", "c", "evil\x1b[31m"}) {
      f << "\"web\x1b[31m,x\",package," << p << ",1\n";
    }
    for (const char* p : {"a", "b", "zz"}) f << "db-\xff,package," << p << ",1\n";
  }
  RunResult r = run_cli("fleet --events " + path("f.csv") + " --backend cpu --top 1");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\xff'), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("web\\x1b[31m,x"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("db-\\xff"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("package:evil\\x1b[31m +1.000"), std::string::npos) << r.out;

  r = run_cli("fleet --events " + path("f.csv") + " --backend cpu --top 1 --json --scores " +
              path("s.csv"));
  ASSERT_EQ(r.status, 0) << r.err;
  std::set<std::string> flagged;
  const auto j = nlohmann::json::parse(r.out);
  for (const auto& f : j["findings"]) flagged.insert(f["entity"].get<std::string>());
  EXPECT_TRUE(flagged.count("web\x1b[31m,x"));
  EXPECT_TRUE(flagged.count("db-\xef\xbf\xbd"));  // U+FFFD for the byte
  const std::string csv = slurp(path("s.csv"));
  EXPECT_NE(csv.find("\n\"web\x1b[31m,x\","), std::string::npos) << csv;
  EXPECT_NE(csv.find("\ndb-\xff,"), std::string::npos) << csv;
}

TEST_F(CliFleet, HelpNamesTheFlags) {
  const RunResult r = run_cli("fleet --help");
  ASSERT_EQ(r.status, 0);
  for (const char* flag : {"--events", "--baseline", "--model", "--save-model", "--format",
                           "--normalize", "--pca", "--clusters", "--percentile", "--top",
                           "--mode", "--backend", "--json", "--out", "--scores"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace stray

#endif  // STRAY_CLI_PATH
