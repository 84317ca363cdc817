// Cluster profiles from a fitted model's per-cluster feature means.
#include "stray/fleet/cluster_profile.hpp"

#include <algorithm>
#include <cmath>

#include "core/check.hpp"
#include "fleet/pipeline_internal.hpp"
#include "stray/fleet/pipeline.hpp"

namespace stray {
namespace {

struct Candidate {
  int64_t feature;
  double members, others, fleet;
};

// Larger lift first; on a tie the feature fewer entities have (the more
// telling one), then the column (names are sorted) so the order is total.
bool more_defining(const Candidate& a, const Candidate& b) {
  const double la = a.members - a.others, lb = b.members - b.others;
  if (la != lb) return la > lb;
  if (a.fleet != b.fleet) return a.fleet < b.fleet;
  return a.feature < b.feature;
}

}  // namespace

std::vector<ClusterProfile> profile_clusters(const FleetModel& model,
                                             const std::vector<std::string>& feature_names,
                                             int64_t top_features) {
  constexpr const char* where = "profile_clusters";
  internal::require(model.fitted(), ErrorCode::not_fitted, where, "the model is not fitted");
  internal::require(top_features >= 0, ErrorCode::invalid_argument, where,
                    "top_features=", top_features, " < 0");
  const int64_t k = model.n_clusters(), d = model.n_features();
  internal::require(static_cast<int64_t>(feature_names.size()) == d, ErrorCode::shape_mismatch,
                    where, feature_names.size(), " feature names for ", d, " features");
  const std::vector<double> fleet = internal::baseline_feature_means(model);
  int64_t n = 0;
  for (const int64_t size : model.cluster_sizes) n += size;
  std::vector<ClusterProfile> out(static_cast<std::size_t>(k));
  std::vector<Candidate> candidates;
  for (int64_t c = 0; c < k; ++c) {
    ClusterProfile& p = out[static_cast<std::size_t>(c)];
    p.cluster = static_cast<int32_t>(c);
    p.size = model.cluster_sizes[static_cast<std::size_t>(c)];
    const int64_t rest = n - p.size;
    candidates.clear();
    for (int64_t j = 0; j < d; ++j) {
      const double in = model.feature_means(c, j);
      const double all = fleet[static_cast<std::size_t>(j)];
      const double others =
          rest > 0 ? (all * static_cast<double>(n) - static_cast<double>(p.size) * in) /
                         static_cast<double>(rest)
                   : 0.0;
      if (in - others > 0.0) candidates.push_back({j, in, std::max(others, 0.0), all});
    }
    const auto keep =
        std::min<std::size_t>(candidates.size(), static_cast<std::size_t>(top_features));
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(keep),
                      candidates.end(), more_defining);
    for (std::size_t i = 0; i < keep; ++i) {
      const Candidate& cand = candidates[i];
      p.defining.push_back(
          {feature_names[static_cast<std::size_t>(cand.feature)], cand.members, cand.others});
    }
  }
  return out;
}

}  // namespace stray

namespace stray::internal {

std::vector<double> baseline_feature_means(const FleetModel& model) {
  const int64_t k = model.n_clusters(), d = model.n_features();
  std::vector<double> out(static_cast<std::size_t>(d), 0.0);
  int64_t n = 0;
  for (int64_t c = 0; c < k; ++c) {
    const int64_t size = model.cluster_sizes[static_cast<std::size_t>(c)];
    n += size;
    const double* mean = model.feature_means.row(c);
    for (int64_t j = 0; j < d; ++j)
      out[static_cast<std::size_t>(j)] += static_cast<double>(size) * mean[j];
  }
  for (double& v : out) v /= static_cast<double>(std::max<int64_t>(n, 1));
  return out;
}

}  // namespace stray::internal
