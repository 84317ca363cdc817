// Value rarity (fleet/rarity.hpp) against its definition computed naively
// in float64: every feature's two-sided mid-p value counted over the whole
// column, zeros included, −ln summed.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "stray/core/error.hpp"
#include "stray/core/matrix.hpp"
#include "stray/fleet/rarity.hpp"

namespace stray {
namespace {

// −ln min(1, 2·min(P(X ≤ x), P(X ≥ x))), each P = (count + ties/2 + 1) / (n + 1).
double naive_cost(const std::vector<double>& column, double x) {
  double below = 0.0, equal = 0.0;
  for (const double v : column) {
    below += v < x;
    equal += v == x;
  }
  const auto n = static_cast<double>(column.size());
  const double left = (below + 0.5 * equal + 1.0) / (n + 1.0);
  const double right = (n - below - equal + 0.5 * equal + 1.0) / (n + 1.0);
  return -std::log(std::min(1.0, 2.0 * std::min(left, right)));
}

std::vector<double> naive_rarity(const Matrix<float>& baseline, const Matrix<float>& X) {
  std::vector<double> out(static_cast<std::size_t>(X.rows()), 0.0);
  for (int64_t j = 0; j < X.cols(); ++j) {
    std::vector<double> column;
    for (int64_t i = 0; i < baseline.rows(); ++i) column.push_back(baseline(i, j));
    for (int64_t i = 0; i < X.rows(); ++i) out[static_cast<std::size_t>(i)] += naive_cost(column, X(i, j));
  }
  return out;
}

// Sparse non-negative data with few distinct values per column (ties,
// pervasive features, rare ones) and one continuous column.
Matrix<float> mixed(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double share[] = {0.99, 0.5, 0.02, 0.3, 1.0, 0.0};
  Matrix<float> X(n, 7, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < 6; ++j) {
      if (u(rng) < share[j]) X(i, j) = j == 3 ? static_cast<float>(1 + (i % 4)) * 0.25f : 1.0f;
    }
    X(i, 6) = static_cast<float>(u(rng) * 10.0);
  }
  return X;
}

TEST(Rarity, EqualsTheNaiveSumOverEveryFeature) {
  const Matrix<float> base = mixed(300, 1);
  const CsrMatrix B = dense_to_csr(base.view());
  const FeatureRarity r = fit_feature_rarity(B.view(), 1024);
  EXPECT_EQ(r.n_entities, 300);
  EXPECT_EQ(r.n_features(), 7);
  EXPECT_NO_THROW(validate_feature_rarity(r, 7, "test"));
  // The baseline's own rows and a later snapshot's, against the baseline.
  const Matrix<float> later = mixed(50, 2);
  for (const Matrix<float>* rows_of : {&base, &later}) {
    const Matrix<float>& rows = *rows_of;
    const CsrMatrix R = dense_to_csr(rows.view());
    const std::vector<double> got = rarity_scores(r, R.view());
    const std::vector<double> want = naive_rarity(base, rows);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-9 * (1.0 + want[i])) << i;
  }
}

TEST(Rarity, WhatNoOneHasAndWhatEveryoneHasAreRare) {
  // Feature 0: everyone has it; feature 1: no one.
  Matrix<float> base(9, 2, 0.0f);
  for (int64_t i = 0; i < 9; ++i) base(i, 0) = 1.0f;
  const CsrMatrix B = dense_to_csr(base.view());
  const FeatureRarity r = fit_feature_rarity(B.view());
  // Lacking the pervasive one: P(X ≤ 0) = (0 + 0 + 1) / 10.
  EXPECT_NEAR(value_rarity(r, 0, 0.0), -std::log(2.0 / 10.0), 1e-15);
  EXPECT_NEAR(value_rarity(r, 0, 1.0), 0.0, 1e-15);
  EXPECT_NEAR(value_rarity(r, 1, 3.0), -std::log(2.0 / 10.0), 1e-15);  // past every value
  EXPECT_NEAR(value_rarity(r, 1, 0.0), 0.0, 1e-15);
  // A feature the baseline never had (unseen) costs what no one having it costs.
  Matrix<float> one(2, 2, 0.0f);
  one(0, 0) = one(1, 0) = 1.0f;
  const CsrMatrix O = dense_to_csr(one.view());
  const std::vector<UnseenFeature> unseen = {{1, "package:new", 1.0, 1.0},
                                             {1, "package:other", 2.0, 0.5}};
  const std::vector<double> s = rarity_scores(r, O.view(), unseen);
  EXPECT_NEAR(s[0], 0.0, 1e-15);
  EXPECT_NEAR(s[1], 2.0 * std::log(10.0 / 2.0), 1e-12);
}

// With more distinct values than knots the tails stay exact and the middle
// is interpolated: each cost is the definition's for some count of values
// below it between what the kept values around it bound.
TEST(Rarity, ThinnedKnotsKeepTheTailsExact) {
  const int64_t n = 2000;
  Matrix<float> base(n, 1);
  for (int64_t i = 0; i < n; ++i) base(i, 0) = 1.0f + static_cast<float>((i * 7919) % n);
  const CsrMatrix B = dense_to_csr(base.view());
  const FeatureRarity r = fit_feature_rarity(B.view(), 16);
  ASSERT_LE(r.knots.size(), 16u);
  std::vector<double> column;
  for (int64_t i = 0; i < n; ++i) column.push_back(base(i, 0));
  for (const double x : {1.0, 2.0, 3.0, 4.0, 1997.0, 1998.0, 1999.0, 2000.0, 2500.0, 0.0, 0.5}) {
    EXPECT_NEAR(value_rarity(r, 0, x), naive_cost(column, x), 1e-12) << x;
  }
  // The definition's cost with `below` values under x and none equal to it.
  const auto cost_of = [&](double below) {
    const double p = 2.0 * std::min(below + 1.0, n - below + 1.0) / (n + 1.0);
    return -std::log(std::min(1.0, p));
  };
  for (double x = 5.5; x < 1996.0; x += 37.0) {
    const auto hi = std::lower_bound(r.knots.begin(), r.knots.end(), x,
                                     [](const RarityKnot& k, double v) { return k.value < v; });
    ASSERT_TRUE(hi != r.knots.begin() && hi != r.knots.end());
    const double lo_count = static_cast<double>(hi[-1].below + hi[-1].equal);
    const double hi_count = static_cast<double>(hi->below);
    const double c = value_rarity(r, 0, x);
    // Between the counts' costs, or down to 0 where the median lies between.
    EXPECT_LE(c, std::max(cost_of(lo_count), cost_of(hi_count)) + 1e-12) << x;
    EXPECT_GE(c, 0.0) << x;
    EXPECT_NEAR(c, naive_cost(column, x), 0.1) << x;  // a uniform column interpolates well
  }
}

// The rarest values of a row are its largest terms of the naive sum, with
// the one-sided share of the baseline as far out on the value's side.
TEST(Rarity, RarestValuesAreTheLargestTerms) {
  const Matrix<float> base = mixed(300, 1);
  const CsrMatrix B = dense_to_csr(base.view());
  const FeatureRarity r = fit_feature_rarity(B.view(), 1024);  // every value kept
  const std::vector<int64_t> rows = {0, 17, 299};
  const auto rare = rarest_values(r, B.view(), rows, 3);
  ASSERT_EQ(rare.size(), rows.size());
  for (std::size_t t = 0; t < rows.size(); ++t) {
    std::vector<std::pair<double, int64_t>> terms;  // (−cost, feature): rarest first
    for (int64_t j = 0; j < base.cols(); ++j) {
      std::vector<double> column;
      for (int64_t i = 0; i < base.rows(); ++i) column.push_back(base(i, j));
      const double c = naive_cost(column, base(rows[t], j));
      if (c > 0.0) terms.push_back({-c, j});
    }
    std::sort(terms.begin(), terms.end());
    ASSERT_EQ(rare[t].size(), std::min<std::size_t>(3, terms.size()));
    for (std::size_t k = 0; k < rare[t].size(); ++k) {
      const RareValue& v = rare[t][k];
      EXPECT_EQ(v.feature, terms[k].second) << t << " " << k;
      EXPECT_NEAR(v.cost, -terms[k].first, 1e-12);
      EXPECT_EQ(v.value, base(rows[t], v.feature));
      // The share is the one-sided tail: 2 · share = p where p < 1.
      EXPECT_NEAR(-std::log(std::min(1.0, 2.0 * v.fleet_share)), v.cost, 1e-12);
    }
  }
  // Lacking what everyone but one has: the share of the fleet that lacks it.
  Matrix<float> most(10, 1, 1.0f);
  most(3, 0) = 0.0f;
  const CsrMatrix M = dense_to_csr(most.view());
  const FeatureRarity mr = fit_feature_rarity(M.view());
  const std::vector<int64_t> three = {3};
  const auto lone = rarest_values(mr, M.view(), three, 5);
  ASSERT_EQ(lone[0].size(), 1u);
  EXPECT_EQ(lone[0][0].value, 0.0);
  EXPECT_NEAR(lone[0][0].fleet_share, 1.5 / 11.0, 1e-15);  // (0 + 1/2 + 1) / (n + 1)
  EXPECT_THROW(rarest_values(mr, M.view(), std::vector<int64_t>{10}, 1), Error);
  EXPECT_THROW(rarest_values(mr, M.view(), three, -1), Error);
}

TEST(Rarity, SameForAnyThreadCount) {
  const Matrix<float> base = mixed(5000, 3);
  const CsrMatrix B = dense_to_csr(base.view());
  const FeatureRarity r = fit_feature_rarity(B.view());
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<double> one = rarity_scores(r, B.view());
  omp_set_num_threads(2);
  const std::vector<double> two = rarity_scores(r, B.view());
  omp_set_num_threads(before);
  EXPECT_EQ(one, two);
}

TEST(Rarity, BadInputIsAnError) {
  const Matrix<float> base = mixed(20, 4);
  CsrMatrix B = dense_to_csr(base.view());
  EXPECT_THROW(fit_feature_rarity(B.view(), 7), Error);
  const FeatureRarity r = fit_feature_rarity(B.view());
  EXPECT_THROW(value_rarity(r, 7, 1.0), Error);
  EXPECT_THROW(value_rarity(r, -1, 1.0), Error);
  EXPECT_THROW(rarity_scores(FeatureRarity{}, CsrMatrix{}.view()), Error);
  CsrMatrix wide = B;
  wide.cols = 8;
  EXPECT_THROW(rarity_scores(r, wide.view()), Error);
  EXPECT_THROW(rarity_scores(r, B.view(), std::vector<UnseenFeature>{{20, "x", 1.0, 1.0}}), Error);
  CsrMatrix negative = B;
  negative.values[0] = -1.0f;
  EXPECT_THROW(fit_feature_rarity(negative.view()), Error);
  EXPECT_THROW(fit_feature_rarity(CsrMatrix{}.view()), Error);
  FeatureRarity bad = r;
  bad.knots[0].equal = 0;
  EXPECT_THROW(validate_feature_rarity(bad, 7, "test"), Error);
  bad = r;
  bad.offsets[1] = static_cast<int64_t>(bad.knots.size()) + 1;
  EXPECT_THROW(validate_feature_rarity(bad, 7, "test"), Error);
  EXPECT_THROW(validate_feature_rarity(r, 6, "test"), Error);
}

}  // namespace
}  // namespace stray
