// `stray compare` and `stray match` end to end: .npy and CSV labels (joined
// on the entity), the JSON keys and values against the library, text
// output, and every bad input as one line on stderr with a non-zero status.
#include <gtest/gtest.h>

#ifdef STRAY_CLI_PATH
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "metrics_lcg.hpp"
#include "stray/io/npy.hpp"
#include "stray/metrics/assignment.hpp"
#include "stray/metrics/label_scores.hpp"
#include "stray/metrics/metrics.hpp"
#include "temp_dir.hpp"

namespace {

using nlohmann::json;
using stray::testing::run_cli;
using stray::testing::TempDir;
using stray::testing::write_bytes;

/// The run failed with exactly one line on stderr that holds `fragment`.
void expect_one_line_error(const stray::testing::CliRun& r, const std::string& fragment) {
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(r.out.empty()) << r.out;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
}

TEST(CliMetrics, CompareNpyGivesEveryScoreOfTheLibrary) {
  TempDir dir;
  const auto truth = stray::testing::lcg_labels("skewed", 3000, 6, 41);
  const auto pred64 = stray::testing::lcg_labels("uniform", 3000, 4, 42);
  const std::vector<int32_t> pred(pred64.begin(), pred64.end());  // another int width
  stray::write_npy(dir.file("truth.npy"), truth);
  stray::write_npy(dir.file("pred.npy"), pred);
  const auto r = run_cli("compare --labels " + dir.file("pred.npy") + " --truth " +
                         dir.file("truth.npy") + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  const stray::LabelScores s = stray::compare_labelings(truth, pred64);
  EXPECT_EQ(j["rand"].get<double>(), s.rand);
  EXPECT_EQ(j["adjusted_rand"].get<double>(), s.adjusted_rand);
  EXPECT_EQ(j["mutual_info"].get<double>(), s.mutual_info);
  EXPECT_EQ(j["normalized_mutual_info"].get<double>(), s.normalized_mutual_info);
  EXPECT_EQ(j["adjusted_mutual_info"].get<double>(), s.adjusted_mutual_info);
  EXPECT_EQ(j["homogeneity"].get<double>(), s.homogeneity);
  EXPECT_EQ(j["completeness"].get<double>(), s.completeness);
  EXPECT_EQ(j["v_measure"].get<double>(), s.v_measure);
  EXPECT_EQ(j["n_entities"].get<int64_t>(), 3000);
  EXPECT_EQ(j["n_clusters"].get<int64_t>(), 4);
  EXPECT_EQ(j["n_classes"].get<int64_t>(), 6);

  const auto text = run_cli("compare --labels " + dir.file("pred.npy") + " --truth " +
                            dir.file("truth.npy"));
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("3000 entities"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("adjusted MI"), std::string::npos) << text.out;
}

TEST(CliMetrics, CompareReadsNarrowIntegerNpy) {
  // The reader widens int16 and uint8 files: int16 against itself scores 1;
  // against the uint8 file, whose length differs, it is an error.
  const std::string i2 = std::string(STRAY_FIXTURES_DIR) + "/npy/i2_3.npy";
  const std::string u1 = std::string(STRAY_FIXTURES_DIR) + "/npy/u1_4.npy";
  const auto same = run_cli("compare --labels " + i2 + " --truth " + i2 + " --json");
  ASSERT_EQ(same.status, 0) << same.err;
  EXPECT_EQ(json::parse(same.out)["adjusted_rand"].get<double>(), 1.0);
  expect_one_line_error(run_cli("compare --labels " + i2 + " --truth " + u1), "3 labels");
}

TEST(CliMetrics, CompareCsvJoinsOnTheEntity) {
  TempDir dir;
  // web-3 has no truth, db-9 no cluster; order differs between the files.
  write_bytes(dir.file("clusters.csv"),
              "entity,label\nweb-1,0\nweb-2,0\n\"db,1\",1\nweb-3,0\ndb-2,1\ncache-1,2\r\n");
  write_bytes(dir.file("images.csv"),
              "label,entity,tag\nnginx,web-2,x\npostgres,db-2,y\nnginx,web-1,x\n"
              "postgres,\"db,1\",y\nredis,cache-1,z\npostgres,db-9,y\n");
  const auto r = run_cli("compare --labels " + dir.file("clusters.csv") + " --truth " +
                         dir.file("images.csv") + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["n_entities"].get<int64_t>(), 5);
  EXPECT_EQ(j["only_in_labels"].get<int64_t>(), 1);
  EXPECT_EQ(j["only_in_truth"].get<int64_t>(), 1);
  EXPECT_EQ(j["adjusted_rand"].get<double>(), 1.0);
  EXPECT_EQ(j["v_measure"].get<double>(), 1.0);

  const auto text = run_cli("compare --labels " + dir.file("clusters.csv") + " --truth " +
                            dir.file("images.csv"));
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("5 entities"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("1 only in"), std::string::npos) << text.out;
}

TEST(CliMetrics, CompareRefusesBadInputOnOneLine) {
  TempDir dir;
  stray::write_npy(dir.file("a.npy"), std::vector<int64_t>{0, 1, 1});
  stray::write_npy(dir.file("b.npy"), std::vector<int64_t>{0, 1});
  stray::write_npy(dir.file("f.npy"), std::vector<double>{0.0, 1.0, 1.0});
  stray::write_npy(dir.file("empty.npy"), std::vector<int64_t>{});
  stray::Matrix<int64_t> wide(3, 2);
  stray::write_npy(dir.file("wide.npy"), wide.view());
  write_bytes(dir.file("no_label.csv"), "entity,cluster\na,1\n");
  write_bytes(dir.file("dup.csv"), "entity,label\na,1\nb,2\na,3\n");
  write_bytes(dir.file("ragged.csv"), "entity,label\na,1\nb\n");
  write_bytes(dir.file("ok.csv"), "entity,label\na,1\nb,2\n");
  write_bytes(dir.file("other.csv"), "entity,label\nc,1\n");
  const auto compare = [&](const std::string& a, const std::string& b) {
    return run_cli("compare --labels " + dir.file(a) + " --truth " + dir.file(b));
  };
  expect_one_line_error(compare("a.npy", "b.npy"), "has 3 labels");
  expect_one_line_error(compare("f.npy", "a.npy"), "integers");
  expect_one_line_error(compare("empty.npy", "empty.npy"), "empty");
  expect_one_line_error(compare("wide.npy", "a.npy"), "one column");
  write_bytes(dir.file("tag.csv"), "entity,tag\na,1\n");
  // --labels may name its column cluster (stray fleet --scores); --truth may not.
  expect_one_line_error(compare("tag.csv", "ok.csv"), "entity and label (or cluster)");
  expect_one_line_error(compare("ok.csv", "no_label.csv"), "entity and label");
  expect_one_line_error(compare("dup.csv", "ok.csv"), "line 4: entity 'a' already labelled on line 2");
  // Of several repeated names, the first repeat in the file is named.
  write_bytes(dir.file("dups.csv"), "entity,label\nq,0\nz,1\na,1\nq,0\nz,2\na,2\nq,1\n");
  expect_one_line_error(compare("dups.csv", "ok.csv"), "line 5: entity 'q' already labelled on line 2");
  write_bytes(dir.file("dups2.csv"), "entity,label\nz,1\na,1\nz,2\na,2\n");
  expect_one_line_error(compare("dups2.csv", "ok.csv"), "line 4: entity 'z' already labelled on line 2");
  expect_one_line_error(compare("ragged.csv", "ok.csv"), "line 3");
  expect_one_line_error(compare("ok.csv", "other.csv"), "no entity is in both");
  expect_one_line_error(compare("ok.csv", "a.npy"), "both be .npy or both be .csv");
}

// The truth read off the entity names: hostname stems, or the part before
// a stop character; the labels in the column stray fleet --scores writes.
TEST(CliMetrics, CompareTakesTheTruthFromEntityNames) {
  TempDir dir;
  write_bytes(dir.file("scores.csv"),
              "entity,cluster,score\nweb-01.prod.example,0,1.5\nWEB-02,0,0.5\ndb12,1,2\n"
              "db-4_b,1,1\nnginx@2024-01-02,2,1\nnginx@2024-01-03,0,1\n1234,2,0\n");
  const auto stem = run_cli("compare --labels " + dir.file("scores.csv") +
                            " --truth-from-names stem --json");
  ASSERT_EQ(stem.status, 0) << stem.err;
  const json js = json::parse(stem.out);
  // Classes: web, web, db, db-4_b (it ends in a letter), nginx@, nginx@
  // (trailing digits and - stripped), 1234 (a stem of digits only keeps
  // the name).
  const std::vector<int64_t> clusters{0, 0, 1, 1, 2, 0, 2};
  const std::vector<int64_t> stems{0, 0, 1, 2, 3, 3, 4};
  EXPECT_EQ(js["n_entities"].get<int64_t>(), 7);
  EXPECT_EQ(js["n_classes"].get<int64_t>(), 5);
  EXPECT_DOUBLE_EQ(js["adjusted_rand"].get<double>(), stray::adjusted_rand_score(stems, clusters));
  EXPECT_FALSE(js.contains("only_in_labels"));

  const auto before = run_cli("compare --labels " + dir.file("scores.csv") +
                              " --truth-from-names before:@. --json");
  ASSERT_EQ(before.status, 0) << before.err;
  // web-01, WEB-02, db12, db-4_b, nginx, nginx, 1234.
  const std::vector<int64_t> prefixes{0, 1, 2, 3, 4, 4, 5};
  EXPECT_DOUBLE_EQ(json::parse(before.out)["adjusted_rand"].get<double>(),
                   stray::adjusted_rand_score(prefixes, clusters));

  const auto text = run_cli("compare --labels " + dir.file("scores.csv") +
                            " --truth-from-names before:@");
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("classes in the entity names (before:@)"), std::string::npos)
      << text.out;

  stray::write_npy(dir.file("a.npy"), std::vector<int64_t>{0, 1, 1});
  expect_one_line_error(run_cli("compare --labels " + dir.file("scores.csv") +
                                " --truth-from-names first"),
                        "stem or before:CHARS");
  expect_one_line_error(run_cli("compare --labels " + dir.file("scores.csv") +
                                " --truth-from-names before:"),
                        "stem or before:CHARS");
  expect_one_line_error(run_cli("compare --labels " + dir.file("a.npy") +
                                " --truth-from-names stem"),
                        "needs entity names");
  expect_one_line_error(run_cli("compare --labels " + dir.file("scores.csv")),
                        "--truth or --truth-from-names");
  expect_one_line_error(run_cli("compare --labels " + dir.file("scores.csv") +
                                " --labels-column score2 --truth-from-names stem"),
                        "entity and score2");
}

TEST(CliMetrics, MatchSolvesTheAssignmentProblem) {
  TempDir dir;
  stray::Matrix<double> cost(3, 3);
  const double values[9] = {4, 1, 3, 2, 0, 5, 3, 2, 2};  // scipy's documentation example
  for (int i = 0; i < 9; ++i) cost(i / 3, i % 3) = values[i];
  stray::write_npy(dir.file("cost.npy"), cost.view());
  auto r = run_cli("match --cost " + dir.file("cost.npy") + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["rows"].get<std::vector<int64_t>>(), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(j["cols"].get<std::vector<int64_t>>(), (std::vector<int64_t>{1, 0, 2}));
  EXPECT_EQ(j["total_cost"].get<double>(), 5.0);
  r = run_cli("match --cost " + dir.file("cost.npy") + " --maximize --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["total_cost"].get<double>(), 11.0);
  r = run_cli("match --cost " + dir.file("cost.npy"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("smallest total cost 5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1\t0\t2"), std::string::npos) << r.out;

  // A wide float32 matrix: the tool's answer is the library's.
  const auto c = stray::testing::lcg_cost("float", 20, 45, 0, 43);
  stray::Matrix<float> wide(20, 45);
  std::vector<double> as_read(c.size());
  for (std::size_t k = 0; k < c.size(); ++k) {
    wide(k / 45, k % 45) = static_cast<float>(c[k]);
    as_read[k] = static_cast<float>(c[k]);
  }
  stray::write_npy(dir.file("wide.npy"), wide.view());
  r = run_cli("match --cost " + dir.file("wide.npy") + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  j = json::parse(r.out);
  const auto a = stray::linear_sum_assignment(as_read.data(), 20, 45);
  EXPECT_EQ(j["cols"].get<std::vector<int64_t>>(), a.cols);
  EXPECT_EQ(j["total_cost"].get<double>(), a.total_cost);
}

TEST(CliMetrics, MatchRefusesBadInputOnOneLine) {
  TempDir dir;
  stray::write_npy(dir.file("vector.npy"), std::vector<double>{1, 2, 3});
  stray::Matrix<double> nan(2, 2);
  nan(0, 0) = 1;
  nan(0, 1) = std::nan("");
  stray::write_npy(dir.file("nan.npy"), nan.view());
  stray::Matrix<double> blocked(2, 2);
  blocked(0, 0) = blocked(0, 1) = std::numeric_limits<double>::infinity();
  stray::write_npy(dir.file("blocked.npy"), blocked.view());
  write_bytes(dir.file("junk.npy"), "not a numpy file");
  expect_one_line_error(run_cli("match --cost " + dir.file("vector.npy")), "one-dimensional");
  expect_one_line_error(run_cli("match --cost " + dir.file("nan.npy")), "invalid numeric entries");
  expect_one_line_error(run_cli("match --cost " + dir.file("blocked.npy")), "infeasible");
  expect_one_line_error(run_cli("match --cost " + dir.file("junk.npy")), "junk.npy");
  expect_one_line_error(run_cli("match"), "--cost");
}

}  // namespace
#endif  // STRAY_CLI_PATH
