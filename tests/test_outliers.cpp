// Outlier rules within clusters, against hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>

#include "stray/core/error.hpp"
#include "stray/fleet/outliers.hpp"

namespace stray {
namespace {

// Cluster 0: rows 0-4, distances 1 5 2 9 3; cluster 1: rows 5, 6 (a tie);
// cluster 2: row 7 alone.
const std::vector<int32_t> kLabels = {0, 0, 0, 0, 0, 1, 1, 2};
const std::vector<float> kDist = {1, 5, 2, 9, 3, 4, 4, 7};

std::vector<int64_t> flagged(const OutlierResult& r) {
  std::vector<int64_t> v;
  for (const auto& o : r.outliers) v.push_back(o.entity);
  return v;
}

TEST(Outliers, PercentileOfTheClustersOwnDistances) {
  const OutlierResult r = find_outliers(kLabels, kDist);  // p = 95 by default
  // numpy.percentile([1, 2, 3, 5, 9], 95) = 5 + 0.8 × (9 − 5) = 8.2
  EXPECT_DOUBLE_EQ(r.thresholds[0], 8.2);
  EXPECT_DOUBLE_EQ(r.thresholds[1], 4.0);  // a tie flags nobody (strictly beyond)
  EXPECT_DOUBLE_EQ(r.thresholds[2], 7.0);
  EXPECT_EQ(flagged(r), (std::vector<int64_t>{3}));
  EXPECT_EQ(r.outliers[0].rules, kOutlierPercentile);
  EXPECT_EQ(r.outliers[0].rank, 0);
  EXPECT_EQ(r.outliers[0].cluster_size, 5);
  EXPECT_EQ(r.cluster_sizes, (std::vector<int64_t>{5, 2, 1}));
  EXPECT_EQ(r.is_outlier, (std::vector<uint8_t>{0, 0, 0, 1, 0, 0, 0, 0}));

  OutlierParams p;
  p.percentile = 50;  // median of cluster 0 is 3: 5 and 9 are beyond
  EXPECT_EQ(flagged(find_outliers(kLabels, kDist, p)), (std::vector<int64_t>{3, 1}));
}

TEST(Outliers, TopNTopFractionSmallClusters) {
  OutlierParams p;
  p.percentile = 0;
  p.top_n = 1;
  // Ties go to the lower index: row 5 before row 6.
  EXPECT_EQ(flagged(find_outliers(kLabels, kDist, p)), (std::vector<int64_t>{3, 5, 7}));

  p.top_n = 0;
  p.top_fraction = 0.4;  // ⌊0.4 × 5⌋ = 2 in cluster 0, ⌊0.8⌋ = 0 and ⌊0.4⌋ = 0 elsewhere
  const OutlierResult f = find_outliers(kLabels, kDist, p);
  EXPECT_EQ(flagged(f), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(f.outliers[1].rank, 1);
  EXPECT_TRUE(std::isnan(f.thresholds[0]));  // percentile rule off

  p.top_fraction = 0;
  p.small_cluster_size = 2;  // clusters 1 and 2 whole
  const OutlierResult s = find_outliers(kLabels, kDist, p);
  EXPECT_EQ(flagged(s), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(s.outliers[2].rules, kOutlierSmallCluster);

  // Several rules at once: the mask says which fired.
  p = {};
  p.top_n = 1;
  p.small_cluster_size = 1;
  const OutlierResult all = find_outliers(kLabels, kDist, p);
  EXPECT_EQ(flagged(all), (std::vector<int64_t>{3, 5, 7}));
  EXPECT_EQ(all.outliers[0].rules, kOutlierTopN | kOutlierPercentile);
  EXPECT_EQ(all.outliers[2].rules, kOutlierTopN | kOutlierSmallCluster);
  EXPECT_EQ(outlier_rules_string(all.outliers[0].rules), "top_n,percentile");
  EXPECT_EQ(outlier_rules_string(0), "");
}

TEST(Outliers, FractionIsRobustToRounding) {
  // 0.29 × 100 = 28.999999999999996 in binary floating point: still 29.
  std::vector<int32_t> labels(100, 0);
  std::vector<float> dist(100);
  for (int i = 0; i < 100; ++i) dist[static_cast<std::size_t>(i)] = static_cast<float>(i);
  OutlierParams p;
  p.percentile = 0;
  p.top_fraction = 0.29;
  EXPECT_EQ(find_outliers(labels, dist, p).outliers.size(), 29u);
}

TEST(Outliers, EmptyClustersAndExplicitK) {
  const OutlierResult r = find_outliers({0, 0, 2}, {1, 2, 3}, {}, 4);
  EXPECT_EQ(r.cluster_sizes, (std::vector<int64_t>{2, 0, 1, 0}));
  EXPECT_TRUE(std::isnan(r.thresholds[1]));
  EXPECT_TRUE(find_outliers({}, {}).outliers.empty());
}

TEST(Outliers, PercentileLinearMatchesNumpy) {
  std::vector<double> v = {3, 1, 4, 1, 5, 9, 2, 6};
  EXPECT_DOUBLE_EQ(percentile_linear(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_linear(v, 100), 9.0);
  EXPECT_DOUBLE_EQ(percentile_linear(v, 50), 3.5);    // numpy: 3.5
  EXPECT_DOUBLE_EQ(percentile_linear(v, 90), 6.9);    // numpy: 6.9
  std::vector<double> empty;
  EXPECT_THROW(percentile_linear(empty, 50), Error);
}

TEST(Outliers, RejectsBadInput) {
  auto code = [](const std::vector<int32_t>& l, const std::vector<float>& d, OutlierParams p = {},
                 int64_t k = 0) {
    try {
      find_outliers(l, d, p, k);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::not_fitted;
  };
  EXPECT_EQ(code({0, 1}, {1}), ErrorCode::shape_mismatch);
  EXPECT_EQ(code({0, -1}, {1, 1}), ErrorCode::invalid_argument);
  EXPECT_EQ(code({0, 3}, {1, 1}, {}, 2), ErrorCode::invalid_argument);
  EXPECT_EQ(code({0, 0}, {1, std::nanf("")}), ErrorCode::non_finite_input);
  EXPECT_EQ(code({0, 0}, {1, -1}), ErrorCode::non_finite_input);
  OutlierParams p;
  p.percentile = 100;
  EXPECT_EQ(code({0}, {1}, p), ErrorCode::invalid_argument);
  p = {};
  p.top_fraction = 1.5;
  EXPECT_EQ(code({0}, {1}, p), ErrorCode::invalid_argument);
  p = {};
  p.top_n = -1;
  EXPECT_EQ(code({0}, {1}, p), ErrorCode::invalid_argument);
}


TEST(Outliers, BaselineThresholdsApplyAsGiven) {
  // Cluster 0 keeps a threshold from a baseline; cluster 1 has none (NaN)
  // but is small in the baseline; cluster 2 has a threshold nobody exceeds.
  const std::vector<int32_t> labels{0, 0, 0, 1, 2, 2};
  const std::vector<float> scores{1.0f, 5.0f, 3.0f, 0.5f, 1.0f, 2.0f};
  const std::vector<double> thresholds{2.0, std::nan(""), 10.0};
  const std::vector<uint8_t> small{0, 1, 0};
  const OutlierResult r = apply_outlier_thresholds(labels, scores, 0, 0.0, thresholds, small);
  ASSERT_EQ(r.outliers.size(), 3u);
  EXPECT_EQ(r.outliers[0].entity, 1);  // 5 > 2, rank 0 of cluster 0
  EXPECT_EQ(r.outliers[0].rules, kOutlierPercentile);
  EXPECT_EQ(r.outliers[1].entity, 2);  // 3 > 2, rank 1
  EXPECT_EQ(r.outliers[1].rank, 1);
  EXPECT_EQ(r.outliers[2].entity, 3);  // small in the baseline
  EXPECT_EQ(r.outliers[2].rules, kOutlierSmallCluster);
  EXPECT_EQ(r.cluster_sizes, (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(r.is_outlier, (std::vector<uint8_t>{0, 1, 1, 1, 0, 0}));
  // top_n still ranks within each cluster.
  const OutlierResult top = apply_outlier_thresholds(labels, scores, 1, 0.0, thresholds, small);
  EXPECT_EQ(top.is_outlier, (std::vector<uint8_t>{0, 1, 1, 1, 0, 1}));
  EXPECT_THROW(apply_outlier_thresholds({0, 3}, {1, 1}, 0, 0.0, thresholds, small), Error);
  EXPECT_THROW(apply_outlier_thresholds({0}, {1}, 0, 0.0, thresholds, {0}), Error);
}

}  // namespace
}  // namespace stray
