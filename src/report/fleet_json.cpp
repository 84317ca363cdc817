// The findings as one JSON object, for scripts and other tools. nlohmann-json
// stays inside the library: the public header hands out text only.
#include <cmath>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "stray/report/fleet_report.hpp"

namespace stray {
namespace {

using Json = nlohmann::ordered_json;

Json finding_json(const Finding& f) {
  Json fj;
  fj["entity"] = f.entity_name;
  fj["cluster"] = f.cluster;
  fj["reference_cluster"] = f.reference_cluster;
  fj["score"] = f.score;
  fj["distance"] = f.distance;
  if (!std::isnan(f.threshold_ratio)) fj["threshold_ratio"] = f.threshold_ratio;
  if (!std::isnan(f.lof)) fj["lof"] = f.lof;
  if (!std::isnan(f.rarity)) fj["rarity"] = f.rarity;
  fj["rank"] = f.rank;
  fj["cluster_size"] = f.cluster_size;
  Json rules = Json::array();
  std::stringstream ss(outlier_rules_string(f.rules));
  for (std::string rule; std::getline(ss, rule, ',');) rules.push_back(rule);
  fj["rules"] = rules;
  Json features = Json::array();
  for (const FindingFeature& x : f.features) {
    features.push_back({{"feature", x.name},
                        {"value", x.value},
                        {"center", x.center},
                        {"difference", x.difference},
                        {"unseen", x.unseen}});
  }
  fj["features"] = features;
  if (!f.rare_features.empty()) {
    Json rare = Json::array();
    for (const RareFeature& x : f.rare_features) {
      rare.push_back({{"feature", x.name},
                      {"value", x.value},
                      {"fleet_share", x.fleet_share},
                      {"unseen", x.unseen}});
    }
    fj["rare_features"] = rare;
  }
  return fj;
}

// What ran: sizes, PCA, k, score space, rules, backend, the k tried.
Json model_json(const FleetResult& r, std::string_view backend) {
  const FleetModel& m = r.model;
  Json j;
  j["entities"] = r.features.n_entities();
  j["features"] = r.features.n_features();
  j["unseen_features"] = r.features.unseen.size();
  j["clusters"] = m.n_clusters();
  j["pca_components"] = m.use_pca ? m.pca.n_components : 0;
  double kept = 0.0;
  for (double x : m.pca.explained_variance_ratio) kept += x;
  j["pca_explained_variance_ratio"] = m.use_pca ? kept : 0.0;
  j["clustering"] = to_string(m.clustering);
  if (m.clustering == Clustering::agglomerative) j["linkage"] = to_string(m.linkage);
  j["detector"] = to_string(m.detector);
  if (m.detector != Detector::centroid) {
    j["lof_neighbors"] = m.lof.n_neighbors;
    j["lof_threshold"] = -m.lof.offset;
  }
  j["rarity"] = !m.rarity.empty();
  j["score_space"] = to_string(m.score.space);
  j["shrinkage"] = m.score.shrinkage;
  j["grains"] = m.score.grains;
  j["percentile"] = m.outliers.percentile;
  j["small_cluster_size"] = m.outliers.small_cluster_size;
  j["backend"] = std::string(backend);
  if (!r.cluster_choice.empty()) {
    Json curve = Json::array();
    for (const ClusterChoice& c : r.cluster_choice) {
      curve.push_back({{"k", c.k}, {"silhouette", c.silhouette}, {"inertia", c.inertia}});
    }
    j["cluster_choice"] = curve;
  }
  Json profiles = Json::array();
  for (const ClusterProfile& p : r.clusters) {
    Json defining = Json::array();
    for (const ProfileFeature& f : p.defining) {
      defining.push_back({{"feature", f.name}, {"members", f.members}, {"others", f.others}});
    }
    profiles.push_back({{"cluster", p.cluster}, {"size", p.size}, {"defining", defining}});
  }
  j["cluster_profiles"] = std::move(profiles);
  return j;
}

}  // namespace

std::string findings_json(const FleetResult& result, std::string_view backend, int indent) {
  Json j = model_json(result, backend);
  Json findings = Json::array();
  for (const Finding& f : result.findings) findings.push_back(finding_json(f));
  j["n_findings"] = result.findings.size();
  j["findings"] = std::move(findings);
  Json steps = Json::object();
  for (const PipelineStep& st : result.steps) steps[st.name] = st.seconds;
  j["steps"] = std::move(steps);
  j["seconds"] = result.seconds;
  // Names are bytes from the event source; the default handler would throw
  // on the first one that is not UTF-8 and lose the whole report.
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace stray
