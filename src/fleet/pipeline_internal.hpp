// The fleet pipeline's numeric pieces, shared by fitting, scoring and the
// model file: per-cluster feature statistics, reference clusters, scores in
// the feature space, and the outlier rules against fitted thresholds.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "stray/features/features.hpp"
#include "stray/core/matrix.hpp"
#include "stray/fleet/outliers.hpp"
#include "stray/fleet/pipeline.hpp"

namespace stray::internal {

/// Fills model.cluster_sizes, feature_means, feature_sq_means ([k x d],
/// float64 sums) and feature_scale ([d]) from X [n x d] and labels.
void fit_cluster_feature_stats(Backend& backend, const DeviceCsr& X,
                               const std::vector<int32_t>& labels, int64_t k, FleetModel& model);

/// Small clusters: 1 ≤ size ≤ small_cluster_size (0 = off).
std::vector<uint8_t> small_clusters(const std::vector<int64_t>& sizes, int64_t small_cluster_size);

/// For each cluster, the cluster whose members its own members are compared
/// with: itself, or — for a small cluster, or a singleton, which has no
/// peers — the nearest (by distance between feature means) cluster that is
/// neither small nor empty. A cluster stays its own reference when there
/// is no such cluster.
std::vector<int32_t> reference_clusters(const Matrix<double>& means,
                                        const std::vector<int64_t>& sizes,
                                        const std::vector<uint8_t>& small);

/// Scores of every row of X [n x d] against the model's per-cluster
/// statistics in the normalised feature space (ScoreSpace::standardized or
/// ::features). `members`: the rows are the model's own fitting rows
/// (then an entity is left out of its own cluster's statistics). `unseen`
/// (sorted by entity) adds, per feature outside the vocabulary, 1/τ
/// (standardized) or value² (features).
std::vector<float> feature_space_scores(Backend& backend, const DeviceCsr& X,
                                        const std::vector<int32_t>& labels,
                                        const FleetModel& model, bool members,
                                        std::span<const UnseenFeature> unseen);

/// Adds value² per unseen feature to `scores` (the pca space's share of
/// what lies outside the vocabulary).
void add_unseen_squares(std::vector<float>& scores, std::span<const UnseenFeature> unseen);

/// Fits model.grains (model.score.grains' partitions of the clustering
/// space `reduced`, with `kmeans`' settings but k) and model.peer_median,
/// and turns `scores`, the distances to the peers, into the grained score
/// (pipeline_grains.cpp). Nothing without grains.
void fit_grains(Backend& backend, const KMeansParams& kmeans, const DeviceArray<float>& reduced,
                FleetModel& model, std::vector<float>& scores);

/// The same with a fitted model's grains, on a snapshot's distances.
void apply_grains(Backend& backend, const FleetModel& model, const DeviceArray<float>& reduced,
                  std::vector<float>& scores);

/// A distance over its cluster's percentile threshold: 1 at the rule's
/// edge. NaN where the cluster has no threshold (rule off, or empty); past
/// a zero threshold (a cluster of duplicates), 1 + the distance.
double distance_ratio(double distance, double threshold);

/// The detectors' say after the centroid rules (`outliers`, from the
/// distances and the model's clusters' percentile thresholds). Without
/// calibration: for the centroid detector nothing changes and
/// `outlier_scores` are the distances; for lof, the outliers become the
/// rows whose `lof` exceeds the model's LOF threshold; for both (a model
/// of version 4), those are added to the rules' outliers, ranked by each
/// score over its threshold. With calibration (both, or rarity on), the
/// scores are 1 / the smallest tail fraction (fleet/pipeline.hpp); LOF
/// adds its flags (kOutlierLof; for both only in the baseline's top
/// 100 − p % of LOFs) and rarity its (kOutlierRarity, the top (100 − p) /
/// 2 % of rarities; none with the percentile rule off). `rarity` is empty
/// when it is off. Ranks within each cluster and across the fleet
/// (`fleet_rank`, FleetResult::fleet_rank) follow `outlier_scores`.
void apply_detector(const FleetModel& model, const std::vector<int32_t>& labels,
                    const std::vector<float>& distances, const std::vector<double>& lof,
                    const std::vector<double>& rarity, OutlierResult& outliers,
                    std::vector<double>& outlier_scores, std::vector<int64_t>& fleet_rank);

/// A calibrated model's reading of one entity's scores: the smallest tail
/// fraction among those that ran (the ranking: 1 / smallest) and Σ −ln of
/// them all, which orders entities whose smallest tail fractions are equal
/// (rarer on all the scores together first). Scores that did not run are
/// not read.
struct ScoreTails {
  double smallest = 1.0;
  double joint = 0.0;
};
ScoreTails score_tails(const FleetModel& model, double distance, double lof, double rarity);

/// The calibration from a fit's own scores, LOFs and rarities (either of
/// the last two empty where it did not run).
DetectorCalibration calibrate(const std::vector<float>& scores, const std::vector<double>& lof,
                              const std::vector<double>& rarity);

/// Each feature's mean over the model's whole baseline (Σ_c size_c · mean_cj
/// / n), from the per-cluster means: [d].
std::vector<double> baseline_feature_means(const FleetModel& model);

/// Each feature's variance over the model's whole baseline (E[x²] − E[x]²
/// from the per-cluster means and mean squares, clamped at 0): [d]. The
/// prior that ScoreParams::shrinkage pulls the clusters' variances toward.
std::vector<double> baseline_feature_variances(const FleetModel& model);


}  // namespace stray::internal
