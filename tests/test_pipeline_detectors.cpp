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

namespace stray {
namespace {

std::unique_ptr<Backend> cpu() { return make_backend("cpu"); }

EventSource synthetic(int64_t n, uint64_t seed) {
  return [=](const EventSink& sink) {
    SyntheticFleetParams p;
    p.n_entities = n;
    p.seed = seed;
    generate_synthetic_fleet(p, sink);
  };
}

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
  return p;
}

std::set<int64_t> flagged(const FleetResult& r) {
  std::set<int64_t> s;
  for (const Finding& f : r.findings) s.insert(f.entity);
  return s;
}

TEST(PipelineDetectors, LofFlagsWhatLocalOutlierFactorFlags) {
  auto backend = cpu();
  const FleetResult r = fit_fleet(*backend, params_with(Detector::lof, 3), counts(600, 5));
  const auto n = static_cast<std::size_t>(r.reduced.rows());
  // The same LOF as the library's own call on the clustering space's rows.
  const LofResult direct = lof_fit(*backend, LofParams{}, r.reduced.view());
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

TEST(PipelineDetectors, BothIsTheUnionRankedByEachScoreOverItsThreshold) {
  auto backend = cpu();
  const FleetResult c = fit_fleet(*backend, params_with(Detector::centroid, 3), counts(600, 5));
  const FleetResult b = fit_fleet(*backend, params_with(Detector::both, 3), counts(600, 5));
  ASSERT_EQ(c.labels, b.labels);
  ASSERT_EQ(c.scores, b.scores);
  std::set<int64_t> expected = flagged(c);
  for (std::size_t i = 0; i < b.lof.size(); ++i) {
    if (b.lof[i] > 1.5) expected.insert(static_cast<int64_t>(i));
    const double thr = b.model.thresholds[static_cast<std::size_t>(b.labels[i])];
    ASSERT_GT(thr, 0.0);
    const double want = std::max(static_cast<double>(b.scores[i]) / thr, b.lof[i] / 1.5);
    EXPECT_NEAR(b.outlier_scores[i], want, 1e-12 * want) << i;
  }
  EXPECT_EQ(flagged(b), expected);
  EXPECT_GT(expected.size(), flagged(c).size());  // LOF adds some the rules did not flag
  for (const Finding& f : b.findings) {
    const auto e = static_cast<std::size_t>(f.entity);
    EXPECT_EQ((f.rules & kOutlierLof) != 0, b.lof[e] > 1.5) << f.entity_name;
    EXPECT_EQ(f.score, b.outlier_scores[e]);
    // Past either rule's edge is past 1 (a small cluster's members need not be).
    if (f.rules & (kOutlierPercentile | kOutlierLof)) EXPECT_GT(f.score, 1.0) << f.entity_name;
  }
}

TEST(PipelineDetectors, BothNeedsThePercentileRule) {
  auto backend = cpu();
  FleetPipelineParams p = params_with(Detector::both);
  p.outliers.percentile = 0.0;
  try {
    fit_fleet(*backend, p, synthetic(200, 1));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("percentile"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_detector("density"), Error);
  EXPECT_THROW(parse_clustering("dbscan"), Error);
  EXPECT_EQ(parse_detector(to_string(Detector::both)), Detector::both);
  EXPECT_EQ(parse_clustering(to_string(Clustering::agglomerative)), Clustering::agglomerative);
}

TEST(PipelineDetectors, ModelFilesCarryTheLofModelAndScoreAlike) {
  auto backend = cpu();
  const FleetResult base = fit_fleet(*backend, params_with(Detector::both), synthetic(500, 7));
  std::stringstream ss;
  write_fleet_model(ss, base.model);
  const FleetModel loaded = read_fleet_model(ss);
  EXPECT_EQ(loaded.detector, Detector::both);
  EXPECT_EQ(loaded.lof.reference.storage(), base.model.lof.reference.storage());
  EXPECT_EQ(loaded.lof.lrd, base.model.lof.lrd);
  const FleetResult a = score_fleet(*backend, base.model, synthetic(400, 8), {});
  const FleetResult b = score_fleet(*backend, loaded, synthetic(400, 8), {});
  EXPECT_EQ(a.lof, b.lof);
  EXPECT_EQ(a.outlier_scores, b.outlier_scores);
  EXPECT_EQ(flagged(a), flagged(b));
  // A new snapshot's LOF is novelty scoring against the baseline's rows.
  const std::vector<double> s = lof_score_samples(*backend, base.model.lof, a.reduced.view());
  ASSERT_EQ(s.size(), a.lof.size());
  for (std::size_t i = 0; i < s.size(); ++i) EXPECT_EQ(a.lof[i], -s[i]);
}

TEST(PipelineDetectors, VersionOneModelFilesStillLoad) {
  auto backend = cpu();
  const FleetResult base = fit_fleet(*backend, params_with(Detector::centroid), synthetic(300, 2));
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
  EXPECT_EQ(score_fleet(*backend, old, synthetic(300, 4), {}).scores,
            score_fleet(*backend, base.model, synthetic(300, 4), {}).scores);
}

TEST(PipelineDetectors, AgglomerativeAtAGivenKIsTheTreesCut) {
  auto backend = cpu();
  FleetPipelineParams p = params_with(Detector::centroid, 5);
  p.clustering = Clustering::agglomerative;
  p.linkage = Linkage::average;
  const FleetResult r = fit_fleet(*backend, p, synthetic(400, 6));
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
  const FleetResult r = fit_fleet(*backend, p, synthetic(500, 9));
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
    fit_fleet(*backend, p, synthetic(300, 9));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("agglomerative_max_entities"), std::string::npos);
  }
}

}  // namespace
}  // namespace stray
