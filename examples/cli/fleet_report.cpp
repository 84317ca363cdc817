#include "fleet_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "cli_util.hpp"

namespace stray::cli {

std::string signed_difference(double difference) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", std::fabs(difference));
  return std::string(difference < 0 ? "\u2212" : "+") + buf;
}

std::string features_text(const Finding& f, std::size_t max_features, bool mark_unseen) {
  std::string s;
  for (std::size_t i = 0; i < f.features.size() && i < max_features; ++i) {
    const FindingFeature& x = f.features[i];
    if (!s.empty()) s += ", ";
    s += x.name + " " + signed_difference(x.difference);
    if (mark_unseen && x.unseen) s += " (new)";
  }
  return s;
}

std::string pipeline_summary(const FleetResult& r) {
  const FleetModel& m = r.model;
  std::ostringstream os;
  os << r.features.n_entities() << " entities x " << r.features.n_features() << " features";
  if (!r.features.unseen.empty()) os << " (+" << r.features.unseen.size() << " unseen)";
  if (m.use_pca) {
    double kept = 0.0;
    for (double x : m.pca.explained_variance_ratio) kept += x;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * kept);
    os << " -> PCA " << m.pca.n_components << " components (" << buf << " of the variance)";
  } else {
    os << " -> no PCA";
  }
  os << " -> k-means k=" << m.n_clusters() << " -> " << to_string(m.score.space)
     << " scores -> ";
  if (m.outliers.percentile > 0.0) os << "beyond the " << m.outliers.percentile << "th percentile";
  if (m.outliers.small_cluster_size > 0)
    os << ", clusters of <= " << m.outliers.small_cluster_size << " whole";
  return os.str();
}

void print_findings_table(const FleetResult& r, int64_t limit) {
  const auto n = static_cast<int64_t>(r.findings.size());
  const int64_t shown = limit > 0 ? std::min(limit, n) : n;
  std::size_t width = 6;
  for (int64_t i = 0; i < shown; ++i) {
    width = std::max(width, r.findings[static_cast<std::size_t>(i)].entity_name.size());
  }
  std::printf("  %-*s %7s %12s  %s\n", static_cast<int>(width), "entity", "cluster", "score",
              "top features (value - peers' mean)");
  for (int64_t i = 0; i < shown; ++i) {
    const Finding& f = r.findings[static_cast<std::size_t>(i)];
    std::string cluster = std::to_string(f.cluster);
    if (f.rules & kOutlierSmallCluster) cluster += "*";
    std::printf("  %-*s %7s %12.1f  %s\n", static_cast<int>(width), f.entity_name.c_str(),
                cluster.c_str(), f.score, features_text(f, 4).c_str());
  }
  if (shown < n) std::printf("  ... and %lld more\n", static_cast<long long>(n - shown));
  bool any_small = false;
  for (int64_t i = 0; i < shown; ++i) {
    any_small |= (r.findings[static_cast<std::size_t>(i)].rules & kOutlierSmallCluster) != 0;
  }
  if (any_small) std::printf("  (* a small cluster, flagged whole and compared with the nearest other)\n");
}

std::string steps_text(const FleetResult& r) {
  std::string s;
  for (const auto& st : r.steps) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s %.2f s", st.name.c_str(), st.seconds);
    if (!s.empty()) s += ", ";
    s += buf;
  }
  return s;
}

nlohmann::ordered_json findings_json(const FleetResult& r, const std::string& backend) {
  const FleetModel& m = r.model;
  nlohmann::ordered_json j;
  j["entities"] = r.features.n_entities();
  j["features"] = r.features.n_features();
  j["unseen_features"] = r.features.unseen.size();
  j["clusters"] = m.n_clusters();
  j["pca_components"] = m.use_pca ? m.pca.n_components : 0;
  double kept = 0.0;
  for (double x : m.pca.explained_variance_ratio) kept += x;
  j["pca_explained_variance_ratio"] = m.use_pca ? kept : 0.0;
  j["score_space"] = to_string(m.score.space);
  j["percentile"] = m.outliers.percentile;
  j["small_cluster_size"] = m.outliers.small_cluster_size;
  j["backend"] = backend;
  if (!r.cluster_choice.empty()) {
    nlohmann::ordered_json curve = nlohmann::ordered_json::array();
    for (const ClusterChoice& c : r.cluster_choice) curve.push_back({{"k", c.k}, {"silhouette", c.silhouette}});
    j["cluster_choice"] = curve;
  }
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  for (const Finding& f : r.findings) {
    nlohmann::ordered_json fj;
    fj["entity"] = f.entity_name;
    fj["cluster"] = f.cluster;
    fj["reference_cluster"] = f.reference_cluster;
    fj["score"] = f.score;
    fj["rank"] = f.rank;
    fj["cluster_size"] = f.cluster_size;
    nlohmann::ordered_json rules = nlohmann::ordered_json::array();
    std::stringstream ss(outlier_rules_string(f.rules));
    for (std::string rule; std::getline(ss, rule, ',');) rules.push_back(rule);
    fj["rules"] = rules;
    nlohmann::ordered_json feats = nlohmann::ordered_json::array();
    for (const FindingFeature& x : f.features) {
      feats.push_back({{"feature", x.name},
                       {"value", x.value},
                       {"center", x.center},
                       {"difference", x.difference},
                       {"unseen", x.unseen}});
    }
    fj["features"] = feats;
    findings.push_back(fj);
  }
  j["n_findings"] = r.findings.size();
  j["findings"] = findings;
  nlohmann::ordered_json steps = nlohmann::ordered_json::object();
  for (const auto& st : r.steps) steps[st.name] = st.seconds;
  j["steps"] = steps;
  j["seconds"] = r.seconds;
  return j;
}

namespace {
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::string scores_csv(const FleetResult& r) {
  std::string out = "entity,cluster,score,outlier\n";
  char buf[64];
  for (int64_t i = 0; i < r.features.n_entities(); ++i) {
    const auto u = static_cast<std::size_t>(i);
    std::snprintf(buf, sizeof buf, ",%d,%.9g,%d\n", r.labels[u], static_cast<double>(r.scores[u]),
                  r.outliers.is_outlier[u] ? 1 : 0);
    out += csv_field(r.features.entity_names[u]);
    out += buf;
  }
  return out;
}

ProgressLine::ProgressLine() : enabled_(stderr_is_terminal()) {}

ProgressLine::~ProgressLine() { finish(); }

ProgressCallback ProgressLine::callback() {
  if (!enabled_) return {};
  return [this](std::string_view step, double fraction) {
    const int percent = static_cast<int>(std::floor(100.0 * std::clamp(fraction, 0.0, 1.0)));
    if (step == step_ && percent == percent_) return;
    step_ = std::string(step);
    percent_ = percent;
    std::fprintf(stderr, "\r\033[Kstray: %s %d%%", step_.c_str(), percent);
    std::fflush(stderr);
    drawn_ = true;
  };
}

void ProgressLine::finish() {
  if (drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace stray::cli
