// The fused nearest-two kernel (cpu/cpu_nearest_two.hpp) of the k-means
// assignment: against float64 distances computed naively (the two nearest
// within the expanded formula's rounding allowance, the label exact unless
// the two nearest are closer than that), the vector kernels bit for bit
// against the scalar one, ties to the lower centre, gathered rows and odd
// shapes (k not a multiple of 16, rows not a multiple of the row block).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "cpu/cpu_nearest_two.hpp"

namespace stray::internal {
namespace {

struct Case {
  int64_t n, k, d;
  std::vector<float> x, c, c_norms;
};

Case make_case(int64_t n, int64_t k, int64_t d, uint32_t seed) {
  Case cs{n, k, d, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  cs.c.resize(static_cast<std::size_t>(k * d));
  for (float& v : cs.c) v = 3.0f * g(rng);
  cs.x.resize(static_cast<std::size_t>(n * d));
  for (int64_t i = 0; i < n; ++i) {  // each row near some centre
    const int64_t j = static_cast<int64_t>(rng() % static_cast<uint32_t>(k));
    for (int64_t t = 0; t < d; ++t) cs.x[i * d + t] = cs.c[j * d + t] + g(rng);
  }
  for (int64_t j = 0; j < k; ++j) {
    double s = 0.0;
    for (int64_t t = 0; t < d; ++t) s += double(cs.c[j * d + t]) * cs.c[j * d + t];
    cs.c_norms.push_back(static_cast<float>(s));
  }
  return cs;
}

struct Result {
  std::vector<float> best, second;
  std::vector<int32_t> j;
};

Result run(NearestTwoKernel kernel, const Case& cs, const std::vector<int64_t>* rows) {
  const NearestTwoCentres centres(cs.c.data(), cs.c_norms.data(), cs.k, cs.d);
  const int64_t m = rows ? static_cast<int64_t>(rows->size()) : cs.n;
  Result r{std::vector<float>(m), std::vector<float>(m), std::vector<int32_t>(m)};
  nearest_two_fused(kernel, centres, cs.x.data(), rows ? rows->data() : nullptr, 0, m,
                    r.best.data(), r.second.data(), r.j.data());
  return r;
}

std::vector<NearestTwoKernel> vector_kernels() {
  std::vector<NearestTwoKernel> out;
  const NearestTwoKernel best = nearest_two_kernel(16, 16);
  if (best == NearestTwoKernel::avx512) out.push_back(NearestTwoKernel::avx512);
  if (best != NearestTwoKernel::none) out.push_back(NearestTwoKernel::avx2);  // AVX-512 CPUs have AVX2
  return out;
}

TEST(NearestTwoFused, MatchesFloat64DistancesWithinTheRoundingAllowance) {
  for (const auto& [n, k, d] : {std::tuple{203, 100, 64}, std::tuple{37, 5, 3},
                                std::tuple{64, 33, 17}, std::tuple{9, 1, 8}}) {
    const Case cs = make_case(n, k, d, static_cast<uint32_t>(n + k + d));
    const Result r = run(NearestTwoKernel::none, cs, nullptr);
    for (int64_t i = 0; i < n; ++i) {
      const float* x = cs.x.data() + i * d;
      double xx = 0.0, b = std::numeric_limits<double>::infinity(), s = b;
      int64_t bj = -1;
      for (int64_t t = 0; t < d; ++t) xx += double(x[t]) * x[t];
      for (int64_t j = 0; j < k; ++j) {
        double dist = 0.0;
        for (int64_t t = 0; t < d; ++t) {
          const double diff = double(x[t]) - cs.c[j * d + t];
          dist += diff * diff;
        }
        const double v = dist - xx;  // ‖c‖² − 2c·x in exact arithmetic
        if (v < b) { s = b; b = v; bj = j; } else if (v < s) { s = v; }
      }
      // A length-d dot product and one addition in float32, relative to
      // ‖x‖² + max‖c‖² (the allowance the pruned assignment uses).
      double c_max = 0.0;
      for (float v : cs.c_norms) c_max = std::max(c_max, double(v));
      const double tol = (d + 2) * std::ldexp(1.0, -24) * (xx + c_max);
      EXPECT_NEAR(r.best[i], b, tol) << "row " << i;
      if (k > 1) EXPECT_NEAR(r.second[i], s, tol) << "row " << i;
      else EXPECT_EQ(r.second[i], std::numeric_limits<float>::infinity());
      if (s - b > 2 * tol) EXPECT_EQ(r.j[i], bj) << "row " << i;
    }
  }
}

TEST(NearestTwoFused, VectorKernelsGiveTheScalarKernelsBits) {
  const auto kernels = vector_kernels();
  if (kernels.empty()) GTEST_SKIP() << "this CPU has neither AVX-512F nor AVX2 with FMA";
  const Case cs = make_case(301, 70, 29, 7);
  std::vector<int64_t> gathered;
  for (int64_t i = cs.n - 1; i >= 0; i -= 3) gathered.push_back(i);
  const std::vector<int64_t>* row_sets[] = {nullptr, &gathered};
  for (const std::vector<int64_t>* rows : row_sets) {
    const Result want = run(NearestTwoKernel::none, cs, rows);
    for (NearestTwoKernel kernel : kernels) {
      const Result got = run(kernel, cs, rows);
      for (std::size_t i = 0; i < want.best.size(); ++i) {
        ASSERT_EQ(got.j[i], want.j[i]) << i;
        ASSERT_EQ(std::memcmp(&got.best[i], &want.best[i], sizeof(float)), 0) << i;
        ASSERT_EQ(std::memcmp(&got.second[i], &want.second[i], sizeof(float)), 0) << i;
      }
    }
  }
}

TEST(NearestTwoFused, TiesKeepTheLowerCentreAndNaNNeverWins) {
  // Centres 3 and 19 (different lanes and panels) and 35 are the same
  // point; centre 5 has a NaN coordinate.
  const int64_t k = 40, d = 4;
  Case cs = make_case(8, k, d, 11);
  for (int64_t t = 0; t < d; ++t) {
    cs.c[19 * d + t] = cs.c[3 * d + t];
    cs.c[35 * d + t] = cs.c[3 * d + t];
    for (int64_t i = 0; i < cs.n; ++i) cs.x[i * d + t] = cs.c[3 * d + t] + 0.01f * float(i);
  }
  cs.c[5 * d + 1] = std::numeric_limits<float>::quiet_NaN();
  cs.c_norms[19] = cs.c_norms[35] = cs.c_norms[3];
  cs.c_norms[5] = std::numeric_limits<float>::quiet_NaN();
  auto kernels = vector_kernels();
  kernels.push_back(NearestTwoKernel::none);
  for (NearestTwoKernel kernel : kernels) {
    const Result r = run(kernel, cs, nullptr);
    for (int64_t i = 0; i < cs.n; ++i) {
      EXPECT_EQ(r.j[i], 3) << "row " << i;
      EXPECT_EQ(r.second[i], r.best[i]) << "row " << i;  // the tie is the second
    }
  }
}

TEST(NearestTwoFused, CentresBeyondTheCacheBudgetGoToGemm) {
  EXPECT_EQ(nearest_two_kernel(100000, 64), NearestTwoKernel::none);
  EXPECT_EQ(nearest_two_kernel(0, 64), NearestTwoKernel::none);
}

}  // namespace
}  // namespace stray::internal
