// The run-time loaded OpenBLAS SYRK (cpu/cpu_blas.hpp) against a float64
// loop, and the CPU backend's Gram with and without it. Where no
// single-threaded OpenBLAS is installed the first test says so and skips
// (the Gram then runs on Eigen alone, which the other suites cover).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "cpu/cpu_blas.hpp"
#include "stray/stray.hpp"

namespace stray::internal {
namespace {

TEST(CpuBlas, SyrkMatchesFloat64) {
  const SyrkFn syrk = openblas_syrk();
  if (syrk == nullptr) {
    GTEST_SKIP() << "no single-threaded OpenBLAS at " << openblas_serial_path()
                 << " (Debian's libopenblas0-serial; scripts/install-deps)";
  }
  const int n = 37, k = 301;
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  std::vector<float> a(static_cast<std::size_t>(k * n));
  for (float& v : a) v = g(rng);
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
  without.cpu.openblas = false;
  const PcaModel a = pca_fit(*make_backend("cpu", with), params, X.view());
  const PcaModel b = pca_fit(*make_backend("cpu", without), params, X.view());
  for (int64_t c = 0; c < params.n_components; ++c) {
    EXPECT_NEAR(a.explained_variance[c], b.explained_variance[c],
                1e-5 * b.explained_variance[0]) << c;
  }
}

}  // namespace
}  // namespace stray::internal
