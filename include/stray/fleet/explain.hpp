// stray — explanations in the original features.
//
// Clustering and outlier scores live in PCA space; an analyst reads
// features. An explanation compares an entity's row of the (normalised)
// feature matrix with a cluster centre in the same features — the mean over
// the cluster's members, computed from the CSR — and keeps the features
// that differ most:
//
//   config     largest |difference| of either sign: what the host has that
//              its peers do not (lua5.3) and what it lacks that they have
//              (make, g++) — for configuration drift;
//   behavior   largest positive differences only: what the host does more
//              of than its peers (a tor process, connections to port 1389)
//              — for threat hunting, where "runs less" is rarely the finding.
//
// difference = value − centre. Ties (hundreds of features at ±1.000 are
// common with presence features) go to the feature most unusual in the
// whole fleet — |value − fleet mean| largest: for a package the entity
// alone has, the rarest in the fleet; for one it lacks, the most common —
// when fleet means are given, then to the lower feature index.
//
// Thread safety: pure functions of their arguments (inputs are only read);
// safe to call from any number of threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stray/core/matrix.hpp"
#include "stray/fleet/outliers.hpp"

namespace stray {

enum class ExplainMode { config, behavior };

/// "config" | "behavior".
const char* to_string(ExplainMode mode);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
ExplainMode parse_explain_mode(const std::string& name);

struct ExplainParams {
  ExplainMode mode = ExplainMode::config;
  /// Features kept per explanation (≥ 1).
  int64_t top_features = 10;
  /// Compare with the centre of the *other* members (the entity's own row
  /// left out), so a member of a small cluster is not compared with itself.
  bool leave_one_out = false;
};

struct FeatureDifference {
  int64_t feature = 0;     // column
  std::string name;        // feature name when names were given, else ""
  float value = 0.0f;      // the entity's value
  float center = 0.0f;     // the reference centre's value
  float difference = 0.0f; // value − center
};

struct Explanation {
  int64_t entity = 0;
  int32_t cluster = 0;            // the entity's cluster
  int32_t reference_cluster = 0;  // the cluster whose centre it was compared with
  double distance = 0.0;          // ‖row − reference centre‖ in the original features
  std::vector<FeatureDifference> features;  // most telling first
  /// Features where the entity differs clearly from the centre, by at
  /// least 0.5 (in behavior mode: exceeds it by 0.5) — for presence
  /// features, unlike most of its peers; the kept `features` lead them
  /// when the top differences are that large. The two ends counted apart:
  /// `unique`: the entity has it and no peer does (centre 0);
  /// `missing`: the entity lacks it and every peer has it (centre 1, for
  /// presence features) — "274 differ from all peers (+63 / −211)".
  int64_t n_differing = 0;
  int64_t n_unique = 0;
  int64_t n_missing = 0;
};

/// Means of the members of each cluster: [n_clusters x n_features],
/// accumulated in float64; an empty cluster's row is 0. X is [n x d] CSR,
/// labels [n] in [0, n_clusters). Memory: n_clusters × d floats.
Matrix<float> cluster_means(const CsrView& X, const std::vector<int32_t>& labels,
                            int64_t n_clusters);
Matrix<float> cluster_means(MatrixView<const float> X, const std::vector<int32_t>& labels,
                            int64_t n_clusters);

/// ‖x_i − means[labels[i]]‖² for every row [n], in the original features,
/// accumulated in float64 (an outlier score when no other space is used).
std::vector<float> squared_distances_to_means(const CsrView& X, const std::vector<int32_t>& labels,
                                              MatrixView<const float> means);

/// Explains row `entity` of X against row `reference_cluster` of `means`
/// (from cluster_means). `cluster_sizes` [n_clusters] is needed only for
/// leave_one_out (pass {} otherwise); `feature_names` [d] or empty;
/// `fleet_means` [d] (each feature's mean over the whole fleet, for the
/// tie-break) or empty.
Explanation explain_entity(const CsrView& X, MatrixView<const float> means, int64_t entity,
                           int32_t cluster, int32_t reference_cluster,
                           const ExplainParams& params = {},
                           const std::vector<std::string>& feature_names = {},
                           const std::vector<int64_t>& cluster_sizes = {},
                           const std::vector<float>& fleet_means = {});

/// Explains every outlier of `outliers` (from find_outliers over the same
/// labels), in its order. Each is compared with its own cluster's centre —
/// except members of a cluster the small_cluster rule flagged (its centre
/// is mostly themselves), which are compared with the nearest centre of a
/// cluster that rule did not flag, when there is one.
std::vector<Explanation> explain_outliers(const CsrView& X, const std::vector<int32_t>& labels,
                                          const OutlierResult& outliers,
                                          const ExplainParams& params = {},
                                          const std::vector<std::string>& feature_names = {});

}  // namespace stray
