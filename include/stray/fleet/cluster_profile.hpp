// stray — what each cluster is: its size and the features that set its
// members apart from the rest of the fleet, so "cluster 2" reads as
// "22 images, all with apk:musl (3% of the others)".
//
// Thread safety: a pure function of its arguments; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stray {

struct FleetModel;

/// A feature that defines a cluster: members' mean against the others'.
/// For binary (presence) features both are shares in [0, 1].
struct ProfileFeature {
  std::string name;      // "group:feature"
  double members = 0.0;  // mean over the cluster's members
  double others = 0.0;   // mean over the entities of every other cluster
};

struct ClusterProfile {
  int32_t cluster = 0;
  int64_t size = 0;  // members in the model's baseline
  /// Features with members − others > 0, largest first (ties: the rarer
  /// feature in the fleet first, then name), at most `top_features`.
  std::vector<ProfileFeature> defining;
};

/// One profile per cluster of a fitted model, from its per-cluster feature
/// means and sizes (no pass over the data). With a single cluster there are
/// no others: its most common features are listed, with others = 0.
/// `feature_names` are the model's columns (model.vocabulary.feature_names).
/// O(k · d) time plus O(k · top · log top) for the selection.
std::vector<ClusterProfile> profile_clusters(const FleetModel& model,
                                             const std::vector<std::string>& feature_names,
                                             int64_t top_features);

}  // namespace stray
