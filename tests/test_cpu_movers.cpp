// The CPU backend's movers (cpu_kmeans_movers.hpp): the centres that moved
// far, compared exactly instead of failing every row's lower bound. A row
// they settle must be proven against float64 distances, on the AVX-512
// kernel and on the Eigen path alike; the plan must pick the far movers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "cpu/amx.hpp"
#include "core/work_team.hpp"
#include "cpu/cpu_kmeans_movers.hpp"

namespace stray::internal {
namespace {

double distance(const float* x, const float* c, int64_t d) {
  double s = 0.0;
  for (int64_t t = 0; t < d; ++t) s += (double(x[t]) - c[t]) * (double(x[t]) - c[t]);
  return std::sqrt(s);
}

std::vector<float> sq_norms(const std::vector<float>& rows, int64_t d) {
  std::vector<float> out(rows.size() / static_cast<std::size_t>(d));
  for (std::size_t i = 0; i < out.size(); ++i) {
    double s = 0.0;
    for (int64_t t = 0; t < d; ++t) s += double(rows[i * d + t]) * rows[i * d + t];
    out[i] = static_cast<float>(s);
  }
  return out;
}

std::vector<float> half_gaps(const std::vector<float>& C, int64_t k, int64_t d) {
  std::vector<float> gap(static_cast<std::size_t>(k), std::numeric_limits<float>::infinity());
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b)
      if (a != b)
        gap[a] = std::min(
            gap[a], static_cast<float>(0.5 * distance(&C[a * d], &C[b * d], d) * (1.0 - 1e-6)));
  return gap;
}

// Rows scattered around k centres; then the first `movers` centres jump
// and the others drift a little. Valid bounds for the moved centres as
// move_bounds would leave them (upper ≥ the distance to the own centre,
// lower ≤ the distance to any other centre that is not a mover), each
// loosened by a random slack; settle_by_movers must prove only true labels.
TEST(CpuMovers, SettledRowsAreProvenOnBothKernels) {
  struct Shape {
    int64_t n, d, k, movers;
  };
  // Whole and partial 16-row blocks and 16-feature bands; one mover, and
  // movers in groups of 8, 4, 2 and 1.
  for (const Shape s : {Shape{700, 64, 30, 5}, Shape{333, 20, 12, 1}, Shape{129, 3, 40, 15}}) {
    std::mt19937 gen(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> slack(0.0f, 1.0f);
    std::vector<float> C(static_cast<std::size_t>(s.k * s.d));
    for (float& v : C) v = normal(gen) * 6.0f + 20.0f;
    std::vector<float> X(static_cast<std::size_t>(s.n * s.d));
    std::vector<int32_t> labels(static_cast<std::size_t>(s.n));
    for (int64_t i = 0; i < s.n; ++i) {
      labels[i] = static_cast<int32_t>(gen() % s.k);
      for (int64_t t = 0; t < s.d; ++t)
        X[i * s.d + t] = C[labels[i] * s.d + t] + normal(gen) * 2.0f;
    }
    // The first `movers` centres jump; the rest drift.
    for (int64_t j = 0; j < s.k; ++j)
      for (int64_t t = 0; t < s.d; ++t)
        C[j * s.d + t] += (j < s.movers ? 4.0f : 0.05f) * normal(gen);

    MoverPlan plan;
    plan.m = s.movers;
    plan.centres.resize(s.movers, s.d);
    for (int64_t q = 0; q < s.movers; ++q) {
      plan.ids.push_back(static_cast<int32_t>(q));
      for (int64_t t = 0; t < s.d; ++t) plan.centres(q, t) = C[q * s.d + t];
    }
    const std::vector<float> c_norms = sq_norms(C, s.d);
    plan.norms.assign(c_norms.begin(), c_norms.begin() + s.movers);
    const float c_norm_max = *std::max_element(c_norms.begin(), c_norms.end());
    const std::vector<float> row_norms = sq_norms(X, s.d);
    const std::vector<float> gap = half_gaps(C, s.k, s.d);
    std::vector<float> upper(static_cast<std::size_t>(s.n)), lower(upper.size());
    for (int64_t i = 0; i < s.n; ++i) {
      const int32_t a = labels[i];
      double nearest_rest = std::numeric_limits<double>::infinity();
      for (int64_t j = s.movers; j < s.k; ++j)
        if (j != a) nearest_rest = std::min(nearest_rest, distance(&X[i * s.d], &C[j * s.d], s.d));
      upper[i] =
          static_cast<float>(distance(&X[i * s.d], &C[a * s.d], s.d) * (1.0 + 1e-6)) + slack(gen);
      lower[i] = static_cast<float>(nearest_rest * (1.0 - 1e-6)) - slack(gen);
    }

    // Every row but each fifth, as a tile's failing rows would be listed.
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < s.n; ++i)
      if (i % 5 != 4) ids.push_back(i);
    const int64_t count = static_cast<int64_t>(ids.size());
    std::vector<float> lower_rest(ids.size());
    for (int64_t q = 0; q < count; ++q) lower_rest[q] = lower[ids[q]];

    std::vector<uint8_t> failed_by[2];
    for (const bool vector_kernel : {false, true}) {
      std::vector<float> up = upper, lo = lower, scratch;
      std::vector<uint8_t> failed(ids.size(), 1);
      const MoverRows rows{X.data(),   s.d,           C.data(),         c_norms.data(),
                           c_norm_max, labels.data(), row_norms.data(), gap.data(),
                           1e-5f,      up.data(),     lo.data()};
      settle_by_movers(plan, rows, ids.data(), count, lower_rest.data(), failed.data(), scratch,
                       vector_kernel);
      int64_t settled = 0;
      for (int64_t q = 0; q < count; ++q) {
        const int64_t i = ids[q];
        const int32_t a = labels[i];
        const double own = distance(&X[i * s.d], &C[a * s.d], s.d);
        double other = std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < s.k; ++j)
          if (j != a) other = std::min(other, distance(&X[i * s.d], &C[j * s.d], s.d));
        // The bounds stay bounds for every row, settled or not; the upper
        // one is now the exact distance, within the rounding allowance.
        EXPECT_GE(up[i], own * (1.0 - 1e-6)) << "row " << i << " d=" << s.d;
        const double allowance = 2e-5 * (row_norms[i] + c_norm_max);  // twice the stated one
        EXPECT_LE(double(up[i]) * up[i], own * own + allowance) << "row " << i << " d=" << s.d;
        EXPECT_LE(lo[i], other * (1.0 + 1e-6)) << "row " << i << " d=" << s.d;
        if (failed[q]) continue;
        ++settled;
        EXPECT_LE(own, other * (1.0 + 1e-6)) << "row " << i << " settled with a wrong label";
      }
      // Rows not listed are left alone.
      for (int64_t i = 4; i < s.n; i += 5) {
        EXPECT_EQ(up[i], upper[i]);
        EXPECT_EQ(lo[i], lower[i]);
      }
      // Not vacuous: the exact checks settle most rows the jump would fail.
      EXPECT_GT(settled, count / 3) << "d=" << s.d << " vector_kernel=" << vector_kernel;
      failed_by[vector_kernel] = failed;
    }
    if (avx512_available()) {
      int64_t differ = 0;
      for (int64_t q = 0; q < count; ++q) differ += failed_by[0][q] != failed_by[1][q];
      EXPECT_LE(differ, count / 100) << "the two kernels disagree beyond rounding";
    }
  }
}

// One centre jumps, the others barely move: the plan takes that one out.
// When none jumps, plain Hamerly is kept. The blobs are wide enough that
// most rows lie beyond half the gap to the next centre, so the lower bound
// (not the gap) is what settles them.
TEST(CpuMovers, PlanTakesOutTheCentresThatJumped) {
  const int64_t n = 20000, d = 32, k = 40;
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> C(static_cast<std::size_t>(k * d));
  for (float& v : C) v = normal(gen) * 3.0f;
  std::vector<float> X(static_cast<std::size_t>(n * d));
  std::vector<int32_t> labels(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = static_cast<int32_t>(i % k);
    for (int64_t t = 0; t < d; ++t) X[i * d + t] = C[labels[i] * d + t] + 2.0f * normal(gen);
  }
  // Bounds for these centres: the exact distances to the row's own and to
  // the nearest other (a row nearer another centre keeps its label; the
  // bounds are valid all the same).
  std::vector<float> upper(static_cast<std::size_t>(n)), lower(upper.size());
  for (int64_t i = 0; i < n; ++i) {
    double other = std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < k; ++j)
      if (j != labels[i]) other = std::min(other, distance(&X[i * d], &C[j * d], d));
    upper[i] = static_cast<float>(distance(&X[i * d], &C[labels[i] * d], d) * (1.0 + 1e-6));
    lower[i] = static_cast<float>(other * (1.0 - 1e-6));
  }
  const std::vector<float> row_norms = sq_norms(X, d);

  for (const bool jump : {true, false}) {
    std::vector<float> moved = C;
    std::vector<double> shift(static_cast<std::size_t>(k), 0.01);
    for (int64_t t = 0; t < d; ++t) moved[0 * d + t] += 0.01f / std::sqrt(float(d));
    if (jump) {
      moved[7 * d] += 40.0f;  // centre 7 jumps 40 along the first feature
      shift[7] = 40.0;
    }
    std::vector<float> shift_up(shift.begin(), shift.end());
    const std::vector<float> c_norms = sq_norms(moved, d);
    const std::vector<float> gap = half_gaps(moved, k, d);
    const MoverRows rows{X.data(),         d,          moved.data(),
                         c_norms.data(),   *std::max_element(c_norms.begin(), c_norms.end()),
                         labels.data(),    row_norms.data(), gap.data(),
                         1e-5f,            upper.data(),     lower.data()};
    const MoverPlan plan = plan_movers(rows, {n, k, shift.data(), shift_up.data(), false});
    // The sample's check runs in fixed chunks on the threads: the plan
    // must not depend on how many there are.
    for (const int threads : {2, 3}) {
      WorkTeam team(threads);
      const MoverPlan again =
          plan_movers(rows, {n, k, shift.data(), shift_up.data(), false, &team});
      EXPECT_EQ(again.m, plan.m) << threads << " threads";
      EXPECT_EQ(again.ids, plan.ids) << threads << " threads";
    }
    if (!jump) {
      EXPECT_EQ(plan.m, 0) << "nothing jumped: plain bounds settle every row";
      continue;
    }
    ASSERT_GE(plan.m, 1);
    EXPECT_EQ(plan.ids[0], 7);
    EXPECT_FLOAT_EQ(plan.norms[0], c_norms[7]);
    for (int64_t t = 0; t < d; ++t) EXPECT_EQ(plan.centres(0, t), moved[7 * d + t]);
    EXPECT_LE(plan.rest_largest, 0.0101f) << "the rest of the centres barely moved";
  }
}

}  // namespace
}  // namespace stray::internal
