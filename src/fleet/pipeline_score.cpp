// Per-cluster feature statistics and the scores computed from them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "fleet/pipeline_internal.hpp"
#include "core/check.hpp"

namespace stray::internal {

void fit_cluster_feature_stats(const CsrView& X, const std::vector<int32_t>& labels, int64_t k,
                               FleetModel& model) {
  const int64_t d = X.cols;
  model.cluster_sizes.assign(static_cast<std::size_t>(k), 0);
  model.feature_means = Matrix<double>(k, d, 0.0);
  model.feature_sq_means = Matrix<double>(k, d, 0.0);
  model.feature_scale.assign(static_cast<std::size_t>(d), 0.0);
  std::vector<int64_t> df(static_cast<std::size_t>(d), 0);
  // One pass in row order: float64 sums in a fixed order, so the result does
  // not depend on threads.
  for (int64_t i = 0; i < X.rows; ++i) {
    const int32_t c = labels[static_cast<std::size_t>(i)];
    ++model.cluster_sizes[static_cast<std::size_t>(c)];
    double* m1 = model.feature_means.row(c);
    double* m2 = model.feature_sq_means.row(c);
    for (int64_t p = X.indptr[i]; p < X.indptr[i + 1]; ++p) {
      const int32_t j = X.indices[p];
      const double v = X.values[p];
      m1[j] += v;
      m2[j] += v * v;
      model.feature_scale[static_cast<std::size_t>(j)] += v * v;
      ++df[static_cast<std::size_t>(j)];
    }
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
  for (int64_t j = 0; j < d; ++j) {
    auto& s = model.feature_scale[static_cast<std::size_t>(j)];
    const int64_t n = df[static_cast<std::size_t>(j)];
    s = n > 0 ? s / static_cast<double>(n) : 1.0;
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

namespace {

// One feature's share of the score: x against the peers' mean and variance,
// the entity itself left out (loo) when it is one of the cluster's members.
struct Term {
  const FleetModel& m;
  bool standardized;
  double tau;

  double operator()(double x, int64_t c, int64_t j, bool loo) const {
    double mu = m.feature_means(c, j);
    double m2 = m.feature_sq_means(c, j);
    if (loo) {
      const auto n = static_cast<double>(m.cluster_sizes[static_cast<std::size_t>(c)]);
      mu = (n * mu - x) / (n - 1.0);
      m2 = (n * m2 - x * x) / (n - 1.0);
    }
    const double diff = x - mu;
    if (!standardized) return diff * diff;
    const double var = std::max(m2 - mu * mu, 0.0);
    return diff * diff / (var + tau * m.feature_scale[static_cast<std::size_t>(j)]);
  }
};

}  // namespace

std::vector<float> feature_space_scores(const CsrView& X, const std::vector<int32_t>& labels,
                                        const FleetModel& model, bool members,
                                        std::span<const UnseenFeature> unseen) {
  const int64_t k = model.n_clusters(), d = X.cols;
  const bool standardized = model.score.space == ScoreSpace::standardized;
  const Term term{model, standardized, model.score.variance_floor};
  // Σ_j term(0) per cluster — every feature the entity lacks — so a row costs
  // only its non-zeros: score = zero_sum + Σ_{x_j ≠ 0} (term(x_j) − term(0)).
  std::vector<double> zero_plain(static_cast<std::size_t>(k), 0.0);
  std::vector<double> zero_loo(static_cast<std::size_t>(k), 0.0);
  for (int64_t c = 0; c < k; ++c) {
    const bool loo = model.cluster_sizes[static_cast<std::size_t>(c)] > 1;
    for (int64_t j = 0; j < d; ++j) {
      zero_plain[static_cast<std::size_t>(c)] += term(0.0, c, j, false);
      if (loo) zero_loo[static_cast<std::size_t>(c)] += term(0.0, c, j, true);
    }
  }
  const double unseen_share = standardized ? 1.0 / model.score.variance_floor : 0.0;
  std::vector<float> out(static_cast<std::size_t>(X.rows));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < X.rows; ++i) {
    const int32_t c = labels[static_cast<std::size_t>(i)];
    const int32_t r = model.reference[static_cast<std::size_t>(c)];
    const bool loo = members && r == c && model.cluster_sizes[static_cast<std::size_t>(c)] > 1;
    double s = loo ? zero_loo[static_cast<std::size_t>(r)] : zero_plain[static_cast<std::size_t>(r)];
    for (int64_t p = X.indptr[i]; p < X.indptr[i + 1]; ++p) {
      const int32_t j = X.indices[p];
      s += term(X.values[p], r, j, loo) - term(0.0, r, j, loo);
    }
    out[static_cast<std::size_t>(i)] = static_cast<float>(std::max(s, 0.0));
  }
  for (const UnseenFeature& u : unseen) {
    if (u.normalized == 0.0) continue;
    auto& s = out[static_cast<std::size_t>(u.entity)];
    s = static_cast<float>(s + (standardized ? unseen_share : u.normalized * u.normalized));
  }
  return out;
}

void add_unseen_squares(std::vector<float>& scores, std::span<const UnseenFeature> unseen) {
  for (const UnseenFeature& u : unseen) {
    auto& s = scores[static_cast<std::size_t>(u.entity)];
    s = static_cast<float>(s + u.normalized * u.normalized);
  }
}

}  // namespace stray::internal
