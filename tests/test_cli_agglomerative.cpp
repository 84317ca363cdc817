// `stray agglomerative` end to end: scikit-learn's labels and scipy's
// linkage matrix from the golden fixture through .npy files, the JSON
// fields, the threshold cut, and errors as one line with no output written.
#include <gtest/gtest.h>

#ifdef STRAY_CLI_PATH

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "stray/io/npy.hpp"
#include "temp_dir.hpp"

namespace {

using nlohmann::json;
using stray::testing::run_cli;

const json& blobs_case() {
  static const json c = [] {
    std::ifstream in(std::string(STRAY_FIXTURES_DIR) + "/agglomerative_golden.json");
    const json doc = json::parse(in);
    for (const json& c : doc["cases"])
      if (c["name"] == "blobs") return c;
    throw std::runtime_error("no blobs case in agglomerative_golden.json");
  }();
  return c;
}

std::string write_input(const stray::testing::TempDir& dir) {
  const json& rows = blobs_case()["X"];
  stray::Matrix<float> X(static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size()));
  for (int64_t i = 0; i < X.rows(); ++i)
    for (int64_t j = 0; j < X.cols(); ++j) X(i, j) = rows[i][j].get<float>();
  const std::string path = dir.file("X.npy");
  stray::write_npy(path, X.view());
  return path;
}

std::vector<int32_t> expected_labels(const std::string& linkage, const std::string& key,
                                     double value) {
  for (const json& cut : blobs_case()["linkages"][linkage]["cuts"])
    if (cut.contains(key) && cut[key].get<double>() == value)
      return cut["labels"].get<std::vector<int32_t>>();
  throw std::runtime_error("no such cut in the fixture");
}

TEST(AgglomerativeCli, LabelsAndLinkageMatrixMatchTheReferences) {
  stray::testing::TempDir dir;
  const std::string X = write_input(dir);
  for (const std::string linkage : {"ward", "complete", "average", "single"}) {
    SCOPED_TRACE(linkage);
    const auto r = run_cli("agglomerative -i " + X + " -k 4 --linkage " + linkage + " --labels " +
                           dir.file("labels.npy") + " --linkage-matrix " + dir.file("Z.npy") +
                           " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["backend"], "cpu");
    EXPECT_EQ(j["n_clusters"], 4);
    EXPECT_EQ(j["linkage"], linkage);
    EXPECT_GE(j["seconds"].get<double>(), 0.0);
    EXPECT_GE(j["threads"].get<int>(), 1);

    const std::vector<int64_t> labels = stray::read_npy_int(dir.file("labels.npy"));
    const std::vector<int32_t> want = expected_labels(linkage, "n_clusters", 4);
    ASSERT_EQ(labels.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(labels[i], want[i]) << i;

    const stray::NpyArray Z = stray::read_npy(dir.file("Z.npy"));
    const json& ref = blobs_case()["linkages"][linkage]["linkage"];
    ASSERT_EQ(Z.rows(), static_cast<int64_t>(ref.size()));
    ASSERT_EQ(Z.cols(), 4);
    ASSERT_EQ(Z.type, stray::NpyType::float64);
    const auto* z = reinterpret_cast<const double*>(Z.bytes.data());
    for (int64_t i = 0; i < Z.rows(); ++i) {
      EXPECT_EQ(z[4 * i], ref[i][0].get<double>());
      EXPECT_EQ(z[4 * i + 1], ref[i][1].get<double>());
      EXPECT_NEAR(z[4 * i + 2], ref[i][2].get<double>(), 1e-5 * ref[i][2].get<double>());
      EXPECT_EQ(z[4 * i + 3], ref[i][3].get<double>());
    }
  }
}

TEST(AgglomerativeCli, ThresholdAloneCutsTheTree) {
  stray::testing::TempDir dir;
  const std::string X = write_input(dir);
  for (const json& cut : blobs_case()["linkages"]["average"]["cuts"]) {
    if (!cut.contains("distance_threshold")) continue;
    const double t = cut["distance_threshold"].get<double>();
    char arg[64];
    std::snprintf(arg, sizeof arg, "%.17g", t);
    const auto r = run_cli("agglomerative -i " + X + " --linkage average --distance-threshold " +
                           arg + " --labels " + dir.file("labels.npy") + " --json");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["n_clusters"], cut["n_clusters"]);
    const std::vector<int64_t> labels = stray::read_npy_int(dir.file("labels.npy"));
    const std::vector<int32_t> want = expected_labels("average", "distance_threshold", t);
    EXPECT_EQ(std::vector<int32_t>(labels.begin(), labels.end()), want);
  }
}

TEST(AgglomerativeCli, ErrorsAreOneLineAndWriteNothing) {
  stray::testing::TempDir dir;
  const std::string X = write_input(dir);
  const std::string out = dir.file("labels.npy");
  const auto expect_failure = [&](const std::string& args, const std::string& words) {
    const auto r = run_cli("agglomerative -i " + X + " " + args + " --labels " + out);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find(words), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << args;
  };
  expect_failure("-k 3 --distance-threshold 2", "exactly one of -k and --distance-threshold");
  expect_failure("", "exactly one of -k and --distance-threshold");
  expect_failure("-k 3 --linkage median", "unknown linkage 'median'");
  expect_failure("-k 49", "n_clusters=49 outside [1, n_samples=48]");
  expect_failure("--distance-threshold -1", "distance_threshold=-1");
  expect_failure("-k 3 --linkage complete --memory-budget 0", "--memory-budget");
  const auto r = run_cli("agglomerative -i " + X + " -k 3 --labels " + dir.file("no/such/dir/l.npy"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

}  // namespace

#endif  // STRAY_CLI_PATH
