// The fleet pipeline's detectors: the centroid rules' outliers, LOF's, or
// both, and the one score the findings are ranked by.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "fleet/pipeline_internal.hpp"

namespace stray::internal {
namespace {

std::vector<double> combined_scores(const std::vector<int32_t>& labels,
                                    const std::vector<float>& distances,
                                    const std::vector<double>& thresholds,
                                    const std::vector<double>& lof, double lof_threshold) {
  std::vector<double> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double d = distance_ratio(distances[i], thresholds[static_cast<std::size_t>(labels[i])]);
    // No percentile threshold for the cluster (an empty one): LOF alone.
    out[i] = std::isnan(d) ? lof[i] / lof_threshold : std::max(d, lof[i] / lof_threshold);
  }
  return out;
}

// Rank of every row within its cluster by score, highest first (ties: lower row).
std::vector<int64_t> ranks_within_clusters(const std::vector<int32_t>& labels,
                                           const std::vector<double>& scores) {
  std::vector<int64_t> order(labels.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const auto ua = static_cast<std::size_t>(a), ub = static_cast<std::size_t>(b);
    if (labels[ua] != labels[ub]) return labels[ua] < labels[ub];
    return scores[ua] > scores[ub];
  });
  std::vector<int64_t> rank(labels.size());
  for (std::size_t t = 0; t < order.size(); ++t) {
    const bool first = t == 0 || labels[static_cast<std::size_t>(order[t - 1])] !=
                                     labels[static_cast<std::size_t>(order[t])];
    rank[static_cast<std::size_t>(order[t])] =
        first ? 0 : rank[static_cast<std::size_t>(order[t - 1])] + 1;
  }
  return rank;
}

}  // namespace

double distance_ratio(double distance, double threshold) {
  if (!std::isfinite(threshold)) return std::numeric_limits<double>::quiet_NaN();  // no rule here
  if (threshold > 0.0) return distance / threshold;
  // A zero threshold: most of the cluster is identical. Anything apart from
  // them is past the edge, ordered by its distance.
  return distance > 0.0 ? 1.0 + distance : 0.0;
}

void apply_detector(Detector detector, const std::vector<int32_t>& labels,
                    const std::vector<float>& distances, const std::vector<double>& thresholds,
                    const std::vector<double>& lof, double lof_threshold,
                    OutlierResult& outliers, std::vector<double>& outlier_scores) {
  if (detector == Detector::centroid) {
    outlier_scores.assign(distances.begin(), distances.end());
    return;
  }
  outlier_scores = detector == Detector::lof
                       ? lof
                       : combined_scores(labels, distances, thresholds, lof, lof_threshold);
  // The rules' flags (both) or none (lof), then LOF's.
  std::vector<uint32_t> rules(labels.size(), 0);
  if (detector == Detector::both) {
    for (const Outlier& o : outliers.outliers) rules[static_cast<std::size_t>(o.entity)] = o.rules;
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (lof[i] > lof_threshold) rules[i] |= kOutlierLof;
  }
  const std::vector<int64_t> rank = ranks_within_clusters(labels, outlier_scores);
  outliers.outliers.clear();
  outliers.is_outlier.assign(labels.size(), 0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (rules[i] == 0) continue;
    const auto c = static_cast<std::size_t>(labels[i]);
    outliers.outliers.push_back({static_cast<int64_t>(i), labels[i], outlier_scores[i], rank[i],
                                 outliers.cluster_sizes[c], rules[i]});
    outliers.is_outlier[i] = 1;
  }
  // By cluster, then rank, as the rules order them.
  std::stable_sort(outliers.outliers.begin(), outliers.outliers.end(),
                   [](const Outlier& a, const Outlier& b) {
                     return a.cluster != b.cluster ? a.cluster < b.cluster : a.rank < b.rank;
                   });
}

}  // namespace stray::internal
