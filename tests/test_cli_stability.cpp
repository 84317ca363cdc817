// `stray stability` (and `stray synth --day 2`) as a user meets them: two
// days written by synth, the JSON's keys and findings against the ground
// truth, the CSV files of --out, and bad input as one line on stderr.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "cli_runner.hpp"
#include "temp_dir.hpp"

#ifdef STRAY_CLI_PATH

namespace stray {
namespace {

using ::stray::testing::slurp;

using ::stray::testing::run_cli;

class CliStability : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* day : {"1", "2"}) {
      const auto r = run_cli(std::string("synth --entities 600 --seed 4 --day ") + day +
                             " --out " + dir_.file(std::string("day") + day));
      ASSERT_EQ(r.status, 0) << r.err;
    }
  }
  std::string day(int d) const { return dir_.file("day" + std::to_string(d) + "/events.csv"); }
  nlohmann::json truth() const { return nlohmann::json::parse(slurp(dir_.file("day2/truth.json"))); }
  testing::TempDir dir_;
};

TEST_F(CliStability, JsonNamesTheDriftedHostsAndTheChurn) {
  const auto t = truth();
  EXPECT_EQ(t["day"], 2);
  const auto r = run_cli("stability --day1 " + day(1) + " --day2 " + day(2) + " --backend cpu --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"adjusted_rand", "rand", "adjusted_mutual_info", "pairs", "kept",
                          "dropped", "drifted", "moved", "n_clusters"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["kept"], 600 - static_cast<int>(t["removed"].size()));
  EXPECT_EQ(j["dropped"]["day1"], t["removed"].size());
  EXPECT_EQ(j["dropped"]["day2"], t["added"].size());
  EXPECT_TRUE(j["warning"].is_null());
  EXPECT_GT(j["adjusted_rand"].get<double>(), 0.9);
  ASSERT_FALSE(j["pairs"].empty());
  for (const auto& p : j["pairs"]) {
    EXPECT_TRUE(p.contains("jaccard") && p.contains("shift") && p.contains("day1") && p.contains("day2"));
  }
  std::set<std::string> top;
  for (std::size_t i = 0; i < 5 && i < j["drifted"].size(); ++i) {
    top.insert(j["drifted"][i]["entity"].get<std::string>());
    EXPECT_FALSE(j["drifted"][i]["features"].empty());
  }
  for (const auto& d : t["drifted"]) EXPECT_TRUE(top.count(d["entity"].get<std::string>())) << d;
}

TEST_F(CliStability, TextAndCsvFiles) {
  const std::string out = dir_.file("report");
  std::filesystem::create_directories(out);
  const auto r = run_cli("stability --day1 " + day(1) + " --day2 " + day(2) + " -k 8 --top 3 --out " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("agreement between the days: adjusted Rand"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("k = 8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("drift, the top 3"), std::string::npos) << r.out;
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(out)) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"changes.csv", "drift.csv", "moved.csv", "pairs.csv"}));
  const std::string pairs = slurp(out + "/pairs.csv");
  EXPECT_EQ(pairs.rfind("day1,day2,day1_size", 0), 0u);
  int lines = 0;
  for (char c : pairs) lines += c == '\n';
  EXPECT_EQ(lines, 9);  // header + 8 pairs
  EXPECT_EQ(slurp(out + "/drift.csv").rfind("rank,entity,", 0), 0u);
  EXPECT_EQ(slurp(out + "/changes.csv").rfind("entity,feature,change,day1,day2\n", 0), 0u);
}

TEST_F(CliStability, SynthDayTwoTruth) {
  const auto t = truth();
  EXPECT_EQ(t["drifted"].size(), 3u);
  EXPECT_TRUE(t["shifted_role"].is_string());
  EXPECT_EQ(t["removed"].size(), t["added"].size());
  const auto r = run_cli("synth --entities 50 --day 3 --out " + dir_.file("x"));
  EXPECT_EQ(r.status, 2);
}

TEST_F(CliStability, BadInputIsOneLineAndNoFiles) {
  auto r = run_cli("stability --day1 " + day(1));
  EXPECT_EQ(r.status, 2);  // --day2 is required
  r = run_cli("stability --day1 " + day(1) + " --day2 " + day(2) + " -k -1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("-k must be >= 0"), std::string::npos) << r.err;
  r = run_cli("stability --day1 " + day(1) + " --day2 " + day(2) + " --out " + dir_.file("none"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("is not a directory"), std::string::npos) << r.err;
  r = run_cli("stability --day1 " + day(1) + " --day2 " + day(2) + " --space both");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("unknown space 'both'"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

}  // namespace
}  // namespace stray

#endif  // STRAY_CLI_PATH
