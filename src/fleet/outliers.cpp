// Outlier rules within each cluster.
#include "stray/fleet/outliers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>

#include "core/check.hpp"

namespace stray {

std::string outlier_rules_string(uint32_t rules) {
  std::string s;
  auto add = [&](uint32_t bit, const char* name) {
    if ((rules & bit) == 0) return;
    if (!s.empty()) s += ',';
    s += name;
  };
  add(kOutlierTopN, "top_n");
  add(kOutlierTopFraction, "top_fraction");
  add(kOutlierPercentile, "percentile");
  add(kOutlierSmallCluster, "small_cluster");
  add(kOutlierLof, "lof");
  add(kOutlierRarity, "rarity");
  return s;
}

double percentile_linear(std::vector<double>& values, double p) {
  internal::require(!values.empty(), ErrorCode::invalid_argument, "percentile_linear",
                    "no values");
  internal::require(p >= 0.0 && p <= 100.0, ErrorCode::invalid_argument, "percentile_linear",
                    "p=", p, " outside [0, 100]");
  const double h = static_cast<double>(values.size() - 1) * p / 100.0;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lo), values.end());
  const double a = values[lo];
  if (lo + 1 >= values.size()) return a;
  const double b = *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(lo) + 1, values.end());
  return a + (h - static_cast<double>(lo)) * (b - a);
}

namespace {

struct ClusterRule {
  double threshold = std::numeric_limits<double>::quiet_NaN();  // NaN: percentile rule off
  bool small = false;                                           // flag the whole cluster
};

// Ranks each cluster's members by score (largest first, ties by index) and
// applies the rules; `rule_of(cluster, members)` gives the cluster's
// percentile threshold and small-cluster flag.
template <typename RuleOf>
OutlierResult flag_ranked(const std::vector<int32_t>& labels, const std::vector<float>& scores,
                          int64_t k, int64_t top_n, double top_fraction, RuleOf&& rule_of) {
  const std::size_t n = labels.size();
  OutlierResult r;
  r.cluster_sizes.assign(static_cast<std::size_t>(k), 0);
  r.thresholds.assign(static_cast<std::size_t>(k), std::numeric_limits<double>::quiet_NaN());
  r.is_outlier.assign(n, 0);
  for (const int32_t l : labels) ++r.cluster_sizes[static_cast<std::size_t>(l)];

  // Members per cluster (counting sort, by index within a cluster).
  std::vector<int64_t> first(static_cast<std::size_t>(k) + 1, 0);
  for (const int32_t l : labels) ++first[static_cast<std::size_t>(l) + 1];
  std::partial_sum(first.begin(), first.end(), first.begin());
  std::vector<int64_t> members(n);
  {
    std::vector<int64_t> next(first.begin(), first.end() - 1);
    for (std::size_t i = 0; i < n; ++i) {
      members[static_cast<std::size_t>(next[static_cast<std::size_t>(labels[i])]++)] =
          static_cast<int64_t>(i);
    }
  }
  for (int64_t c = 0; c < k; ++c) {
    const auto b = members.begin() + first[static_cast<std::size_t>(c)];
    const auto e = members.begin() + first[static_cast<std::size_t>(c) + 1];
    const int64_t size = e - b;
    if (size == 0) continue;
    std::stable_sort(b, e, [&](int64_t x, int64_t y) {
      return scores[static_cast<std::size_t>(x)] > scores[static_cast<std::size_t>(y)];
    });
    const ClusterRule rule = rule_of(c, std::span<const int64_t>(&*b, static_cast<std::size_t>(size)));
    r.thresholds[static_cast<std::size_t>(c)] = rule.threshold;
    const auto n_fraction =
        static_cast<int64_t>(std::floor(top_fraction * static_cast<double>(size) + 1e-9));
    for (int64_t rank = 0; rank < size; ++rank) {
      const int64_t i = *(b + rank);
      const double s = scores[static_cast<std::size_t>(i)];
      uint32_t rules = 0;
      if (rank < top_n) rules |= kOutlierTopN;
      if (rank < n_fraction) rules |= kOutlierTopFraction;
      if (!std::isnan(rule.threshold) && s > rule.threshold) rules |= kOutlierPercentile;
      if (rule.small) rules |= kOutlierSmallCluster;
      if (rules == 0) continue;
      r.is_outlier[static_cast<std::size_t>(i)] = 1;
      r.outliers.push_back({i, static_cast<int32_t>(c), s, rank, size, rules});
    }
  }
  return r;
}

}  // namespace

OutlierResult find_outliers(const std::vector<int32_t>& labels, const std::vector<float>& distances,
                            const OutlierParams& params, int64_t n_clusters) {
  constexpr const char* where = "find_outliers";
  using internal::require;
  require(labels.size() == distances.size(), ErrorCode::shape_mismatch, where, "labels has ",
          labels.size(), " entries, distances ", distances.size());
  require(params.top_n >= 0, ErrorCode::invalid_argument, where, "top_n=", params.top_n, " < 0");
  require(params.top_fraction >= 0.0 && params.top_fraction <= 1.0, ErrorCode::invalid_argument,
          where, "top_fraction=", params.top_fraction, " outside [0, 1]");
  require(params.percentile >= 0.0 && params.percentile < 100.0, ErrorCode::invalid_argument,
          where, "percentile=", params.percentile, " outside [0, 100)");
  require(params.small_cluster_size >= 0, ErrorCode::invalid_argument, where,
          "small_cluster_size=", params.small_cluster_size, " < 0");
  require(n_clusters >= 0, ErrorCode::invalid_argument, where, "n_clusters=", n_clusters, " < 0");
  const std::size_t n = labels.size();
  int64_t k = n_clusters;
  if (k == 0) {
    for (const int32_t l : labels) k = std::max<int64_t>(k, int64_t{l} + 1);
  }
  for (std::size_t i = 0; i < n; ++i) {
    require(labels[i] >= 0 && labels[i] < k, ErrorCode::invalid_argument, where, "labels[", i,
            "] = ", labels[i], " outside [0, ", k, ")");
    require(std::isfinite(distances[i]) && distances[i] >= 0.0f, ErrorCode::non_finite_input,
            where, "distances[", i, "] = ", distances[i], " is not finite and ≥ 0");
  }

  std::vector<double> scratch;
  return flag_ranked(labels, distances, k, params.top_n, params.top_fraction,
                     [&](int64_t, std::span<const int64_t> members) {
                       ClusterRule rule;
                       if (params.percentile > 0.0) {
                         scratch.clear();
                         for (const int64_t i : members) {
                           scratch.push_back(distances[static_cast<std::size_t>(i)]);
                         }
                         rule.threshold = percentile_linear(scratch, params.percentile);
                       }
                       const auto size = static_cast<int64_t>(members.size());
                       rule.small = params.small_cluster_size > 0 &&
                                    size <= params.small_cluster_size;
                       return rule;
                     });
}

OutlierResult apply_outlier_thresholds(const std::vector<int32_t>& labels,
                                       const std::vector<float>& scores, int64_t top_n,
                                       double top_fraction, const std::vector<double>& thresholds,
                                       const std::vector<uint8_t>& small_clusters) {
  constexpr const char* where = "apply_outlier_thresholds";
  using internal::require;
  require(labels.size() == scores.size(), ErrorCode::shape_mismatch, where, "labels has ",
          labels.size(), " entries, scores ", scores.size());
  require(thresholds.size() == small_clusters.size(), ErrorCode::shape_mismatch, where,
          "thresholds has ", thresholds.size(), " entries, small_clusters ",
          small_clusters.size());
  const auto k = static_cast<int64_t>(thresholds.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    require(labels[i] >= 0 && labels[i] < k, ErrorCode::invalid_argument, where, "labels[", i,
            "] = ", labels[i], " outside [0, ", k, ")");
  }
  return flag_ranked(labels, scores, k, top_n, top_fraction,
                     [&](int64_t c, std::span<const int64_t>) {
                       return ClusterRule{thresholds[static_cast<std::size_t>(c)],
                                          small_clusters[static_cast<std::size_t>(c)] != 0};
                     });
}

}  // namespace stray
