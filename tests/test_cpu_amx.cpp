// The CPU backend's tile-unit (AMX) distance kernel against float64 loops.
// It runs only where the CPU has the unit; elsewhere the test says so and
// skips (the k-means tests then cover the AVX-512/Eigen path alone).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "cpu/cpu_kmeans_amx.hpp"
#include "stray/stray.hpp"

#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace stray::internal {
namespace {

#if defined(__x86_64__) && defined(__linux__)
// Whether Linux has granted this process the tile state
// (ARCH_GET_XCOMP_PERM, bit XFEATURE_XTILEDATA).
bool tile_state_granted() {
  constexpr long kGetXcompPerm = 0x1022, kXtileData = 18;
  unsigned long features = 0;
  if (syscall(SYS_arch_prctl, kGetXcompPerm, &features) != 0) return false;
  return (features >> kXtileData) & 1u;
}

// The library changes no process-wide state unless asked: a backend made
// with default options fits k-means and PCA without the tile state being
// requested. In a child process, since other tests opt in.
TEST(CpuAmxDeathTest, DefaultOptionsNeverRequestTheTileState) {
  EXPECT_EXIT(
      {
        std::mt19937 rng(1);
        std::normal_distribution<float> g;
        Matrix<float> X(4096, 64);
        for (int64_t i = 0; i < X.size(); ++i) X.data()[i] = g(rng);
        auto backend = make_backend("cpu");
        KMeansParams km;
        km.n_clusters = 32;
        (void)kmeans_fit(*backend, km, X.view());
        PcaParams pca;
        pca.n_components = 8;
        (void)pca_fit(*backend, pca, X.view());
        std::exit(tile_state_granted() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}
#endif

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

// A tile's rows, their bfloat16 parts and their transposes stay within
// ~1 MiB beside the product block, within the workspace for every thread,
// in whole 32-row blocks.
TEST(CpuAmx, TileRowsFitTheCacheAndTheWorkspace) {
  constexpr std::size_t kDefaultWorkspace = std::size_t{256} << 20;
  for (const int64_t d : {32, 50, 64}) {
    const int64_t dp = (d + 31) / 32 * 32;
    int64_t previous = 1 << 30;
    for (const int64_t k : {16, 100, 1000, 5000}) {
      const int64_t kp = (k + 15) / 16 * 16;
      const int64_t rows = amx_tile_rows(d, k, kDefaultWorkspace, 2);
      EXPECT_EQ(rows % 32, 0) << d << " " << k;
      EXPECT_GE(rows, 32);
      EXPECT_LE(rows, 4096);
      if (rows > 32) {
        EXPECT_LE(rows * (4 * d + 8 * dp) + 4 * kp * 32, int64_t{1} << 20) << d << " " << k;
      }
      EXPECT_LE(rows, previous) << "more centres leave less room for rows";
      previous = rows;
    }
    // A small workspace bounds the tiles of all threads together.
    const std::size_t small = std::size_t{64} << 10;
    const int64_t rows = amx_tile_rows(d, 100, small, 2);
    EXPECT_LE(static_cast<std::size_t>(rows * 8 * dp * 2),
              std::max<std::size_t>(small, 32 * 8 * dp * 2));
  }
}

TEST(CpuAmx, NearestTwoMatchFloat64WithinTheStatedError) {
  if (!amx_available()) GTEST_SKIP() << "this CPU (or kernel) offers no AMX-BF16 tile unit";
  std::mt19937 gen(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  struct Shape {
    int64_t n, d, k;
  };
  // Padded and exact widths; row counts off the 32-row blocks; a last
  // block of 16 centres (k = 17, 40); gathered rows.
  for (const Shape s : {Shape{37, 32, 32}, Shape{100, 64, 100}, Shape{65, 50, 17}, Shape{8, 129, 40}}) {
    std::vector<float> X(static_cast<std::size_t>(s.n * s.d)), C(static_cast<std::size_t>(s.k * s.d));
    for (float& v : X) v = normal(gen) * 10.0f + 3.0f;
    for (float& v : C) v = normal(gen) * 10.0f;
    std::vector<float> c_norms(static_cast<std::size_t>(s.k));
    double c_norm_max = 0.0;
    for (int64_t j = 0; j < s.k; ++j) {
      double cn = 0.0;
      for (int64_t t = 0; t < s.d; ++t) cn += double(C[j * s.d + t]) * C[j * s.d + t];
      c_norms[j] = static_cast<float>(cn);
      c_norm_max = std::max(c_norm_max, cn);
    }
    const AmxCentres centres = amx_centres(C.data(), s.k, s.d);
    ASSERT_GE(centres.kp, s.k);
    AmxRowScratch scratch;
    std::vector<int64_t> ids;
    for (int64_t i = s.n - 1; i >= 0; i -= 2) ids.push_back(i);  // every other row, reversed
    for (const bool gathered : {false, true}) {
      const int64_t m = gathered ? static_cast<int64_t>(ids.size()) : s.n;
      std::vector<float> best(static_cast<std::size_t>(m) + 1, NAN), second(best);
      std::vector<int32_t> best_j(best.size(), -7);
      std::vector<float> norms(best.size(), NAN);  // the rows' ‖x‖², asked for with gathered rows
      amx_begin();
      amx_nearest_two(centres, c_norms.data(), X.data(), gathered ? ids.data() : nullptr, 0, m,
                      scratch, best.data(), second.data(), best_j.data(),
                      gathered ? norms.data() : nullptr);
      amx_end();
      EXPECT_TRUE(std::isnan(best[m]) && best_j[m] == -7) << "wrote past m rows";
      EXPECT_TRUE(std::isnan(norms[m])) << "wrote a norm past m rows";
      for (int64_t r = 0; r < m; ++r) {
        const float* x = X.data() + (gathered ? ids[r] : r) * s.d;
        double xn = 0.0;
        for (int64_t t = 0; t < s.d; ++t) xn += double(x[t]) * x[t];
        if (gathered) {  // a float32 sum of d squares
          EXPECT_NEAR(norms[r], xn, 2.0 * s.d * 0x1p-24 * xn) << "d=" << s.d << " row " << r;
        }
        // v_j = ‖c_j‖² − 2 c_j·x in float64; the two smallest.
        std::vector<double> v(static_cast<std::size_t>(s.k));
        for (int64_t j = 0; j < s.k; ++j) {
          double dot = 0.0;
          for (int64_t t = 0; t < s.d; ++t) dot += double(x[t]) * C[j * s.d + t];
          v[j] = double(c_norms[j]) - 2.0 * dot;
        }
        std::vector<double> sorted(v);
        std::sort(sorted.begin(), sorted.end());
        const double allowed = amx_relative_error(s.d) * (xn + c_norm_max);
        EXPECT_NEAR(best[r], sorted[0], allowed) << "d=" << s.d << " row " << r;
        EXPECT_NEAR(second[r], sorted[1], allowed) << "d=" << s.d << " row " << r;
        ASSERT_GE(best_j[r], 0);
        ASSERT_LT(best_j[r], s.k);
        EXPECT_LE(v[best_j[r]], sorted[0] + 2.0 * allowed) << "d=" << s.d << " row " << r;
        // And the bound is not vacuous: ~4 orders of magnitude below the terms.
        EXPECT_LT(allowed, 1e-3 * (xn + c_norm_max));
      }
    }
  }
}

}  // namespace
}  // namespace stray::internal
