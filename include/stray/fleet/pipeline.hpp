// stray — the fleet pipeline: events in, outliers with explanations out.
//
//   events ─▶ features ─▶ PCA ─▶ k-means ─▶ scores ─▶ outlier rules ─▶ explanations
//
// One params struct holds every step's parameters; the result keeps every
// intermediate (the feature matrix, the reduced matrix, labels, scores, the
// outlier rules' result, the findings) and the fitted model, which can be
// saved (save_fleet_model) and applied to later snapshots (score_fleet):
// baseline once, score every day.
//
// Why these steps, and why these defaults, is written down in
// docs/pipeline.md. In short:
//
//  - features: `auto` normalisation — presence (binary) for every group
//    when one is an inventory, so a difference reads as "share of peers":
//    +1.000 = the host has it and no peer does, −0.98 = it lacks what 98%
//    of its peers have; fractions of the entity's events when every group
//    holds counts (syscalls, log templates).
//  - PCA (32 components by default) keeps the fleet's common structure —
//    roles, images — and drops what only a few hosts have. Clustering there
//    groups hosts by role without letting the anomalies pull clusters to
//    themselves.
//  - k-means on the reduced data; k = 0 (the default) chooses k from the
//    data (cluster/choose_k.hpp): k-means fits on a sample for each k, the
//    smallest k whose mean silhouette is within a tolerance of the best.
//  - scores are computed against the cluster's peers in the *full*
//    normalised feature space, where nothing PCA discarded is lost. The
//    default, `standardized`, is a per-cluster diagonal Mahalanobis
//    distance with the entity left out of its peers' statistics:
//
//        score = Σ_j (x_j − μ_j)² / (σ²_j + τ·s²_j)
//
//    μ_j, σ²_j: mean and variance of feature j over the entity's peers;
//    s²_j: the feature's mean square over the entities having it (its
//    scale); τ = ScoreParams::variance_floor; ScoreParams::shrinkage can
//    pull σ²_j toward the feature's variance in the whole fleet. A feature no peer has, or
//    one every peer has and the entity lacks, adds 1/τ whatever its units;
//    one a share p of the peers have adds about (1 − p)/p. So a lone
//    package and a missing pervasive one both stand out, while optional
//    packages half the fleet has add about 1.
//    `features` (plain ‖x − μ‖² in the normalised features) and `pca`
//    (‖y − c‖² in the reduced space k-means used) are available for
//    comparison.
//  - outlier rules per cluster (find_outliers): beyond the cluster's p-th
//    percentile (default 95), top n, top fraction, small clusters whole.
//    On event telemetry of up to 100,000 entities the default detector
//    (Detector::automatic) also runs LOF; value rarity (fleet/rarity.hpp:
//    how rare each feature's value is in the fleet) runs beside every
//    detector by default. Findings rank by the rarest of the scores
//    against the baseline.
//  - explanations (explain_entity) against the peers' centre in the
//    normalised features, leave-one-out; features never seen when fitting
//    (applying a baseline) are merged in with centre 0.
//
// Thread safety: fit_fleet and score_fleet keep no state between calls; a
// FleetModel is only read by score_fleet and the model-file functions, so
// one model may score snapshots on several threads at once, each with its
// own Backend (a Backend is used by one thread at a time, core/backend.hpp).
// The progress callback is called on the calling thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "stray/core/backend.hpp"
#include "stray/io/events.hpp"
#include "stray/fleet/cluster_profile.hpp"
#include "stray/fleet/explain.hpp"
#include "stray/features/features.hpp"
#include "stray/cluster/agglomerative.hpp"
#include "stray/cluster/choose_k.hpp"
#include "stray/cluster/kmeans.hpp"
#include "stray/core/matrix.hpp"
#include "stray/fleet/outliers.hpp"
#include "stray/fleet/rarity.hpp"
#include "stray/decomposition/pca.hpp"
#include "stray/neighbors/lof.hpp"

namespace stray {

/// Progress of a long step. `step` is one of "read", "features", "pca",
/// "kmeans" (or "agglomerative"), "score", "outliers", "lof" (with that
/// detector), "rarity" (with value rarity), "explain"; `fraction` in [0, 1]. Each
/// step reports 0 when it starts and 1 when it ends, and may report in
/// between. Called on the caller's thread. An exception it throws passes
/// through and abandons the run (a way to cancel).
using ProgressCallback = std::function<void(std::string_view step, double fraction)>;

/// Feeds every event of a snapshot to the sink (e.g. a lambda that calls
/// read_events on some files, or generate_synthetic_fleet).
using EventSource = std::function<void(const EventSink& sink)>;

/// Where an entity's distance to its cluster is measured.
enum class ScoreSpace {
  /// Decided when fitting, from the features (docs/pipeline.md, "Score
  /// space"): `features` where every group holds raw amounts
  /// (Normalization::none: measurements, not presence or shares),
  /// `standardized` otherwise. The default; a fitted model holds the choice.
  automatic,
  standardized,  // per-cluster standardised distance in the normalised features
  features,      // squared Euclidean distance in the normalised features
  pca,           // squared Euclidean distance in the space k-means clustered (the reduced one)
};
/// "auto" | "standardized" | "features" | "pca".
const char* to_string(ScoreSpace space);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
ScoreSpace parse_score_space(const std::string& name);
/// The space ScoreSpace::automatic stands for on features of this
/// vocabulary (a fitted one: its groups' normalisations resolved); any
/// other space is returned as it is.
ScoreSpace resolve_score_space(ScoreSpace space, const FeatureVocabulary& vocabulary,
                               const std::vector<std::string>& feature_groups);

/// How the fleet's entities are grouped into clusters of peers.
enum class Clustering {
  kmeans,         // k-means (Lloyd, k-means++), centres by iteration (default)
  agglomerative,  // one merge tree (FleetPipelineParams::linkage), cut at k
};
/// "kmeans" | "agglomerative".
const char* to_string(Clustering clustering);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
Clustering parse_clustering(const std::string& name);

/// What flags an entity (docs/pipeline.md, "Detectors").
enum class Detector {
  /// Distance to its cluster's peers (ScoreParams) with the outlier rules:
  /// what a host has or lacks against its role.
  centroid,
  /// Local Outlier Factor in the clustering space: an entity in a sparser
  /// place than its nearest neighbours. Catches what repeats — a dozen
  /// near-identical exploit traces form their own tight cluster, close to
  /// its centre, but far from the rest of the fleet's density.
  lof,
  /// Either: a finding when the centroid's rules flag it or when LOF does
  /// (LOF past its offset and, with the percentile rule, in the top
  /// 100 − p % of the baseline's LOFs). Findings rank by the rarer of the
  /// two scores against the baseline (DetectorCalibration).
  both,
  /// Decided when fitting, from the data (docs/pipeline.md, "Detectors"):
  /// `both` for event telemetry — every group presence or shares, the
  /// features ScoreSpace::automatic scores standardized — of at most
  /// FleetPipelineParams::lof_auto_max_entities entities (LOF's exact
  /// neighbours cost n²); `centroid` otherwise (raw measurements have the
  /// grains instead). The default; a fitted model holds the choice.
  automatic,
};
/// "centroid" | "lof" | "both" | "auto".
const char* to_string(Detector detector);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
Detector parse_detector(const std::string& name);
/// The detector `requested` stands for on a fit of `n_entities` whose
/// features ScoreSpace::automatic would score in `data_space`; any detector
/// but automatic is returned as it is.
Detector resolve_detector(Detector requested, ScoreSpace data_space, int64_t n_entities,
                          int64_t lof_auto_max_entities);

struct ScoreParams {
  ScoreSpace space = ScoreSpace::automatic;
  /// standardized: τ, the variance floor as a share of the feature's scale.
  /// A feature present in fewer than about τ of the peers counts as "no
  /// peer has it" (contributes ≈ 1/τ). In (0, 1].
  double variance_floor = 1e-3;
  /// standardized: m, a pseudo-count of peers carrying the fleet's variance.
  /// Each cluster's variance over its n peers becomes (n·σ²_c + m·σ²_fleet)
  /// / (n + m), σ²_fleet the feature's variance over the whole baseline, so
  /// a few peers' variance leans on the fleet's. 0 (the default) = off,
  /// today's score bit for bit; finite and ≥ 0 (docs/pipeline.md).
  double shrinkage = 0.0;
  /// Finer grains of peers (docs/pipeline.md, "Grains"): for each k here,
  /// a k-means partition of the clustering space, and each entity's squared
  /// distance to its own centre there. With any, an entity's score is the
  /// largest of its distance to its peers and each grain's distance, each
  /// over the baseline's median of it: density at several scales, for raw
  /// measurements whose outliers sit between the clusters' cores. Each k in
  /// [2, n_entities]. Empty: see auto_grains.
  std::vector<int64_t> grains;
  /// With `grains` empty: when the score space is decided (automatic) and
  /// comes out as the plain distance for raw amounts, grains {10, 20} (those
  /// k with 2k ≤ n_entities); otherwise none. false: none unless `grains`
  /// names them. A fitted model's `grains` holds what was decided.
  bool auto_grains = true;
};

/// The grains `score` stands for on a fit of `n_entities` whose score
/// space (score.space) came out as `decided`.
std::vector<int64_t> resolve_grains(const ScoreParams& score, ScoreSpace decided,
                                    int64_t n_entities);

/// The scale of Detector::both and of value rarity: the baseline's own
/// distance scores, LOFs (where LOF ran) and rarities (where it is on),
/// each sorted ascending. A score's tail fraction among them (how many of
/// the baseline score as high) puts the detectors on one scale.
struct DetectorCalibration {
  std::vector<float> scores;  // FleetResult::scores of the baseline's entities
  std::vector<float> lof;     // their Local Outlier Factors; empty without LOF
  std::vector<float> rarity;  // their value rarities; empty without rarity
  bool empty() const { return scores.empty(); }
};

/// The share of a baseline scoring at least `value`: (a + t/2 + 1) / (n + 1)
/// for a of the n sorted values above it and t equal to it (a conformal
/// mid-p value: about 1 for the baseline's least, 1 / (n + 1) past its
/// largest; ties count half, so a group of identical entities neither
/// shields its members nor looks rare for being many). Past the largest
/// v_max it keeps falling as v_max / value, so values beyond the whole
/// baseline still rank among themselves.
double tail_fraction(const std::vector<float>& sorted, double value);

/// A finer partition of a fitted model (ScoreParams::grains).
struct ScoreGrain {
  Matrix<float> centers;  // [k x r] in the clustering space
  double median = 1.0;    // the baseline's median squared distance to the own centre (> 0)
};

/// The pipeline's feature defaults: Normalization::automatic (binary when a
/// group is an inventory, fractions when every group has counts), no idf,
/// no df filters. Counts can be turned on per group
/// (group_normalization["process"] = log1p); see docs/pipeline.md for what
/// that does to explanations.
FeatureParams default_fleet_feature_params();

struct FleetPipelineParams {
  FeatureParams features = default_fleet_feature_params();
  /// PCA before clustering. n_components (clipped to min(n_entities,
  /// n_features)) or variance_fraction; both 0 = no PCA: k-means runs on
  /// the normalised features themselves, densified ([n x d] floats).
  /// The solver "auto" here is choose_pca_solver's (the n x n Gram when
  /// there are fewer entities than features), exact (covariance) instead of
  /// randomized up to 2000 features.
  PcaParams pca = [] {
    PcaParams p;
    p.n_components = 32;
    return p;
  }();
  /// n_clusters = 0: chosen from the data (choose_k) — k-means on a sample
  /// of cluster_choice_sample rows for k in [2, max_clusters], keeping the
  /// smallest k whose mean silhouette is near the best: 1 − silhouette at
  /// most (1 + cluster_choice_tolerance) times the best k's
  /// (ChooseKParams::tolerance). n_init = 0 (auto): 10 restarts for
  /// fleets of up to 10,000 entities, 1 above.
  KMeansParams kmeans = [] {
    KMeansParams p;
    p.n_clusters = 0;
    return p;
  }();
  /// k-means (kmeans's parameters) or agglomerative clustering (`linkage`;
  /// the number of clusters is kmeans.n_clusters, or chosen from the data
  /// by the same rule over the tree's cuts). Either way a cluster's centre
  /// is its members' mean, and a later snapshot's entities join the nearest
  /// centre. Agglomerative clustering grows as O(n²·r) in time (r: the
  /// clustering space's dimensions); complete and average linkage also keep
  /// n² / 2 distances (AgglomerativeParams::memory_budget_bytes).
  Clustering clustering = Clustering::kmeans;
  Linkage linkage = Linkage::ward;
  /// Agglomerative clustering of more entities than this is refused
  /// (ErrorCode::invalid_argument) before any work: its O(n²) scans would
  /// run for hours where k-means takes seconds. Raise it knowingly.
  int64_t agglomerative_max_entities = 100000;
  int64_t max_clusters = 50;
  int64_t cluster_choice_sample = 2000;
  double cluster_choice_tolerance = ChooseKParams{}.tolerance;
  ScoreParams score;
  /// Rules within each cluster (percentile 95 by default, top_n,
  /// top_fraction). Its small_cluster_size is not used: see below.
  OutlierParams outliers;
  /// Clusters of at most this many members are flagged whole and scored
  /// and explained against the nearest other cluster. -1 = auto:
  /// max(1, ⌊n / (100·k)⌋) (1% of the mean cluster size), capped at 50;
  /// 0 = off (a singleton cluster's member is still scored against the
  /// nearest other cluster, having no peers of its own).
  int64_t small_cluster_size = -1;
  /// What flags an entity. `lof` and `both` run Local Outlier Factor
  /// (`lof`: n_neighbors, contamination) on the clustering space's rows,
  /// keeping them in the model so later snapshots are scored against them
  /// (scikit-learn's novelty scoring). automatic (the default): see
  /// Detector::automatic.
  Detector detector = Detector::automatic;
  /// Value rarity beside the detector (fleet/rarity.hpp): each entity's
  /// values against every feature's distribution over the baseline. It
  /// joins the ranking (findings rank by the rarest of the scores against
  /// the baseline) and, with the percentile rule at p, flags the baseline's
  /// top (100 − p) / 2 % of rarities (kOutlierRarity). It finds oddities
  /// along a few original features that the peers' distance and LOF miss
  /// (bench/RESULTS.md, "Value rarity"). On by default.
  bool rarity = true;
  /// LOF's parameters. The pipeline fits it on the distinct rows
  /// (LofParams::distinct_rows): fleets hold groups of identical hosts, and
  /// scikit-learn's LOF gives every host near such a group a factor of
  /// order 1e10 (bench/RESULTS.md, "LOF over distinct rows").
  LofParams lof{.distinct_rows = true};
  /// Detector::automatic runs LOF on fleets of at most this many entities.
  int64_t lof_auto_max_entities = 100000;
  /// Explanations: mode (config / behavior) and features kept. Leave-one-out
  /// is always on for an entity's own cluster (a peer is someone else).
  ExplainParams explain = [] {
    ExplainParams p;
    p.top_features = 5;
    return p;
  }();
  ProgressCallback progress;
};

/// Everything fitted on a baseline snapshot that scoring a later snapshot
/// needs. Saved and loaded by save_fleet_model / load_fleet_model.
struct FleetModel {
  FeatureVocabulary vocabulary;  // columns, normalisation, idf, df of the baseline
  bool use_pca = true;
  PcaModel pca;                  // when use_pca
  /// k-means in the clustering space: kmeans.centers [k x r]. The model
  /// file keeps the centres; a loaded model's other k-means figures are
  /// the defaults, but cluster_sizes (from the baseline).
  KMeansModel kmeans;
  std::vector<int64_t> cluster_sizes;  // [k] baseline members per cluster
  /// [k x d] per-cluster mean and mean square of each normalised feature.
  Matrix<double> feature_means;
  Matrix<double> feature_sq_means;
  /// [d] mean of x² over the baseline entities having the feature (the
  /// feature's scale, for the variance floor).
  std::vector<double> feature_scale;
  /// [k] the cluster whose members score and explain this cluster's
  /// members: itself, or for a small cluster the nearest other one.
  std::vector<int32_t> reference;
  /// [k] the percentile rule's score threshold from the baseline (NaN when
  /// the rule is off or the cluster empty).
  std::vector<double> thresholds;
  ScoreParams score;
  /// With grains (score.grains): the baseline's median distance to the
  /// peers (> 0), and each grain's partition and median, in score.grains'
  /// order. Empty grains: scores are the distances themselves.
  double peer_median = 1.0;
  std::vector<ScoreGrain> grains;
  OutlierParams outliers;        // small_cluster_size resolved
  Clustering clustering = Clustering::kmeans;  // how the clusters were found
  Linkage linkage = Linkage::ward;             // agglomerative only
  Detector detector = Detector::centroid;  // resolved: never automatic
  /// both, or any detector with rarity: the baseline's scores, LOFs and
  /// rarities that rank a finding (empty in models of format version 4 and
  /// older: see FleetResult::outlier_scores).
  DetectorCalibration calibration;
  /// Value rarity: every feature's distribution over the baseline; empty
  /// when rarity is off (and in models of format version 5 and older).
  FeatureRarity rarity;
  /// lof / both: the fitted LOF with the baseline's rows in the clustering
  /// space (LofModel::reference, n x r floats), their k-distances and
  /// densities; empty for the centroid detector.
  LofModel lof;
  ExplainParams explain;
  int64_t n_entities = 0;        // of the baseline

  int64_t n_clusters() const { return kmeans.centers.rows(); }
  int64_t n_features() const { return feature_means.cols(); }
  bool fitted() const { return n_clusters() > 0; }
};

/// One feature of an explanation.
struct FindingFeature {
  std::string name;         // "group:feature"
  float value = 0.0f;       // the entity's normalised value
  float center = 0.0f;      // its peers' mean
  float difference = 0.0f;  // value − center
  bool unseen = false;      // not in the model's vocabulary (never seen in the baseline)
};

/// One feature of what makes a finding rare in the fleet (value rarity).
struct RareFeature {
  std::string name;          // "group:feature"
  float value = 0.0f;        // the entity's normalised value (0: it lacks it)
  /// The share of the baseline as far out on the value's side
  /// (RareValue::fleet_share): 0.0025 = a quarter of a percent of the fleet.
  double fleet_share = 1.0;
  bool unseen = false;       // not in the model's vocabulary (no baseline entity had it)
};

/// An outlier with its explanation.
struct Finding {
  int64_t entity = 0;              // row
  std::string entity_name;
  int32_t cluster = 0;
  int32_t reference_cluster = 0;   // whose members it was compared with
  /// What the findings are ranked by (FleetResult::outlier_scores).
  double score = 0.0;
  double distance = 0.0;           // its distance score (FleetResult::scores)
  /// The distance over its cluster's percentile threshold (the baseline's
  /// when scoring): 1 at the rule's edge, 3 three times as far — a scale a
  /// person can read where raw distances run to 10^6. NaN where the cluster
  /// has no threshold (the percentile rule off).
  double threshold_ratio = 0.0;
  double lof = 0.0;                // its Local Outlier Factor; NaN without LOF
  double rarity = 0.0;             // its value rarity (fleet/rarity.hpp); NaN without
  int64_t rank = 0;                // within its cluster, 0 = highest score
  int64_t cluster_size = 0;        // members in the scored snapshot
  uint32_t rules = 0;              // OutlierRuleBits (kOutlierLof, kOutlierRarity: they flagged it)
  std::vector<FindingFeature> features;  // most telling first
  /// With value rarity: the features that make it rare in the whole
  /// fleet, rarest first (at most ExplainParams::top_features); empty
  /// without rarity.
  std::vector<RareFeature> rare_features;
  /// Features where it differs from its peers' mean by at least 0.5
  /// (Explanation::n_differing); `unique`: it has it and no peer does
  /// (unseen features included); `missing`: it lacks it and every peer has it.
  int64_t n_differing = 0;
  int64_t n_unique = 0;
  int64_t n_missing = 0;
};

struct PipelineStep {
  std::string name;
  double seconds = 0.0;
};

/// One k tried when choosing the number of clusters.
struct ClusterChoice {
  int64_t k = 0;
  double silhouette = 0.0;  // mean silhouette on the sample
  double inertia = 0.0;     // k-means inertia on the sample
};

struct FleetResult {
  /// The snapshot's feature matrix ([n x d], names, unseen features when
  /// applying a baseline).
  FeatureMatrix features;
  /// [n x r] the clustering space: PCA projections, or the densified
  /// features without PCA.
  Matrix<float> reduced;
  /// Fitting: the model fitted here; scoring: the model applied.
  FleetModel model;
  /// Fitting only: the k-means fit (centres, inertia, iterations); with
  /// agglomerative clustering its centres, labels and inertia (members'
  /// means; no iterations).
  KMeansResult kmeans;
  /// Fitting with agglomerative clustering: the merge tree, scipy's linkage
  /// matrix [(n − 1) x 4] (cluster/agglomerative.hpp). Empty otherwise.
  Matrix<double> linkage_matrix;
  /// Fitting with n_clusters = 0: every k tried and its silhouette.
  std::vector<ClusterChoice> cluster_choice;
  /// Each of the model's clusters: its baseline size and the features that
  /// set its members apart from the rest of the fleet (cluster_profile.hpp).
  std::vector<ClusterProfile> clusters;
  std::vector<int32_t> labels;  // [n]
  /// [n] distance to the peers, in ScoreParams::space; with grains, the
  /// largest of it and each grain's distance, each over its baseline median.
  std::vector<float> scores;
  /// [n] Local Outlier Factor in the clustering space (about 1 inside a
  /// crowd, larger where sparser than the neighbours); empty for the
  /// centroid detector.
  std::vector<double> lof;
  /// [n] value rarity (fleet/rarity.hpp); empty when it is off.
  std::vector<double> rarity;
  /// [n] what findings are ranked by. With calibration (detector both, or
  /// rarity on): 1 / the smallest tail fraction of the scores that ran —
  /// the distance (but for lof), LOF (but for centroid), rarity — against
  /// the baseline (DetectorCalibration): "as rare as one in N of the
  /// baseline". Without: `scores` for the centroid detector, `lof` for
  /// lof; a model of version 4 or older with detector both ranks by the
  /// larger of each score over its own threshold.
  std::vector<double> outlier_scores;
  /// [n] each entity's place in the whole fleet by `outlier_scores`, 0 =
  /// the most unusual. Equal scores (a calibrated ranking ties the top
  /// entity of each score) are ordered as the findings are: the one rarer
  /// on all the scores together first (Σ −ln of every tail fraction), then
  /// the lower row. A strict order, for reading a scores file top down.
  std::vector<int64_t> fleet_rank;
  OutlierResult outliers;       // rules per cluster, in cluster order
  /// The outliers with explanations, in `fleet_rank` order (highest score first).
  std::vector<Finding> findings;
  /// Wall time of each step, in order ("features", "pca", "kmeans", ...).
  std::vector<PipelineStep> steps;
  double seconds = 0.0;
};

/// Fits the pipeline to one snapshot and reports its own outliers.
/// Throws ErrorCode::invalid_argument for an empty snapshot, fewer than 2
/// entities, or parameters out of range; errors of the steps pass through.
FleetResult fit_fleet(Backend& backend, const FleetPipelineParams& params,
                      const EventSource& events);
/// The same from a feature matrix built by FeatureBuilder(params.features)
/// (its vocabulary is the one kept in the model).
FleetResult fit_fleet(Backend& backend, const FleetPipelineParams& params,
                      FeatureMatrix features);

/// Options of scoring with a fitted model. The percentile rule uses the
/// model's thresholds (its p is part of the model); top_n, top_fraction and
/// the explanation may differ from the fit.
struct FleetScoreParams {
  int64_t top_n = 0;
  double top_fraction = 0.0;
  ExplainParams explain = [] {
    ExplainParams p;
    p.top_features = 5;
    return p;
  }();
  ProgressCallback progress;

  /// The options the model was fitted with.
  static FleetScoreParams from_model(const FleetModel& model);
};

/// Scores a snapshot against a fitted model: same columns, normalisation,
/// PCA and centres; each entity is compared with the baseline members of
/// its nearest cluster. Features the baseline never saw are kept (they add
/// to the score as a feature no peer has, and appear in explanations).
/// Throws ErrorCode::not_fitted for a model that is not fitted.
FleetResult score_fleet(Backend& backend, const FleetModel& model, const EventSource& events,
                        const FleetScoreParams& params);
/// The same from a feature matrix built by FeatureBuilder(model.vocabulary).
FleetResult score_fleet(Backend& backend, const FleetModel& model, FeatureMatrix features,
                        const FleetScoreParams& params);

/// Model files (docs/model-format.md): a one-line header naming the format,
/// its version, the payload's length and CRC-32, then a JSON payload.
/// Writing to a path is atomic (a temporary file renamed into place).
/// Throws ErrorCode::io_error when the file cannot be written.
void save_fleet_model(const FleetModel& model, const std::filesystem::path& path);
void write_fleet_model(std::ostream& out, const FleetModel& model);
/// Reads a model file; throws ErrorCode::parse_error for a file that is
/// not a stray model, of another version, truncated, corrupt (CRC
/// mismatch) or inconsistent, naming what is wrong; ErrorCode::io_error
/// when it cannot be read.
FleetModel load_fleet_model(const std::filesystem::path& path);
FleetModel read_fleet_model(std::istream& in, const std::string& source_name = "model");

/// The current model file version (8: the features' ephemeral port
/// folding; 7: LOF's rows may be the baseline's distinct rows, fewer than
/// its entities; 6: value rarity and its calibration, beside any detector;
/// 5: detector both's calibration; 4: the score's grains; 3: its variance
/// shrinkage; 2: the clustering method and the detector with its LOF
/// model). Older files still load: version 7 without port folding (its
/// features hold every port number), version 6 also as it is (its LOF
/// keeps every row), version 5 also without rarity (ranked as before),
/// version 4 also without calibration (both ranks as it did), version 3
/// also without grains, version 2 also as shrinkage 0, version 1 also as
/// k-means with the centroid detector, which was all they could hold.
inline constexpr int kFleetModelVersion = 8;

}  // namespace stray
