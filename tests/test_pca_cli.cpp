// `stray pca` end to end: dense .npy and scipy-style CSR .npz input, JSON
// fields, written outputs, and errors as one line with a non-zero status.
#include <gtest/gtest.h>

#ifdef STRAY_CLI_PATH
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cpu/amx.hpp"
#include "core/rng.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npz.hpp"
#include "stray/decomposition/pca.hpp"
#include "temp_dir.hpp"

namespace {

struct CliRun {
  int status = -1;
  std::string out;
};

CliRun run(const std::string& args) {
  const std::string cmd = std::string(STRAY_CLI_PATH) + " " + args + " 2>&1";
  CliRun r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), got);
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

stray::Matrix<float> data(int64_t n, int64_t d) {
  stray::internal::Rng rng(3);
  stray::Matrix<float> X(n, d);
  for (int64_t i = 0; i < n; ++i) {
    const double a = 3.0 * rng.normal(), b = rng.normal();
    for (int64_t j = 0; j < d; ++j) {
      // Two latent directions plus noise; about half the cells exactly 0.
      const double v = a * std::sin(0.3 * j) + b * std::cos(0.7 * j) + 0.1 * rng.normal();
      X(i, j) = rng.uniform() < 0.5 ? 0.0f : static_cast<float>(v);
    }
  }
  return X;
}

TEST(PcaCli, DenseAndSparseInputGiveTheSameModel) {
  stray::testing::TempDir dir;
  const stray::Matrix<float> X = data(400, 12);
  stray::write_npy(dir.file("X.npy"), X.view());
  const stray::CsrMatrix S = stray::dense_to_csr(X.view());
  stray::write_npz_csr(dir.file("X.npz"), S.view());

  const CliRun dense = run("pca -i " + dir.file("X.npy") + " -c 3 --backend cpu --json --transform " +
                        dir.file("T.npy") + " --components " + dir.file("C.npy"));
  ASSERT_EQ(dense.status, 0) << dense.out;
  const auto jd = nlohmann::json::parse(dense.out);
  EXPECT_EQ(jd["n_components"], 3);
  EXPECT_EQ(jd["solver"], "covariance");
  EXPECT_EQ(jd["backend"], "cpu");
  EXPECT_EQ(jd["input"], "dense");
  EXPECT_GE(jd["seconds"].get<double>(), 0.0);
  ASSERT_EQ(jd["explained_variance_ratio"].size(), 3u);

  const stray::Matrix<float> T = stray::read_npy_float(dir.file("T.npy"));
  EXPECT_EQ(T.rows(), 400);
  EXPECT_EQ(T.cols(), 3);
  const stray::NpyArray C = stray::read_npy(dir.file("C.npy"));
  EXPECT_EQ(C.rows(), 3);
  EXPECT_EQ(C.cols(), 12);

  // The same data as CSR, with the covariance solver forced: same ratios.
  const CliRun sparse =
      run("pca -i " + dir.file("X.npz") + " -c 3 --solver covariance --backend cpu --json");
  ASSERT_EQ(sparse.status, 0) << sparse.out;
  const auto js = nlohmann::json::parse(sparse.out);
  EXPECT_EQ(js["input"], "csr");
  EXPECT_EQ(js["nnz"], S.nnz());
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(js["explained_variance_ratio"][c].get<double>(),
                jd["explained_variance_ratio"][c].get<double>(), 1e-6);
  }
  // Sparse with auto: randomized.
  const CliRun rnd = run("pca -i " + dir.file("X.npz") + " -c 2 --backend cpu --json");
  ASSERT_EQ(rnd.status, 0) << rnd.out;
  EXPECT_EQ(nlohmann::json::parse(rnd.out)["solver"], "randomized");

  // A variance fraction picks the count; text output mentions the solver.
  const CliRun frac = run("pca -i " + dir.file("X.npy") + " -c 0.5 --whiten --backend cpu");
  ASSERT_EQ(frac.status, 0) << frac.out;
  EXPECT_NE(frac.out.find("solver covariance"), std::string::npos) << frac.out;
}

// --batch-rows reads the .npy a block of rows at a time: the same model and
// projected rows as the whole file's covariance fit; a .npz is refused.
TEST(PcaCli, BatchRowsGiveTheWholeFit) {
  stray::testing::TempDir dir;
  const stray::Matrix<float> X = data(500, 9);
  stray::write_npy(dir.file("X.npy"), X.view());
  const std::string common = "pca -i " + dir.file("X.npy") + " -c 3 --backend cpu --json";
  const CliRun whole = run(common + " --solver covariance --transform " + dir.file("Tw.npy"));
  const CliRun batches = run(common + " --batch-rows 64 --transform " + dir.file("Tb.npy"));
  ASSERT_EQ(whole.status, 0) << whole.out;
  ASSERT_EQ(batches.status, 0) << batches.out;
  const auto jw = nlohmann::json::parse(whole.out), jb = nlohmann::json::parse(batches.out);
  EXPECT_EQ(jb["batch_rows"], 64);
  EXPECT_EQ(jb["n_samples"], 500);
  EXPECT_EQ(jb["solver"], "covariance");
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(jb["explained_variance_ratio"][c].get<double>(),
                jw["explained_variance_ratio"][c].get<double>(), 1e-6);
  }
  const stray::Matrix<float> Tw = stray::read_npy_float(dir.file("Tw.npy"));
  const stray::Matrix<float> Tb = stray::read_npy_float(dir.file("Tb.npy"));
  ASSERT_EQ(Tb.rows(), 500);
  ASSERT_EQ(Tb.cols(), 3);
  for (int64_t e = 0; e < Tw.size(); ++e) EXPECT_NEAR(Tb.data()[e], Tw.data()[e], 1e-4) << e;

  stray::write_npz_csr(dir.file("X.npz"), stray::dense_to_csr(X.view()).view());
  for (const std::string& args :
       {"pca -i " + dir.file("X.npz") + " -c 2 --batch-rows 10",
        "pca -i " + dir.file("X.npy") + " -c 2 --batch-rows 10 --solver randomized"}) {
    const CliRun r = run(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
  }
}

// --no-tile-unit keeps the CPU Gram in float32. Where the CPU has an AMX
// tile unit these shapes use it by default, and the two models then differ
// in the last bits but agree within rounding; elsewhere they are the same.
TEST(PcaCli, NoTileUnitKeepsTheGramInFloat32) {
  stray::testing::TempDir dir;
  stray::write_npy(dir.file("X.npy"), data(4096, 80).view());
  const std::string fit = "pca -i " + dir.file("X.npy") + " -c 5 --backend cpu --json";
  const CliRun on = run(fit), off = run(fit + " --no-tile-unit");
  ASSERT_EQ(on.status, 0) << on.out;
  ASSERT_EQ(off.status, 0) << off.out;
  const auto a = nlohmann::json::parse(on.out)["explained_variance_ratio"].get<std::vector<double>>();
  const auto b = nlohmann::json::parse(off.out)["explained_variance_ratio"].get<std::vector<double>>();
  ASSERT_EQ(a.size(), 5u);
  ASSERT_EQ(b.size(), 5u);
  for (std::size_t c = 0; c < a.size(); ++c) EXPECT_NEAR(a[c], b[c], 1e-6) << c;
  if (stray::internal::amx_available()) {
    EXPECT_NE(a, b) << "--no-tile-unit had no effect";
  } else {
    EXPECT_EQ(a, b);
  }
}

TEST(PcaCli, ErrorsAreOneLineAndNonZero) {
  stray::testing::TempDir dir;
  const stray::Matrix<float> one = data(1, 5);
  stray::write_npy(dir.file("one.npy"), one.view());
  const CliRun r = run("pca -i " + dir.file("one.npy") + " -c 2 --backend cpu");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("n_samples=1"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;

  const stray::Matrix<float> X = data(50, 5);
  stray::write_npy(dir.file("X.npy"), X.view());
  const CliRun bad_c = run("pca -i " + dir.file("X.npy") + " -c 2.5");
  EXPECT_NE(bad_c.status, 0);
  const CliRun bad_solver = run("pca -i " + dir.file("X.npy") + " -c 2 --solver svd");
  EXPECT_NE(bad_solver.status, 0);
  EXPECT_NE(bad_solver.out.find("svd"), std::string::npos) << bad_solver.out;
  // Nothing is written when the fit fails.
  const CliRun fail_out = run("pca -i " + dir.file("one.npy") + " -c 1 --transform " +
                           dir.file("T.npy"));
  EXPECT_NE(fail_out.status, 0);
  EXPECT_FALSE(std::filesystem::exists(dir.file("T.npy")));
}

}  // namespace

#endif  // STRAY_CLI_PATH
