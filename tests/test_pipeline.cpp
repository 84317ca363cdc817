// The fleet pipeline end to end: every injected anomaly of the synthetic
// fleet found and explained by its signature first on several seeds; a
// baseline applied to a new snapshot with unseen features surfacing; model
// files round-tripping to identical scores and refusing corrupt, foreign and
// truncated input; a hand-computed standardised score.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/profile_term.hpp"
#include "core/rng.hpp"
#include "stray/core/error.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/synthetic/recall.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using stray::testing::TempDir;

std::unique_ptr<Backend> cpu() { return make_backend("cpu"); }

EventSource synthetic(int64_t n, uint64_t seed, int64_t per_kind, GroundTruth* truth = nullptr) {
  return [=](const EventSink& sink) {
    SyntheticFleetParams p;
    p.n_entities = n;
    p.seed = seed;
    p.hosts_per_anomaly = per_kind;
    GroundTruth t = generate_synthetic_fleet(p, sink);
    if (truth != nullptr) *truth = std::move(t);
  };
}

std::string describe(const RecallReport& rep) {
  std::string s;
  for (const auto& a : rep.anomalies) {
    s += std::string(to_string(a.anomaly.kind)) + " " + a.anomaly.entity + " finding=" +
         std::to_string(a.finding) + " first=" + a.first_feature + "\n";
  }
  return s;
}

// The demo's promise: every injected anomaly among the findings, explained by
// one of its signature features first — on several seeds.
class PipelineRecall : public ::testing::TestWithParam<uint64_t> {};

TEST_P(PipelineRecall, EveryInjectedAnomalyWithItsSignatureFirst) {
  auto backend = cpu();
  FleetPipelineParams params;
  params.kmeans.seed = GetParam();
  GroundTruth truth;
  const FleetResult r = fit_fleet(*backend, params, synthetic(3000, GetParam(), 2, &truth));
  ASSERT_EQ(truth.anomalies.size(), 12u);
  const RecallReport rep = evaluate_recall(r, truth);
  EXPECT_TRUE(rep.all_found()) << describe(rep);
  // The percentile rule flags about 5% of the fleet, not the whole of it.
  EXPECT_LT(r.findings.size(), 3000u / 10);
}

INSTANTIATE_TEST_SUITE_P(Seeds, PipelineRecall, ::testing::Values(1, 2, 3, 4));

TEST(Pipeline, IntermediatesShapesAndProgress) {
  auto backend = cpu();
  FleetPipelineParams params;
  std::vector<std::pair<std::string, double>> calls;
  params.progress = [&](std::string_view step, double f) { calls.emplace_back(std::string(step), f); };
  const FleetResult r = fit_fleet(*backend, params, synthetic(1500, 7, 1));
  const int64_t n = 1500, d = r.features.n_features(), k = r.model.n_clusters();
  EXPECT_EQ(r.features.n_entities(), n);
  EXPECT_EQ(r.reduced.rows(), n);
  EXPECT_EQ(r.reduced.cols(), 32);
  EXPECT_TRUE(r.model.use_pca);
  EXPECT_EQ(r.model.pca.n_components, 32);
  EXPECT_GE(k, 2);
  EXPECT_FALSE(r.cluster_choice.empty());
  EXPECT_EQ(r.kmeans.centers.rows(), k);
  EXPECT_EQ(r.labels.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(r.scores.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(r.outliers.is_outlier.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(r.model.feature_means.rows(), k);
  EXPECT_EQ(r.model.feature_means.cols(), d);
  EXPECT_EQ(r.model.thresholds.size(), static_cast<std::size_t>(k));
  EXPECT_EQ(r.findings.size(), r.outliers.outliers.size());
  for (std::size_t i = 1; i < r.findings.size(); ++i) {
    EXPECT_GE(r.findings[i - 1].score, r.findings[i].score);
  }
  for (const Finding& f : r.findings) {
    EXPECT_TRUE(r.outliers.is_outlier[static_cast<std::size_t>(f.entity)]);
    EXPECT_EQ(f.entity_name, r.features.entity_names[static_cast<std::size_t>(f.entity)]);
    EXPECT_LE(f.features.size(), 5u);
    EXPECT_FALSE(f.features.empty());
  }
  // Every step timed, and reported from 0 to 1 in order; the synthetic
  // fleet is event telemetry, so the automatic detector runs LOF too, and
  // value rarity is on by default.
  EXPECT_EQ(r.model.detector, Detector::both);
  const std::vector<std::string> names = {"read",     "features", "pca",    "kmeans", "score",
                                          "outliers", "lof",      "rarity", "explain"};
  ASSERT_EQ(r.steps.size(), names.size());
  for (std::size_t s = 0; s < names.size(); ++s) EXPECT_EQ(r.steps[s].name, names[s]);
  std::vector<std::string> seen;
  for (const auto& [step, f] : calls) {
    EXPECT_GE(f, 0.0);
    EXPECT_LE(f, 1.0);
    if (seen.empty() || seen.back() != step) {
      EXPECT_EQ(f, 0.0) << step;
      seen.push_back(step);
    }
  }
  EXPECT_EQ(seen, names);
  EXPECT_EQ(calls.back().second, 1.0);
}

TEST(Pipeline, AThrowingProgressCallbackCancels) {
  auto backend = cpu();
  struct Cancelled {};
  for (const char* at : {"read", "pca", "explain"}) {
    FleetPipelineParams params;
    params.progress = [at](std::string_view step, double) {
      if (step == at) throw Cancelled{};
    };
    EXPECT_THROW(fit_fleet(*backend, params, synthetic(300, 1, 1)), Cancelled) << at;
  }
}

TEST(Pipeline, DeterministicForASeed) {
  auto backend = cpu();
  FleetPipelineParams params;
  params.kmeans.seed = 3;
  const FleetResult a = fit_fleet(*backend, params, synthetic(1200, 5, 1));
  const FleetResult b = fit_fleet(*backend, params, synthetic(1200, 5, 1));
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.scores, b.scores);
  ASSERT_EQ(a.findings.size(), b.findings.size());
  for (std::size_t i = 0; i < a.findings.size(); ++i) {
    EXPECT_EQ(a.findings[i].entity, b.findings[i].entity);
  }
}

// Four hosts in one cluster; host 3 alone has feature b. Against its peers
// (hosts 0-2: a = 1, b = 0, no variance) b contributes 1 / (0 + τ·1); the
// others see host 3 among their peers: b has mean 1/3, variance 2/9.
TEST(Pipeline, StandardizedScoreByHand) {
  auto backend = cpu();
  FleetPipelineParams params;
  params.pca.n_components = 0;  // no PCA
  params.kmeans.n_clusters = 1;
  const FleetResult r = fit_fleet(*backend, params, [](const EventSink& sink) {
    for (const char* host : {"h0", "h1", "h2", "h3"}) sink({host, "g", "a", 1.0});
    sink({"h3", "g", "b", 1.0});
  });
  const double tau = params.score.variance_floor;
  EXPECT_FALSE(r.model.use_pca);
  EXPECT_EQ(r.reduced.cols(), 2);
  EXPECT_NEAR(r.scores[3], 1.0 / tau, 1e-6 / tau);
  const double other = (1.0 / 9.0) / (2.0 / 9.0 + tau);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(r.scores[static_cast<std::size_t>(i)], other, 1e-6);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].entity_name, "h3");
  EXPECT_EQ(r.findings[0].features[0].name, "g:b");
  EXPECT_FLOAT_EQ(r.findings[0].features[0].difference, 1.0f);  // no peer has it
  EXPECT_FLOAT_EQ(r.findings[0].features[0].center, 0.0f);

  // The plain distance in the features: b contributes (1 − 0)² = 1.
  params.score.space = ScoreSpace::features;
  const FleetResult f = fit_fleet(*backend, params, [](const EventSink& sink) {
    for (const char* host : {"h0", "h1", "h2", "h3"}) sink({host, "g", "a", 1.0});
    sink({"h3", "g", "b", 1.0});
  });
  EXPECT_NEAR(f.scores[3], 1.0, 1e-6);
  EXPECT_NEAR(f.scores[0], 1.0 / 9.0, 1e-6);
}

// Shrinkage 0 is the score as it was before shrinkage existed, bit for bit:
// the term takes no other path (the old formula, copied here).
TEST(Pipeline, ShrinkageZeroIsTheUnshrunkTermBitForBit) {
  const double mean[] = {0.25, 1.0 / 3.0, 0.0, 0.7, 0.125, 0.9};
  const double sq[] = {0.2, 1.0 / 3.0, 0.0, 0.6, 0.5, 0.81};
  const double scale[] = {1.0, 0.3, 2.0};
  const int64_t sizes[] = {7, 3};
  const internal::ProfileTerm term{mean, sq, scale, sizes, 3, true, 1e-3};
  const double prior[] = {0.5, 0.5, 0.5};
  const internal::ProfileTerm zero{mean, sq, scale, sizes, 3, true, 1e-3, prior, 0.0};
  for (int64_t c = 0; c < 2; ++c) {
    for (int64_t j = 0; j < 3; ++j) {
      for (const double x : {0.0, 1.0, 0.37, -2.5}) {
        for (const bool loo : {false, true}) {
          double mu = mean[c * 3 + j], m2 = sq[c * 3 + j];
          if (loo) {
            const auto n = static_cast<double>(sizes[c]);
            mu = (n * mu - x) / (n - 1.0);
            m2 = (n * m2 - x * x) / (n - 1.0);
          }
          const double diff = x - mu, spread = m2 - mu * mu;
          const double old = diff * diff / ((spread < 0.0 ? 0.0 : spread) + 1e-3 * scale[j]);
          EXPECT_EQ(term(x, c, j, loo), old);
          EXPECT_EQ(zero(x, c, j, loo), old);
        }
      }
    }
  }
}

// Two clusters of unequal size with counts, scored with shrinkage m:
// each feature's peer variance σ²_c over n peers (the entity left out when
// fitting, every member when scoring later) becomes (n·σ²_c + m·σ²_fleet)
// / (n + m), σ²_fleet over the whole baseline. Checked against a naive
// float64 loop over the rows.
std::vector<double> naive_shrunk_scores(const std::vector<std::vector<double>>& base,
                                        const std::vector<int32_t>& labels,
                                        const std::vector<std::vector<double>>& rows,
                                        const std::vector<int32_t>& row_labels, bool members,
                                        double m, double tau) {
  const std::size_t d = base[0].size(), n = base.size();
  std::vector<double> fleet_var(d), scale(d);
  for (std::size_t j = 0; j < d; ++j) {
    double s1 = 0, s2 = 0, stored = 0;
    for (const auto& r : base) {
      s1 += r[j];
      s2 += r[j] * r[j];
      stored += r[j] != 0.0;
    }
    fleet_var[j] = s2 / n - (s1 / n) * (s1 / n);
    scale[j] = stored > 0 ? s2 / stored : 1.0;
  }
  std::vector<double> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    double score = 0;
    for (std::size_t j = 0; j < d; ++j) {
      double s1 = 0, s2 = 0, peers = 0;
      for (std::size_t p = 0; p < n; ++p) {
        if (labels[p] != row_labels[i] || (members && p == i)) continue;
        s1 += base[p][j];
        s2 += base[p][j] * base[p][j];
        peers += 1;
      }
      const double mu = s1 / peers, var = std::max(0.0, s2 / peers - mu * mu);
      const double shrunk = (peers * var + m * fleet_var[j]) / (peers + m);
      score += (rows[i][j] - mu) * (rows[i][j] - mu) / (shrunk + tau * scale[j]);
    }
    out.push_back(score);
  }
  return out;
}

FeatureMatrix dense_features(const std::vector<std::vector<double>>& rows,
                             const FeatureVocabulary* vocabulary) {
  FeatureParams fp;
  fp.normalization = Normalization::none;
  FeatureBuilder b = vocabulary != nullptr ? FeatureBuilder(*vocabulary) : FeatureBuilder(fp);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = 0; j < rows[i].size(); ++j) {
      if (rows[i][j] != 0.0) {
        b.add("e" + std::to_string(i), "g", "f" + std::to_string(j), rows[i][j]);
      }
    }
  }
  return b.build();
}

TEST(Pipeline, ShrunkScoresMatchANaiveLoop) {
  // Cluster 0: rows 0-5 near 0; cluster 1: rows 6-8 near 10 (3 members:
  // the case shrinkage is for). Every row has every feature, in order.
  const std::vector<std::vector<double>> base = {
      {1, 2, 1}, {2, 1, 1}, {1, 1, 2}, {3, 1, 1}, {1, 3, 1}, {2, 2, 1},
      {10, 11, 12}, {11, 10, 12}, {10, 10, 15}};
  auto backend = cpu();
  FleetPipelineParams params;
  params.pca.n_components = 0;
  params.kmeans.n_clusters = 2;
  params.small_cluster_size = 0;
  params.features.normalization = Normalization::none;
  params.score.space = ScoreSpace::standardized;  // raw amounts would take the plain distance
  const double tau = params.score.variance_floor;
  for (const double m : {0.5, 5.0}) {
    params.score.shrinkage = m;
    const FleetResult fit = fit_fleet(*backend, params, dense_features(base, nullptr));
    ASSERT_EQ(fit.labels[0], fit.labels[5]);
    ASSERT_EQ(fit.labels[6], fit.labels[8]);
    ASSERT_NE(fit.labels[0], fit.labels[6]);
    const std::vector<double> want = naive_shrunk_scores(base, fit.labels, base, fit.labels,
                                                         true, m, tau);
    for (std::size_t i = 0; i < base.size(); ++i) {
      EXPECT_NEAR(fit.scores[i], want[i], 1e-5 * want[i]) << "m=" << m << " row " << i;
    }
    // A later snapshot against the saved model: every member is a peer.
    std::stringstream file;
    write_fleet_model(file, fit.model);
    const FleetModel loaded = read_fleet_model(file);
    EXPECT_EQ(loaded.score.shrinkage, m);
    const std::vector<std::vector<double>> later = {{2, 1, 3}, {12, 10, 11}};
    const FleetResult r = score_fleet(*backend, loaded, dense_features(later, &loaded.vocabulary),
                                      FleetScoreParams::from_model(loaded));
    ASSERT_EQ(r.labels[0], fit.labels[0]);
    ASSERT_EQ(r.labels[1], fit.labels[6]);
    const std::vector<double> again = naive_shrunk_scores(base, fit.labels, later, r.labels,
                                                          false, m, tau);
    for (std::size_t i = 0; i < later.size(); ++i) {
      EXPECT_NEAR(r.scores[i], again[i], 1e-5 * again[i]) << "m=" << m << " later row " << i;
    }
  }
  params.score.shrinkage = -1.0;
  EXPECT_THROW(fit_fleet(*backend, params, dense_features(base, nullptr)), Error);
  params.score.shrinkage = std::nan("");
  EXPECT_THROW(fit_fleet(*backend, params, dense_features(base, nullptr)), Error);
}

// The grained score against a naive float64 loop: each grain's squared
// distance to its nearest centre (the model's), each distance over its
// fleet median (the upper median, as the model keeps it), the largest of
// them and the peers' distance over its median; the same model saved and
// loaded scores a later snapshot the same way; bad grains are refused.
TEST(Pipeline, GrainsScoreIsTheLargestDistanceOverItsMedian) {
  stray::internal::Rng rng(17);
  std::vector<std::vector<double>> base;
  for (int i = 0; i < 120; ++i) {
    const double cx = (i % 3) * 6.0, cy = (i % 2) * 4.0;
    base.push_back({1.0 + cx + rng.normal(), 1.0 + cy + rng.normal(), 2.0 + 0.5 * rng.normal()});
  }
  auto backend = cpu();
  FleetPipelineParams params;
  params.pca.n_components = 2;
  params.kmeans.n_clusters = 2;
  params.features.normalization = Normalization::none;
  params.score.auto_grains = false;  // raw amounts would take grains of their own
  const FleetResult plain = fit_fleet(*backend, params, dense_features(base, nullptr));
  EXPECT_TRUE(plain.model.grains.empty());
  params.score.grains = {4, 7};
  const FleetResult fit = fit_fleet(*backend, params, dense_features(base, nullptr));
  ASSERT_EQ(fit.model.grains.size(), 2u);
  EXPECT_EQ(fit.labels, plain.labels);  // grains leave the clusters as they were

  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  auto nearest = [](const Matrix<float>& rows, const Matrix<float>& centers) {
    std::vector<double> out;
    for (int64_t i = 0; i < rows.rows(); ++i) {
      double best = std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < centers.rows(); ++c) {
        double d = 0.0;
        for (int64_t j = 0; j < rows.cols(); ++j) {
          const double x = double(rows(i, j)) - double(centers(c, j));
          d += x * x;
        }
        best = std::min(best, d);
      }
      out.push_back(best);
    }
    return out;
  };
  const std::vector<double> peers(plain.scores.begin(), plain.scores.end());
  const double peer_median = median(peers);
  EXPECT_NEAR(fit.model.peer_median, peer_median, 1e-6 * peer_median);
  std::vector<double> want = peers;
  for (double& w : want) w /= peer_median;
  for (const ScoreGrain& g : fit.model.grains) {
    const std::vector<double> d = nearest(fit.reduced, g.centers);
    const double m = median(d);
    EXPECT_NEAR(g.median, m, 1e-5 * m);
    for (std::size_t i = 0; i < want.size(); ++i) want[i] = std::max(want[i], d[i] / m);
  }
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(fit.scores[i], want[i], 1e-4 * want[i] + 1e-6) << "row " << i;
  }

  // Saved and loaded: a later snapshot scores alike on both.
  std::stringstream file;
  write_fleet_model(file, fit.model);
  const FleetModel loaded = read_fleet_model(file);
  const std::vector<std::vector<double>> later = {{1.5, 1.2, 2.0}, {20.0, -3.0, 9.0}};
  const FleetResult a = score_fleet(*backend, fit.model,
                                    dense_features(later, &fit.model.vocabulary),
                                    FleetScoreParams::from_model(fit.model));
  const FleetResult b = score_fleet(*backend, loaded, dense_features(later, &loaded.vocabulary),
                                    FleetScoreParams::from_model(loaded));
  EXPECT_EQ(a.scores, b.scores);
  EXPECT_GT(a.scores[1], a.scores[0]);  // the far entity ranks first

  params.score.grains = {1};
  EXPECT_THROW(fit_fleet(*backend, params, dense_features(base, nullptr)), Error);
  params.score.grains = {121};
  EXPECT_THROW(fit_fleet(*backend, params, dense_features(base, nullptr)), Error);
  FleetModel unfitted = fit.model;
  unfitted.grains.pop_back();
  EXPECT_THROW(score_fleet(*backend, unfitted, dense_features(later, &fit.model.vocabulary), {}),
               Error);
}

// Identical sessions (counts as fractions that do not round exactly) score
// exactly 0 against their peers, fitted and scored later alike: a rounding
// residue there would become the cluster's threshold and flag every
// duplicate seen afterwards (it flagged 67% of normal log sessions).
TEST(Pipeline, DuplicatesScoreZeroAndAreNotFlaggedWhenScored) {
  auto backend = cpu();
  const EventSource events = [](const EventSink& sink) {
    for (int h = 0; h < 60; ++h) {
      const std::string host = "s" + std::to_string(h);
      const bool other = h % 3 == 0;
      sink({host, "log", "E1", other ? 7.0 : 3.0});
      sink({host, "log", "E2", 11.0});
      sink({host, "log", other ? "E5" : "E9", 13.0});
    }
  };
  FleetPipelineParams params;
  params.features.normalization = Normalization::fraction;
  params.kmeans.n_clusters = 2;
  const FleetResult fit = fit_fleet(*backend, params, events);
  for (const float s : fit.scores) EXPECT_EQ(s, 0.0f);
  EXPECT_TRUE(fit.findings.empty());
  const FleetResult again = score_fleet(*backend, fit.model, events, FleetScoreParams{});
  for (const float s : again.scores) EXPECT_EQ(s, 0.0f);
  EXPECT_TRUE(again.findings.empty());
}

TEST(Pipeline, PcaSpaceScoresAreDistancesToTheKMeansCentres) {
  auto backend = cpu();
  FleetPipelineParams params;
  params.score.space = ScoreSpace::pca;
  params.kmeans.n_clusters = 6;
  const FleetResult r = fit_fleet(*backend, params, synthetic(800, 2, 1));
  const NearestCenters nc = kmeans_predict(*backend, r.model.kmeans, r.reduced.view());
  EXPECT_EQ(nc.labels, r.labels);
  for (std::size_t i = 0; i < r.scores.size(); ++i) {
    EXPECT_NEAR(r.scores[i], nc.sq_distances[i], 1e-4 * (1.0 + nc.sq_distances[i]));
  }
}

TEST(Pipeline, BehaviorModeKeepsPositiveDifferencesOnly) {
  auto backend = cpu();
  FleetPipelineParams params;
  params.explain.mode = ExplainMode::behavior;
  GroundTruth truth;
  const FleetResult r = fit_fleet(*backend, params, synthetic(2000, 4, 1, &truth));
  for (const Finding& f : r.findings) {
    for (const FindingFeature& x : f.features) EXPECT_GT(x.difference, 0.0f) << f.entity_name;
  }
  // A host that only lacks something has nothing "more" to show first.
  const RecallReport rep = evaluate_recall(r, truth);
  for (const auto& a : rep.anomalies) {
    if (a.anomaly.kind == AnomalyKind::missing_build_tools) {
      EXPECT_FALSE(a.signature_first);
    } else {
      EXPECT_GE(a.finding, 0) << a.anomaly.entity;
      EXPECT_TRUE(a.signature_first) << a.anomaly.entity << " " << a.first_feature;
    }
  }
}

// Baseline once, score a later snapshot: features the baseline never saw
// are carried through, add to the score and lead the explanation.
TEST(Pipeline, BaselineThenNewSnapshotSurfacesUnseenFeatures) {
  auto backend = cpu();
  FleetPipelineParams params;
  const FleetResult base = fit_fleet(*backend, params, synthetic(2500, 1, 0));
  GroundTruth truth;
  const FleetResult r = score_fleet(*backend, base.model, synthetic(2500, 2, 1, &truth),
                                    FleetScoreParams::from_model(base.model));
  EXPECT_EQ(r.features.n_features(), base.features.n_features());
  EXPECT_FALSE(r.features.unseen.empty());
  const RecallReport rep = evaluate_recall(r, truth);
  EXPECT_TRUE(rep.all_found()) << describe(rep);
  bool lua = false;
  for (const auto& a : rep.anomalies) {
    if (a.anomaly.kind != AnomalyKind::unique_package) continue;
    const Finding& f = r.findings[static_cast<std::size_t>(a.finding)];
    ASSERT_FALSE(f.features.empty());
    EXPECT_EQ(f.features[0].name, "package:lua5.3");
    EXPECT_TRUE(f.features[0].unseen);
    EXPECT_FLOAT_EQ(f.features[0].center, 0.0f);
    EXPECT_FLOAT_EQ(f.features[0].difference, 1.0f);
    lua = true;
  }
  EXPECT_TRUE(lua);
  // Scoring the baseline's own snapshot: its thresholds flag about 5% again.
  const FleetResult same = score_fleet(*backend, base.model, synthetic(2500, 1, 0),
                                       FleetScoreParams::from_model(base.model));
  EXPECT_TRUE(same.features.unseen.empty());
  EXPECT_NEAR(static_cast<double>(same.findings.size()), 0.05 * 2500, 0.03 * 2500);
}

TEST(Pipeline, ScoringRejectsAMismatchedOrUnfittedModel) {
  auto backend = cpu();
  FleetModel empty;
  EXPECT_THROW(score_fleet(*backend, empty, synthetic(10, 1, 0), {}), Error);
  try {
    score_fleet(*backend, empty, synthetic(10, 1, 0), {});
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_fitted);
  }
  const FleetResult base = fit_fleet(*backend, {}, synthetic(300, 1, 0));
  FeatureBuilder other;  // not the model's vocabulary
  other.add("x", "g", "f");
  other.add("y", "g", "f");
  try {
    score_fleet(*backend, base.model, other.build(), {});
    FAIL() << "expected a shape mismatch";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::shape_mismatch);
  }
}

// A host that asks the CPU backend for one thread gets one in the
// pipeline's OpenMP steps too (feature building, input checks), and its
// own OpenMP count back afterwards.
TEST(Pipeline, TheBackendsThreadCountHoldsForTheHostSteps) {
  const int before = omp_get_max_threads();
  if (before < 2) GTEST_SKIP() << "OpenMP offers one thread here: nothing to narrow";
  BackendOptions one;
  one.cpu.threads = 1;
  auto backend = make_backend("cpu", one);
  FleetPipelineParams params;
  std::vector<int> seen;
  params.progress = [&](std::string_view, double) { seen.push_back(omp_get_max_threads()); };
  GroundTruth truth;
  (void)fit_fleet(*backend, params, synthetic(300, 1, 0, &truth));
  ASSERT_FALSE(seen.empty());
  for (const int t : seen) EXPECT_EQ(t, 1);
  EXPECT_EQ(omp_get_max_threads(), before);
  // The default backend leaves OpenMP's count as it was.
  seen.clear();
  (void)fit_fleet(*cpu(), params, synthetic(300, 1, 0));
  for (const int t : seen) EXPECT_EQ(t, before);
}

// The default score space is decided from the features: the plain distance
// (with grains 10 and 20) where every group holds raw amounts
// (normalisation none), the standardised score where any group is presence
// or shares; the model keeps the choice, and its scores are those of naming
// that space and those grains.
TEST(Pipeline, AutoScoreSpaceIsPlainForRawAmountsOnly) {
  auto backend = cpu();
  auto amounts = [](const EventSink& sink) {
    for (int h = 0; h < 40; ++h) {
      const std::string host = "h" + std::to_string(h);
      sink({host, "m", "cpu", 1.0 + 0.1 * (h % 7) + (h == 39 ? 3.0 : 0.0)});
      sink({host, "m", "rss", 2.0 + 0.3 * (h % 5)});
      sink({host, "n", "ports", 1.0 + (h % 3)});
    }
  };
  auto fit = [&](ScoreSpace space, Normalization m, Normalization n) {
    FleetPipelineParams params;
    params.pca.n_components = 2;
    params.kmeans.n_clusters = 2;
    params.score.space = space;
    params.features.normalization = m;
    params.features.group_normalization["n"] = n;
    return fit_fleet(*backend, params, amounts);
  };
  const Normalization none = Normalization::none, binary = Normalization::binary;
  const FleetResult raw = fit(ScoreSpace::automatic, none, none);
  EXPECT_EQ(raw.model.score.space, ScoreSpace::features);
  // ... with the grains of raw measurements (40 entities: both fit).
  EXPECT_EQ(raw.model.score.grains, (std::vector<int64_t>{10, 20}));
  EXPECT_TRUE(fit(ScoreSpace::features, none, none).model.score.grains.empty());
  {
    FleetPipelineParams named;
    named.pca.n_components = 2;
    named.kmeans.n_clusters = 2;
    named.score.space = ScoreSpace::features;
    named.score.grains = {10, 20};
    named.features.normalization = none;
    named.features.group_normalization["n"] = none;
    EXPECT_EQ(raw.scores, fit_fleet(*backend, named, amounts).scores);
  }
  // One group of presence: standardised, for every group.
  const FleetResult mixed = fit(ScoreSpace::automatic, none, binary);
  EXPECT_EQ(mixed.model.score.space, ScoreSpace::standardized);
  EXPECT_TRUE(mixed.model.score.grains.empty());
  EXPECT_EQ(mixed.scores, fit(ScoreSpace::standardized, none, binary).scores);
  // Named spaces are kept as they are.
  EXPECT_EQ(fit(ScoreSpace::pca, none, none).model.score.space, ScoreSpace::pca);
  // The default features (auto normalisation) of an inventory: standardised.
  EXPECT_EQ(fit_fleet(*backend, {}, synthetic(300, 1, 0)).model.score.space,
            ScoreSpace::standardized);
  // A model whose space was never decided is refused, not scored as a guess.
  FleetModel undecided = raw.model;
  undecided.score.space = ScoreSpace::automatic;
  try {
    score_fleet(*backend, undecided, amounts, {});
    FAIL() << "expected invalid_argument";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("auto"), std::string::npos) << e.what();
  }
  EXPECT_EQ(parse_score_space("auto"), ScoreSpace::automatic);
  EXPECT_STREQ(to_string(ScoreSpace::automatic), "auto");
}

TEST(Pipeline, BadParametersAndTinyFleets) {
  auto backend = cpu();
  auto code_of = [&](const FleetPipelineParams& p, const EventSource& src) {
    try {
      fit_fleet(*backend, p, src);
    } catch (const Error& e) {
      return std::string(error_code_name(e.code())) + ": " + e.what();
    }
    return std::string("no error");
  };
  const EventSource one = [](const EventSink& sink) { sink({"only", "g", "f", 1.0}); };
  EXPECT_NE(code_of({}, one).find("invalid_argument"), std::string::npos);
  EXPECT_NE(code_of({}, [](const EventSink&) {}).find("invalid_argument"), std::string::npos);
  FleetPipelineParams p;
  p.score.variance_floor = 0.0;
  EXPECT_NE(code_of(p, synthetic(50, 1, 0)).find("variance_floor"), std::string::npos);
  p = {};
  p.explain.top_features = 0;
  EXPECT_NE(code_of(p, synthetic(50, 1, 0)).find("top_features"), std::string::npos);
  // An event error passes through unchanged.
  const EventSource bad = [](const EventSink& sink) { sink({"h", "g:x", "f", 1.0}); };
  EXPECT_NE(code_of({}, bad).find("invalid_argument"), std::string::npos);
  // Two entities are enough; k and the PCA size are clipped.
  const FleetResult r = fit_fleet(*backend, {}, [](const EventSink& sink) {
    sink({"a", "g", "x", 1.0});
    sink({"b", "g", "y", 1.0});
  });
  EXPECT_EQ(r.labels.size(), 2u);
}

// ------------------------------------------------------------- model files

class ModelFile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto backend = cpu();
    FleetPipelineParams params;
    params.kmeans.seed = 11;
    base_ = new FleetResult(fit_fleet(*backend, params, synthetic(1500, 11, 0)));
  }
  static void TearDownTestSuite() {
    delete base_;
    base_ = nullptr;
  }
  static std::string saved() {
    std::ostringstream os;
    write_fleet_model(os, base_->model);
    return os.str();
  }
  static std::string error_of(const std::string& bytes) {
    std::istringstream in(bytes);
    try {
      read_fleet_model(in, "m.model");
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::parse_error) << e.what();
      return e.what();
    }
    return "no error";
  }
  static FleetResult* base_;
};
FleetResult* ModelFile::base_ = nullptr;

TEST_F(ModelFile, RoundTripGivesIdenticalScores) {
  TempDir dir;
  const std::string path = dir.file("fleet.model");
  save_fleet_model(base_->model, path);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"fleet.model"});  // no temporary left
  const FleetModel loaded = load_fleet_model(path);
  EXPECT_EQ(loaded.vocabulary.feature_names, base_->model.vocabulary.feature_names);
  EXPECT_EQ(loaded.kmeans.centers.storage(), base_->model.kmeans.centers.storage());
  EXPECT_EQ(loaded.feature_means.storage(), base_->model.feature_means.storage());
  EXPECT_EQ(loaded.pca.components.storage(), base_->model.pca.components.storage());
  EXPECT_EQ(loaded.reference, base_->model.reference);

  auto backend = cpu();
  const FleetResult a = score_fleet(*backend, base_->model, synthetic(1500, 12, 1),
                                    FleetScoreParams::from_model(base_->model));
  const FleetResult b = score_fleet(*backend, loaded, synthetic(1500, 12, 1),
                                    FleetScoreParams::from_model(loaded));
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.scores, b.scores);  // bit for bit
  ASSERT_EQ(a.findings.size(), b.findings.size());
  for (std::size_t i = 0; i < a.findings.size(); ++i) {
    EXPECT_EQ(a.findings[i].entity, b.findings[i].entity);
    ASSERT_EQ(a.findings[i].features.size(), b.findings[i].features.size());
    for (std::size_t j = 0; j < a.findings[i].features.size(); ++j) {
      EXPECT_EQ(a.findings[i].features[j].name, b.findings[i].features[j].name);
      EXPECT_EQ(a.findings[i].features[j].difference, b.findings[i].features[j].difference);
    }
  }
  // Saving the loaded model writes the same bytes.
  std::ostringstream again;
  write_fleet_model(again, loaded);
  EXPECT_EQ(again.str(), saved());
}

TEST_F(ModelFile, WithoutPcaToo) {
  auto backend = cpu();
  FleetPipelineParams params;
  params.pca.n_components = 0;
  params.kmeans.n_clusters = 5;
  const FleetResult r = fit_fleet(*backend, params, synthetic(400, 3, 0));
  std::stringstream ss;
  write_fleet_model(ss, r.model);
  const FleetModel m = read_fleet_model(ss);
  EXPECT_FALSE(m.use_pca);
  const FleetResult a = score_fleet(*backend, r.model, synthetic(400, 4, 1), {});
  const FleetResult b = score_fleet(*backend, m, synthetic(400, 4, 1), {});
  EXPECT_EQ(a.scores, b.scores);
}

TEST_F(ModelFile, ForeignFileIsRefused) {
  EXPECT_NE(error_of("").find("not a stray fleet model"), std::string::npos);
  EXPECT_NE(error_of("\x93NUMPY\x01\x00 garbage").find("not a stray fleet model"), std::string::npos);
  EXPECT_NE(error_of("{\"format\": \"stray-fleet-model\"}\n").find("not a stray fleet model"),
            std::string::npos);
  EXPECT_NE(error_of("stray-fleet-model one two three\n{}").find("malformed header"),
            std::string::npos);
}

TEST_F(ModelFile, NewerVersionIsRefused) {
  std::string bytes = saved();
  const std::string newer = std::to_string(kFleetModelVersion + 1);
  const std::string current = "stray-fleet-model " + std::to_string(kFleetModelVersion);
  ASSERT_EQ(bytes.rfind(current, 0), 0u);
  bytes.replace(0, current.size(), "stray-fleet-model " + newer);
  const std::string e = error_of(bytes);
  EXPECT_NE(e.find("version " + newer), std::string::npos) << e;
}

TEST_F(ModelFile, TruncatedFileIsRefused) {
  const std::string bytes = saved();
  for (const std::size_t keep : {bytes.size() - 1, bytes.size() / 2, std::size_t{40}}) {
    const std::string e = error_of(bytes.substr(0, keep));
    EXPECT_NE(e.find("truncated"), std::string::npos) << keep << ": " << e;
  }
  EXPECT_NE(error_of(bytes.substr(0, 10)).find("not a stray fleet model"), std::string::npos);
  EXPECT_NE(error_of(bytes + "x").find("unexpected data"), std::string::npos);
  // A header claiming 60 GB over a two-byte payload is found truncated
  // (memory follows the bytes that are there, not the header's claim).
  EXPECT_NE(error_of("stray-fleet-model 1 60000000000 deadbeef\n{}").find("truncated"),
            std::string::npos);
}

TEST_F(ModelFile, CorruptPayloadIsRefused) {
  std::string bytes = saved();
  // Change one digit in the middle of the payload: still valid JSON, wrong model.
  const std::size_t header = bytes.find('\n') + 1;
  std::size_t pos = bytes.find("\"feature_means\":[", header);
  ASSERT_NE(pos, std::string::npos);
  pos = bytes.find_first_of("123456789", pos);
  bytes[pos] = bytes[pos] == '9' ? '8' : static_cast<char>(bytes[pos] + 1);
  const std::string e = error_of(bytes);
  EXPECT_NE(e.find("CRC-32"), std::string::npos) << e;
  EXPECT_NE(e.find("m.model"), std::string::npos) << e;  // names the file
}

TEST_F(ModelFile, InconsistentPayloadNamesTheField) {
  // A payload whose CRC is right but whose content is not a model stray
  // wrote: the error names the field.
  auto with_payload = [](const std::string& payload) {
    // The header is "<magic> <version> <bytes> <crc32>"; the CRC is zlib's
    // (reflected polynomial 0xedb88320).
    uint32_t crc = 0xffffffffu;
    for (const unsigned char c : payload) {
      crc ^= c;
      for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xffffffffu;
    char head[96];
    std::snprintf(head, sizeof head, "stray-fleet-model %d %zu %08x\n", kFleetModelVersion,
                  payload.size(), crc);
    return std::string(head) + payload;
  };
  std::string bytes = saved();
  std::string payload = bytes.substr(bytes.find('\n') + 1);
  // Sanity: the rebuilt header reads back.
  EXPECT_EQ(error_of(with_payload(payload)), "no error");
  std::string broken = payload;
  const std::size_t at = broken.find("\"sizes\":[");
  ASSERT_NE(at, std::string::npos);
  broken.replace(at, 9, "\"sizes\":[1,");
  std::string e = error_of(with_payload(broken));
  EXPECT_NE(e.find("clusters.sizes"), std::string::npos) << e;
  broken = payload;
  broken.replace(broken.find("\"variance_floor\":"), 17, "\"variance_floor_\":");
  e = error_of(with_payload(broken));
  EXPECT_NE(e.find("score.variance_floor"), std::string::npos) << e;
  broken = payload;  // a fitted model names the space it scored in
  broken.replace(broken.find("\"space\":\""), 9, "\"space\":\"auto\",\"was\":\"");
  e = error_of(with_payload(broken));
  EXPECT_NE(e.find("score.space"), std::string::npos) << e;
  e = error_of(with_payload("[1, 2, 3]\n"));
  EXPECT_NE(e.find("format"), std::string::npos) << e;
  e = error_of(with_payload("{not json\n"));
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
}

TEST_F(ModelFile, MissingFileAndUnwritablePath) {
  TempDir dir;
  try {
    load_fleet_model(dir.file("absent.model"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io_error);
  }
  EXPECT_THROW(save_fleet_model(base_->model, dir.file("no/such/dir/m.model")), Error);
  EXPECT_THROW(save_fleet_model(FleetModel{}, dir.file("m.model")), Error);
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace stray
