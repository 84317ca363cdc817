// Stability across days: both days in one space, clustered alike, clusters
// matched by the assignment problem, and what moved.
#include "stray/fleet/stability.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/check.hpp"
#include "core/host_threads.hpp"
#include "fleet/stability_internal.hpp"
#include "stray/decomposition/pca.hpp"
#include "stray/metrics/assignment.hpp"
#include "stray/metrics/label_scores.hpp"

namespace stray {
namespace {

using internal::require;
constexpr const char* kWhere = "compare_days";

void check_params(const StabilityParams& p) {
  require(p.top_drift >= 0, ErrorCode::invalid_argument, kWhere, "top_drift=", p.top_drift, " < 0");
  require(p.features_per_entity >= 0, ErrorCode::invalid_argument, kWhere,
          "features_per_entity=", p.features_per_entity, " < 0");
  require(p.features_per_pair >= 0, ErrorCode::invalid_argument, kWhere, "features_per_pair=",
          p.features_per_pair, " < 0");
  require(std::isfinite(p.min_overlap) && p.min_overlap >= 0.0 && p.min_overlap <= 1.0,
          ErrorCode::invalid_argument, kWhere, "min_overlap=", p.min_overlap,
          " is outside [0, 1]");
  require(p.pipeline.kmeans.n_clusters >= 0, ErrorCode::invalid_argument, kWhere,
          "kmeans.n_clusters=", p.pipeline.kmeans.n_clusters, " < 0");
  require(p.auto_n_init >= 1, ErrorCode::invalid_argument, kWhere, "auto_n_init=",
          p.auto_n_init, " < 1");
  require(p.drift_peers >= 1, ErrorCode::invalid_argument, kWhere, "drift_peers=", p.drift_peers,
          " < 1");
  require(p.drift_peer_sample >= 2, ErrorCode::invalid_argument, kWhere, "drift_peer_sample=",
          p.drift_peer_sample, " < 2");
}

void progress(const StabilityParams& p, const char* step, double fraction) {
  if (p.pipeline.progress) p.pipeline.progress(step, fraction);
}

CsrMatrix stack_rows(const CsrMatrix& a, const CsrMatrix& b) {
  CsrMatrix out = a;
  out.rows = a.rows + b.rows;
  const int64_t offset = a.nnz();
  for (std::size_t i = 1; i < b.indptr.size(); ++i) out.indptr.push_back(offset + b.indptr[i]);
  out.indices.insert(out.indices.end(), b.indices.begin(), b.indices.end());
  out.values.insert(out.values.end(), b.values.begin(), b.values.end());
  return out;
}

// Both days' kept rows in the clustering space: PCA fitted on the union of
// the days (or day one), or the features themselves without PCA.
struct Reduced {
  Matrix<float> day1, day2;
  int64_t components = 0;
};

Reduced reduce_days(Backend& backend, const StabilityParams& p, const internal::SharedDays& days) {
  const int64_t m = days.day1.rows, d = days.day1.cols;
  const PcaParams& pca = p.pipeline.pca;
  if (pca.n_components == 0 && pca.variance_fraction == 0.0) {
    internal::require_memory(kWhere, "the dense features of both days", {2, m, d}, sizeof(float),
                             "float32");
    return {csr_to_dense(days.day1.view()), csr_to_dense(days.day2.view()), 0};
  }
  const CsrMatrix fit_rows = p.space == StabilitySpace::union_of_days
                                 ? stack_rows(days.day1, days.day2)
                                 : days.day1;
  PcaParams pp = pca;
  pp.n_components = std::min(pp.n_components, std::min(fit_rows.rows, d));
  if (pp.solver == PcaSolver::automatic) {  // as the pipeline decides
    pp.solver = d <= 2000 || pp.variance_fraction > 0.0 ? PcaSolver::covariance
                                                        : PcaSolver::randomized;
  }
  const PcaModel model = pca_fit(backend, pp, fit_rows.view());
  return {pca_transform(backend, model, days.day1.view()),
          pca_transform(backend, model, days.day2.view()), model.n_components};
}

// Day-one cluster → day-two cluster, by the assignment problem on the
// Euclidean distance between centres.
std::vector<int32_t> match_clusters(const Matrix<float>& c1, const Matrix<float>& c2) {
  const int64_t k1 = c1.rows(), k2 = c2.rows(), r = c1.cols();
  internal::require_memory(kWhere, "the centre distance matrix", {k1, k2}, sizeof(double),
                           "float64");
  std::vector<double> cost(static_cast<std::size_t>(k1 * k2));
  for (int64_t a = 0; a < k1; ++a) {
    for (int64_t b = 0; b < k2; ++b) {
      double s = 0.0;
      for (int64_t j = 0; j < r; ++j) {
        const double diff = static_cast<double>(c1.row(a)[j]) - c2.row(b)[j];
        s += diff * diff;
      }
      cost[static_cast<std::size_t>(a * k2 + b)] = std::sqrt(s);
    }
  }
  const Assignment as = linear_sum_assignment(cost.data(), k1, k2);
  std::vector<int32_t> partner(static_cast<std::size_t>(k1), -1);
  for (std::size_t i = 0; i < as.rows.size(); ++i) {
    partner[static_cast<std::size_t>(as.rows[i])] = static_cast<int32_t>(as.cols[i]);
  }
  return partner;
}

// The features whose mean changed most between a pair's two sides.
std::vector<FeatureChange> pair_features(const double* m1, const double* m2,
                                         const std::vector<std::string>& names, int64_t limit) {
  std::vector<int64_t> cols;
  for (std::size_t j = 0; j < names.size(); ++j) {
    if (m1[j] != m2[j]) cols.push_back(static_cast<int64_t>(j));
  }
  const auto larger = [&](int64_t x, int64_t y) {
    const double dx = std::abs(m2[x] - m1[x]), dy = std::abs(m2[y] - m1[y]);
    return dx != dy ? dx > dy : names[static_cast<std::size_t>(x)] < names[static_cast<std::size_t>(y)];
  };
  const auto keep = std::min<std::size_t>(cols.size(), static_cast<std::size_t>(limit));
  std::partial_sort(cols.begin(), cols.begin() + static_cast<std::ptrdiff_t>(keep), cols.end(),
                    larger);
  std::vector<FeatureChange> out;
  for (std::size_t t = 0; t < keep; ++t) {
    const auto j = static_cast<std::size_t>(cols[t]);
    out.push_back({names[j], m1[j], m2[j]});
  }
  return out;
}

std::vector<ClusterPair> cluster_pairs(const StabilityReport& r, const Matrix<float>& c1,
                                       const Matrix<float>& c2, const internal::ClusterMeans& mu1,
                                       const internal::ClusterMeans& mu2,
                                       const std::vector<std::string>& names, int64_t limit) {
  const int64_t k = static_cast<int64_t>(r.partner.size());
  std::vector<int64_t> common(static_cast<std::size_t>(k), 0);
  for (std::size_t i = 0; i < r.day1_labels.size(); ++i) {
    const int32_t a = r.day1_labels[i];
    if (r.partner[static_cast<std::size_t>(a)] == r.day2_labels[i]) ++common[static_cast<std::size_t>(a)];
  }
  std::vector<ClusterPair> pairs;
  for (int64_t a = 0; a < k; ++a) {
    const int32_t b = r.partner[static_cast<std::size_t>(a)];
    if (b < 0) continue;
    ClusterPair p;
    p.day1 = static_cast<int32_t>(a);
    p.day2 = b;
    p.day1_size = mu1.sizes[static_cast<std::size_t>(a)];
    p.day2_size = mu2.sizes[static_cast<std::size_t>(b)];
    p.common = common[static_cast<std::size_t>(a)];
    const int64_t joined = p.day1_size + p.day2_size - p.common;
    p.jaccard = joined > 0 ? static_cast<double>(p.common) / static_cast<double>(joined) : 1.0;
    double s = 0.0;
    for (int64_t j = 0; j < c1.cols(); ++j) {
      const double diff = static_cast<double>(c2.row(b)[j]) - c1.row(a)[j];
      s += diff * diff;
    }
    p.shift = std::sqrt(s);
    if (p.day1_size > 0 && p.day2_size > 0) {
      const double* m1 = mu1.means.row(a);
      const double* m2 = mu2.means.row(b);
      double f = 0.0;
      for (int64_t j = 0; j < mu1.means.cols(); ++j) f += (m2[j] - m1[j]) * (m2[j] - m1[j]);
      p.feature_shift = std::sqrt(f);
      p.features = pair_features(m1, m2, names, limit);
    }
    pairs.push_back(std::move(p));
  }
  return pairs;
}

std::vector<MovedEntity> moved_entities(const StabilityReport& r) {
  std::vector<int32_t> inverse(r.partner.size(), -1);
  for (std::size_t a = 0; a < r.partner.size(); ++a) {
    if (r.partner[a] >= 0) inverse[static_cast<std::size_t>(r.partner[a])] = static_cast<int32_t>(a);
  }
  std::vector<MovedEntity> out;
  for (std::size_t i = 0; i < r.entities.size(); ++i) {
    const int32_t a = r.day1_labels[i], b = r.day2_labels[i];
    if (r.partner[static_cast<std::size_t>(a)] == b) continue;
    out.push_back({r.entities[i], a, b, inverse[static_cast<std::size_t>(b)]});
  }
  return out;
}

// k (given, or chosen on day one by the pipeline's rule), then the same
// k-means on each day's rows; fills the report's k and labels.
struct DayFits {
  KMeansResult day1, day2;
};

DayFits cluster_days(Backend& backend, const StabilityParams& p, const Reduced& y,
                     StabilityReport& r) {
  KMeansParams kp = p.pipeline.kmeans;
  if (kp.n_init == 0) kp.n_init = p.auto_n_init;
  if (kp.n_clusters == 0) {
    ChooseKParams cp;
    cp.k_max = std::max<int64_t>(p.pipeline.max_clusters, cp.k_min);
    cp.sample_size = p.pipeline.cluster_choice_sample;
    cp.tolerance = p.pipeline.cluster_choice_tolerance;
    cp.kmeans = p.pipeline.kmeans;  // the scan's own n_init, as the pipeline's
    const KChoice choice = choose_k(backend, cp, y.day1.view());
    kp.n_clusters = choice.k;
    r.k_chosen = true;
    r.cluster_choice = choice.curve;
  }
  kp.n_clusters = std::min(kp.n_clusters, y.day1.rows());
  r.n_clusters = kp.n_clusters;
  DayFits fits{kmeans_fit(backend, kp, y.day1.view()), kmeans_fit(backend, kp, y.day2.view())};
  r.day1_labels = fits.day1.labels;
  r.day2_labels = fits.day2.labels;
  return fits;
}

void agreement(StabilityReport& r) {
  const std::vector<int64_t> l1(r.day1_labels.begin(), r.day1_labels.end());
  const std::vector<int64_t> l2(r.day2_labels.begin(), r.day2_labels.end());
  const LabelScores scores = compare_labelings(l1, l2);
  r.rand = scores.rand;
  r.adjusted_rand = scores.adjusted_rand;
  r.adjusted_mutual_info = scores.adjusted_mutual_info;
}

using Clock = std::chrono::steady_clock;

StabilityReport compare_shared(Backend& backend, const StabilityParams& p,
                               internal::SharedDays days, Clock::time_point start) {
  StabilityReport r;
  r.overlap = std::move(days.overlap);
  const int64_t m = r.overlap.kept, d = days.day1.cols;
  require(m >= 2, ErrorCode::invalid_argument, kWhere, "only ", m,
          " entities are on both days (day one ", r.overlap.day1_entities, ", day two ",
          r.overlap.day2_entities, "); at least 2 are needed");
  require(d >= 1, ErrorCode::invalid_argument, kWhere, "no features (", m,
          " entities on both days, 0 features)");
  r.space = p.space;
  r.drift_space = p.drift_space;
  r.n_features = d;
  r.top_drift = std::min(p.top_drift, m);
  r.entities = days.entities;

  progress(p, "pca", 0.0);
  const Reduced y = reduce_days(backend, p, days);
  r.n_components = y.components;
  progress(p, "pca", 1.0);

  progress(p, "kmeans", 0.0);
  const DayFits km = cluster_days(backend, p, y, r);
  progress(p, "kmeans", 1.0);

  progress(p, "match", 0.0);
  r.partner = match_clusters(km.day1.centers, km.day2.centers);
  const internal::ClusterMeans mu1 =
      internal::cluster_means(backend, days.day1, r.day1_labels, r.n_clusters);
  const internal::ClusterMeans mu2 =
      internal::cluster_means(backend, days.day2, r.day2_labels, r.n_clusters);
  r.pairs = cluster_pairs(r, km.day1.centers, km.day2.centers, mu1, mu2, days.feature_names,
                          p.features_per_pair);
  agreement(r);
  r.moved = moved_entities(r);
  progress(p, "match", 1.0);

  progress(p, "drift", 0.0);
  internal::DriftInputs in;
  in.days = &days;
  in.reduced1 = &y.day1;
  in.reduced2 = &y.day2;
  in.labels1 = &r.day1_labels;
  in.labels2 = &r.day2_labels;
  in.partner = &r.partner;
  in.peers = p.drift_peers;
  in.peer_sample = p.drift_peer_sample;
  in.seed = p.pipeline.kmeans.seed;
  r.drift = internal::entity_drift(in, p.drift_space, r.top_drift, p.features_per_entity);
  progress(p, "drift", 1.0);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

}  // namespace

const char* to_string(StabilitySpace space) {
  return space == StabilitySpace::union_of_days ? "union" : "day-one";
}

StabilitySpace parse_stability_space(const std::string& name) {
  if (name == "union") return StabilitySpace::union_of_days;
  if (name == "day-one") return StabilitySpace::day_one;
  internal::fail(ErrorCode::invalid_argument, "parse_stability_space", "unknown space '",
                 internal::printable(name), "' (expected union or day-one)");
}

const char* to_string(DriftSpace space) {
  return space == DriftSpace::features ? "features" : "reduced";
}

DriftSpace parse_drift_space(const std::string& name) {
  if (name == "features") return DriftSpace::features;
  if (name == "reduced") return DriftSpace::reduced;
  internal::fail(ErrorCode::invalid_argument, "parse_drift_space", "unknown drift space '",
                 internal::printable(name), "' (expected features or reduced)");
}

double DayOverlap::kept_share_day1() const {
  return day1_entities > 0 ? static_cast<double>(kept) / static_cast<double>(day1_entities) : 0.0;
}

double DayOverlap::kept_share_day2() const {
  return day2_entities > 0 ? static_cast<double>(kept) / static_cast<double>(day2_entities) : 0.0;
}

StabilityReport compare_days(Backend& backend, const StabilityParams& params,
                             const EventSource& day1, const EventSource& day2) {
  // The host steps (reading, drift per entity) take the backend's count.
  const internal::ScopedHostThreads host_threads(backend.host_threads());
  const auto start = Clock::now();
  check_params(params);
  progress(params, "read", 0.0);
  internal::SharedDays days =
      internal::shared_days_from_events(params.pipeline.features, day1, day2, params.min_overlap);
  progress(params, "read", 1.0);
  return compare_shared(backend, params, std::move(days), start);
}

StabilityReport compare_days(Backend& backend, const StabilityParams& params,
                             const FeatureMatrix& day1, const FeatureMatrix& day2) {
  const internal::ScopedHostThreads host_threads(backend.host_threads());
  const auto start = Clock::now();
  check_params(params);
  return compare_shared(backend, params,
                        internal::shared_days_from_matrices(day1, day2, params.min_overlap), start);
}

}  // namespace stray
