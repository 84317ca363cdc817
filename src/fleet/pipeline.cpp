// The fleet pipeline: events → features → PCA → k-means → scores → outlier
// rules → explanations, fitted on one snapshot or applied to another.
#include "stray/fleet/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/host_threads.hpp"
#include "fleet/pipeline_internal.hpp"
#include "core/check.hpp"
#include "core/rng.hpp"
#include "stray/cluster/choose_k.hpp"
#include "stray/fleet/cluster_profile.hpp"

namespace stray {

using internal::require;

const char* to_string(ScoreSpace space) {
  switch (space) {
    case ScoreSpace::automatic: return "auto";
    case ScoreSpace::standardized: return "standardized";
    case ScoreSpace::features: return "features";
    case ScoreSpace::pca: return "pca";
  }
  return "?";
}

ScoreSpace parse_score_space(const std::string& name) {
  if (name == "auto") return ScoreSpace::automatic;
  if (name == "standardized" || name == "standardised") return ScoreSpace::standardized;
  if (name == "features") return ScoreSpace::features;
  if (name == "pca") return ScoreSpace::pca;
  internal::fail(ErrorCode::invalid_argument, "parse_score_space", "unknown score space '", name,
                 "' (expected auto, standardized, features or pca)");
}

ScoreSpace resolve_score_space(ScoreSpace space, const FeatureVocabulary& vocabulary,
                               const std::vector<std::string>& feature_groups) {
  if (space != ScoreSpace::automatic) return space;
  // The standardised score weighs a feature by how rare it is among the
  // peers (its variance, floored at a share of its scale): the meaning of
  // presence and of shares of an entity's events. Raw measurements have no
  // such meaning, and per-feature variances in a cluster overweight the
  // quiet columns; the plain distance ranks the real numeric sets better
  // as a whole (bench/RESULTS.md, "The score space decided from the
  // features").
  const FeatureParams& fp = vocabulary.params;
  for (const std::string& group : feature_groups) {
    const auto named = fp.group_normalization.find(group);
    const Normalization n =
        named != fp.group_normalization.end() ? named->second : fp.normalization;
    if (n != Normalization::none) return ScoreSpace::standardized;
  }
  return feature_groups.empty() ? ScoreSpace::standardized : ScoreSpace::features;
}

std::vector<int64_t> resolve_grains(const ScoreParams& score, ScoreSpace decided,
                                    int64_t n_entities) {
  if (!score.grains.empty() || !score.auto_grains) return score.grains;
  if (score.space != ScoreSpace::automatic || decided != ScoreSpace::features) return {};
  // Raw measurements: two finer scales than the silhouette's few clusters
  // (every pair and triple tried between 5 and 40 gained on the numeric
  // sets; bench/RESULTS.md, "Grains in the library"), each with at least
  // two entities a cluster on average.
  std::vector<int64_t> out;
  for (const int64_t k : {int64_t{10}, int64_t{20}}) {
    if (2 * k <= n_entities) out.push_back(k);
  }
  return out;
}

const char* to_string(Clustering clustering) {
  return clustering == Clustering::agglomerative ? "agglomerative" : "kmeans";
}

Clustering parse_clustering(const std::string& name) {
  if (name == "kmeans" || name == "k-means") return Clustering::kmeans;
  if (name == "agglomerative") return Clustering::agglomerative;
  internal::fail(ErrorCode::invalid_argument, "parse_clustering", "unknown clustering '", name,
                 "' (expected kmeans or agglomerative)");
}

const char* to_string(Detector detector) {
  switch (detector) {
    case Detector::centroid: return "centroid";
    case Detector::lof: return "lof";
    case Detector::both: return "both";
    case Detector::automatic: return "auto";
  }
  return "?";
}

Detector parse_detector(const std::string& name) {
  if (name == "centroid") return Detector::centroid;
  if (name == "lof") return Detector::lof;
  if (name == "both") return Detector::both;
  if (name == "auto") return Detector::automatic;
  internal::fail(ErrorCode::invalid_argument, "parse_detector", "unknown detector '", name,
                 "' (expected centroid, lof, both or auto)");
}

Detector resolve_detector(Detector requested, ScoreSpace data_space, int64_t n_entities,
                          int64_t lof_auto_max_entities) {
  if (requested != Detector::automatic) return requested;
  // Event telemetry (presence, shares): LOF beside the peers finds what
  // repeats and what sits between roles — the log sessions' floor is LOF's,
  // and the syscall exploits form their own cluster. Raw measurements have
  // the grains instead; LOF there cost more sets than it won (bench/RESULTS.md,
  // "LOF beside the peers for event telemetry").
  const bool events = data_space == ScoreSpace::standardized;
  return events && n_entities <= lof_auto_max_entities ? Detector::both : Detector::centroid;
}

FeatureParams default_fleet_feature_params() {
  FeatureParams p;
  p.normalization = Normalization::automatic;
  return p;
}

FleetScoreParams FleetScoreParams::from_model(const FleetModel& model) {
  FleetScoreParams p;
  p.top_n = model.outliers.top_n;
  p.top_fraction = model.outliers.top_fraction;
  p.explain = model.explain;
  return p;
}

namespace {

constexpr const char* kFit = "fit_fleet";
constexpr const char* kScore = "score_fleet";
// Defining features kept per cluster profile (the reports show fewer if asked).
constexpr int64_t kProfileFeatures = 10;
// Fleets up to this many entities get 10 k-means restarts when n_init is auto.
constexpr int64_t kRestartFleetSize = 10000;

// Times the steps and reports their progress.
class Steps {
 public:
  Steps(const ProgressCallback& progress, std::vector<PipelineStep>& out)
      : progress_(progress), out_(out) {}

  void begin(const char* name) {
    name_ = name;
    start_ = std::chrono::steady_clock::now();
    report(0.0);
  }
  void report(double fraction) const {
    if (progress_) progress_(name_, fraction);
  }
  void end() {
    report(1.0);
    out_.push_back({name_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count()});
  }

 private:
  const ProgressCallback& progress_;
  std::vector<PipelineStep>& out_;
  const char* name_ = "";
  std::chrono::steady_clock::time_point start_;
};

// The choice of k when the caller left it to the data (cluster/choose_k.hpp).
ChooseKParams choice_params(const FleetPipelineParams& params) {
  ChooseKParams cp;
  cp.k_max = std::max<int64_t>(params.max_clusters, cp.k_min);
  cp.sample_size = params.cluster_choice_sample;
  cp.tolerance = params.cluster_choice_tolerance;
  cp.kmeans = params.kmeans;
  return cp;
}

int64_t choose_clusters(Backend& backend, const FleetPipelineParams& params,
                        MatrixView<const float> Y, std::vector<ClusterChoice>& curve) {
  const KChoice choice = choose_k(backend, choice_params(params), Y);
  for (const KCandidate& c : choice.curve) curve.push_back({c.k, c.silhouette, c.inertia});
  return choice.k;
}

// A clustering given by labels as a KMeansResult: centres the members'
// means (cluster_means), inertia their squared distances to them in float64.
KMeansResult member_means(MatrixView<const float> Y, const std::vector<int32_t>& labels,
                          int64_t k) {
  KMeansResult out;
  out.centers = cluster_means(Y, labels, k);
  out.cluster_sizes.assign(static_cast<std::size_t>(k), 0.0);
  for (int64_t i = 0; i < Y.rows(); ++i) {
    const int32_t c = labels[static_cast<std::size_t>(i)];
    out.cluster_sizes[static_cast<std::size_t>(c)] += 1.0;
    for (int64_t j = 0; j < Y.cols(); ++j) {
      const double diff = static_cast<double>(Y(i, j)) - out.centers(c, j);
      out.inertia += diff * diff;
    }
  }
  out.labels = labels;
  out.converged = true;  // nothing iterates: the tree's cut is final
  return out;
}

int64_t auto_small_cluster_size(int64_t n, int64_t k) {
  return std::clamp<int64_t>(n / (100 * std::max<int64_t>(k, 1)), 1, 50);
}

void check_explain(const ExplainParams& p, const char* where) {
  require(p.top_features >= 1, ErrorCode::invalid_argument, where, "explain.top_features=",
          p.top_features, " < 1");
}

void check_score(const ScoreParams& p, const char* where) {
  require(std::isfinite(p.variance_floor) && p.variance_floor > 0.0 && p.variance_floor <= 1.0,
          ErrorCode::invalid_argument, where, "score.variance_floor=", p.variance_floor,
          " outside (0, 1]");
  require(std::isfinite(p.shrinkage) && p.shrinkage >= 0.0, ErrorCode::invalid_argument, where,
          "score.shrinkage=", p.shrinkage, " (expected a finite number >= 0)");
  for (const int64_t k : p.grains) {
    require(k >= 2, ErrorCode::invalid_argument, where, "score.grains holds ", k,
            " (each grain is a partition into at least 2 clusters)");
  }
}

// The explanation of one outlier: explain_entity against its reference
// cluster's centre, merged with the features outside the vocabulary.
Finding explain_one(const FeatureMatrix& fm, MatrixView<const float> means,
                    const std::vector<float>& fleet_means, const FleetModel& model,
                    const Outlier& o, const ExplainParams& explain, bool members) {
  const int32_t ref = model.reference[static_cast<std::size_t>(o.cluster)];
  ExplainParams ep = explain;
  ep.leave_one_out = members;
  const Explanation ex = explain_entity(fm.X.view(), means, o.entity, o.cluster, ref, ep,
                                        fm.feature_names, model.cluster_sizes, fleet_means);
  Finding f;
  f.entity = o.entity;
  f.entity_name = fm.entity_names[static_cast<std::size_t>(o.entity)];
  f.cluster = o.cluster;
  f.reference_cluster = ref;
  f.rank = o.rank;
  f.cluster_size = o.cluster_size;
  f.rules = o.rules;
  f.n_differing = ex.n_differing;
  f.n_unique = ex.n_unique;
  f.n_missing = ex.n_missing;
  for (const FeatureDifference& d : ex.features) {
    f.features.push_back({d.name, d.value, d.center, d.difference, false});
  }
  // Features never seen when fitting: no peer has them (centre 0). On a
  // tie they go first: unknown to the whole baseline, not just the cluster.
  std::vector<FindingFeature> unseen;
  for (const UnseenFeature& u : fm.unseen_of(o.entity)) {
    if (u.normalized <= 0.0) continue;
    const auto v = static_cast<float>(u.normalized);
    unseen.push_back({u.name, v, 0.0f, v, true});
  }
  for (const FindingFeature& u : unseen) {
    f.n_differing += u.difference >= 0.5f;  // as Explanation::n_differing counts
    ++f.n_unique;
  }
  if (!unseen.empty()) {
    auto key = [&](const FindingFeature& x) {
      return explain.mode == ExplainMode::behavior ? x.difference : std::fabs(x.difference);
    };
    std::stable_sort(unseen.begin(), unseen.end(),
                     [&](const FindingFeature& a, const FindingFeature& b) { return key(a) > key(b); });
    std::vector<FindingFeature> merged;
    std::size_t a = 0, b = 0;
    while (merged.size() < static_cast<std::size_t>(explain.top_features) &&
           (a < unseen.size() || b < f.features.size())) {
      if (b >= f.features.size() || (a < unseen.size() && key(unseen[a]) >= key(f.features[b]))) {
        merged.push_back(unseen[a++]);
      } else {
        merged.push_back(f.features[b++]);
      }
    }
    f.features = std::move(merged);
  }
  return f;
}

// Each finding's rarest values (with rarity): the model's terms of its
// rarity by feature name, and the features the baseline never had — each
// as rare as a value past every baseline entity's, first on a tie.
void add_rare_features(const FeatureMatrix& fm, const FleetModel& model, int64_t top,
                       std::vector<Finding>& findings) {
  std::vector<int64_t> rows;
  for (const Finding& f : findings) rows.push_back(f.entity);
  const std::vector<std::vector<RareValue>> rare =
      rarest_values(model.rarity, fm.X.view(), rows, top);
  const double n = static_cast<double>(model.rarity.n_entities);
  for (std::size_t t = 0; t < findings.size(); ++t) {
    Finding& f = findings[t];
    const auto room = [&] { return static_cast<int64_t>(f.rare_features.size()) < top; };
    // No seen value costs more than ln((n + 1) / 2), what each of these costs.
    for (const UnseenFeature& u : fm.unseen_of(f.entity)) {
      if (u.normalized > 0.0 && room()) {
        f.rare_features.push_back({u.name, static_cast<float>(u.normalized), 1.0 / (n + 1.0), true});
      }
    }
    for (std::size_t v = 0; v < rare[t].size() && room(); ++v) {
      const RareValue& x = rare[t][v];
      f.rare_features.push_back({fm.feature_names[static_cast<std::size_t>(x.feature)],
                                 static_cast<float>(x.value), x.fleet_share, false});
    }
  }
}

std::vector<Finding> make_findings(const FeatureMatrix& fm, const FleetModel& model,
                                   const FleetResult& r, const ExplainParams& explain,
                                   bool members, Steps& steps) {
  Matrix<float> means(model.feature_means.rows(), model.feature_means.cols());
  for (int64_t i = 0; i < means.size(); ++i) {
    means.data()[i] = static_cast<float>(model.feature_means.data()[i]);
  }
  const std::vector<double> baseline = internal::baseline_feature_means(model);
  const std::vector<float> fleet_means(baseline.begin(), baseline.end());
  // Explanations are string work on the host's feature matrix and
  // vocabulary, one finding at a time (docs/architecture.md, "Host steps").
  std::vector<Finding> out(r.outliers.outliers.size());
  const auto n = static_cast<int64_t>(out.size());
  for (int64_t t = 0; t < n; ++t) {
    const Outlier& o = r.outliers.outliers[static_cast<std::size_t>(t)];
    Finding& f = out[static_cast<std::size_t>(t)];
    f = explain_one(fm, means.view(), fleet_means, model, o, explain, members);
    const auto e = static_cast<std::size_t>(o.entity);
    f.score = r.outlier_scores[e];
    f.distance = r.scores[e];
    f.threshold_ratio = internal::distance_ratio(
        f.distance, model.thresholds.empty() ? std::numeric_limits<double>::quiet_NaN()
                                             : model.thresholds[static_cast<std::size_t>(o.cluster)]);
    f.lof = r.lof.empty() ? std::numeric_limits<double>::quiet_NaN() : r.lof[e];
    f.rarity = r.rarity.empty() ? std::numeric_limits<double>::quiet_NaN() : r.rarity[e];
    if ((t + 1) % 1024 == 0 || t + 1 == n) {
      steps.report(static_cast<double>(t + 1) / static_cast<double>(n));
    }
  }
  if (!r.rarity.empty()) add_rare_features(fm, model, explain.top_features, out);
  // In the fleet's order (FleetResult::fleet_rank: score, equal scores by
  // all the scores together, then row).
  const auto rank = [&](const Finding& f) {
    return r.fleet_rank[static_cast<std::size_t>(f.entity)];
  };
  std::sort(out.begin(), out.end(),
            [&](const Finding& a, const Finding& b) { return rank(a) < rank(b); });
  return out;
}

// The clustering space's rows, resident on the backend: PCA's output there,
// or the features themselves without PCA (dense: every later step reads
// them so; a size this machine cannot hold is refused, not attempted).
// `resident` is X on the backend.
DeviceArray<float> reduce(Backend& backend, const FleetModel& model, const CsrMatrix& X,
                          const DeviceCsr& resident, const char* where) {
  if (model.use_pca) return pca_transform(backend, model.pca, resident);
  internal::require_memory(where, "the dense features without PCA", {X.rows, X.cols},
                           sizeof(float), "float32");
  return backend.upload(csr_to_dense(X.view()));
}

// The calibration a model's detector and rarity need: none, or the
// baseline's scores with as many LOFs (where LOF ran) and rarities (where
// rarity is on); rarity needs it, and its distributions fit the columns.
void check_calibration(const FleetModel& model) {
  const DetectorCalibration& c = model.calibration;
  const bool rare = !model.rarity.empty();
  const std::size_t n = c.scores.size();
  const bool fits = c.empty() ? !rare
                              : (model.detector == Detector::both || rare) &&
                                    c.lof.size() == (model.detector != Detector::centroid ? n : 0) &&
                                    c.rarity.size() == (rare ? n : 0);
  require(fits, ErrorCode::invalid_argument, kScore, "the model's calibration holds ", n,
          " scores, ", c.lof.size(), " LOFs and ", c.rarity.size(), " rarities for detector ",
          to_string(model.detector), rare ? " with" : " without", " rarity");
  if (rare) validate_feature_rarity(model.rarity, model.n_features(), kScore);
}

// A model score_fleet can apply: fitted, its automatic choices decided,
// its calibration and grains whole.
void check_scoring_model(const FleetModel& model) {
  require(model.fitted(), ErrorCode::not_fitted, kScore, "the model is not fitted");
  require(model.score.space != ScoreSpace::automatic, ErrorCode::invalid_argument, kScore,
          "the model's score space is 'auto': fit_fleet decides it (resolve_score_space)");
  require(model.detector != Detector::automatic, ErrorCode::invalid_argument, kScore,
          "the model's detector is 'auto': fit_fleet decides it (resolve_detector)");
  check_calibration(model);
  require(model.grains.size() == model.score.grains.size() && model.peer_median > 0.0,
          ErrorCode::invalid_argument, kScore, "the model's grains are not fitted (",
          model.grains.size(), " partitions for ", model.score.grains.size(), " grains)");
  for (const ScoreGrain& g : model.grains) {
    require(g.centers.cols() == model.kmeans.centers.cols() && g.median > 0.0,
            ErrorCode::invalid_argument, kScore, "a grain's centres have ", g.centers.cols(),
            " columns, the clustering space ", model.kmeans.centers.cols());
  }
}

void check_fit_params(const FleetPipelineParams& params, const FeatureMatrix& features) {
  const int64_t n = features.n_entities(), d = features.n_features();
  require(n >= 2, ErrorCode::invalid_argument, kFit, "n_entities=", n,
          " < 2: a fleet needs at least two entities");
  require(d >= 1, ErrorCode::invalid_argument, kFit, "no features (", n, " entities, 0 features)");
  check_score(params.score, kFit);
  check_explain(params.explain, kFit);
  require(params.small_cluster_size >= -1, ErrorCode::invalid_argument, kFit,
          "small_cluster_size=", params.small_cluster_size, " < -1");
  require(params.kmeans.n_clusters >= 0, ErrorCode::invalid_argument, kFit, "kmeans.n_clusters=",
          params.kmeans.n_clusters, " < 0");
  // More clusters than entities is a mistake worth saying, not a silent clamp.
  require(params.kmeans.n_clusters <= n, ErrorCode::invalid_argument, kFit, "kmeans.n_clusters=",
          params.kmeans.n_clusters, " is more than the ", n, " entities (-k 0 chooses k)");
  for (const int64_t k : params.score.grains) {
    require(k <= n, ErrorCode::invalid_argument, kFit, "score.grains holds ", k,
            ", more clusters than the ", n, " entities");
  }
  require(params.clustering != Clustering::agglomerative || n <= params.agglomerative_max_entities,
          ErrorCode::invalid_argument, kFit, "agglomerative clustering of ", n,
          " entities takes O(n^2) time; the limit is agglomerative_max_entities=",
          params.agglomerative_max_entities, " (use k-means, or raise the limit)");
  require(params.lof_auto_max_entities >= 0, ErrorCode::invalid_argument, kFit,
          "lof_auto_max_entities=", params.lof_auto_max_entities, " < 0");
}

void fit_pca(Backend& backend, const FleetPipelineParams& params, const FeatureMatrix& features,
             const DeviceCsr& resident, FleetModel& m) {
  const int64_t n = features.n_entities(), d = features.n_features();
  m.use_pca = params.pca.n_components > 0 || params.pca.variance_fraction > 0.0;
  if (!m.use_pca) return;
  PcaParams pp = params.pca;
  pp.n_components = std::min(pp.n_components, std::min(n, d));
  if (pp.solver == PcaSolver::automatic) {
    // The library's rule (by n and d: the n x n Gram when there are fewer
    // entities than features), but exact where d is small enough for the
    // covariance: the fleet's defaults were measured with exact PCA there.
    pp.solver = choose_pca_solver(pp, n, d, /*sparse=*/true);
    if (pp.solver == PcaSolver::randomized && d <= 2000) pp.solver = PcaSolver::covariance;
  }
  m.pca = pca_fit(backend, pp, resident);
}

// The pipeline's k-means settings for a fleet of n entities, n_init
// resolved. n_init auto: restarts where they are cheap. A small fleet's
// k-means is at the mercy of one seeding (41 real images at k = 3: ARI 0.79
// or 0.93 against their OS by seed); a large one is not, and pays
// n_init-fold.
KMeansParams fleet_kmeans_params(const FleetPipelineParams& params, int64_t n) {
  KMeansParams kp = params.kmeans;
  if (kp.n_init == 0) kp.n_init = n <= kRestartFleetSize ? 10 : 1;
  return kp;
}

void fit_kmeans(Backend& backend, const FleetPipelineParams& params,
                const DeviceArray<float>& reduced, FleetResult& r) {
  KMeansParams kp = fleet_kmeans_params(params, r.reduced.rows());
  kp.n_clusters = kp.n_clusters == 0 ? choose_clusters(backend, params, r.reduced.view(), r.cluster_choice)
                                     : kp.n_clusters;
  r.kmeans = kmeans_fit(backend, kp, reduced);
}

// One merge tree over the reduced rows, cut at k (given, or chosen by the
// silhouette rule over its cuts); centres are the members' means.
void fit_agglomerative(Backend& backend, const FleetPipelineParams& params, FleetResult& r) {
  AgglomerativeParams ap;
  ap.linkage = params.linkage;
  ap.n_clusters = std::max<int64_t>(params.kmeans.n_clusters, 1);
  // The host copy of the rows is already there: no second download.
  AgglomerativeResult tree = agglomerative_fit(ap, r.reduced.view());
  int64_t k = params.kmeans.n_clusters;
  if (k == 0) {
    ChooseKParams cp = choice_params(params);
    const KChoice choice =
        choose_k_from_tree(backend, cp, r.reduced.view(), tree.linkage_matrix.view());
    for (const KCandidate& c : choice.curve) r.cluster_choice.push_back({c.k, c.silhouette, c.inertia});
    k = choice.k;
    tree.labels = cut_tree_labels(tree.linkage_matrix.view(), k);
  }
  r.kmeans = member_means(r.reduced.view(), tree.labels, k);
  r.linkage_matrix = std::move(tree.linkage_matrix);
}

// Peers' statistics in the normalised features, the small clusters'
// references, and every entity's distance score.
void fit_scores(Backend& backend, const FleetPipelineParams& params, const DeviceCsr& resident,
                const DeviceArray<float>& reduced, FleetResult& r) {
  FleetModel& m = r.model;
  const int64_t n = r.reduced.rows(), k = m.n_clusters();
  internal::fit_cluster_feature_stats(backend, resident, r.labels, k, m);
  m.outliers = params.outliers;
  m.outliers.small_cluster_size = params.small_cluster_size >= 0
                                      ? params.small_cluster_size
                                      : auto_small_cluster_size(n, k);
  const std::vector<uint8_t> small =
      internal::small_clusters(m.cluster_sizes, m.outliers.small_cluster_size);
  m.reference = internal::reference_clusters(m.feature_means, m.cluster_sizes, small);
  if (m.score.space != ScoreSpace::pca) {
    r.scores = internal::feature_space_scores(backend, resident, r.labels, m, true, {});
    return;
  }
  r.scores.resize(static_cast<std::size_t>(n));
  DeviceArray<float> dC = backend.upload(m.kmeans.centers.view());
  DeviceArray<int32_t> dl = backend.upload(r.labels);
  DeviceArray<float> dd = backend.allocate<float>(n);
  backend.assigned_sq_distances(reduced, dC, dl, dd);
  backend.download(dd, r.scores.data());
}

}  // namespace

FleetResult fit_fleet(Backend& backend, const FleetPipelineParams& params,
                      const EventSource& events) {
  require(static_cast<bool>(events), ErrorCode::invalid_argument, kFit, "no event source");
  const internal::ScopedHostThreads host_threads(backend.host_threads());
  const auto start = std::chrono::steady_clock::now();
  std::vector<PipelineStep> before;
  Steps steps(params.progress, before);
  steps.begin("read");
  FeatureBuilder builder(params.features);
  events(builder.sink());
  steps.end();
  steps.begin("features");
  FeatureMatrix fm = builder.build();
  steps.end();
  FleetResult out = fit_fleet(backend, params, std::move(fm));
  before.insert(before.end(), out.steps.begin(), out.steps.end());
  out.steps = std::move(before);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

namespace {

// The model's settings that the features decide before any fit: the score
// space, the grains, the detector, how explanations are made.
FleetModel model_settings(const FleetPipelineParams& params, const FeatureMatrix& features) {
  FleetModel m;
  m.vocabulary = features.vocabulary;
  m.n_entities = features.n_entities();
  m.score = params.score;
  m.score.space = resolve_score_space(params.score.space, features.vocabulary,
                                      features.feature_groups);
  m.score.grains = resolve_grains(params.score, m.score.space, m.n_entities);
  m.explain = params.explain;
  m.explain.leave_one_out = true;
  m.clustering = params.clustering;
  m.linkage = params.linkage;
  m.detector = resolve_detector(
      params.detector,
      resolve_score_space(ScoreSpace::automatic, features.vocabulary, features.feature_groups),
      m.n_entities, params.lof_auto_max_entities);
  return m;
}

// LOF over the reduced rows: each row's factor into r.lof, and the rows
// kept in the model, since later snapshots are scored against them. Over
// distinct rows the rows are told apart on the host: the fit reads the
// host copy the result already holds instead of downloading them again.
void fit_density(Backend& backend, LofParams lp, const DeviceArray<float>& reduced,
                 FleetResult& r) {
  lp.novelty = true;
  LofResult lr = lp.distinct_rows ? lof_fit(backend, lp, r.reduced.view())
                                  : lof_fit(backend, lp, reduced);
  r.lof.resize(lr.negative_outlier_factor.size());
  for (std::size_t i = 0; i < r.lof.size(); ++i) r.lof[i] = -lr.negative_outlier_factor[i];
  r.model.lof = static_cast<LofModel&&>(std::move(lr));
}

}  // namespace

FleetResult fit_fleet(Backend& backend, const FleetPipelineParams& params, FeatureMatrix features) {
  const internal::ScopedHostThreads host_threads(backend.host_threads());
  const auto start = std::chrono::steady_clock::now();
  check_fit_params(params, features);
  FleetResult r;
  Steps steps(params.progress, r.steps);
  r.model = model_settings(params, features);
  FleetModel& m = r.model;

  // PCA: the fleet's common structure, for clustering. The features go to
  // the backend once (read in place on the CPU), for the fit, the
  // projection and the scores.
  steps.begin("pca");
  validate_csr(features.X.view(), kFit);
  const DeviceCsr resident = backend.borrow_or_upload_csr(features.X.view());
  fit_pca(backend, params, features, resident, m);
  // The reduced rows stay on the backend from here to the scores; the
  // result's host copy is for the caller.
  const DeviceArray<float> reduced = reduce(backend, m, features.X, resident, kFit);
  r.reduced = backend.download(reduced);
  steps.end();

  steps.begin(params.clustering == Clustering::kmeans ? "kmeans" : "agglomerative");
  if (params.clustering == Clustering::kmeans) {
    fit_kmeans(backend, params, reduced, r);
  } else {
    fit_agglomerative(backend, params, r);
  }
  m.kmeans = r.kmeans;  // the fitted part of the result (a KMeansModel)
  r.labels = r.kmeans.labels;
  steps.end();

  steps.begin("score");
  fit_scores(backend, params, resident, reduced, r);
  internal::fit_grains(backend, fleet_kmeans_params(params, m.n_entities), reduced, m, r.scores);
  steps.end();

  steps.begin("outliers");
  r.outliers = find_outliers(r.labels, r.scores, m.outliers, m.n_clusters());
  m.thresholds = r.outliers.thresholds;
  steps.end();
  if (m.detector != Detector::centroid) {
    steps.begin("lof");
    fit_density(backend, params.lof, reduced, r);
    steps.end();
  }
  if (params.rarity) {
    steps.begin("rarity");
    m.rarity = fit_feature_rarity(features.X.view());
    r.rarity = rarity_scores(m.rarity, features.X.view());
    steps.end();
  }
  if (m.detector == Detector::both || params.rarity) {
    m.calibration = internal::calibrate(r.scores, r.lof, r.rarity);
  }
  internal::apply_detector(m, r.labels, r.scores, r.lof, r.rarity, r.outliers, r.outlier_scores,
                           r.fleet_rank);

  steps.begin("explain");
  r.findings = make_findings(features, m, r, m.explain, true, steps);
  r.clusters = profile_clusters(m, m.vocabulary.feature_names, kProfileFeatures);
  steps.end();

  r.features = std::move(features);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

FleetResult score_fleet(Backend& backend, const FleetModel& model, const EventSource& events,
                        const FleetScoreParams& params) {
  require(static_cast<bool>(events), ErrorCode::invalid_argument, kScore, "no event source");
  require(model.fitted(), ErrorCode::not_fitted, kScore, "the model is not fitted");
  const internal::ScopedHostThreads host_threads(backend.host_threads());
  const auto start = std::chrono::steady_clock::now();
  std::vector<PipelineStep> before;
  Steps steps(params.progress, before);
  steps.begin("read");
  FeatureBuilder builder(model.vocabulary);
  events(builder.sink());
  steps.end();
  steps.begin("features");
  FeatureMatrix fm = builder.build();
  steps.end();
  FleetResult out = score_fleet(backend, model, std::move(fm), params);
  before.insert(before.end(), out.steps.begin(), out.steps.end());
  out.steps = std::move(before);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

FleetResult score_fleet(Backend& backend, const FleetModel& model, FeatureMatrix features,
                        const FleetScoreParams& params) {
  check_scoring_model(model);
  check_explain(params.explain, kScore);
  require(params.top_n >= 0, ErrorCode::invalid_argument, kScore, "top_n=", params.top_n, " < 0");
  require(params.top_fraction >= 0.0 && params.top_fraction <= 1.0, ErrorCode::invalid_argument,
          kScore, "top_fraction=", params.top_fraction, " outside [0, 1]");
  const int64_t n = features.n_entities();
  require(features.n_features() == model.n_features(), ErrorCode::shape_mismatch, kScore,
          "the snapshot has ", features.n_features(), " features, the model ",
          model.n_features(), " (build it with FeatureBuilder(model.vocabulary))");
  const internal::ScopedHostThreads host_threads(backend.host_threads());
  const auto start = std::chrono::steady_clock::now();
  FleetResult r;
  r.model = model;
  Steps steps(params.progress, r.steps);

  steps.begin("pca");
  validate_csr(features.X.view(), kScore);
  const DeviceCsr resident = backend.borrow_or_upload_csr(features.X.view());
  const DeviceArray<float> reduced = reduce(backend, model, features.X, resident, kScore);
  r.reduced = backend.download(reduced);
  steps.end();

  steps.begin("kmeans");
  NearestCenters nc;
  if (n > 0) nc = kmeans_predict(backend, model.kmeans, reduced);
  r.labels = std::move(nc.labels);
  steps.end();

  steps.begin("score");
  if (model.score.space == ScoreSpace::pca) {
    r.scores = std::move(nc.sq_distances);
    internal::add_unseen_squares(r.scores, features.unseen);
  } else {
    r.scores = internal::feature_space_scores(backend, resident, r.labels, model, false,
                                              features.unseen);
  }
  internal::apply_grains(backend, model, reduced, r.scores);
  steps.end();

  steps.begin("outliers");
  r.outliers = apply_outlier_thresholds(
      r.labels, r.scores, params.top_n, params.top_fraction, model.thresholds,
      internal::small_clusters(model.cluster_sizes, model.outliers.small_cluster_size));
  steps.end();
  if (model.detector != Detector::centroid && n > 0) {
    steps.begin("lof");
    r.lof = lof_score_samples(backend, model.lof, r.reduced.view());
    for (double& v : r.lof) v = -v;
    steps.end();
  }
  if (!model.rarity.empty()) {
    steps.begin("rarity");
    r.rarity = rarity_scores(model.rarity, features.X.view(), features.unseen);
    steps.end();
  }
  internal::apply_detector(model, r.labels, r.scores, r.lof, r.rarity, r.outliers,
                           r.outlier_scores, r.fleet_rank);

  steps.begin("explain");
  r.findings = make_findings(features, model, r, params.explain, false, steps);
  r.clusters = profile_clusters(model, model.vocabulary.feature_names, kProfileFeatures);
  steps.end();

  r.features = std::move(features);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace stray
