// Per-cluster feature statistics and the scores computed from them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "fleet/pipeline_internal.hpp"
#include "core/check.hpp"

namespace stray::internal {

void fit_cluster_feature_stats(Backend& backend, const DeviceCsr& X,
                               const std::vector<int32_t>& labels, int64_t k, FleetModel& model) {
  const int64_t d = X.cols;
  model.cluster_sizes.assign(static_cast<std::size_t>(k), 0);
  for (const int32_t c : labels) ++model.cluster_sizes[static_cast<std::size_t>(c)];
  model.feature_means = Matrix<double>(k, d, 0.0);
  model.feature_sq_means = Matrix<double>(k, d, 0.0);
  Matrix<double> stored(k, d, 0.0);
  backend.csr_cluster_sums(X, labels.data(), k, model.feature_means.data(),
                           model.feature_sq_means.data(), stored.data());
  // A feature's scale: the mean square of its stored values, fleet-wide.
  model.feature_scale.assign(static_cast<std::size_t>(d), 0.0);
  std::vector<double> df(static_cast<std::size_t>(d), 0.0);
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < d; ++j) {
      model.feature_scale[static_cast<std::size_t>(j)] += model.feature_sq_means(c, j);
      df[static_cast<std::size_t>(j)] += stored(c, j);
    }
  }
  for (int64_t j = 0; j < d; ++j) {
    auto& s = model.feature_scale[static_cast<std::size_t>(j)];
    const double n = df[static_cast<std::size_t>(j)];
    s = n > 0 ? s / n : 1.0;
  }
  for (int64_t c = 0; c < k; ++c) {
    const int64_t size = model.cluster_sizes[static_cast<std::size_t>(c)];
    if (size == 0) continue;
    const double inv = 1.0 / static_cast<double>(size);
    double* m1 = model.feature_means.row(c);
    double* m2 = model.feature_sq_means.row(c);
    for (int64_t j = 0; j < d; ++j) {
      m1[j] *= inv;
      m2[j] *= inv;
    }
  }
}

std::vector<uint8_t> small_clusters(const std::vector<int64_t>& sizes, int64_t small_cluster_size) {
  std::vector<uint8_t> small(sizes.size(), 0);
  for (std::size_t c = 0; c < sizes.size(); ++c) {
    small[c] = small_cluster_size > 0 && sizes[c] >= 1 && sizes[c] <= small_cluster_size;
  }
  return small;
}

std::vector<int32_t> reference_clusters(const Matrix<double>& means,
                                        const std::vector<int64_t>& sizes,
                                        const std::vector<uint8_t>& small) {
  const auto k = static_cast<int64_t>(sizes.size());
  const int64_t d = means.cols();
  std::vector<int32_t> ref(static_cast<std::size_t>(k));
  auto eligible = [&](int64_t o) {
    return !small[static_cast<std::size_t>(o)] && sizes[static_cast<std::size_t>(o)] > 1;
  };
  for (int64_t c = 0; c < k; ++c) {
    ref[static_cast<std::size_t>(c)] = static_cast<int32_t>(c);
    if (!small[static_cast<std::size_t>(c)] && sizes[static_cast<std::size_t>(c)] != 1) continue;
    double best = std::numeric_limits<double>::infinity();
    for (int64_t o = 0; o < k; ++o) {
      if (o == c || !eligible(o)) continue;
      double d2 = 0.0;
      for (int64_t j = 0; j < d; ++j) {
        const double diff = means(c, j) - means(o, j);
        d2 += diff * diff;
      }
      if (d2 < best) {
        best = d2;
        ref[static_cast<std::size_t>(c)] = static_cast<int32_t>(o);
      }
    }
  }
  return ref;
}

std::vector<float> feature_space_scores(Backend& backend, const DeviceCsr& X,
                                        const std::vector<int32_t>& labels,
                                        const FleetModel& model, bool members,
                                        std::span<const UnseenFeature> unseen) {
  const int64_t n = X.rows;
  const bool standardized = model.score.space == ScoreSpace::standardized;
  ClusterProfiles profiles;
  profiles.k = model.n_clusters();
  profiles.d = X.cols;
  profiles.mean = model.feature_means.data();
  profiles.sq_mean = model.feature_sq_means.data();
  profiles.scale = model.feature_scale.data();
  profiles.sizes = model.cluster_sizes.data();
  profiles.standardized = standardized;
  profiles.variance_floor = model.score.variance_floor;
  // The prior lives as long as the call; computed only where it is used.
  std::vector<double> prior;
  if (standardized && model.score.shrinkage > 0.0) {
    prior = baseline_feature_variances(model);
    profiles.shrinkage = model.score.shrinkage;
    profiles.prior_variance = prior.data();
  }
  // Each row against its cluster's reference (itself, or the nearest large
  // cluster for a small one), left out of its own cluster when fitting.
  std::vector<int32_t> reference(static_cast<std::size_t>(n));
  std::vector<uint8_t> leave_out(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t c = labels[static_cast<std::size_t>(i)];
    const int32_t r = model.reference[static_cast<std::size_t>(c)];
    reference[static_cast<std::size_t>(i)] = r;
    leave_out[static_cast<std::size_t>(i)] = members && r == c;
  }
  std::vector<float> out(static_cast<std::size_t>(n));
  backend.csr_profile_scores(X, profiles, reference.data(), leave_out.data(), out.data());
  const double unseen_share = standardized ? 1.0 / model.score.variance_floor : 0.0;
  for (const UnseenFeature& u : unseen) {
    if (u.normalized == 0.0) continue;
    auto& s = out[static_cast<std::size_t>(u.entity)];
    s = static_cast<float>(s + (standardized ? unseen_share : u.normalized * u.normalized));
  }
  return out;
}

std::vector<double> baseline_feature_variances(const FleetModel& model) {
  const int64_t k = model.n_clusters(), d = model.n_features();
  std::vector<double> m1(static_cast<std::size_t>(d), 0.0), m2(m1.size(), 0.0);
  int64_t n = 0;
  for (int64_t c = 0; c < k; ++c) {
    const auto size = static_cast<double>(model.cluster_sizes[static_cast<std::size_t>(c)]);
    n += model.cluster_sizes[static_cast<std::size_t>(c)];
    const double* mean = model.feature_means.row(c);
    const double* sq = model.feature_sq_means.row(c);
    for (int64_t j = 0; j < d; ++j) {
      m1[static_cast<std::size_t>(j)] += size * mean[j];
      m2[static_cast<std::size_t>(j)] += size * sq[j];
    }
  }
  const double inv = 1.0 / static_cast<double>(std::max<int64_t>(n, 1));
  for (std::size_t j = 0; j < m1.size(); ++j) {
    const double mean = m1[j] * inv;
    m1[j] = std::max(0.0, m2[j] * inv - mean * mean);
  }
  return m1;
}

void add_unseen_squares(std::vector<float>& scores, std::span<const UnseenFeature> unseen) {
  for (const UnseenFeature& u : unseen) {
    auto& s = scores[static_cast<std::size_t>(u.entity)];
    s = static_cast<float>(s + u.normalized * u.normalized);
  }
}

}  // namespace stray::internal
