// stray — agglomerative (hierarchical) clustering: ward, complete, average
// and single linkage on Euclidean distances.
//
// Follows scikit-learn's AgglomerativeClustering (no connectivity) and
// scipy.cluster.hierarchy.linkage, where users will compare:
//  - the merge tree is scipy's linkage matrix Z, [(n−1) x 4]: row i merges
//    clusters Z[i,0] < Z[i,1] at distance Z[i,2] into cluster n + i of
//    Z[i,3] points; ids below n are the input rows. Rows are in order of
//    distance (a stable sort of the order the merges were found in), and
//    ids are assigned by scipy's union-find relabelling, so on data without
//    distance ties Z equals scipy's linkage(X, method) row for row;
//  - ward's distance is scipy's: sqrt(2·|a|·|b| / (|a|+|b|)) · ‖c_a − c_b‖
//    for clusters a, b with centroids c_a, c_b (the Lance–Williams ward
//    update on Euclidean distances, linkage(X, "ward") on the raw rows);
//  - labels are scikit-learn's: the tree cut at n_clusters (or, with a
//    distance threshold, at 1 + the number of merges at distance ≥ the
//    threshold) and numbered as sklearn's _hc_cut numbers them (the order of
//    its heap of cluster ids), so labels equal sklearn's labels_ exactly
//    wherever the tree is the same, not just up to a permutation;
//  - input is float32; every distance, centroid and Lance–Williams update
//    that decides anything is float64, with differences taken before
//    squaring (no ‖x‖²+‖y‖²−2x·y expansion), as scipy's pdist computes them
//    from float32 rows. (Ward's and single linkage's scans first screen the
//    candidates in float32 with a proven error bound, and compute in
//    float64 every candidate the screen cannot rule out: the decisions are
//    those of a plain float64 loop.)
//
// Ties (equal distances): the nearest-neighbour chain, the choice of the
// chain's start, the slot a merged cluster keeps and Prim's order follow
// scipy's nn_chain and mst_single_linkage, so where tied distances compare
// equal in both computations (identical rows, say) the tree is scipy's too.
// All rows identical: every merge is at distance 0 and row i of Z merges
// (row i+1 of X) with the cluster of rows 0..i — Z = [[0, 1, 0, 2],
// [2, n, 0, 3], [3, n+1, 0, 4], ...], scipy's own answer. Ward and single
// compare squared distances (no square root per candidate), which can split
// a tie that rounding of the root would have made.
//
// Growth with n rows of d features (time / memory beyond the input):
//   ward      nearest-neighbour chain on centroids and sizes:
//             O(n²·d) time, O(n·d) memory (float64 centroids and a
//             float32 copy for the screen: 12·n·d bytes)
//   single    Prim's minimum spanning tree, distances on the fly:
//             O(n²·d) time, O(n·d) memory
//   complete, average
//             nearest-neighbour chain with Lance–Williams updates on the
//             condensed distance matrix: O(n²·d) time to fill it, O(n²)
//             after; n(n−1)/2 float64 = 4·n² bytes of memory (20,000 rows:
//             1.6 GB), checked against AgglomerativeParams::memory_budget_bytes
//             and the machine's memory before anything is allocated.
// Plus O(n) for the tree and labels. The work runs on host threads: each
// step of a chain or of Prim's tree is one scan of the live clusters, tens
// of microseconds whose result decides the next step, too small for a
// backend call per step (see docs/agglomerative.md and docs/architecture.md,
// "Host steps"). The calling thread scans with helper threads that take
// blocks of a scan only while they run, so a busy machine slows a scan
// down to one thread's speed, not to a time slice per step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"

namespace stray {

enum class Linkage {
  ward,      // least increase of the within-cluster sum of squares
  complete,  // largest distance between members
  average,   // mean distance between members (UPGMA)
  single,    // smallest distance between members
};

/// "ward" | "complete" | "average" | "single".
const char* to_string(Linkage linkage);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
Linkage parse_linkage(const std::string& name);

struct AgglomerativeParams {
  /// Clusters to cut the tree into, in [1, n_samples]; 0 when
  /// distance_threshold is given. Exactly one of the two is set, as in
  /// scikit-learn (whose default is n_clusters = 2).
  int64_t n_clusters = 2;
  /// Cut where merges reach this distance (≥ 0): the clusters are those
  /// left once every merge at distance < threshold is made.
  std::optional<double> distance_threshold;
  Linkage linkage = Linkage::ward;
  /// The most memory complete and average linkage may take for their
  /// condensed distance matrix (ward and single need O(n·d) and ignore it).
  /// Over it is ErrorCode::out_of_memory before anything is allocated.
  /// Default 2 GiB: up to 23,170 rows.
  std::size_t memory_budget_bytes = std::size_t{2} << 30;
  /// Host threads; 0 = OpenMP's default (OMP_NUM_THREADS, else the cores;
  /// the CPU backend's count in the overload that takes a backend); at
  /// most 64 are used. Results do not depend on it.
  int threads = 0;
};

struct AgglomerativeResult {
  /// [n_samples] cluster of each row, in [0, n_clusters), numbered as
  /// scikit-learn's AgglomerativeClustering numbers them.
  std::vector<int32_t> labels;
  /// [(n_samples − 1) x 4] scipy's linkage matrix: child a, child b
  /// (a < b), merge distance, size of the new cluster.
  Matrix<double> linkage_matrix;
  int64_t n_leaves = 0;    // n_samples
  int64_t n_clusters = 0;  // clusters in `labels` (given, or found from the threshold)
  int threads = 0;         // host threads the scans could use
  double seconds = 0.0;    // wall time of the fit (tree and cut)
};

/// Clusters the rows of X [n_samples x n_features]: the full merge tree,
/// then the cut. n_samples ≥ 2 and every value finite (else
/// ErrorCode::invalid_argument / non_finite_input).
AgglomerativeResult agglomerative_fit(const AgglomerativeParams& params,
                                      MatrixView<const float> X);

/// The same on rows resident on `backend` (the fleet's reduced rows): read
/// in place where the backend shares host memory, else downloaded once.
AgglomerativeResult agglomerative_fit(Backend& backend, const AgglomerativeParams& params,
                                      const DeviceArray<float>& X);

/// Labels of a linkage matrix Z [(n−1) x 4] cut into n_clusters in [1, n],
/// numbered as scikit-learn's _hc_cut numbers them. `children_swapped`
/// [n−1], may be null: where non-zero, row i's children are visited in the
/// order (Z[i,1], Z[i,0]). scikit-learn's single linkage keeps each merge's
/// children in the order Prim's tree met them, not sorted, and its
/// numbering follows that order (AgglomerativeResult's labels do).
std::vector<int32_t> cut_tree_labels(MatrixView<const double> Z, int64_t n_clusters,
                                     const std::vector<uint8_t>* children_swapped = nullptr);

/// The clusters a distance threshold leaves: 1 + the merges of Z at
/// distance ≥ threshold (scikit-learn's rule).
int64_t clusters_at_threshold(MatrixView<const double> Z, double threshold);

}  // namespace stray
