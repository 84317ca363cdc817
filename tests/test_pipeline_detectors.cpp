// The fleet pipeline's other detectors and clusterings: LOF in the
// clustering space (alone, or with the centroid rules), agglomerative
// clustering cut at a given or chosen k, and model files that carry them
// (version 1 files, from before, still load). Each is held to the library
// call it must equal (lof_fit, agglomerative_fit, choose_k_from_tree) and
// to the documented combination of the two detectors' scores.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <nlohmann/json.hpp>
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

// Count telemetry with density structure: three profiles of six "syscalls"
// whose counts vary from entity to entity, so some entities sit in sparser
// places than their neighbours (LOF has something to flag) without being
// far from their cluster's centre.
EventSource counts(int64_t n, uint64_t seed) {
  return [=](const EventSink& sink) {
    uint64_t state = seed * 2862933555777941757ULL + 3037000493ULL;
    auto uniform = [&state] {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      return static_cast<double>(state >> 11) * 0x1.0p-53;
    };
    for (int64_t e = 0; e < n; ++e) {
      const std::string entity = "proc-" + std::to_string(e);
      const int64_t profile = e % 3;
      for (int64_t j = 0; j < 6; ++j) {
        const double base = (j % 3 == profile) ? 40.0 : 5.0;
        const double spread = e % 17 == 0 ? 30.0 : 6.0;  // a few scattered ones
        const std::string feature = "s" + std::to_string(j);
        sink(Event{entity, "syscall", feature, std::floor(base + spread * uniform()) + 1.0});
      }
    }
  };
}

FleetPipelineParams params_with(Detector detector, int64_t k = 6) {
  FleetPipelineParams p;
  p.kmeans.n_clusters = k;
  p.kmeans.seed = 3;
  p.detector = detector;
  p.rarity = false;  // the detectors alone; rarity beside them: test_pipeline_rarity.cpp
  return p;
}

std::set<int64_t> flagged(const FleetResult& r) {
  std::set<int64_t> s;
  for (const Finding& f : r.findings) s.insert(f.entity);
  return s;
}

// A fleet of clones: 80 identical hosts, one with a package more, and 60
// hosts that vary. scikit-learn's LOF scores the one beside the clones in
// the hundreds of millions; the pipeline's, over distinct rows, grades it,
// keeps the distinct rows in the model and scores them back the same.
TEST(PipelineDetectors, LofOverDistinctRowsGradesHostsBesideClones) {
  const EventSource fleet = [](const EventSink& sink) {
    for (int e = 0; e < 141; ++e) {
      const std::string entity = "host-" + std::to_string(e);
      for (int j = 0; j < 12; ++j) {
        const bool has = e < 81 ? j < 8 : (e * 7 + j * 3) % 5 < 2;
        if (has) sink(Event{entity, "package", "p" + std::to_string(j), 1.0});
      }
      if (e == 80) sink(Event{entity, "package", "extra", 1.0});
    }
  };
  auto backend = cpu();
  FleetPipelineParams p = params_with(Detector::lof, 3);
  const FleetResult r = fit_fleet(*backend, p, fleet);
  ASSERT_EQ(r.lof.size(), 141u);
  for (int e = 1; e < 80; ++e) EXPECT_EQ(r.lof[e], r.lof[0]) << "clone " << e;
  EXPECT_LT(r.lof[80], 100.0);
  EXPECT_LT(r.model.lof.reference.rows(), 141);
  p.lof.distinct_rows = false;
  EXPECT_GT(fit_fleet(*backend, p, fleet).lof[80], 1e6);  // scikit-learn's way
  std::stringstream file;
  write_fleet_model(file, r.model);
  const FleetModel back = read_fleet_model(file);
  const FleetResult again = score_fleet(*backend, back, fleet, FleetScoreParams::from_model(back));
  ASSERT_EQ(again.lof.size(), 141u);
  EXPECT_EQ(again.lof[0], again.lof[1]);
  EXPECT_LT(again.lof[80], 100.0);
}

TEST(PipelineDetectors, LofFlagsWhatLocalOutlierFactorFlags) {
  auto backend = cpu();
  const FleetResult r = fit_fleet(*backend, params_with(Detector::lof, 3), counts(600, 5));
  const auto n = static_cast<std::size_t>(r.reduced.rows());
  // The same LOF as the library's own call on the clustering space's rows,
  // with the pipeline's parameters (over distinct rows).
  const LofResult direct = lof_fit(*backend, FleetPipelineParams{}.lof, r.reduced.view());
  ASSERT_EQ(r.lof.size(), n);
  std::set<int64_t> expected;
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(r.lof[i], -direct.negative_outlier_factor[i]) << i;
    EXPECT_EQ(r.outlier_scores[i], r.lof[i]);
    if (r.lof[i] > 1.5) expected.insert(static_cast<int64_t>(i));
  }
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(flagged(r), expected);
  for (std::size_t t = 0; t < r.findings.size(); ++t) {
    const Finding& f = r.findings[t];
    EXPECT_EQ(f.rules, uint32_t{kOutlierLof});
    EXPECT_EQ(f.score, f.lof);
    EXPECT_EQ(f.distance, r.scores[static_cast<std::size_t>(f.entity)]);
    if (t > 0) EXPECT_GE(r.findings[t - 1].score, f.score);
    EXPECT_FALSE(f.features.empty());  // explained against its cluster all the same
  }
  EXPECT_EQ(r.model.detector, Detector::lof);
  EXPECT_EQ(r.model.lof.reference.rows(), r.reduced.rows());  // kept for scoring
}

TEST(PipelineDetectors, BothIsTheUnionRankedByTheRarerScore) {
  auto backend = cpu();
  const FleetResult c = fit_fleet(*backend, params_with(Detector::centroid, 3), counts(600, 5));
  const FleetResult b = fit_fleet(*backend, params_with(Detector::both, 3), counts(600, 5));
  ASSERT_EQ(c.labels, b.labels);
  ASSERT_EQ(c.scores, b.scores);
  const std::vector<double> distances(b.scores.begin(), b.scores.end());
  const std::set<int64_t> rules_alone = flagged(c);
  std::set<int64_t> expected = rules_alone;
  std::set<int64_t> by_offset;
  for (std::size_t i = 0; i < b.lof.size(); ++i) {
    const double lof_tail = naive_tail(b.lof, b.lof[i]);
    // LOF beside the rules: past its offset and in the top 5% of the fit's LOFs.
    if (b.lof[i] > 1.5 && lof_tail <= 0.05) expected.insert(static_cast<int64_t>(i));
    if (b.lof[i] > 1.5) by_offset.insert(static_cast<int64_t>(i));
    const double want = 1.0 / std::min(naive_tail(distances, distances[i]), lof_tail);
    EXPECT_NEAR(b.outlier_scores[i], want, 1e-12 * want) << i;
  }
  EXPECT_EQ(flagged(b), expected);
  EXPECT_GT(expected.size(), rules_alone.size());  // LOF adds some the rules did not flag
  EXPECT_GT(by_offset.size(), expected.size() - rules_alone.size());  // and not all past 1.5
  for (const Finding& f : b.findings) {
    const auto e = static_cast<std::size_t>(f.entity);
    // The rules' own findings keep their flags; the others are LOF's.
    if (!rules_alone.count(f.entity)) EXPECT_NE(f.rules & kOutlierLof, 0u) << f.entity_name;
    EXPECT_EQ(f.score, b.outlier_scores[e]);
    EXPECT_GE(f.score, 1.0);
    EXPECT_LE(f.score, (static_cast<double>(b.lof.size()) + 1.0) / 1.5);  // the fit's top: 1.5 / (n + 1)
  }
  // The calibration is the fit's own values, sorted.
  std::vector<float> sorted(b.scores);
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(b.model.calibration.scores, sorted);
  EXPECT_EQ(b.model.calibration.lof.size(), b.lof.size());
  EXPECT_TRUE(std::is_sorted(b.model.calibration.lof.begin(), b.model.calibration.lof.end()));
  EXPECT_TRUE(c.model.calibration.empty());
}

TEST(PipelineDetectors, TailFractionCountsTheBaselineAndFallsPastIt) {
  const std::vector<float> base = {0.0f, 0.0f, 1.0f, 2.0f, 4.0f};
  EXPECT_EQ(tail_fraction(base, 0.0), 5.0 / 6.0);    // 3 above, 2 equal: (3 + 1 + 1) / 6
  EXPECT_EQ(tail_fraction(base, 0.5), 4.0 / 6.0);    // 1, 2, 4 above
  EXPECT_EQ(tail_fraction(base, 4.0), 1.5 / 6.0);    // the largest meets itself: half
  EXPECT_EQ(tail_fraction(base, 8.0), 0.5 / 6.0);    // past it: 4 / 8 of 1 / 6
  EXPECT_LT(tail_fraction(base, 16.0), tail_fraction(base, 8.0));
  EXPECT_GT(tail_fraction(base, 1e300), 0.0);  // past float's range: no overflow
  EXPECT_LE(tail_fraction(base, 1e300), tail_fraction(base, 1e30));
  EXPECT_EQ(tail_fraction({0.0f, 0.0f}, 1.0), 0.5 / 3.0);  // a baseline of zeros: 1 / (1 + v)
  EXPECT_EQ(tail_fraction({}, 3.0), 1.0);
  EXPECT_EQ(tail_fraction(base, std::nan("")), 1.0);
}

TEST(PipelineDetectors, BothWithoutThePercentileRuleFlagsByLofsOffset) {
  auto backend = cpu();
  FleetPipelineParams p = params_with(Detector::both, 3);
  p.outliers.percentile = 0.0;
  p.small_cluster_size = 0;
  const FleetResult r = fit_fleet(*backend, p, counts(600, 5));
  std::set<int64_t> expected;
  for (std::size_t i = 0; i < r.lof.size(); ++i) {
    if (r.lof[i] > 1.5) expected.insert(static_cast<int64_t>(i));
  }
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(flagged(r), expected);
  EXPECT_THROW(parse_detector("density"), Error);
  EXPECT_THROW(parse_clustering("dbscan"), Error);
  for (const Detector d : {Detector::centroid, Detector::lof, Detector::both, Detector::automatic}) {
    EXPECT_EQ(parse_detector(to_string(d)), d);
  }
  EXPECT_EQ(parse_clustering(to_string(Clustering::agglomerative)), Clustering::agglomerative);
}

// The default detector: both for event telemetry (shares, presence) up to
// lof_auto_max_entities, centroid for raw measurements and past the limit.
TEST(PipelineDetectors, TheAutomaticDetectorFollowsTheData) {
  auto backend = cpu();
  FleetPipelineParams p;
  EXPECT_EQ(p.detector, Detector::automatic);
  p.kmeans.n_clusters = 3;
  const FleetResult events = fit_fleet(*backend, p, counts(300, 2));
  EXPECT_EQ(events.model.detector, Detector::both);
  EXPECT_FALSE(events.model.calibration.empty());
  EXPECT_EQ(events.lof.size(), 300u);
  p.features.group_normalization["syscall"] = Normalization::none;  // raw amounts
  EXPECT_EQ(fit_fleet(*backend, p, counts(300, 2)).model.detector, Detector::centroid);
  p.features.group_normalization.clear();
  p.lof_auto_max_entities = 299;
  const FleetResult large = fit_fleet(*backend, p, counts(300, 2));
  EXPECT_EQ(large.model.detector, Detector::centroid);
  EXPECT_TRUE(large.lof.empty());
  EXPECT_EQ(resolve_detector(Detector::lof, ScoreSpace::features, 10, 0), Detector::lof);
  EXPECT_EQ(resolve_detector(Detector::automatic, ScoreSpace::standardized, 10, 10),
            Detector::both);
  EXPECT_EQ(resolve_detector(Detector::automatic, ScoreSpace::features, 10, 10),
            Detector::centroid);
  p.lof_auto_max_entities = -1;
  EXPECT_THROW(fit_fleet(*backend, p, counts(300, 2)), Error);
}

TEST(PipelineDetectors, ModelFilesCarryTheLofModelAndScoreAlike) {
  auto backend = cpu();
  const FleetResult base = fit_fleet(*backend, params_with(Detector::both), synthetic_events(500, 7));
  std::stringstream ss;
  write_fleet_model(ss, base.model);
  const FleetModel loaded = read_fleet_model(ss);
  EXPECT_EQ(loaded.detector, Detector::both);
  EXPECT_EQ(loaded.lof.reference.storage(), base.model.lof.reference.storage());
  EXPECT_EQ(loaded.lof.lrd, base.model.lof.lrd);
  const FleetResult a = score_fleet(*backend, base.model, synthetic_events(400, 8), {});
  const FleetResult b = score_fleet(*backend, loaded, synthetic_events(400, 8), {});
  EXPECT_EQ(a.lof, b.lof);
  EXPECT_EQ(loaded.calibration.scores, base.model.calibration.scores);
  EXPECT_EQ(loaded.calibration.lof, base.model.calibration.lof);
  EXPECT_EQ(a.outlier_scores, b.outlier_scores);
  EXPECT_EQ(flagged(a), flagged(b));
  // A later snapshot ranks against the baseline's calibration.
  for (std::size_t i = 0; i < a.outlier_scores.size(); ++i) {
    const double want = 1.0 / std::min(tail_fraction(base.model.calibration.scores, a.scores[i]),
                                       tail_fraction(base.model.calibration.lof, a.lof[i]));
    EXPECT_EQ(a.outlier_scores[i], want) << i;
  }
  // A model without calibration (format version 4) ranks as version 4 did:
  // the larger of each score over its threshold, LOF's offset flagging.
  FleetModel old = base.model;
  old.calibration = {};
  const FleetResult v4 = score_fleet(*backend, old, synthetic_events(400, 8), {});
  for (std::size_t i = 0; i < v4.outlier_scores.size(); ++i) {
    const double thr = old.thresholds[static_cast<std::size_t>(v4.labels[i])];
    if (!(thr > 0.0)) continue;
    const double want = std::max(static_cast<double>(v4.scores[i]) / thr, v4.lof[i] / 1.5);
    EXPECT_NEAR(v4.outlier_scores[i], want, 1e-12 * want) << i;
    if (v4.lof[i] > 1.5) EXPECT_TRUE(v4.outliers.is_outlier[i]) << i;
  }
  // A new snapshot's LOF is novelty scoring against the baseline's rows.
  const std::vector<double> s = lof_score_samples(*backend, base.model.lof, a.reduced.view());
  ASSERT_EQ(s.size(), a.lof.size());
  for (std::size_t i = 0; i < s.size(); ++i) EXPECT_EQ(a.lof[i], -s[i]);
}

TEST(PipelineDetectors, VersionOneModelFilesStillLoad) {
  auto backend = cpu();
  const FleetResult base = fit_fleet(*backend, params_with(Detector::centroid), synthetic_events(300, 2));
  std::ostringstream os;
  write_fleet_model(os, base.model);
  const std::string bytes = os.str();
  EXPECT_EQ(bytes.rfind("stray-fleet-model " + std::to_string(kFleetModelVersion) + " ", 0), 0u);
  // The payload a version 1 writer made: no clustering, detector or lof.
  nlohmann::json j = nlohmann::json::parse(bytes.substr(bytes.find('\n') + 1));
  j.erase("clustering");
  j.erase("detector");
  j.erase("lof");
  j["version"] = 1;
  const std::string payload = j.dump() + "\n";
  uint32_t crc = 0xffffffffu;
  for (const unsigned char ch : payload) {
    crc ^= ch;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  char head[96];
  std::snprintf(head, sizeof head, "stray-fleet-model 1 %zu %08x\n", payload.size(),
                crc ^ 0xffffffffu);
  std::istringstream in(head + payload);
  const FleetModel old = read_fleet_model(in);
  EXPECT_EQ(old.detector, Detector::centroid);
  EXPECT_EQ(old.clustering, Clustering::kmeans);
  EXPECT_EQ(score_fleet(*backend, old, synthetic_events(300, 4), {}).scores,
            score_fleet(*backend, base.model, synthetic_events(300, 4), {}).scores);
}

TEST(PipelineDetectors, AgglomerativeAtAGivenKIsTheTreesCut) {
  auto backend = cpu();
  FleetPipelineParams p = params_with(Detector::centroid, 5);
  p.clustering = Clustering::agglomerative;
  p.linkage = Linkage::average;
  const FleetResult r = fit_fleet(*backend, p, synthetic_events(400, 6));
  AgglomerativeParams ap;
  ap.n_clusters = 5;
  ap.linkage = Linkage::average;
  const AgglomerativeResult direct = agglomerative_fit(ap, r.reduced.view());
  EXPECT_EQ(r.labels, direct.labels);
  EXPECT_EQ(r.linkage_matrix.storage(), direct.linkage_matrix.storage());
  // Centres are the members' means (float64 sums, stored as float).
  const int64_t k = 5, dims = r.reduced.cols();
  ASSERT_EQ(r.model.kmeans.centers.rows(), k);
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < dims; ++j) {
      double sum = 0.0;
      int64_t count = 0;
      for (int64_t i = 0; i < r.reduced.rows(); ++i) {
        if (r.labels[static_cast<std::size_t>(i)] != c) continue;
        sum += r.reduced(i, j);
        ++count;
      }
      ASSERT_GT(count, 0);
      EXPECT_EQ(r.model.kmeans.centers(c, j), static_cast<float>(sum / static_cast<double>(count)));
    }
  }
  EXPECT_EQ(r.model.clustering, Clustering::agglomerative);
  EXPECT_EQ(r.model.linkage, Linkage::average);
}

TEST(PipelineDetectors, AgglomerativeChoosesKOverItsCutsAndHasALimit) {
  auto backend = cpu();
  FleetPipelineParams p = params_with(Detector::centroid, 0);
  p.clustering = Clustering::agglomerative;
  const FleetResult r = fit_fleet(*backend, p, synthetic_events(500, 9));
  ASSERT_FALSE(r.cluster_choice.empty());
  AgglomerativeParams ap;
  ap.n_clusters = 1;
  const AgglomerativeResult tree = agglomerative_fit(ap, r.reduced.view());
  ChooseKParams cp;
  cp.k_max = p.max_clusters;
  cp.sample_size = p.cluster_choice_sample;
  cp.tolerance = p.cluster_choice_tolerance;
  cp.kmeans = p.kmeans;
  const KChoice choice = choose_k_from_tree(*backend, cp, r.reduced.view(), tree.linkage_matrix.view());
  EXPECT_EQ(r.model.n_clusters(), choice.k);
  EXPECT_EQ(r.cluster_choice.size(), choice.curve.size());

  p.agglomerative_max_entities = 100;
  try {
    fit_fleet(*backend, p, synthetic_events(300, 9));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("agglomerative_max_entities"), std::string::npos);
  }
}

}  // namespace
}  // namespace stray
