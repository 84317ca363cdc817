// Value rarity in the fleet pipeline: the score is the library's own
// rarity_scores against the fit's features, it joins the ranking as the
// documented combination of tail fractions (computed naively here), it
// flags the baseline's top (100 − p) / 2 % beside the other detectors, and
// a saved model scores later snapshots alike.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "stray/core/error.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"
#include "fleet_test_data.hpp"

namespace stray {
namespace {

using testing::naive_tail;

std::unique_ptr<Backend> cpu() { return make_backend("cpu"); }

using testing::synthetic_events;

FleetPipelineParams params_with(Detector detector) {
  FleetPipelineParams p;
  p.kmeans.n_clusters = 6;
  p.kmeans.seed = 3;
  p.detector = detector;
  return p;
}

std::set<int64_t> flagged(const FleetResult& r) {
  std::set<int64_t> s;
  for (const Finding& f : r.findings) s.insert(f.entity);
  return s;
}

TEST(PipelineRarity, RanksWithTheOtherScoresAndFlagsItsTail) {
  auto backend = cpu();
  const FleetResult r = fit_fleet(*backend, params_with(Detector::both), synthetic_events(600, 5));
  FleetPipelineParams off = params_with(Detector::both);
  off.rarity = false;
  const FleetResult without = fit_fleet(*backend, off, synthetic_events(600, 5));
  ASSERT_EQ(r.labels, without.labels);
  // The library's rarity of the fit's own features.
  const FeatureRarity fitted = fit_feature_rarity(r.features.X.view());
  EXPECT_EQ(r.rarity, rarity_scores(fitted, r.features.X.view()));
  EXPECT_EQ(r.model.calibration.rarity.size(), r.rarity.size());
  const std::vector<double> distances(r.scores.begin(), r.scores.end());
  std::set<int64_t> expected = flagged(without);  // the rules and LOF, as without rarity
  int64_t by_rarity = 0;
  for (std::size_t i = 0; i < r.rarity.size(); ++i) {
    const double tail = std::min({naive_tail(distances, distances[i]), naive_tail(r.lof, r.lof[i]),
                                  naive_tail(r.rarity, r.rarity[i])});
    EXPECT_NEAR(r.outlier_scores[i], 1.0 / tail, 1e-12 / tail) << i;
    if (naive_tail(r.rarity, r.rarity[i]) <= 0.025) {
      expected.insert(static_cast<int64_t>(i));
      ++by_rarity;
    }
  }
  EXPECT_GT(by_rarity, 0);
  EXPECT_EQ(flagged(r), expected);
  bool rarity_alone = false;
  for (const Finding& f : r.findings) {
    EXPECT_EQ(f.rarity, r.rarity[static_cast<std::size_t>(f.entity)]);
    rarity_alone |= f.rules == uint32_t{kOutlierRarity};
  }
  EXPECT_TRUE(rarity_alone);  // it finds some the other two did not
  // Equal scores (each score's top entities are equally rare on a fit) go
  // by all the scores together: Σ −ln of the tail fractions, largest first.
  const auto joint = [&](const Finding& f) {
    const auto e = static_cast<std::size_t>(f.entity);
    return -std::log(naive_tail(distances, distances[e])) - std::log(naive_tail(r.lof, r.lof[e])) -
           std::log(naive_tail(r.rarity, r.rarity[e]));
  };
  int64_t ties = 0;
  for (std::size_t t = 1; t < r.findings.size(); ++t) {
    if (r.findings[t - 1].score != r.findings[t].score) continue;
    ++ties;
    EXPECT_GE(joint(r.findings[t - 1]) + 1e-12, joint(r.findings[t])) << t;
  }
  EXPECT_GT(ties, 0);
  // Each finding names what makes it rare: its rarest values, by name.
  std::vector<int64_t> rows;
  for (const Finding& f : r.findings) rows.push_back(f.entity);
  const auto rare = rarest_values(fitted, r.features.X.view(), rows, 5);
  for (std::size_t t = 0; t < r.findings.size(); ++t) {
    const Finding& f = r.findings[t];
    ASSERT_EQ(f.rare_features.size(), rare[t].size()) << f.entity_name;
    for (std::size_t k = 0; k < rare[t].size(); ++k) {
      EXPECT_EQ(f.rare_features[k].name,
                r.features.feature_names[static_cast<std::size_t>(rare[t][k].feature)]);
      EXPECT_EQ(f.rare_features[k].fleet_share, rare[t][k].fleet_share);
      EXPECT_FALSE(f.rare_features[k].unseen);
    }
  }
}

// The fleet-wide rank orders every entity as the findings are: score,
// then all the scores together (computed naively here), then row; the
// findings come in its order, on a fit and when a model scores.
TEST(PipelineRarity, FleetRankOrdersEveryEntityAsTheFindings) {
  auto backend = cpu();
  const FleetResult r = fit_fleet(*backend, params_with(Detector::both), synthetic_events(600, 5));
  const std::size_t n = r.labels.size();
  ASSERT_EQ(r.fleet_rank.size(), n);
  const std::vector<double> distances(r.scores.begin(), r.scores.end());
  const auto joint = [&](std::size_t e) {
    return -std::log(naive_tail(distances, distances[e])) - std::log(naive_tail(r.lof, r.lof[e])) -
           std::log(naive_tail(r.rarity, r.rarity[e]));
  };
  std::vector<std::size_t> by_rank(n, n);
  for (std::size_t i = 0; i < n; ++i) {
    const int64_t k = r.fleet_rank[i];
    ASSERT_TRUE(k >= 0 && k < static_cast<int64_t>(n)) << i;
    ASSERT_EQ(by_rank[static_cast<std::size_t>(k)], n) << "rank " << k << " given twice";
    by_rank[static_cast<std::size_t>(k)] = i;
  }
  int64_t ties = 0;
  for (std::size_t k = 1; k < n; ++k) {
    const std::size_t a = by_rank[k - 1], b = by_rank[k];
    ASSERT_GE(r.outlier_scores[a], r.outlier_scores[b]) << k;
    if (r.outlier_scores[a] != r.outlier_scores[b]) continue;
    ++ties;
    // Σ −ln tails agree with the library's to rounding; exact equals by row.
    ASSERT_GE(joint(a) + 1e-9, joint(b)) << k;
    if (std::abs(joint(a) - joint(b)) <= 1e-12) EXPECT_LT(a, b) << k;
  }
  EXPECT_GT(ties, 0);
  for (std::size_t t = 1; t < r.findings.size(); ++t) {
    EXPECT_LT(r.fleet_rank[static_cast<std::size_t>(r.findings[t - 1].entity)],
              r.fleet_rank[static_cast<std::size_t>(r.findings[t].entity)])
        << t;
  }
  // Scoring a later snapshot with the model ranks its findings alike.
  const FleetResult later = score_fleet(*backend, r.model, synthetic_events(300, 8), {});
  ASSERT_EQ(later.fleet_rank.size(), later.labels.size());
  ASSERT_GT(later.findings.size(), 1u);
  for (std::size_t t = 1; t < later.findings.size(); ++t) {
    EXPECT_LT(later.fleet_rank[static_cast<std::size_t>(later.findings[t - 1].entity)],
              later.fleet_rank[static_cast<std::size_t>(later.findings[t].entity)])
        << t;
  }
}

// Beside the centroid detector, rarity makes the ranking calibrated too;
// with the percentile rule off it still ranks but flags nothing.
TEST(PipelineRarity, BesideTheCentroidAndWithThePercentileOff) {
  auto backend = cpu();
  FleetPipelineParams p = params_with(Detector::centroid);
  const FleetResult r = fit_fleet(*backend, p, synthetic_events(400, 6));
  EXPECT_TRUE(r.lof.empty());
  ASSERT_FALSE(r.model.calibration.empty());
  EXPECT_TRUE(r.model.calibration.lof.empty());
  const std::vector<double> distances(r.scores.begin(), r.scores.end());
  for (std::size_t i = 0; i < r.rarity.size(); ++i) {
    const double tail =
        std::min(naive_tail(distances, distances[i]), naive_tail(r.rarity, r.rarity[i]));
    EXPECT_NEAR(r.outlier_scores[i], 1.0 / tail, 1e-12 / tail) << i;
  }
  p.outliers.percentile = 0.0;
  p.outliers.top_n = 2;
  const FleetResult top = fit_fleet(*backend, p, synthetic_events(400, 6));
  for (const Finding& f : top.findings) EXPECT_EQ(f.rules & kOutlierRarity, 0u) << f.entity_name;
  EXPECT_FALSE(top.rarity.empty());
}

// A saved model scores a later snapshot as the fitted one does: rarity
// against the baseline's distributions, unseen features included, ranked
// against the baseline's calibration.
TEST(PipelineRarity, ModelFilesCarryItAndScoreAlike) {
  auto backend = cpu();
  const FleetResult base = fit_fleet(*backend, params_with(Detector::both), synthetic_events(500, 7, 0));
  std::stringstream ss;
  write_fleet_model(ss, base.model);
  const FleetModel loaded = read_fleet_model(ss);
  EXPECT_EQ(loaded.rarity.offsets, base.model.rarity.offsets);
  EXPECT_EQ(loaded.calibration.rarity, base.model.calibration.rarity);
  const FleetResult a = score_fleet(*backend, base.model, synthetic_events(300, 8), {});
  const FleetResult b = score_fleet(*backend, loaded, synthetic_events(300, 8), {});
  EXPECT_EQ(a.rarity, b.rarity);
  EXPECT_EQ(a.outlier_scores, b.outlier_scores);
  EXPECT_EQ(flagged(a), flagged(b));
  EXPECT_FALSE(a.features.unseen.empty());  // the injected anomalies bring new features
  EXPECT_EQ(a.rarity, rarity_scores(base.model.rarity, a.features.X.view(), a.features.unseen));
  // Features the baseline never had come first among a finding's rare
  // features, as rare as a value past every baseline entity's.
  bool unseen_first = false;
  for (const Finding& f : a.findings) {
    if (a.features.unseen_of(f.entity).empty()) continue;
    ASSERT_FALSE(f.rare_features.empty());
    EXPECT_TRUE(f.rare_features[0].unseen) << f.entity_name;
    EXPECT_EQ(f.rare_features[0].fleet_share, 1.0 / 501.0);
    unseen_first = true;
  }
  EXPECT_TRUE(unseen_first);
  for (std::size_t i = 0; i < a.outlier_scores.size(); ++i) {
    const FleetModel& m = base.model;
    const double tail = std::min({tail_fraction(m.calibration.scores, a.scores[i]),
                                  tail_fraction(m.calibration.lof, a.lof[i]),
                                  tail_fraction(m.calibration.rarity, a.rarity[i])});
    EXPECT_EQ(a.outlier_scores[i], 1.0 / tail) << i;
  }
  // Rarity without its calibration, or a calibration that lacks it, is refused.
  FleetModel broken = base.model;
  broken.calibration.rarity.pop_back();
  EXPECT_THROW(score_fleet(*backend, broken, synthetic_events(50, 9), {}), Error);
  broken = base.model;
  broken.calibration = {};
  EXPECT_THROW(score_fleet(*backend, broken, synthetic_events(50, 9), {}), Error);
}

}  // namespace
}  // namespace stray
