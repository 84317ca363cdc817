// The CPU backend's tile-unit (AMX) product kernel against float64 loops.
// It runs only where the CPU has the unit; elsewhere the test says so and
// skips (the k-means tests then cover the AVX-512/Eigen path alone).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "cpu/cpu_kmeans_amx.hpp"

namespace stray::internal {
namespace {

// Tile loads are fast only on whole cache lines: the buffers must start on one.
TEST(CpuAmx, TileBuffersStartOnCacheLines) {
  for (std::size_t n : {1u, 7u, 100u, 4097u}) {
    TileBuffer<uint16_t> a(n);
    TileBuffer<float> b(n);
    b.resize(3 * n);  // reallocated: still aligned
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data()) % 64, 0u) << n;
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % 64, 0u) << n;
  }
}

TEST(CpuAmx, ProductsMatchFloat64WithinTheStatedError) {
  if (!amx_available()) GTEST_SKIP() << "this CPU (or kernel) offers no AMX-BF16 tile unit";
  std::mt19937 gen(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  struct Shape {
    int64_t n, d, k;
  };
  // Padded and exact widths; row counts off the 32-row blocks; gathered rows.
  for (const Shape s : {Shape{37, 32, 32}, Shape{100, 64, 100}, Shape{65, 50, 17}, Shape{8, 129, 40}}) {
    std::vector<float> X(static_cast<std::size_t>(s.n * s.d)), C(static_cast<std::size_t>(s.k * s.d));
    for (float& v : X) v = normal(gen) * 10.0f + 3.0f;
    for (float& v : C) v = normal(gen) * 10.0f;
    const AmxCentres centres = amx_centres(C.data(), s.k, s.d);
    ASSERT_GE(centres.kp, s.k);
    AmxRowScratch scratch;
    std::vector<int64_t> ids;
    for (int64_t i = s.n - 1; i >= 0; i -= 2) ids.push_back(i);  // every other row, reversed
    for (const bool gathered : {false, true}) {
      const int64_t m = gathered ? static_cast<int64_t>(ids.size()) : s.n;
      const int64_t ld = amx_padded_rows(m);
      std::vector<float> out(static_cast<std::size_t>(centres.kp * ld), NAN);
      amx_begin();
      amx_products(centres, X.data(), gathered ? ids.data() : nullptr, 0, m, scratch, out.data());
      amx_end();
      for (int64_t r = 0; r < m; ++r) {
        const float* x = X.data() + (gathered ? ids[r] : r) * s.d;
        double xn = 0.0;
        for (int64_t t = 0; t < s.d; ++t) xn += double(x[t]) * x[t];
        for (int64_t j = 0; j < s.k; ++j) {
          const float* c = C.data() + j * s.d;
          double dot = 0.0, cn = 0.0;
          for (int64_t t = 0; t < s.d; ++t) dot += double(x[t]) * c[t], cn += double(c[t]) * c[t];
          // The stated bound is on the squared distance (twice the product).
          const double allowed = amx_relative_error(s.d) * (xn + cn) / 2.0;
          EXPECT_NEAR(out[j * ld + r], dot, allowed) << "d=" << s.d << " row " << r << " centre " << j;
          // And it is not vacuous: ~4 orders of magnitude below the terms.
          EXPECT_LT(allowed, 1e-3 * (xn + cn));
        }
        for (int64_t j = s.k; j < centres.kp; ++j) EXPECT_EQ(out[j * ld + r], 0.0f);  // padding
      }
    }
  }
}

}  // namespace
}  // namespace stray::internal
