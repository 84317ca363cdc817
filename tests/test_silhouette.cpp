// Silhouette against scikit-learn (tests/fixtures/silhouette_golden.json, made
// by tests/fixtures/make_silhouette_fixtures.py) on every backend, and
// choose_k's rule on data whose answer is known.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend_params.hpp"
#include "stray/cluster/agglomerative.hpp"
#include "stray/cluster/choose_k.hpp"
#include "stray/core/error.hpp"
#include "stray/metrics/silhouette.hpp"
#include "stray/synthetic/datasets.hpp"

namespace {

using nlohmann::json;
using stray::Matrix;

const json& golden() {
  static const json doc = [] {
    std::ifstream in(std::string(STRAY_FIXTURES_DIR) + "/silhouette_golden.json");
    if (!in) throw std::runtime_error("cannot open silhouette_golden.json");
    return json::parse(in);
  }();
  return doc;
}

struct Case {
  Matrix<float> X;
  std::vector<int32_t> labels;
};

Case load(const json& c) {
  Case out{Matrix<float>(c["rows"].get<int64_t>(), c["cols"].get<int64_t>()), {}};
  const json& values = c["X"];
  for (int64_t i = 0; i < out.X.size(); ++i) {
    out.X.data()[i] = static_cast<float>(values[static_cast<std::size_t>(i)].get<double>());
  }
  for (const auto& l : c["labels"]) out.labels.push_back(l.get<int32_t>());
  return out;
}

class Silhouette : public ::testing::TestWithParam<std::string> {};

// Distances come from a float32 cross product of centred data: about 1e-6
// relative error in d², so s(i) agrees with scikit-learn's float64 to ~1e-5.
TEST_P(Silhouette, MatchesScikitLearn) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  for (const json& c : golden()["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const Case data = load(c);
    const std::vector<double> s = stray::silhouette_samples(*backend, data.X.view(), data.labels);
    ASSERT_EQ(s.size(), c["samples"].size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      EXPECT_NEAR(s[i], c["samples"][i].get<double>(), 2e-5) << "row " << i;
    }
    EXPECT_NEAR(stray::silhouette_score(*backend, data.X.view(), data.labels),
                c["score"].get<double>(), 2e-5);
  }
}

TEST_P(Silhouette, SmallWorkspaceGivesTheSameValues) {
  stray::BackendOptions tiny = stray::testing::suite_options();
  tiny.workspace_bytes = std::size_t{1} << 16;  // the minimum: 68 of 120 rows per tile
  STRAY_BACKEND_OR_SKIP(backend, GetParam(), tiny);
  STRAY_BACKEND_OR_SKIP(roomy, GetParam());
  const Case data = load(golden()["cases"][1]);
  const auto a = stray::silhouette_samples(*backend, data.X.view(), data.labels);
  const auto b = stray::silhouette_samples(*roomy, data.X.view(), data.labels);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6);
}

TEST_P(Silhouette, RejectsOneClusterAllSingletonsAndBadShapes) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Case data = load(golden()["cases"][0]);
  const auto n = static_cast<int32_t>(data.labels.size());
  EXPECT_THROW(stray::silhouette_samples(*backend, data.X.view(), std::vector<int32_t>(n, 3)),
               stray::Error);
  std::vector<int32_t> singletons(static_cast<std::size_t>(n));
  for (int32_t i = 0; i < n; ++i) singletons[static_cast<std::size_t>(i)] = i;
  EXPECT_THROW(stray::silhouette_samples(*backend, data.X.view(), singletons), stray::Error);
  EXPECT_THROW(stray::silhouette_samples(*backend, data.X.view(), std::vector<int32_t>(3, 0)),
               stray::Error);
}

TEST_P(Silhouette, SampledScoreIsTheScoreOfTheSample) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Case data = load(golden()["cases"][1]);
  const double full = stray::silhouette_score(*backend, data.X.view(), data.labels);
  const double a = stray::silhouette_score(*backend, data.X.view(), data.labels, 60, 5);
  const double b = stray::silhouette_score(*backend, data.X.view(), data.labels, 60, 5);
  EXPECT_EQ(a, b);  // seeded
  EXPECT_NEAR(a, full, 0.15);
  EXPECT_EQ(stray::silhouette_score(*backend, data.X.view(), data.labels, 10000, 5), full);
}

TEST_P(Silhouette, ChooseKFindsSeparatedBlobsAndReportsTheCurve) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  for (const int64_t centers : {3, 5, 7}) {
    stray::BlobsParams bp;
    bp.n_samples = 700;
    bp.n_features = 6;
    bp.n_centers = centers;
    bp.center_box = 20.0;
    bp.cluster_std = 0.3;
    bp.seed = static_cast<uint64_t>(centers);
    const stray::Blobs blobs = stray::make_blobs(bp);
    stray::ChooseKParams cp;
    cp.k_max = 12;
    const stray::KChoice choice = stray::choose_k(*backend, cp, blobs.X.view());
    EXPECT_EQ(choice.k, centers);
    ASSERT_FALSE(choice.curve.empty());
    EXPECT_EQ(choice.curve.front().k, 2);
    double best = -1.0;
    for (const auto& c : choice.curve) best = std::max(best, c.silhouette);
    EXPECT_EQ(best, choice.best_silhouette);
    for (std::size_t i = 1; i < choice.curve.size(); ++i) {
      EXPECT_LE(choice.curve[i].inertia, choice.curve[i - 1].inertia * 1.05);
    }
  }
}

TEST_P(Silhouette, ChooseKFromATreeCutsWhereTheBlobsAre) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  stray::BlobsParams bp;
  bp.n_samples = 500;
  bp.n_features = 5;
  bp.n_centers = 4;
  bp.center_box = 20.0;
  bp.cluster_std = 0.4;
  bp.seed = 9;
  const stray::Blobs blobs = stray::make_blobs(bp);
  stray::AgglomerativeParams ap;
  ap.n_clusters = 1;
  const stray::AgglomerativeResult tree = stray::agglomerative_fit(ap, blobs.X.view());
  stray::ChooseKParams cp;
  cp.k_max = 10;
  cp.sample_size = 200;  // labels come from the whole tree's cut, scored on the sample
  const stray::KChoice choice =
      stray::choose_k_from_tree(*backend, cp, blobs.X.view(), tree.linkage_matrix.view());
  EXPECT_EQ(choice.k, 4);
  EXPECT_EQ(choice.sample_size, 200);
  ASSERT_GE(choice.curve.size(), 3u);
  // A finer cut of the same tree never raises the within-cluster sum of squares.
  for (std::size_t i = 1; i < choice.curve.size(); ++i) {
    EXPECT_LE(choice.curve[i].inertia, choice.curve[i - 1].inertia * (1 + 1e-9));
  }
  const Matrix<double> wrong(3, 4, 0.0);
  EXPECT_THROW(stray::choose_k_from_tree(*backend, cp, blobs.X.view(), wrong.view()), stray::Error);
}

TEST_P(Silhouette, ChooseKStopsAtTheDistinctRows) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // 3 distinct rows repeated: no k above 3 is tried, and k = 3 is perfect.
  Matrix<float> X(90, 2);
  for (int64_t i = 0; i < 90; ++i) {
    X(i, 0) = static_cast<float>(i % 3);
    X(i, 1) = static_cast<float>((i % 3) * (i % 3));
  }
  const stray::KChoice choice = stray::choose_k(*backend, stray::ChooseKParams{}, X.view());
  EXPECT_EQ(choice.distinct_rows, 3);
  EXPECT_EQ(choice.k, 3);
  EXPECT_EQ(choice.curve.back().k, 3);
  EXPECT_NEAR(choice.curve.back().silhouette, 1.0, 1e-6);
  Matrix<float> same(10, 2, 1.0f);
  EXPECT_EQ(stray::choose_k(*backend, stray::ChooseKParams{}, same.view()).k, 1);
}

// Eight large and four small tight clusters, far apart (an image history:
// many snapshots of a few images, a few of the rest). Merging a small one
// into its neighbour costs the mean silhouette less than 0.015, so a fixed
// margin below the best would take fewer clusters; relative to 1 − best,
// which tight clusters make small, the twelve stay apart.
TEST_P(Silhouette, ChooseKKeepsSmallTightClustersApart) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  stray::BlobsParams big;
  big.n_samples = 1520;
  big.n_features = 8;
  big.n_centers = 8;
  big.center_box = 20.0;
  big.cluster_std = 0.1;
  big.seed = 5;
  stray::BlobsParams small = big;
  small.n_samples = 40;
  small.n_centers = 4;
  small.seed = 6;
  const stray::Blobs a = stray::make_blobs(big), b = stray::make_blobs(small);
  stray::Matrix<float> X(a.X.rows() + b.X.rows(), big.n_features);
  std::copy(a.X.data(), a.X.data() + a.X.size(), X.data());
  std::copy(b.X.data(), b.X.data() + b.X.size(), X.data() + a.X.size());
  const stray::KChoice choice = stray::choose_k(*backend, stray::ChooseKParams{}, X.view());
  EXPECT_EQ(choice.k, 12);
  int64_t fixed_margin_k = 0;
  for (const auto& c : choice.curve) {
    if (c.silhouette >= choice.best_silhouette - 0.015) {
      fixed_margin_k = c.k;
      break;
    }
  }
  EXPECT_LT(fixed_margin_k, 12);
}

TEST_P(Silhouette, ChooseKTakesTheSmallestKNearTheBest) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  stray::BlobsParams bp;
  bp.n_samples = 600;
  bp.n_features = 4;
  bp.n_centers = 6;
  bp.cluster_std = 1.5;
  bp.seed = 21;
  const stray::Blobs blobs = stray::make_blobs(bp);
  for (const double tolerance : {0.0, 0.05, 0.2, 1.0}) {
    stray::ChooseKParams cp;
    cp.k_max = 10;
    cp.tolerance = tolerance;
    const stray::KChoice choice = stray::choose_k(*backend, cp, blobs.X.view());
    // Near: 1 − silhouette at most (1 + tolerance) times the best k's,
    // written as choose_k writes it (the two forms round differently).
    const double floor = choice.best_silhouette - tolerance * (1.0 - choice.best_silhouette);
    for (const auto& c : choice.curve) {
      if (c.k < choice.k) EXPECT_LT(c.silhouette, floor);
      if (c.k == choice.k) EXPECT_GE(c.silhouette, floor);
    }
  }
  stray::ChooseKParams bad;
  bad.tolerance = -0.1;
  EXPECT_THROW(stray::choose_k(*backend, bad, blobs.X.view()), stray::Error);
  bad = {};
  bad.k_min = 1;
  EXPECT_THROW(stray::choose_k(*backend, bad, blobs.X.view()), stray::Error);
}

INSTANTIATE_TEST_SUITE_P(Backends, Silhouette, ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace
