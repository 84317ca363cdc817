// `stray fleet --detector` and `--cluster` as a user meets them: the JSON
// and the scores file say which detector flagged what, the table shows it,
// a saved model carries it, and a wrong name is one line on stderr.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.hpp"

#ifdef STRAY_CLI_PATH

namespace stray {
namespace {

namespace fs = std::filesystem;
using ::stray::testing::lines_of;
using ::stray::testing::run_cli;
using ::stray::testing::slurp;

class CliFleetDetectors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("stray_cli_detectors_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    ASSERT_EQ(run_cli("synth --entities 500 --seed 4 --out " + path("f")).status, 0);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// Count telemetry with density structure (three profiles, a few scattered
// entities), where LOF flags some entities the percentile rule does not.
void write_counts(const std::string& file, int64_t n) {
  std::ofstream out(file);
  out << "entity,group,feature,value\n";
  uint64_t state = 12345;
  for (int64_t e = 0; e < n; ++e) {
    for (int64_t j = 0; j < 6; ++j) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const double u = static_cast<double>(state >> 11) * 0x1.0p-53;
      const double base = (j % 3 == e % 3) ? 40.0 : 5.0;
      const double spread = e % 17 == 0 ? 30.0 : 6.0;
      out << "proc-" << e << ",syscall,s" << j << ',' << std::floor(base + spread * u) + 1.0 << '\n';
    }
  }
}

TEST_F(CliFleetDetectors, BothSaysWhichDetectorFlaggedEachFinding) {
  write_counts(path("counts.csv"), 500);
  const auto r = run_cli("fleet --events " + path("counts.csv") +
                         " --backend cpu --detector both --neighbors 15 -k 3 --json --scores " +
                         path("s.csv") + " --save-model " + path("m.model"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["detector"], "both");
  EXPECT_EQ(j["lof_neighbors"], 15);
  EXPECT_EQ(j["lof_threshold"], 1.5);
  bool lof_rule = false;
  for (const auto& f : j["findings"]) {
    ASSERT_TRUE(f.contains("lof"));
    ASSERT_TRUE(f.contains("distance"));
    for (const auto& rule : f["rules"]) {
      if (rule == "lof") {
        lof_rule = true;
        EXPECT_GT(f["lof"].get<double>(), 1.5);
      }
    }
  }
  EXPECT_TRUE(lof_rule);
  const std::string csv = slurp(path("s.csv"));
  EXPECT_EQ(csv.rfind("entity,cluster,score,outlier,fleet_rank,distance,lof,rarity\n", 0), 0u)
      << csv.substr(0, 80);
  EXPECT_EQ(lines_of(csv), 501);
  EXPECT_EQ(j["rarity"], true);
  for (const auto& f : j["findings"]) {
    EXPECT_GE(f["rarity"].get<double>(), 0.0);
    ASSERT_FALSE(f["rare_features"].empty());
    for (const auto& x : f["rare_features"]) {
      EXPECT_GT(x["fleet_share"].get<double>(), 0.0);
      EXPECT_LE(x["fleet_share"].get<double>(), 0.5);
      EXPECT_TRUE(x.contains("feature") && x.contains("value") && x.contains("unseen"));
    }
  }

  // The saved model scores with both detectors; the table has a "by" column.
  const auto t = run_cli("fleet --model " + path("m.model") + " --events " +
                         path("counts.csv") + " --backend cpu --limit 5");
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.out.find(" by "), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("or LOF (15 neighbours)"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("or value rarity in the top 2.5%"), std::string::npos) << t.out;
}

// --rarity off: the distance and LOF alone, as before value rarity; the
// scores file and the JSON say so.
TEST_F(CliFleetDetectors, RarityOffLeavesTheTwoDetectors) {
  write_counts(path("counts.csv"), 500);
  const auto r = run_cli("fleet --events " + path("counts.csv") +
                         " --backend cpu --detector both -k 3 --rarity off --json --scores " +
                         path("s.csv"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["rarity"], false);
  for (const auto& f : j["findings"]) {
    EXPECT_FALSE(f.contains("rarity"));
    EXPECT_FALSE(f.contains("rare_features"));
    for (const auto& rule : f["rules"]) EXPECT_NE(rule, "rarity");
  }
  const std::string csv = slurp(path("s.csv"));
  EXPECT_EQ(csv.rfind("entity,cluster,score,outlier,fleet_rank,distance,lof\n", 0), 0u)
      << csv.substr(0, 80);
}

TEST_F(CliFleetDetectors, AgglomerativeClustersAndNamesItsLinkage) {
  const auto r = run_cli("fleet --events " + path("f/events.csv") +
                         " --backend cpu --cluster agglomerative --linkage complete --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["clustering"], "agglomerative");
  EXPECT_EQ(j["linkage"], "complete");
  EXPECT_FALSE(j["cluster_choice"].empty());
  const auto t = run_cli("fleet --events " + path("f/events.csv") +
                         " --backend cpu --cluster agglomerative --detector lof --limit 2");
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.out.find("agglomerative (ward)"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("-> LOF (20 neighbours) beyond 1.5"), std::string::npos) << t.out;
}

TEST_F(CliFleetDetectors, WrongNamesAreOneLine) {
  for (const std::string& args : {"--detector density", "--cluster dbscan", "--linkage median",
                                  "--detector automatic", "--neighbors 0", "--rarity yes"}) {
    const auto r = run_cli("fleet --events " + path("f/events.csv") + " --backend cpu " + args +
                           " --out " + path("o.json"));
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(lines_of(r.err), 1) << args << ": " << r.err;
    EXPECT_FALSE(fs::exists(path("o.json"))) << args;
  }
  // A fitted model's detector cannot change at scoring time.
  ASSERT_EQ(run_cli("fleet --events " + path("f/events.csv") + " --backend cpu --save-model " +
                    path("m.model")).status, 0);
  const auto r = run_cli("fleet --model " + path("m.model") + " --events " +
                         path("f/events.csv") + " --detector lof");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--detector"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace stray

#endif  // STRAY_CLI_PATH
