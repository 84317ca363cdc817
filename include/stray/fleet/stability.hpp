// stray — stability across days: do the clusters of one snapshot hold in
// the next, and which entities moved?
//
//   day one ─┐                                   ┌─ k-means (day one) ─┐
//            ├─ entities on both days ─ features ─┤                      ├─ matching ─ report
//   day two ─┘     (one space for both days)      └─ k-means (day two) ─┘
//
//  1. Entities present on both days are kept (names compared as bytes);
//     those seen on one day only are counted and listed, and a warning is
//     set when the kept entities are less than `min_overlap` of either day.
//  2. Both days are put in one space: one feature vocabulary over the two
//     days (a feature new on day two gets a column), and PCA fitted on the
//     kept rows of both days stacked (StabilitySpace::union_of_days, the
//     default) or on day one's alone (StabilitySpace::day_one). Why the
//     union: PCA fitted on day one gives a feature day one never had no
//     weight at all, so a role that gains a package on day two would look
//     perfectly still (docs/stability.md).
//  3. Each day's kept rows are clustered with the same k-means parameters
//     (the best of auto_n_init runs unless pipeline.kmeans.n_init says).
//     k = pipeline.kmeans.n_clusters, or when 0 the pipeline's rule
//     (choose_k with the pipeline's max_clusters, sample and tolerance) on
//     day one's rows in the shared space, the space both days are clustered in.
//  4. Day-one clusters are matched to day-two clusters by the assignment
//     problem (linear_sum_assignment) on the Euclidean distance between
//     centres in the shared space.
//  5. Report: per matched pair the members' Jaccard index and the centre
//     shift (in the shared space and in the normalised features) with the
//     features whose share changed most; Rand, adjusted Rand and adjusted
//     mutual information between the two days' labelings of the kept
//     entities; entities whose day-two cluster is not the partner of their
//     day-one cluster; and per entity its drift (below) with the features
//     that changed.
//
// Drift of an entity: how far it moved between the days beyond what its
// peers moved,
//
//     drift = ‖(x₂ − x₁) − median over peers p of (x₂ₚ − x₁ₚ)‖
//
// the median taken coordinate by coordinate, its peers being its
// `drift_peers` nearest other entities on day one in the shared space
// (searched among a seeded sample of at most `drift_peer_sample` kept
// entities). A change most of its peers made (a role's new base image) is
// expected and does not count, so a shifting role does not drown the hosts
// that changed on their own (the role's shift is in its cluster pair's
// report); a change only a few peers made is not expected, so an entity that
// did not change stays at 0 however much a neighbour changed; an entity that
// did not follow its peers (left on the old image) drifts by what it missed.
// Peers, not clusters: the drift does not depend on k (with fewer clusters
// than roles a cluster's mean shift would blame the shift of one role on the
// others). `moved` is the plain ‖x₂ − x₁‖. Both are given in the normalised
// features (where a lone new package counts, as for outlier scores:
// docs/architecture.md) and in the shared reduced space; DriftSpace picks
// the one entities are ranked by.
//
// Cost: the features of both days (CSR, 2·n rows), one PCA and two k-means
// fits (n = kept entities), with n_clusters = 0 choose_k's scan on day one;
// k·d doubles per day for the cluster means (d = union features); the peer
// search n · min(n, drift_peer_sample) · r (r = components), on OpenMP
// threads.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "stray/cluster/choose_k.hpp"
#include "stray/core/backend.hpp"
#include "stray/features/features.hpp"
#include "stray/fleet/pipeline.hpp"

namespace stray {

/// Where PCA is fitted.
enum class StabilitySpace {
  union_of_days,  // the kept rows of both days (default): features new on day two have weight
  day_one,        // day one's kept rows: day two seen through day one's components
};
/// "union" | "day-one".
const char* to_string(StabilitySpace space);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
StabilitySpace parse_stability_space(const std::string& name);

/// The distance entities are ranked by for drift.
enum class DriftSpace {
  features,  // the normalised features (default): every feature counts, rare ones too
  reduced,   // the shared clustering space (PCA): only the fleet's common structure
};
/// "features" | "reduced".
const char* to_string(DriftSpace space);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
DriftSpace parse_drift_space(const std::string& name);

struct StabilityParams {
  /// Features (the vocabulary over both days), PCA, k-means (n_clusters = 0:
  /// chosen on day one by the pipeline's rule: max_clusters,
  /// cluster_choice_sample, cluster_choice_tolerance). The score, outlier
  /// and explanation settings are not used.
  FleetPipelineParams pipeline;
  StabilitySpace space = StabilitySpace::union_of_days;
  DriftSpace drift_space = DriftSpace::features;
  /// Entities reported as drifted, with their changed features (≥ 0).
  int64_t top_drift = 20;
  /// Changed features listed per drifted entity (≥ 0; the counts of new,
  /// lost and changed features are always complete).
  int64_t features_per_entity = 10;
  /// Features listed per cluster pair: those whose mean changed most (≥ 0).
  int64_t features_per_pair = 5;
  /// Warn when the kept entities are fewer than this share of either day's
  /// entities. In [0, 1].
  double min_overlap = 0.5;
  /// Peers whose median movement an entity's drift is measured against (≥ 1),
  /// searched among at most drift_peer_sample entities (≥ 2; drawn with
  /// pipeline.kmeans.seed).
  int64_t drift_peers = 10;
  int64_t drift_peer_sample = 2000;
  /// k-means runs per day when pipeline.kmeans.n_init is 0 ("auto"). One
  /// k-means++ run can settle in different local optima on two nearly equal
  /// days, and the report would call that instability (docs/stability.md).
  int auto_n_init = 10;
};

/// Which entities are on both days.
struct DayOverlap {
  int64_t day1_entities = 0;
  int64_t day2_entities = 0;
  int64_t kept = 0;                      // on both days
  std::vector<std::string> only_day1;    // dropped: gone by day two (day-one order)
  std::vector<std::string> only_day2;    // dropped: new on day two (day-two order)
  /// Empty, or why the comparison rests on few entities.
  std::string warning;

  /// kept / day1_entities and kept / day2_entities (0 for an empty day).
  double kept_share_day1() const;
  double kept_share_day2() const;
};

/// A feature's value on each day: an entity's normalised value, or for a
/// cluster pair the members' mean (the share having it, for binary features).
struct FeatureChange {
  std::string name;  // "group:feature"
  double day1 = 0.0;
  double day2 = 0.0;
};

/// A day-one cluster and its day-two partner.
struct ClusterPair {
  int32_t day1 = 0;           // cluster on day one
  int32_t day2 = 0;           // matched cluster on day two
  int64_t day1_size = 0;      // kept entities in it on day one
  int64_t day2_size = 0;
  int64_t common = 0;         // kept entities in both
  /// common / (day1_size + day2_size − common); 1 when both are empty.
  double jaccard = 0.0;
  /// ‖centre₂ − centre₁‖ in the shared clustering space (the k-means centres).
  double shift = 0.0;
  /// ‖μ₂ − μ₁‖ of the members' means in the normalised features (0 when a
  /// side is empty).
  double feature_shift = 0.0;
  /// Features whose mean changed most, largest |day2 − day1| first (ties:
  /// the name); only when both sides have members.
  std::vector<FeatureChange> features;
};

/// A kept entity whose day-two cluster is not the partner of its day-one one.
struct MovedEntity {
  std::string entity;
  int32_t day1 = 0;          // day-one cluster
  int32_t day2 = 0;          // day-two cluster
  int32_t day2_partner = 0;  // the day-one cluster matched to `day2` (-1: none)
};

/// One entity's movement between the days.
struct EntityDrift {
  std::string entity;
  int64_t index = 0;         // position among the kept entities
  int32_t day1 = 0;          // clusters
  int32_t day2 = 0;
  int32_t day2_partner = 0;  // the day-one cluster matched to `day2` (-1: none)
  bool changed_cluster = false;  // day2_partner != day1
  double drift = 0.0;        // beyond its peers' median movement, in the normalised features
  double moved = 0.0;        // ‖x₂ − x₁‖ in the normalised features
  double reduced_drift = 0.0;  // the same two in the shared clustering space
  double reduced_moved = 0.0;
  int64_t n_new = 0;         // features it has on day two only
  int64_t n_lost = 0;        // on day one only
  int64_t n_changed = 0;     // on both days, with another value
  /// Up to features_per_entity of them, largest |day2 − day1| first (ties: the name).
  std::vector<FeatureChange> features;
};

struct StabilityReport {
  DayOverlap overlap;
  StabilitySpace space = StabilitySpace::union_of_days;
  DriftSpace drift_space = DriftSpace::features;
  int64_t n_features = 0;    // columns of the shared vocabulary
  int64_t n_components = 0;  // of the shared PCA (0: none, k-means on the features)
  int64_t n_clusters = 0;
  /// True when k was chosen on day one; then the curve it was chosen on.
  bool k_chosen = false;
  std::vector<KCandidate> cluster_choice;

  std::vector<std::string> entities;  // [kept] in day-one order
  std::vector<int32_t> day1_labels;   // [kept]
  std::vector<int32_t> day2_labels;   // [kept]
  /// [k] the day-two partner of each day-one cluster (-1: none).
  std::vector<int32_t> partner;
  std::vector<ClusterPair> pairs;     // one per day-one cluster with a partner, by day-one cluster

  /// Agreement of day1_labels and day2_labels (scikit-learn's definitions).
  double rand = 0.0;
  double adjusted_rand = 0.0;
  double adjusted_mutual_info = 0.0;

  std::vector<MovedEntity> moved;     // in kept order
  /// [kept] every kept entity, by its drift in `drift_space`, highest first
  /// (ties: kept order); the changed features are listed for the first
  /// `top_drift` only (the drifted entities of the JSON and the text).
  std::vector<EntityDrift> drift;
  int64_t top_drift = 0;
  double seconds = 0.0;
};

/// Compares two snapshots given as events (read once each, in order).
/// Throws ErrorCode::invalid_argument for parameters out of range, for
/// fewer than 2 entities on both days, or when the kept entities have no
/// feature; errors of the steps pass through.
StabilityReport compare_days(Backend& backend, const StabilityParams& params,
                             const EventSource& day1, const EventSource& day2);

/// The same from two feature matrices built beforehand (their columns are
/// aligned by name; values are used as they are, so build both with the same
/// FeatureParams — with Normalization::automatic each builder decides for
/// its own day, where the events form decides once for both).
/// params.pipeline.features is not used.
StabilityReport compare_days(Backend& backend, const StabilityParams& params,
                             const FeatureMatrix& day1, const FeatureMatrix& day2);

/// Names are untrusted bytes, as in fleet_report.hpp: the JSON is valid
/// UTF-8 (invalid sequences become U+FFFD), the text goes through
/// display_text, the CSV keeps the bytes (quoted per RFC 4180).
///
/// The report as one JSON object (keys in docs/stability.md); `indent` < 0:
/// one line.
std::string stability_json(const StabilityReport& report, int indent = -1);
/// The report for a person: overlap, agreement, the cluster pairs, the
/// entities that changed cluster (the first `max_moved`; 0 = all) and the
/// drifted entities with their changed features.
void write_stability_text(std::ostream& out, const StabilityReport& report,
                          int64_t max_moved = 20);
/// CSV tables, a header line first, every line ending in '\n':
///   pairs    day1,day2,day1_size,day2_size,common,jaccard,shift,feature_shift
///   moved    entity,day1,day2,day2_partner
///   drift    rank,entity,day1,day2,changed_cluster,drift,moved,reduced_drift,
///            reduced_moved,new,lost,changed   (every kept entity, highest drift first)
///   changes  entity,feature,change,day1,day2  (the listed features of the
///            drifted entities; change = new | lost | changed)
std::string stability_pairs_csv(const StabilityReport& report);
std::string stability_moved_csv(const StabilityReport& report);
std::string stability_drift_csv(const StabilityReport& report);
std::string stability_changes_csv(const StabilityReport& report);

}  // namespace stray
