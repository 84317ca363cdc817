// stray — outlier rules over a clustering.
//
// Given each entity's cluster label and its distance to its cluster's centre
// (e.g. KMeansResult::labels and NearestCenters::sq_distances), flags the
// members that stray from their own cluster. Every rule works within one
// cluster, because "far" means different things in a tight cluster of
// redis caches and a loose one of build runners. Rules (any that is on can
// flag a member; a member's `rules` says which did):
//
//   top_n               the n farthest members of each cluster
//   top_fraction        the ⌊f × size⌋ farthest members of each cluster
//                       ("top 5%": f = 0.05; a cluster smaller than 1/f has none)
//   percentile          members beyond the p-th percentile of the cluster's
//                       own distances (strictly greater; linear
//                       interpolation between order statistics, numpy's
//                       default), on by default with p = 95
//   small_cluster       every member of a cluster of ≤ s members: a group of
//                       hosts alike among themselves but unlike the fleet
//
// Distances are used as given: squared or not ranks alike, and the
// percentile threshold is interpolated in whichever is passed. Ranking ties
// go to the lower entity index, so results are deterministic.
//
// Thread safety: pure functions of their arguments; safe to call from any
// number of threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stray {

enum OutlierRuleBits : uint32_t {
  kOutlierTopN = 1u << 0,
  kOutlierTopFraction = 1u << 1,
  kOutlierPercentile = 1u << 2,
  kOutlierSmallCluster = 1u << 3,
  /// Not one of the rules here: the fleet pipeline's Local Outlier Factor
  /// detector (FleetPipelineParams::detector) sets it on what it flags.
  kOutlierLof = 1u << 4,
  /// Nor this: the fleet pipeline's value rarity (FleetPipelineParams::rarity).
  kOutlierRarity = 1u << 5,
};

/// "top_n,percentile" etc. for a mask of OutlierRuleBits ("" for 0).
std::string outlier_rules_string(uint32_t rules);

struct OutlierParams {
  /// top_n: 0 = off.
  int64_t top_n = 0;
  /// top_fraction in [0, 1]: 0 = off.
  double top_fraction = 0.0;
  /// percentile in [0, 100): 0 = off.
  double percentile = 95.0;
  /// small_cluster: clusters with 1..s members are flagged whole; 0 = off.
  int64_t small_cluster_size = 0;
};

struct Outlier {
  int64_t entity = 0;        // row index
  int32_t cluster = 0;
  double distance = 0.0;     // as given
  int64_t rank = 0;          // within its cluster, 0 = farthest
  int64_t cluster_size = 0;
  uint32_t rules = 0;        // OutlierRuleBits that flagged it
};

struct OutlierResult {
  /// Flagged entities, by cluster, then rank.
  std::vector<Outlier> outliers;
  std::vector<uint8_t> is_outlier;     // [n_entities] 1 when flagged
  std::vector<int64_t> cluster_sizes;  // [n_clusters]
  /// [n_clusters] the percentile rule's distance threshold per cluster
  /// (NaN for empty clusters or when the rule is off).
  std::vector<double> thresholds;
};

/// labels [n] in [0, n_clusters), distances [n] finite and ≥ 0.
/// n_clusters = 0 infers max(label) + 1. Throws ErrorCode::shape_mismatch
/// for lengths that differ, ErrorCode::invalid_argument for labels out of
/// range or parameters out of range, ErrorCode::non_finite_input for NaN/Inf
/// or negative distances.
OutlierResult find_outliers(const std::vector<int32_t>& labels, const std::vector<float>& distances,
                            const OutlierParams& params = {}, int64_t n_clusters = 0);

/// The same rules with the per-cluster thresholds fixed elsewhere — by a
/// baseline fit, when a new snapshot is scored against it: `thresholds`
/// [n_clusters] (NaN: no percentile rule for that cluster) and
/// `small_clusters` [n_clusters] (non-zero: flag the whole cluster). `scores`
/// [n] are compared with the thresholds as they are.
OutlierResult apply_outlier_thresholds(const std::vector<int32_t>& labels,
                                       const std::vector<float>& scores, int64_t top_n,
                                       double top_fraction, const std::vector<double>& thresholds,
                                       const std::vector<uint8_t>& small_clusters);

/// The p-th percentile (p in [0, 100]) of `values` with linear
/// interpolation, numpy.percentile's default. `values` is reordered.
/// Throws ErrorCode::invalid_argument when empty.
double percentile_linear(std::vector<double>& values, double p);

}  // namespace stray
