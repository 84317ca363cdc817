// `stray lof` end to end: JSON fields, the scores file against the library,
// contamination, the warning for n_neighbors ≥ n, and errors as one line
// with a non-zero status and no output written.
#include <gtest/gtest.h>

#ifdef STRAY_CLI_PATH
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npz.hpp"
#include "stray/neighbors/lof.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using stray::testing::run_cli;

Matrix<float> rows_with_strays(int64_t n, int64_t d) {
  std::mt19937 gen(17);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Matrix<float> X(n, d);
  for (auto& v : X.storage()) v = normal(gen);
  for (int64_t t = 0; t < d; ++t) X(5, t) += 9.0f;  // a stray
  return X;
}

std::vector<double> read_doubles(const std::string& path) {
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.type, NpyType::float64);
  std::vector<double> v(a.bytes.size() / sizeof(double));
  std::memcpy(v.data(), a.bytes.data(), a.bytes.size());
  return v;
}

TEST(LofCli, JsonScoresAndLabels) {
  stray::testing::TempDir dir;
  const Matrix<float> X = rows_with_strays(600, 6);
  write_npy(dir.file("X.npy"), X.view());
  const auto r = run_cli("lof -i " + dir.file("X.npy") + " --neighbors 15 --backend cpu --json --scores " +
                         dir.file("s.npy") + " --labels " + dir.file("l.npy"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["backend"], "cpu");
  EXPECT_EQ(j["n_neighbors"], 15);
  EXPECT_EQ(j["n_samples"], 600);
  EXPECT_EQ(j["contamination"], "auto");
  EXPECT_EQ(j["offset"], -1.5);
  EXPECT_GE(j["seconds"].get<double>(), 0.0);
  EXPECT_EQ(j["most_abnormal"][0]["row"], 5);

  // The file holds the library's scores; the count is of those below −1.5.
  auto backend = make_backend("cpu");
  LofParams params;
  params.n_neighbors = 15;
  const LofResult want = lof_fit(*backend, params, X.view());
  EXPECT_EQ(read_doubles(dir.file("s.npy")), want.negative_outlier_factor);
  EXPECT_EQ(j["n_outliers"], want.n_outliers);
  const std::vector<int64_t> labels = read_npy_int(dir.file("l.npy"));
  EXPECT_EQ(labels.size(), 600u);
  EXPECT_EQ(labels[5], -1);
  EXPECT_FALSE(j.contains("warning"));

  // A contamination sets the offset at that percentile of the scores.
  const auto c = run_cli("lof -i " + dir.file("X.npy") + " --contamination 0.05 --json");
  ASSERT_EQ(c.status, 0) << c.err;
  const auto jc = nlohmann::json::parse(c.out);
  EXPECT_EQ(jc["n_outliers"], 30);
  EXPECT_EQ(jc["contamination"], 0.05);

  // The text report names the most abnormal row first.
  const auto text = run_cli("lof -i " + dir.file("X.npy"));
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("most abnormal rows: 5 ("), std::string::npos) << text.out;
}

// --distinct-rows: the library's fit over distinct rows; a row beside 100
// identical ones is graded, not scored in the hundreds of millions.
TEST(LofCli, DistinctRows) {
  stray::testing::TempDir dir;
  Matrix<float> X = rows_with_strays(300, 4);
  for (int64_t i = 101; i < 200; ++i) {
    for (int64_t t = 0; t < 4; ++t) X(i, t) = X(100, t);
  }
  for (int64_t t = 0; t < 4; ++t) X(0, t) = X(100, t);
  X(0, 2) += 0.1f;
  write_npy(dir.file("X.npy"), X.view());
  const auto r = run_cli("lof -i " + dir.file("X.npy") + " --distinct-rows --backend cpu --json --scores " +
                         dir.file("s.npy"));
  ASSERT_EQ(r.status, 0) << r.err;
  auto backend = make_backend("cpu");
  LofParams params;
  params.distinct_rows = true;
  const LofResult want = lof_fit(*backend, params, X.view());
  const std::vector<double> got = read_doubles(dir.file("s.npy"));
  EXPECT_EQ(got, want.negative_outlier_factor);
  EXPECT_GT(got[0], -10.0);
  const auto plain = run_cli("lof -i " + dir.file("X.npy") + " --backend cpu --json --scores " +
                             dir.file("p.npy"));
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_LT(read_doubles(dir.file("p.npy"))[0], -1e8);
}

// A CSR .npz is fitted as sparse rows (never densified): on 0/1 rows, where
// both distances are exact, the dense file's scores to the bit.
TEST(LofCli, SparseRowsFromNpz) {
  stray::testing::TempDir dir;
  std::mt19937 gen(23);
  std::bernoulli_distribution present(0.08);
  Matrix<float> X(400, 120);
  for (auto& v : X.storage()) v = present(gen) ? 1.0f : 0.0f;
  for (int64_t t = 60; t < 120; ++t) X(9, t) = 1.0f;  // a host with half the packages
  write_npy(dir.file("X.npy"), X.view());
  write_npz_csr(dir.file("X.npz"), dense_to_csr(X.view()).view());
  const std::string common = " --neighbors 10 --contamination 0.02 --backend cpu --json --scores ";
  const auto sparse = run_cli("lof -i " + dir.file("X.npz") + common + dir.file("s.npy"));
  ASSERT_EQ(sparse.status, 0) << sparse.err;
  const auto dense = run_cli("lof -i " + dir.file("X.npy") + common + dir.file("d.npy"));
  ASSERT_EQ(dense.status, 0) << dense.err;
  const auto js = nlohmann::json::parse(sparse.out), jd = nlohmann::json::parse(dense.out);
  EXPECT_EQ(js["input"], "csr");
  EXPECT_EQ(jd["input"], "dense");
  EXPECT_EQ(js["most_abnormal"][0]["row"], 9);
  EXPECT_EQ(js["n_outliers"], jd["n_outliers"]);
  EXPECT_EQ(read_doubles(dir.file("s.npy")), read_doubles(dir.file("d.npy")));
}

TEST(LofCli, WarnsWhereScikitLearnWarnsAndRefusesBadInput) {
  stray::testing::TempDir dir;
  write_npy(dir.file("small.npy"), rows_with_strays(8, 3).view());
  const auto lowered = run_cli("lof -i " + dir.file("small.npy") + " --neighbors 20 --json");
  ASSERT_EQ(lowered.status, 0) << lowered.err;
  EXPECT_EQ(nlohmann::json::parse(lowered.out)["n_neighbors"], 7);
  EXPECT_NE(lowered.err.find("stray: warning: lof: n_neighbors (20) is greater"), std::string::npos)
      << lowered.err;

  write_npy(dir.file("one.npy"), MatrixView<const float>(rows_with_strays(6, 3).view()).row_block(0, 1));
  const auto one = run_cli("lof -i " + dir.file("one.npy") + " --scores " + dir.file("o.npy"));
  EXPECT_EQ(one.status, 1);
  EXPECT_NE(one.err.find("LOF needs at least 2 rows"), std::string::npos) << one.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("o.npy")));

  const auto bad = run_cli("lof -i " + dir.file("small.npy") + " --contamination lots");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("--contamination must be"), std::string::npos) << bad.err;
  const auto zero = run_cli("lof -i " + dir.file("small.npy") + " --neighbors 0");
  EXPECT_EQ(zero.status, 2) << zero.err;
  const auto nodir = run_cli("lof -i " + dir.file("small.npy") + " --scores " + dir.file("no/s.npy"));
  EXPECT_EQ(nodir.status, 1);
  EXPECT_NE(nodir.err.find("does not exist"), std::string::npos) << nodir.err;
}

}  // namespace
}  // namespace stray

#endif  // STRAY_CLI_PATH
