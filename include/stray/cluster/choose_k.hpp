// stray — choosing the number of clusters from the data.
//
// k-means on a sample for each k in a range, scored by the mean silhouette
// (include/stray/metrics/silhouette.hpp: singletons score 0, so the curve
// does not climb toward k = n the way the simplified silhouette does). The
// rule keeps the *smallest* k whose silhouette is near the best one: on real
// fleets the curve is often flat near its top (41 real container images:
// 0.268 at k = 3, 0.270 at k = 6), and the fewer, larger clusters are the
// ones an analyst can name. "Near" is relative to what the best k leaves
// unexplained, 1 − silhouette (about a cluster's spread over its distance to
// the next): where clusters are tight (real image histories score 0.94) two
// true clusters merged cost 0.01 of silhouette, which a fixed margin would
// accept. The whole curve, with inertia, is returned so a person can decide
// on the same numbers.
//
// Thread safety: choose_k keeps no state between calls and only reads X;
// a Backend is used by one thread at a time (core/backend.hpp), so
// concurrent calls each bring their own Backend.
#pragma once

#include <cstdint>
#include <vector>

#include "stray/cluster/kmeans.hpp"
#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"

namespace stray {

struct ChooseKParams {
  int64_t k_min = 2;
  /// Also capped by the sample's distinct rows (more clusters than distinct
  /// points only split duplicates) and by sample − 1.
  int64_t k_max = 50;
  /// Rows drawn (uniformly, seeded by kmeans.seed) for the scan. The
  /// sample's distance matrix is computed once: sample² floats of memory.
  int64_t sample_size = 2000;
  /// The smallest k whose 1 − silhouette ≤ (1 + tolerance) · (1 − best)
  /// wins, i.e. silhouette ≥ best − tolerance · (1 − best). ≥ 0.
  double tolerance = 0.03;
  /// Parameters of each fit; n_clusters is ignored. n_init = 0 means 10
  /// restarts for samples of up to 500 rows (a small sample's curve is flat
  /// and one fit's luck would decide k), 2 above; max_iter is capped at 30
  /// here (a scan, not the final fit).
  KMeansParams kmeans;
};

/// One k tried.
struct KCandidate {
  int64_t k = 0;
  double silhouette = 0.0;  // mean silhouette on the sample
  double inertia = 0.0;     // k-means inertia on the sample
};

struct KChoice {
  int64_t k = 1;  // 1 when the sample has fewer than 2 distinct rows
  int64_t sample_size = 0;
  int64_t distinct_rows = 0;  // distinct rows in the sample
  double best_silhouette = 0.0;
  /// Every k tried, in increasing k: every k up to 16, then steps of 4 to
  /// 32, then 8; the scan stops early once three k in a row score below
  /// half the best.
  std::vector<KCandidate> curve;
};

/// Scans k over X [n x d] (n ≥ 2, finite). Throws ErrorCode::invalid_argument
/// for parameters out of range (k_min < 2, k_max < k_min, sample_size < 2,
/// tolerance < 0 or not finite).
KChoice choose_k(Backend& backend, const ChooseKParams& params, MatrixView<const float> X);

/// The same rule over the cuts of one merge tree (agglomerative clustering,
/// cluster/agglomerative.hpp): Z [(n − 1) x 4] is scipy's linkage matrix
/// over the rows of X [n x d]; each k's labels are the tree cut into k
/// clusters (cut_tree_labels), scored on the sample's rows. A candidate's
/// inertia is the sample's within-cluster sum of squares under that cut.
/// params.kmeans is used for its seed only. Throws as choose_k, and
/// ErrorCode::shape_mismatch when Z does not fit X.
KChoice choose_k_from_tree(Backend& backend, const ChooseKParams& params,
                           MatrixView<const float> X, MatrixView<const double> Z);

}  // namespace stray
