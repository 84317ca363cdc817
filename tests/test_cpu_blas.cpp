// The run-time loaded SYRK (cpu/cpu_blas.hpp: BLIS's, else OpenBLAS's)
// against a float64 loop, and the CPU backend's Gram with and without it.
// Where neither single-threaded library is installed the first test says
// so and skips
// (the Gram then runs on Eigen alone, which the other suites cover).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <algorithm>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include "cpu/cpu_blas.hpp"
#include "stray/stray.hpp"

namespace stray::internal {
namespace {

TEST(CpuBlas, SyrkMatchesFloat64) {
  if (tuned_syrk() == nullptr) {
    GTEST_SKIP() << "no single-threaded BLIS at " << blis_serial_path() << " or OpenBLAS at "
                 << openblas_serial_path()
                 << " (Debian's libblis4-serial, libopenblas0-serial; scripts/install-deps)";
  }
  const int n = 37, k = 301;
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  std::vector<float> a(static_cast<std::size_t>(k * n));
  for (float& v : a) v = g(rng);
  for (const auto& [library, syrk] : {std::pair{"BLIS", blis_syrk()},
                                      std::pair{"OpenBLAS", openblas_syrk()}}) {
    if (syrk == nullptr) continue;
    SCOPED_TRACE(library);
    std::vector<float> c(static_cast<std::size_t>(n * n), -7.0f);
    syrk(n, k, a.data(), c.data());
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j <= i; ++j) {
        double want = 0.0, scale = 0.0;
        for (int r = 0; r < k; ++r) {
          want += double(a[r * n + i]) * a[r * n + j];
          scale += std::abs(double(a[r * n + i]) * a[r * n + j]);
        }
        // A float32 dot product of length k: within k·2⁻²⁴ of its scale.
        EXPECT_NEAR(c[i * n + j], want, k * std::ldexp(1.0, -24) * scale) << i << " " << j;
      }
    }
  }
}

// SYRK called from several threads at once gives each the bits it gives
// alone, whichever library serves it. Debian's single-threaded OpenBLAS
// has no locks around its shared work buffers: unserialised, two threads
// were handed one buffer within a few hundred concurrent calls of this size
// and computed with each other's data.
TEST(CpuBlas, SyrkFromManyThreadsAtOnceGivesTheLoneResult) {
  if (tuned_syrk() == nullptr) GTEST_SKIP() << "no tuned SYRK (see SyrkMatchesFloat64)";
  for (const auto& [library, syrk] : {std::pair{"BLIS", blis_syrk()},
                                      std::pair{"OpenBLAS", openblas_syrk()}}) {
    if (syrk == nullptr) continue;
    SCOPED_TRACE(library);
    constexpr int kThreads = 4, kCalls = 3000, n = 20, k = 100;
    std::vector<std::vector<float>> a(kThreads), alone(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      std::mt19937 rng(60 + t);
      std::normal_distribution<float> g;
      a[t].resize(static_cast<std::size_t>(k * n));
      for (float& v : a[t]) v = g(rng);
      alone[t].assign(static_cast<std::size_t>(n * n), 0.0f);
      syrk(n, k, a[t].data(), alone[t].data());
    }
    std::vector<int> wrong(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t, syrk = syrk] {
        std::vector<float> c(static_cast<std::size_t>(n * n));
        for (int call = 0; call < kCalls; ++call) {
          std::fill(c.begin(), c.end(), 0.0f);
          syrk(n, k, a[t].data(), c.data());
          for (int i = 0; i < n; ++i)
            for (int j = 0; j <= i; ++j) wrong[t] += c[i * n + j] != alone[t][i * n + j];
        }
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
  }
}

TEST(CpuBlas, PcaAgreesWithAndWithoutOpenBlas) {
  const int64_t n = 5000, d = 96;
  std::mt19937 rng(5);
  std::normal_distribution<float> g;
  Matrix<float> X(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) X(i, j) = g(rng) * (1.0f + 0.05f * float(j)) + 10.0f;
  PcaParams params;
  params.n_components = 5;
  params.solver = PcaSolver::covariance;
  BackendOptions with, without;
  without.cpu.tuned_blas = false;
  const PcaModel a = pca_fit(*make_backend("cpu", with), params, X.view());
  const PcaModel b = pca_fit(*make_backend("cpu", without), params, X.view());
  for (int64_t c = 0; c < params.n_components; ++c) {
    EXPECT_NEAR(a.explained_variance[c], b.explained_variance[c],
                1e-5 * b.explained_variance[0]) << c;
  }
}

// The top-k eigensolver through LAPACK (dsytrd, dsterf; dstedc where most
// vectors are wanted) and through the library's own reduction, Eigen's
// values and inverse iteration (or Eigen's whole solver): the same
// eigenvalues to rounding, the same top vectors up to sign (a Wishart
// matrix: simple eigenvalues).
TEST(CpuBlas, EigenTopAgreesWithAndWithoutLapack) {
  if (openblas_sytrd() == nullptr || openblas_stedc() == nullptr) {
    GTEST_SKIP() << "no OpenBLAS LAPACK at " << openblas_serial_path();
  }
  const int64_t d = 300;
  std::mt19937 rng(8);
  std::normal_distribution<double> g;
  Eigen::MatrixXd X(d + 50, d);
  for (int64_t i = 0; i < X.size(); ++i) X.data()[i] = g(rng);
  const Eigen::MatrixXd A = X.transpose() * X;  // symmetric: row- and column-major alike
  BackendOptions with, without;
  without.cpu.tuned_blas = false;
  for (int64_t k : {int64_t{12}, int64_t{200}}) {
    SCOPED_TRACE("k=" + std::to_string(k));
    std::vector<double> values[2], vectors[2];
    for (int t = 0; t < 2; ++t) {
      values[t].resize(static_cast<std::size_t>(d));
      vectors[t].resize(static_cast<std::size_t>(k * d));
      make_backend("cpu", t == 0 ? with : without)
          ->symmetric_eigen_top(d, A.data(), k, values[t].data(), vectors[t].data());
    }
    const double norm = values[1][d - 1];
    for (int64_t i = 0; i < d; ++i)
      EXPECT_NEAR(values[0][i], values[1][i], 1e-12 * norm * d) << i;
    for (int64_t c = 0; c < k; ++c) {
      double dot = 0.0;
      for (int64_t j = 0; j < d; ++j) dot += vectors[0][c * d + j] * vectors[1][c * d + j];
      EXPECT_NEAR(std::abs(dot), 1.0, 1e-9) << "vector " << c;
    }
  }
}

// Independent fits on a caller's threads, each with its own backend, give
// the bits a lone fit gives: the OpenBLAS the backends share is called from
// all of them at once (SYRK for the Gram, LAPACK for the eigenproblem).
TEST(CpuBlas, PcaFitsOnManyThreadsAtOnceMatchLoneFits) {
  constexpr int kThreads = 4;
  auto data = [](int t) {
    std::mt19937 rng(40 + t);
    std::normal_distribution<float> g;
    Matrix<float> X(4000, 16);
    for (int64_t i = 0; i < X.rows(); ++i)
      for (int64_t j = 0; j < X.cols(); ++j) X(i, j) = g(rng);
    return X;
  };
  // As a caller's threads would: other fits between the PCAs.
  auto fit = [&](int t) {
    const Matrix<float> X = data(t);
    auto backend = make_backend("cpu");
    KMeansParams km;
    km.n_clusters = 6;
    km.seed = static_cast<uint64_t>(t);
    (void)kmeans_fit(*backend, km, X.view());
    PcaParams params;
    params.n_components = 4;
    return pca_fit(*backend, params, X.view()).components;
  };
  std::vector<Matrix<double>> alone;
  for (int t = 0; t < kThreads; ++t) alone.push_back(fit(t));
  for (int round = 0; round < 30; ++round) {
    std::vector<Matrix<double>> together(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) threads.emplace_back([&, t] { together[t] = fit(t); });
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) {
      ASSERT_TRUE(std::equal(alone[t].data(), alone[t].data() + alone[t].size(),
                             together[t].data()))
          << "round " << round << ", thread " << t;
    }
  }
}

}  // namespace
}  // namespace stray::internal
