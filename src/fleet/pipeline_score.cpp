// Per-cluster feature statistics and the scores computed from them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "fleet/pipeline_internal.hpp"
#include "internal/check.hpp"

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

OutlierResult flag_with_thresholds(const std::vector<int32_t>& labels,
                                   const std::vector<float>& scores, int64_t k, int64_t top_n,
                                   double top_fraction, const std::vector<double>& thresholds,
                                   const std::vector<uint8_t>& small) {
  OutlierResult r;
  const std::size_t n = labels.size();
  r.cluster_sizes.assign(static_cast<std::size_t>(k), 0);
  r.thresholds = thresholds;
  r.is_outlier.assign(n, 0);
  for (const int32_t l : labels) ++r.cluster_sizes[static_cast<std::size_t>(l)];
  // Members per cluster by index (counting sort), then by score within each.
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
    const double threshold = thresholds[static_cast<std::size_t>(c)];
    const auto n_fraction =
        static_cast<int64_t>(std::floor(top_fraction * static_cast<double>(size) + 1e-9));
    for (int64_t rank = 0; rank < size; ++rank) {
      const int64_t i = *(b + rank);
      const double s = scores[static_cast<std::size_t>(i)];
      uint32_t rules = 0;
      if (rank < top_n) rules |= kOutlierTopN;
      if (rank < n_fraction) rules |= kOutlierTopFraction;
      if (!std::isnan(threshold) && s > threshold) rules |= kOutlierPercentile;
      if (small[static_cast<std::size_t>(c)]) rules |= kOutlierSmallCluster;
      if (rules == 0) continue;
      r.is_outlier[static_cast<std::size_t>(i)] = 1;
      r.outliers.push_back({i, static_cast<int32_t>(c), s, rank, size, rules});
    }
  }
  return r;
}

}  // namespace stray::internal
