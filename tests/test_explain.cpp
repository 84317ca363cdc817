// Explanations in the original features: hand-computed centres and
// differences, both modes, leave-one-out, small clusters, and the synthetic
// fleet's anomalies explained by their signature features.
#include <gtest/gtest.h>

#include <cmath>

#include "stray/core/error.hpp"
#include "stray/fleet/explain.hpp"
#include "stray/features/features.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"

namespace stray {
namespace {

CsrMatrix csr(const std::vector<std::vector<float>>& rows) {
  Matrix<float> d(static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size()));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = 0; j < rows[i].size(); ++j) d(static_cast<int64_t>(i), static_cast<int64_t>(j)) = rows[i][j];
  }
  return dense_to_csr(d.view());
}

const std::vector<std::string> kNames = {"package:make", "package:vim", "package:lua5.3"};

TEST(Explain, ClusterMeansFromCsrAndDense) {
  const CsrMatrix X = csr({{1, 0, 0}, {1, 2, 0}, {0, 0, 4}});
  const Matrix<float> m = cluster_means(X, {0, 0, 1}, 3);
  EXPECT_EQ(m(0, 0), 1.0f);
  EXPECT_EQ(m(0, 1), 1.0f);
  EXPECT_EQ(m(1, 2), 4.0f);
  EXPECT_EQ(m(2, 0), 0.0f);  // empty cluster
  const Matrix<float> dense = csr_to_dense(X);
  const Matrix<float> m2 = cluster_means(dense.view(), {0, 0, 1}, 3);
  EXPECT_EQ(m.storage(), m2.storage());
  // ‖(1,0,0) − (1,1,0)‖² = 1, ‖(1,2,0) − (1,1,0)‖² = 1, ‖(0,0,4) − (0,0,4)‖² = 0
  EXPECT_EQ(squared_distances_to_means(X, {0, 0, 1}, m.view()), (std::vector<float>{1, 1, 0}));
  EXPECT_THROW(cluster_means(X, {0, 0}, 2), Error);
  EXPECT_THROW(cluster_means(X, {0, 0, 2}, 2), Error);
}

// Three hosts with make, one with lua5.3 instead: centre (0.75, 0, 0.25).
const CsrMatrix kX = csr({{1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {0, 0, 1}});
const std::vector<int32_t> kOne = {0, 0, 0, 0};

TEST(Explain, ConfigKeepsBothSigns) {
  const Matrix<float> means = cluster_means(kX, kOne, 1);
  const Explanation e = explain_entity(kX, means.view(), 3, 0, 0, {}, kNames);
  EXPECT_EQ(e.entity, 3);
  EXPECT_NEAR(e.distance, std::sqrt(0.75 * 0.75 * 2), 1e-6);
  ASSERT_EQ(e.features.size(), 2u);  // vim does not differ
  // |−0.75| ties with |0.75|: the lower column first.
  EXPECT_EQ(e.features[0].name, "package:make");
  EXPECT_EQ(e.features[0].value, 0.0f);
  EXPECT_EQ(e.features[0].center, 0.75f);
  EXPECT_EQ(e.features[0].difference, -0.75f);
  EXPECT_EQ(e.features[1].name, "package:lua5.3");
  EXPECT_EQ(e.features[1].difference, 0.75f);
}

TEST(Explain, BehaviorKeepsPositiveDifferencesOnly) {
  const Matrix<float> means = cluster_means(kX, kOne, 1);
  ExplainParams p;
  p.mode = ExplainMode::behavior;
  const Explanation e = explain_entity(kX, means.view(), 3, 0, 0, p, kNames);
  ASSERT_EQ(e.features.size(), 1u);
  EXPECT_EQ(e.features[0].feature, 2);
  EXPECT_EQ(e.features[0].difference, 0.75f);
  p.top_features = 1;
  p.mode = ExplainMode::config;
  EXPECT_EQ(explain_entity(kX, means.view(), 3, 0, 0, p).features.size(), 1u);
  EXPECT_EQ(explain_entity(kX, means.view(), 3, 0, 0, p).features[0].name, "");  // no names given
}

TEST(Explain, LeaveOneOutComparesWithTheOthers) {
  const Matrix<float> means = cluster_means(kX, kOne, 1);
  ExplainParams p;
  p.leave_one_out = true;
  const Explanation e = explain_entity(kX, means.view(), 3, 0, 0, p, kNames, {4});
  ASSERT_EQ(e.features.size(), 2u);
  EXPECT_FLOAT_EQ(e.features[0].center, 1.0f);  // the other three all have make
  EXPECT_FLOAT_EQ(e.features[0].difference, -1.0f);
  EXPECT_FLOAT_EQ(e.features[1].center, 0.0f);
  EXPECT_FLOAT_EQ(e.features[1].difference, 1.0f);
  EXPECT_NEAR(e.distance, std::sqrt(2.0), 1e-6);
  EXPECT_THROW(explain_entity(kX, means.view(), 3, 0, 0, p, kNames), Error);  // sizes needed
}

TEST(Explain, SmallClustersAreComparedWithTheNearestOtherCentre) {
  // Cluster 0: four hosts with make; clusters 1 and 2: one host each.
  const CsrMatrix X = csr({{1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {0, 1, 0}, {1, 0, 1}});
  const std::vector<int32_t> labels = {0, 0, 0, 0, 1, 2};
  OutlierParams op;
  op.percentile = 0;
  op.small_cluster_size = 1;
  const OutlierResult o = find_outliers(labels, {0, 0, 0, 0, 0, 0}, op);
  ASSERT_EQ(o.outliers.size(), 2u);
  const auto ex = explain_outliers(X, labels, o, {}, kNames);
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].entity, 4);
  EXPECT_EQ(ex[0].cluster, 1);
  EXPECT_EQ(ex[0].reference_cluster, 0);
  ASSERT_EQ(ex[0].features.size(), 2u);
  EXPECT_EQ(ex[0].features[0].name, "package:make");
  EXPECT_EQ(ex[0].features[0].difference, -1.0f);
  EXPECT_EQ(ex[0].features[1].name, "package:vim");
  EXPECT_EQ(ex[1].reference_cluster, 0);
  ASSERT_EQ(ex[1].features.size(), 1u);
  EXPECT_EQ(ex[1].features[0].name, "package:lua5.3");

  // Without the small-cluster rule, members are compared with their own centre.
  op.small_cluster_size = 0;
  op.top_n = 1;
  const auto own = explain_outliers(X, labels, find_outliers(labels, {0, 0, 0, 0, 0, 0}, op));
  for (const auto& e : own) {
    EXPECT_EQ(e.reference_cluster, e.cluster);
  }
}

TEST(Explain, RejectsBadInput) {
  const Matrix<float> means = cluster_means(kX, kOne, 1);
  EXPECT_THROW(explain_entity(kX, means.view(), 4, 0, 0), Error);
  EXPECT_THROW(explain_entity(kX, means.view(), 0, 0, 1), Error);
  ExplainParams p;
  p.top_features = 0;
  EXPECT_THROW(explain_entity(kX, means.view(), 0, 0, 0, p), Error);
  EXPECT_THROW(explain_entity(kX, means.view(), 0, 0, 0, {}, {"a"}), Error);
  EXPECT_EQ(parse_explain_mode("behavior"), ExplainMode::behavior);
  EXPECT_STREQ(to_string(ExplainMode::config), "config");
  EXPECT_THROW(parse_explain_mode("why"), Error);
}

// Clustering by role (the hostname prefix), every injected anomaly is
// explained by its signature features, with the expected sign. (A single
// tor process, log1p(1) = 0.69, can rank below natural Poisson noise of
// common processes, hence 15 features and not 5.)
class ExplainSynthetic : public ::testing::TestWithParam<uint64_t> {};

TEST_P(ExplainSynthetic, AnomaliesAreExplainedByTheirSignatures) {
  SyntheticFleetParams sp;
  sp.n_entities = 2000;
  sp.seed = GetParam();
  FeatureParams fp;
  fp.normalization = Normalization::log1p;
  fp.group_normalization = {{"package", Normalization::binary},
                            {"net.port", Normalization::binary}};
  FeatureBuilder b(fp);
  const GroundTruth truth = generate_synthetic_fleet(sp, b.sink());
  const FeatureMatrix m = b.build();
  const auto roles = synthetic_fleet_roles();
  std::vector<int32_t> labels;
  for (const auto& name : m.entity_names) {
    const auto role = synthetic_entity_role(name);
    labels.push_back(static_cast<int32_t>(std::find(roles.begin(), roles.end(), role) - roles.begin()));
  }
  const Matrix<float> means = cluster_means(m.X, labels, static_cast<int64_t>(roles.size()));
  ASSERT_EQ(truth.anomalies.size(), 6u);
  for (const auto& a : truth.anomalies) {
    const bool lacks = a.kind == AnomalyKind::missing_build_tools;
    ExplainParams p;
    p.mode = lacks || a.kind == AnomalyKind::unique_package ? ExplainMode::config
                                                            : ExplainMode::behavior;
    p.top_features = 15;
    const int32_t c = labels[static_cast<std::size_t>(a.entity_index)];
    const Explanation e = explain_entity(m.X, means.view(), a.entity_index, c, c, p, m.feature_names);
    for (const auto& s : a.signature) {
      const auto it = std::find_if(e.features.begin(), e.features.end(),
                                   [&](const FeatureDifference& f) { return f.name == s.name; });
      ASSERT_NE(it, e.features.end()) << a.entity << " " << to_string(a.kind) << ": " << s.name;
      EXPECT_EQ(it->difference > 0 ? 1 : -1, s.sign) << s.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, ExplainSynthetic, ::testing::Values(1, 9, 42, 2024));

}  // namespace
}  // namespace stray

namespace stray {
namespace {

// Host 0 alone among its peers (hosts 0-3) has packages a and b and lacks c
// and d, which its peers all have: four ties at ±1. Across the fleet of 7,
// b is rarest (1/7 have it: |1 − 1/7| = 0.86), c most common (5/7: 0.71),
// a 3/7 (0.57), d 3/7 (0.43): that is the order; counts name every difference.
TEST(Explain, TiesGoToWhatIsMostUnusualInTheFleetAndEveryDifferenceIsCounted) {
  const CsrMatrix X = csr({{1, 1, 0, 0, 0},
                           {0, 0, 1, 1, 1},
                           {0, 0, 1, 1, 0},
                           {0, 0, 1, 1, 0},
                           {1, 0, 1, 0, 0},
                           {0, 0, 0, 0, 0},
                           {1, 0, 1, 0, 0}});
  const std::vector<int32_t> labels = {0, 0, 0, 0, 1, 1, 1};
  const Matrix<float> means = cluster_means(X, labels, 2);
  std::vector<float> fleet(5, 0.0f);
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t p = X.indptr[i]; p < X.indptr[i + 1]; ++p) fleet[X.indices[p]] += X.values[p] / 7;
  ExplainParams params;
  params.leave_one_out = true;
  params.top_features = 4;
  const std::vector<std::string> names = {"p:a", "p:b", "p:c", "p:d", "p:e"};
  const Explanation with = explain_entity(X, means.view(), 0, 0, 0, params, names, {4, 3}, fleet);
  ASSERT_EQ(with.features.size(), 4u);
  EXPECT_EQ(with.features[0].name, "p:b");  // has what nobody else has
  EXPECT_EQ(with.features[1].name, "p:c");  // lacks what 5 of 7 have
  EXPECT_EQ(with.features[2].name, "p:a");
  EXPECT_EQ(with.features[3].name, "p:d");
  EXPECT_EQ(with.n_differing, 4);  // not p:e: one peer of three has it (−0.333)
  EXPECT_EQ(with.n_unique, 2);
  EXPECT_EQ(with.n_missing, 2);
  // Without fleet means, ties keep column order.
  const Explanation without = explain_entity(X, means.view(), 0, 0, 0, params, names, {4, 3});
  EXPECT_EQ(without.features[0].name, "p:a");
  EXPECT_THROW(explain_entity(X, means.view(), 0, 0, 0, params, names, {4, 3}, {1.0f}), Error);
}

}  // namespace
}  // namespace stray
