// The findings as a person reads them on a terminal: the table, the one-line
// pipeline summary and the step times (what `stray fleet` and `stray demo`
// print, written here so every product shows the same thing).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "stray/report/fleet_report.hpp"

namespace stray {
namespace {

// `text` (already through display_text) left-aligned in `width` columns.
std::string pad_right(const std::string& text, std::size_t width) {
  const std::size_t shown = display_width(text);
  return shown >= width ? text : text + std::string(width - shown, ' ');
}

// "20 neighbours", "1 neighbour" (a tiny fleet clamps LOF's k).
std::string neighbours_text(int64_t k) {
  return std::to_string(k) + (k == 1 ? " neighbour" : " neighbours");
}

double kept_variance(const FleetModel& m) {
  double kept = 0.0;
  for (double x : m.pca.explained_variance_ratio) kept += x;
  return kept;
}

}  // namespace

std::string signed_difference(double difference) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", std::fabs(difference));
  return std::string(difference < 0 ? "\u2212" : "+") + buf;
}

std::string features_text(const Finding& finding, std::size_t max_features, bool mark_unseen) {
  std::string s;
  for (std::size_t i = 0; i < finding.features.size() && i < max_features; ++i) {
    const FindingFeature& x = finding.features[i];
    if (!s.empty()) s += ", ";
    s += display_text(x.name) + " " + signed_difference(x.difference);
    if (mark_unseen && x.unseen) s += " (new)";
  }
  return s;
}

namespace {
// Value rarity's part of the summary; "" when it is off.
std::string rarity_text(const FleetModel& m) {
  if (m.rarity.empty()) return "";
  std::ostringstream os;
  os << "; or value rarity";
  if (m.outliers.percentile > 0.0) os << " in the top " << (100.0 - m.outliers.percentile) / 2.0 << "%";
  os << " (score: one in N of the baseline, the rarest of the scores)";
  return os.str();
}
}  // namespace

std::string rare_features_text(const Finding& finding, std::size_t max_features) {
  std::string s;
  for (std::size_t i = 0; i < finding.rare_features.size() && i < max_features; ++i) {
    const RareFeature& x = finding.rare_features[i];
    char buf[64];
    std::snprintf(buf, sizeof buf, "=%.4g (%.2g%%)", static_cast<double>(x.value),
                  100.0 * x.fleet_share);
    if (!s.empty()) s += ", ";
    s += display_text(x.name) + buf;
    if (x.unseen) s += " (new)";
  }
  return s;
}

std::string pipeline_summary(const FleetResult& result) {
  const FleetModel& m = result.model;
  std::ostringstream os;
  os << result.features.n_entities() << " entities x " << result.features.n_features()
     << " features";
  if (!result.features.unseen.empty()) os << " (+" << result.features.unseen.size() << " unseen)";
  if (m.use_pca) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * kept_variance(m));
    os << " -> PCA " << m.pca.n_components << " components (" << buf << " of the variance)";
  } else {
    os << " -> no PCA";
  }
  if (m.clustering == Clustering::agglomerative) {
    os << " -> agglomerative (" << to_string(m.linkage) << ") k=" << m.n_clusters();
  } else {
    os << " -> k-means k=" << m.n_clusters();
  }
  if (m.detector == Detector::lof) {
    os << " -> LOF (" << neighbours_text(m.lof.n_neighbors) << ") beyond " << -m.lof.offset
       << rarity_text(m);
    return os.str();
  }
  os << " -> " << to_string(m.score.space) << " scores";
  for (std::size_t g = 0; g < m.score.grains.size(); ++g) {
    os << (g == 0 ? " (grains k=" : ",") << m.score.grains[g]
       << (g + 1 == m.score.grains.size() ? ")" : "");
  }
  os << " -> ";
  if (m.outliers.percentile > 0.0) os << "beyond the " << m.outliers.percentile << "th percentile";
  if (m.outliers.small_cluster_size > 0)
    os << ", clusters of <= " << m.outliers.small_cluster_size << " whole";
  if (m.detector == Detector::both) {
    os << "; or LOF (" << neighbours_text(m.lof.n_neighbors) << ") beyond " << -m.lof.offset;
    if (m.calibration.empty()) {
      os << " (score: the larger of each over its threshold)";
    } else {
      if (m.outliers.percentile > 0.0) os << " in the top " << 100.0 - m.outliers.percentile << "%";
      if (m.rarity.empty()) os << " (score: one in N of the baseline, the rarer of the two)";
    }
  }
  os << rarity_text(m);
  return os.str();
}

std::string steps_text(const FleetResult& result) {
  std::string s;
  for (const PipelineStep& st : result.steps) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " %.2f s", st.seconds);
    if (!s.empty()) s += ", ";
    s += display_text(st.name) + buf;
  }
  return s;
}

std::string differences_summary(const Finding& finding, std::size_t shown) {
  // n_differing counts the differences of at least 0.5; so do the shown ones.
  int64_t clear_shown = 0;
  for (std::size_t i = 0; i < shown && i < finding.features.size(); ++i) {
    clear_shown += std::fabs(finding.features[i].difference) >= 0.5f;
  }
  const int64_t rest = finding.n_differing - clear_shown;
  if (rest <= 0) return "";
  std::string s = " (+" + std::to_string(rest) + " more";
  const int64_t ends = finding.n_unique + finding.n_missing;
  if (ends > 1) {
    s += "; " + std::to_string(ends) + " differ from all peers: " +
         std::to_string(finding.n_unique) + " only here, " + std::to_string(finding.n_missing) +
         " missing";
  }
  return s + ")";
}

namespace {
// Which detectors flagged a finding: "rules", "lof", "rarity", or several
// joined by '+' ("rules+rarity").
std::string detected_by(uint32_t rules) {
  constexpr uint32_t kDetectors = kOutlierLof | kOutlierRarity;
  std::string s = (rules & ~kDetectors) != 0 ? "rules" : "";
  for (const auto& [bit, name] : {std::pair{kOutlierLof, "lof"}, std::pair{kOutlierRarity, "rarity"}}) {
    if ((rules & bit) == 0) continue;
    s += s.empty() ? name : std::string("+") + name;
  }
  return s;
}

// "3.2x" beside a raw score; "-" where the cluster has no threshold.
std::string ratio_text(double r) {
  if (std::isnan(r)) return "     -";
  char buf[32];
  std::snprintf(buf, sizeof buf, r < 1000.0 ? "%5.1fx" : "%5.0ex", r);
  return buf;
}
}  // namespace

void write_findings_table(std::ostream& out, const FleetResult& result, int64_t limit,
                          std::size_t max_features) {
  const auto n = static_cast<int64_t>(result.findings.size());
  const auto shown = static_cast<std::size_t>(limit > 0 ? std::min(limit, n) : n);
  std::vector<std::string> names(shown);
  std::size_t width = 6;  // "entity"
  bool any_small = false;
  for (std::size_t i = 0; i < shown; ++i) {
    names[i] = display_text(result.findings[i].entity_name);
    width = std::max(width, display_width(names[i]));
    any_small |= (result.findings[i].rules & kOutlierSmallCluster) != 0;
  }
  // With LOF or rarity the scores are LOFs, ratios to a threshold or "one
  // in N of the baseline", not distances to 10^6: more digits.
  const bool calibrated = !result.model.calibration.empty();
  const bool near_one = result.model.detector != Detector::centroid || calibrated;
  // Which detector flagged each finding, where more than one could.
  const bool several = result.model.detector == Detector::both || !result.model.rarity.empty();
  std::size_t by_width = 5;
  for (std::size_t i = 0; several && i < shown; ++i) {
    by_width = std::max(by_width, detected_by(result.findings[i].rules).size());
  }
  char buf[96];
  // The centroid detector's distances: beside the score, how far past the
  // cluster's threshold (1.0x is the rule's edge).
  const bool ratio = result.model.detector == Detector::centroid;
  std::snprintf(buf, sizeof buf, " %7s %12s%s  ", "cluster", "score", ratio ? " vs thr" : "");
  out << "  " << pad_right("entity", width) << buf;
  if (several) out << pad_right("by", by_width) << "  ";
  out << "top features (value - peers' mean)\n";
  for (std::size_t i = 0; i < shown; ++i) {
    const Finding& f = result.findings[i];
    std::string cluster = std::to_string(f.cluster);
    if (f.rules & kOutlierSmallCluster) cluster += "*";
    std::snprintf(buf, sizeof buf, near_one ? " %7s %12.2f" : " %7s %12.1f", cluster.c_str(),
                  f.score);
    out << "  " << pad_right(names[i], width) << buf;
    if (ratio) out << ' ' << ratio_text(f.threshold_ratio);
    if (several) out << "  " << pad_right(detected_by(f.rules), by_width);
    if (f.rules == kOutlierRarity && !f.rare_features.empty()) {
      out << "  rare: " << rare_features_text(f, max_features) << '\n';
    } else {
      out << "  " << features_text(f, max_features) << differences_summary(f, max_features) << '\n';
    }
  }
  if (static_cast<int64_t>(shown) < n) {
    out << "  ... and " << n - static_cast<int64_t>(shown) << " more\n";
  }
  if (any_small) {
    out << "  (* a small cluster, flagged whole and compared with the nearest other)\n";
  }
}

void write_cluster_profiles(std::ostream& out, const FleetResult& result,
                            std::size_t max_features) {
  out << "  cluster     size  defining features (mean in members / in the others)\n";
  for (const ClusterProfile& p : result.clusters) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "  %7d %8lld  ", p.cluster, static_cast<long long>(p.size));
    std::string line;
    for (std::size_t i = 0; i < p.defining.size() && i < max_features; ++i) {
      const ProfileFeature& f = p.defining[i];
      char shares[64];
      std::snprintf(shares, sizeof shares, " %.2f / %.2f", f.members, f.others);
      if (!line.empty()) line += ", ";
      line += display_text(f.name) + shares;
    }
    out << buf << (line.empty() ? "(nothing sets it apart)" : line) << '\n';
  }
}

}  // namespace stray
