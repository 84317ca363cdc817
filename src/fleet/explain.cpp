// Explanations: an entity's row against a cluster centre in the original
// features.
#include "stray/fleet/explain.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.hpp"

namespace stray {

const char* to_string(ExplainMode mode) {
  return mode == ExplainMode::config ? "config" : "behavior";
}

ExplainMode parse_explain_mode(const std::string& name) {
  if (name == "config") return ExplainMode::config;
  if (name == "behavior" || name == "behaviour") return ExplainMode::behavior;
  internal::fail(ErrorCode::invalid_argument, "parse_explain_mode", "unknown mode '", name,
                 "' (expected config or behavior)");
}

namespace {

// A difference of at least half the scale: for presence features, the entity
// is unlike most of its peers. Smaller ones are everywhere (a package 2% of
// peers have) and counting them says nothing.
constexpr float kClearDifference = 0.5f;

void check_labels(const std::vector<int32_t>& labels, int64_t rows, int64_t n_clusters,
                  const char* where) {
  internal::require(static_cast<int64_t>(labels.size()) == rows, ErrorCode::shape_mismatch, where,
                    "labels has ", labels.size(), " entries for ", rows, " rows");
  internal::require(n_clusters > 0, ErrorCode::invalid_argument, where, "n_clusters=", n_clusters,
                    " < 1");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    internal::require(labels[i] >= 0 && labels[i] < n_clusters, ErrorCode::invalid_argument, where,
                      "labels[", i, "] = ", labels[i], " outside [0, ", n_clusters, ")");
  }
}

Matrix<float> finish_means(const std::vector<double>& sums, const std::vector<int64_t>& counts,
                           int64_t k, int64_t d) {
  Matrix<float> out(k, d, 0.0f);
  for (int64_t c = 0; c < k; ++c) {
    if (counts[static_cast<std::size_t>(c)] == 0) continue;
    const double inv = 1.0 / static_cast<double>(counts[static_cast<std::size_t>(c)]);
    for (int64_t j = 0; j < d; ++j) {
      out(c, j) = static_cast<float>(sums[static_cast<std::size_t>(c * d + j)] * inv);
    }
  }
  return out;
}

// The columns where the row differs from the reference (in behavior mode:
// where it has more), counting the clear differences and the two ends of a
// presence feature as well.
std::vector<int64_t> differing_features(const std::vector<float>& row,
                                        const std::vector<float>& ref, ExplainMode mode,
                                        Explanation& ex) {
  // A centre within float rounding of 0 or 1 (the leave-one-out centre is
  // recomputed from a float mean) is "no peer" / "every peer has it".
  constexpr float kNoPeer = 1e-6f, kEveryPeer = 1.0f - 1e-6f;
  std::vector<int64_t> order;
  for (std::size_t j = 0; j < row.size(); ++j) {
    const float diff = row[j] - ref[j];
    if (diff == 0.0f) continue;
    if (mode == ExplainMode::config ? std::fabs(diff) >= kClearDifference
                                    : diff >= kClearDifference) {
      ++ex.n_differing;
    }
    if (row[j] > 0.0f && ref[j] <= kNoPeer) ++ex.n_unique;
    if (row[j] == 0.0f && ref[j] >= kEveryPeer) ++ex.n_missing;
    if (mode == ExplainMode::config || diff > 0.0f) order.push_back(static_cast<int64_t>(j));
  }
  return order;
}

}  // namespace

Matrix<float> cluster_means(const CsrView& X, const std::vector<int32_t>& labels,
                            int64_t n_clusters) {
  constexpr const char* where = "cluster_means";
  validate_csr(X, where);
  check_labels(labels, X.rows, n_clusters, where);
  std::vector<double> sums(static_cast<std::size_t>(checked_mul(n_clusters, X.cols, where)), 0.0);
  std::vector<int64_t> counts(static_cast<std::size_t>(n_clusters), 0);
  for (int64_t i = 0; i < X.rows; ++i) {
    const int64_t c = labels[static_cast<std::size_t>(i)];
    ++counts[static_cast<std::size_t>(c)];
    double* row = sums.data() + c * X.cols;
    for (int64_t p = X.indptr[i]; p < X.indptr[i + 1]; ++p) row[X.indices[p]] += X.values[p];
  }
  return finish_means(sums, counts, n_clusters, X.cols);
}

Matrix<float> cluster_means(MatrixView<const float> X, const std::vector<int32_t>& labels,
                            int64_t n_clusters) {
  constexpr const char* where = "cluster_means";
  check_labels(labels, X.rows(), n_clusters, where);
  std::vector<double> sums(static_cast<std::size_t>(checked_mul(n_clusters, X.cols(), where)), 0.0);
  std::vector<int64_t> counts(static_cast<std::size_t>(n_clusters), 0);
  for (int64_t i = 0; i < X.rows(); ++i) {
    const int64_t c = labels[static_cast<std::size_t>(i)];
    ++counts[static_cast<std::size_t>(c)];
    double* row = sums.data() + c * X.cols();
    const float* x = X.row(i);
    for (int64_t j = 0; j < X.cols(); ++j) row[j] += x[j];
  }
  return finish_means(sums, counts, n_clusters, X.cols());
}

std::vector<float> squared_distances_to_means(const CsrView& X, const std::vector<int32_t>& labels,
                                              MatrixView<const float> means) {
  constexpr const char* where = "squared_distances_to_means";
  validate_csr(X, where);
  internal::require(means.cols() == X.cols, ErrorCode::shape_mismatch, where, "means have ",
                    means.cols(), " features, X has ", X.cols);
  check_labels(labels, X.rows, means.rows(), where);
  std::vector<double> centre_norm(static_cast<std::size_t>(means.rows()), 0.0);
  for (int64_t c = 0; c < means.rows(); ++c) {
    for (int64_t j = 0; j < means.cols(); ++j) centre_norm[static_cast<std::size_t>(c)] += double{means(c, j)} * means(c, j);
  }
  // Σ_j (x_j − c_j)² = ‖c‖² + Σ_{x_j ≠ 0} ((x_j − c_j)² − c_j²): exact terms, no cancellation
  // of large opposite sums.
  std::vector<float> out(static_cast<std::size_t>(X.rows));
  for (int64_t i = 0; i < X.rows; ++i) {
    const int32_t c = labels[static_cast<std::size_t>(i)];
    const float* centre = means.row(c);
    double s = centre_norm[static_cast<std::size_t>(c)];
    for (int64_t p = X.indptr[i]; p < X.indptr[i + 1]; ++p) {
      const double cj = centre[X.indices[p]];
      const double diff = X.values[p] - cj;
      s += diff * diff - cj * cj;
    }
    out[static_cast<std::size_t>(i)] = static_cast<float>(std::max(s, 0.0));
  }
  return out;
}

namespace {

void check_explain_args(const CsrView& X, MatrixView<const float> means, int64_t entity,
                        int32_t reference_cluster, const ExplainParams& params,
                        const std::vector<std::string>& feature_names,
                        const std::vector<float>& fleet_means) {
  constexpr const char* where = "explain_entity";
  using internal::require;
  require(means.cols() == X.cols, ErrorCode::shape_mismatch, where, "means have ", means.cols(),
          " features, X has ", X.cols);
  require(entity >= 0 && entity < X.rows, ErrorCode::invalid_argument, where, "entity=", entity,
          " outside [0, ", X.rows, ")");
  require(reference_cluster >= 0 && reference_cluster < means.rows(), ErrorCode::invalid_argument,
          where, "reference_cluster=", reference_cluster, " outside [0, ", means.rows(), ")");
  require(params.top_features >= 1, ErrorCode::invalid_argument, where, "top_features=",
          params.top_features, " < 1");
  require(feature_names.empty() || static_cast<int64_t>(feature_names.size()) == X.cols,
          ErrorCode::shape_mismatch, where, feature_names.size(), " feature names for ", X.cols,
          " features");
  require(fleet_means.empty() || static_cast<int64_t>(fleet_means.size()) == X.cols,
          ErrorCode::shape_mismatch, where, fleet_means.size(), " fleet means for ", X.cols,
          " features");
}

// The size of the entity's own cluster when its centre is taken without it
// (centre' = (n·c − x) / (n − 1)), else 0: leaving the entity out applies
// only to its own cluster's centre, and only where others remain.
double leave_one_out_size(const ExplainParams& params, int32_t cluster, int32_t reference_cluster,
                          int64_t clusters, const std::vector<int64_t>& cluster_sizes) {
  if (!params.leave_one_out || reference_cluster != cluster) return 0.0;
  internal::require(static_cast<int64_t>(cluster_sizes.size()) == clusters,
                    ErrorCode::shape_mismatch, "explain_entity",
                    "leave_one_out needs cluster_sizes for ", clusters, " clusters");
  const int64_t size = cluster_sizes[static_cast<std::size_t>(reference_cluster)];
  return size > 1 ? static_cast<double>(size) : 0.0;
}

// The entity's row densely into `row` and the centre it is compared with
// into `ref` (absent features count: what peers have and the entity
// lacks); returns the distance between them.
double dense_row_and_reference(const CsrView& X, int64_t entity, const float* centre,
                               double loo_size, std::vector<float>& row, std::vector<float>& ref) {
  const int64_t d = X.cols;
  row.assign(static_cast<std::size_t>(d), 0.0f);
  for (int64_t p = X.indptr[entity]; p < X.indptr[entity + 1]; ++p) row[X.indices[p]] += X.values[p];
  ref.resize(static_cast<std::size_t>(d));
  double dist2 = 0.0;
  for (int64_t j = 0; j < d; ++j) {
    double c = centre[j];
    if (loo_size > 0.0) c = (loo_size * c - row[static_cast<std::size_t>(j)]) / (loo_size - 1.0);
    ref[static_cast<std::size_t>(j)] = static_cast<float>(c);
    const double diff = row[static_cast<std::size_t>(j)] - c;
    dist2 += diff * diff;
  }
  return std::sqrt(dist2);
}

// The `top` features of `order` that differ most (behaviour mode: the
// largest excess), ties to the value rarer in the whole fleet, then to the
// lower feature, into ex.features.
void take_top_differences(std::vector<int64_t>& order, const std::vector<float>& row,
                          const std::vector<float>& ref, const ExplainParams& params,
                          const std::vector<std::string>& feature_names,
                          const std::vector<float>& fleet_means, Explanation& ex) {
  auto key = [&](int64_t j) {
    const float diff = row[static_cast<std::size_t>(j)] - ref[static_cast<std::size_t>(j)];
    return params.mode == ExplainMode::behavior ? diff : std::fabs(diff);
  };
  auto rarity = [&](int64_t j) {
    if (fleet_means.empty()) return 0.0f;
    return std::fabs(row[static_cast<std::size_t>(j)] - fleet_means[static_cast<std::size_t>(j)]);
  };
  const auto m = std::min<std::size_t>(order.size(), static_cast<std::size_t>(params.top_features));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(m), order.end(),
                    [&](int64_t a, int64_t b) {
                      const float ka = key(a), kb = key(b);
                      if (ka != kb) return ka > kb;
                      const float ra = rarity(a), rb = rarity(b);
                      return ra != rb ? ra > rb : a < b;
                    });
  for (std::size_t k = 0; k < m; ++k) {
    const int64_t j = order[k];
    FeatureDifference f;
    f.feature = j;
    if (!feature_names.empty()) f.name = feature_names[static_cast<std::size_t>(j)];
    f.value = row[static_cast<std::size_t>(j)];
    f.center = ref[static_cast<std::size_t>(j)];
    f.difference = f.value - f.center;
    ex.features.push_back(std::move(f));
  }
}

}  // namespace

Explanation explain_entity(const CsrView& X, MatrixView<const float> means, int64_t entity,
                           int32_t cluster, int32_t reference_cluster, const ExplainParams& params,
                           const std::vector<std::string>& feature_names,
                           const std::vector<int64_t>& cluster_sizes,
                           const std::vector<float>& fleet_means) {
  check_explain_args(X, means, entity, reference_cluster, params, feature_names, fleet_means);
  const double loo_size =
      leave_one_out_size(params, cluster, reference_cluster, means.rows(), cluster_sizes);
  Explanation ex;
  ex.entity = entity;
  ex.cluster = cluster;
  ex.reference_cluster = reference_cluster;
  std::vector<float> row, ref;
  ex.distance =
      dense_row_and_reference(X, entity, means.row(reference_cluster), loo_size, row, ref);
  std::vector<int64_t> order = differing_features(row, ref, params.mode, ex);
  take_top_differences(order, row, ref, params, feature_names, fleet_means, ex);
  return ex;
}

std::vector<Explanation> explain_outliers(const CsrView& X, const std::vector<int32_t>& labels,
                                          const OutlierResult& outliers,
                                          const ExplainParams& params,
                                          const std::vector<std::string>& feature_names) {
  constexpr const char* where = "explain_outliers";
  const auto k = static_cast<int64_t>(outliers.cluster_sizes.size());
  internal::require(k > 0, ErrorCode::invalid_argument, where,
                    "the outlier result has no clusters");
  const Matrix<float> means = cluster_means(X, labels, k);

  // Clusters the small_cluster rule flagged, and for each the nearest
  // centre among the others (by distance between centres).
  std::vector<uint8_t> small(static_cast<std::size_t>(k), 0);
  for (const auto& o : outliers.outliers) {
    if (o.rules & kOutlierSmallCluster) small[static_cast<std::size_t>(o.cluster)] = 1;
  }
  std::vector<int32_t> reference(static_cast<std::size_t>(k));
  for (int64_t c = 0; c < k; ++c) {
    reference[static_cast<std::size_t>(c)] = static_cast<int32_t>(c);
    if (!small[static_cast<std::size_t>(c)]) continue;
    double best = std::numeric_limits<double>::infinity();
    for (int64_t o = 0; o < k; ++o) {
      if (small[static_cast<std::size_t>(o)] || outliers.cluster_sizes[static_cast<std::size_t>(o)] == 0) {
        continue;
      }
      double d2 = 0.0;
      for (int64_t j = 0; j < X.cols; ++j) {
        const double diff = static_cast<double>(means(c, j)) - means(o, j);
        d2 += diff * diff;
      }
      if (d2 < best) {
        best = d2;
        reference[static_cast<std::size_t>(c)] = static_cast<int32_t>(o);
      }
    }
  }

  std::vector<Explanation> out;
  out.reserve(outliers.outliers.size());
  for (const auto& o : outliers.outliers) {
    out.push_back(explain_entity(X, means.view(), o.entity, o.cluster,
                                 reference[static_cast<std::size_t>(o.cluster)], params,
                                 feature_names, outliers.cluster_sizes));
  }
  return out;
}

}  // namespace stray
