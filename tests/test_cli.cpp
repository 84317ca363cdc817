// The command-line tool as a user meets it: JSON output, files written only
// on success, and bad input as one line on stderr with a non-zero exit.
#include <gtest/gtest.h>

#include "cli_runner.hpp"
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "stray/synthetic/datasets.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npz.hpp"

#ifdef STRAY_CLI_PATH

namespace stray {
namespace {

namespace fs = std::filesystem;

using RunResult = ::stray::testing::CliRun;
using ::stray::testing::run_cli;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("stray_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(Cli, KMeansJsonOnBlobsAndFiles) {
  BlobsParams p;
  p.n_samples = 900;
  p.n_features = 3;
  p.n_centers = 3;
  p.cluster_std = 0.3;
  const Blobs b = make_blobs(p);
  write_npy(path("X.npy"), b.X.view());
  const RunResult r = run_cli("kmeans -i " + path("X.npy") + " -k 3 --backend cpu --json --labels " +
                              path("labels.npy") + " --centers " + path("centers.npy"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"inertia", "n_iter", "converged", "seconds", "backend"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["backend"], "cpu");
  EXPECT_TRUE(j["converged"].get<bool>());
  EXPECT_EQ(read_npy_int(path("labels.npy")).size(), 900u);
  const Matrix<float> centers = read_npy_float(path("centers.npy"));
  EXPECT_EQ(centers.rows(), 3);
  EXPECT_EQ(centers.cols(), 3);
}

// A CSR .npz is clustered as sparse rows: the same fit as the dense .npy
// of the same rows (explicit centres), and k-means|| refused in one line.
TEST_F(Cli, KMeansOnACsrNpzIsTheFitOfTheDenseRows) {
  BlobsParams p;
  p.n_samples = 600;
  p.n_features = 5;
  p.n_centers = 3;
  p.cluster_std = 0.4;
  Blobs b = make_blobs(p);
  for (float& v : b.X.storage()) v = v < 0.0f ? 0.0f : v;  // about half the cells 0
  write_npy(path("X.npy"), b.X.view());
  write_npz_csr(path("X.npz"), dense_to_csr(b.X.view()).view());
  Matrix<float> init(3, 5);
  for (int c = 0; c < 3; ++c) std::copy(b.X.row(c * 7), b.X.row(c * 7) + 5, init.row(c));
  write_npy(path("init.npy"), init.view());
  const std::string common = " -k 3 --backend cpu --json --init-centers " + path("init.npy");
  const RunResult dense = run_cli("kmeans -i " + path("X.npy") + common + " --labels " +
                                  path("dense.npy"));
  const RunResult sparse = run_cli("kmeans -i " + path("X.npz") + common + " --labels " +
                                   path("sparse.npy"));
  ASSERT_EQ(dense.status, 0) << dense.err;
  ASSERT_EQ(sparse.status, 0) << sparse.err;
  const auto jd = nlohmann::json::parse(dense.out), js = nlohmann::json::parse(sparse.out);
  EXPECT_EQ(jd["input"], "dense");
  EXPECT_EQ(js["input"], "csr");
  EXPECT_EQ(js["n_samples"], 600);
  EXPECT_EQ(js["n_iter"], jd["n_iter"]);
  EXPECT_NEAR(js["inertia"].get<double>(), jd["inertia"].get<double>(),
              1e-5 * jd["inertia"].get<double>());
  EXPECT_EQ(read_npy_int(path("sparse.npy")), read_npy_int(path("dense.npy")));

  const RunResult parallel = run_cli("kmeans -i " + path("X.npz") + " -k 3 --init 'k-means||'");
  EXPECT_NE(parallel.status, 0);
  EXPECT_NE(parallel.err.find("k-means||"), std::string::npos) << parallel.err;
  EXPECT_EQ(std::count(parallel.err.begin(), parallel.err.end(), '\n'), 1) << parallel.err;
}

// --batch-rows reads the .npy a block of rows at a time: from the same
// explicit centres, the fit of the whole file (labels, iterations, inertia
// within rounding), with the batches' figures in the JSON; a .npz and a
// bad file are refused in one line, nothing written.
TEST_F(Cli, KMeansOverBatchesOfANpyIsTheWholeFit) {
  BlobsParams p;
  p.n_samples = 2000;
  p.n_features = 4;
  p.n_centers = 5;
  p.cluster_std = 1.5;
  const Blobs b = make_blobs(p);
  write_npy(path("X.npy"), b.X.view());
  std::vector<float> w(2000);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.5f + static_cast<float>(i % 3);
  write_npy(path("w.npy"), w);
  Matrix<float> init(5, 4);
  for (int c = 0; c < 5; ++c) std::copy(b.X.row(c), b.X.row(c) + 4, init.row(c));
  write_npy(path("init.npy"), init.view());
  const std::string common = "kmeans -i " + path("X.npy") + " -k 5 --backend cpu --json " +
                             "--weights " + path("w.npy") + " --init-centers " + path("init.npy");
  const RunResult whole = run_cli(common + " --labels " + path("whole.npy"));
  const RunResult batches =
      run_cli(common + " --batch-rows 300 --labels " + path("batches.npy") + " --centers " +
              path("centers.npy"));
  ASSERT_EQ(whole.status, 0) << whole.err;
  ASSERT_EQ(batches.status, 0) << batches.err;
  const auto jw = nlohmann::json::parse(whole.out), jb = nlohmann::json::parse(batches.out);
  EXPECT_EQ(jb["n_samples"], 2000);
  EXPECT_EQ(jb["n_iter"], jw["n_iter"]);
  EXPECT_NEAR(jb["inertia"].get<double>(), jw["inertia"].get<double>(),
              1e-6 * jw["inertia"].get<double>());
  EXPECT_EQ(jb["batches"]["batch_rows"], 300);
  EXPECT_EQ(jb["batches"]["sample_rows"], 0);  // explicit centres: no sample
  EXPECT_GE(jb["batches"]["passes"].get<int>(), jw["n_iter"].get<int>() + 1);
  EXPECT_EQ(read_npy_int(path("batches.npy")), read_npy_int(path("whole.npy")));
  EXPECT_EQ(read_npy_float(path("centers.npy")).rows(), 5);
  // Without bounds kept between passes: the same fit.
  const RunResult unbounded =
      run_cli(common + " --batch-rows 300 --no-bounds --labels " + path("unbounded.npy"));
  ASSERT_EQ(unbounded.status, 0) << unbounded.err;
  EXPECT_EQ(nlohmann::json::parse(unbounded.out)["n_iter"], jb["n_iter"]);
  EXPECT_EQ(read_npy_int(path("unbounded.npy")), read_npy_int(path("batches.npy")));
  // The text report says where the centres came from.
  const RunResult text = run_cli("kmeans -i " + path("X.npy") + " -k 5 --backend cpu " +
                                 "--init-centers " + path("init.npy") + " --batch-rows 300");
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("from the given initial centres"), std::string::npos) << text.out;

  // Without -i, the synthetic blobs in batches, with the truth's ARI.
  const RunResult blobs = run_cli("kmeans --samples 3000 --features 4 --blob-centers 4 "
                                  "--batch-rows 700 --init-sample 500 --backend cpu --json");
  ASSERT_EQ(blobs.status, 0) << blobs.err;
  const auto jbl = nlohmann::json::parse(blobs.out);
  EXPECT_EQ(jbl["batches"]["sample_rows"], 500);
  EXPECT_GT(jbl["adjusted_rand_index"].get<double>(), 0.99);

  write_npz_csr(path("X.npz"), dense_to_csr(b.X.view()).view());
  Matrix<float> poisoned = Matrix<float>::copy_of(b.X.view());
  poisoned(1999, 3) = NAN;  // in the last batch
  write_npy(path("nan.npy"), poisoned.view());
  for (const std::string& args : std::vector<std::string>{
           "kmeans -i " + path("X.npz") + " -k 3 --batch-rows 100 --labels " + path("l.npy"),
           "kmeans -i " + path("nan.npy") + " -k 3 --batch-rows 100 --labels " + path("l.npy"),
           "kmeans -i " + path("X.npy") + " -k 3 --batch-rows 0 --labels " + path("l.npy"),
           "kmeans -i " + path("X.npy") + " -k 3 --batch-rows 100 --weights " + path("init.npy") +
               " --labels " + path("l.npy")}) {
    const RunResult r = run_cli(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_TRUE(r.out.empty()) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
    EXPECT_FALSE(fs::exists(path("l.npy"))) << args;
  }
}

TEST_F(Cli, SyntheticBlobsWithoutInput) {
  const RunResult r = run_cli("kmeans --samples 3000 --features 4 --blob-centers 4 --backend cpu --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["n_clusters"], 4);
  EXPECT_GT(j["adjusted_rand_index"].get<double>(), 0.99);
}

TEST_F(Cli, BadInputIsOneLineOnStderrAndNothingWritten) {
  Matrix<float> X(10, 2, 1.0f);
  X(4, 1) = NAN;
  write_npy(path("nan.npy"), X.view());
  std::ofstream(path("garbage.npy")) << "this is not a numpy file";
  const std::string labels = path("labels.npy");
  for (const std::string& args : std::vector<std::string>{
           "kmeans -i " + path("nan.npy") + " -k 2 --labels " + labels,
        "kmeans -i " + path("garbage.npy") + " -k 2 --labels " + labels,
        "kmeans -i " + path("missing.npy") + " -k 2", "kmeans --samples 10 -k 20 --labels " + labels,
        "kmeans --samples 100 --init bogus", "kmeans --samples 100 --backend tpu",
        "kmeans --no-such-flag", "",
        // A second output that cannot be written stops the run before the first is.
        "kmeans --samples 100 --labels " + labels + " --centers " + path("missing/c.npy"),
        "kmeans --samples 100 --labels " + labels + " --centers " + dir_.string()}) {
    const RunResult r = run_cli(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_TRUE(r.out.empty()) << args << ": " << r.out;
    ASSERT_FALSE(r.err.empty()) << args;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << args << ": " << r.err;
    EXPECT_FALSE(fs::exists(labels)) << args;
  }
}

// --no-tile-unit keeps the CPU backend in float32 (where the CPU has an AMX
// tile unit, these shapes use it by default): the same clustering, and
// inertia equal within rounding.
// The line says what is wrong with the input, not which library function
// noticed (the function's name is Error::where(), for bug reports).
TEST_F(Cli, ErrorsNameTheInputNotTheLibraryFunction) {
  {
    std::ofstream bad(path("bad.csv"));
    bad << "entity,group,feature,value\nweb-1,package,nginx,abc\n";
  }
  RunResult r = run_cli("fleet --events " + path("bad.csv"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "stray: error: " + path("bad.csv") + " line 2: value 'abc' is not a number\n");
  r = run_cli("kmeans -i " + path("bad.csv") + " -k 2");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err.find("read_npy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a .npy file"), std::string::npos) << r.err;
}

TEST_F(Cli, TileUnitCanBeTurnedOff) {
  const std::string blobs =
      "kmeans --samples 6000 --features 48 --blob-centers 20 -k 20 --seed 3 --backend cpu --json";
  const RunResult on = run_cli(blobs + " --labels " + path("on.npy"));
  const RunResult off = run_cli(blobs + " --no-tile-unit --labels " + path("off.npy"));
  ASSERT_EQ(on.status, 0) << on.err;
  ASSERT_EQ(off.status, 0) << off.err;
  EXPECT_EQ(read_npy_int(path("on.npy")), read_npy_int(path("off.npy")));
  const double a = nlohmann::json::parse(on.out)["inertia"], b = nlohmann::json::parse(off.out)["inertia"];
  EXPECT_NEAR(a, b, 1e-5 * a);
}

TEST_F(Cli, HelpExplainsEveryFlag) {
  const RunResult r = run_cli("kmeans --help");
  EXPECT_EQ(r.status, 0);
  for (const char* flag : {"--input", "--clusters", "--init", "--init-centers", "--n-init", "--max-iter",
                           "--tol", "--seed", "--backend", "--no-tile-unit", "--labels", "--centers",
                           "--json"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace stray

#endif  // STRAY_CLI_PATH
