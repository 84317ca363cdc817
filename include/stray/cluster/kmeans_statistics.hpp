// stray — one Lloyd iteration as statistics that merge: k-means over rows
// that never sit in one place.
//
// An iteration of Lloyd's algorithm needs, of each row, only its nearest
// centre; what it keeps of the rows is per-cluster sums and weights. Those
// add up, so a fleet larger than memory (or spread over machines) clusters
// exactly as if it were whole: each batch of rows gives its statistics
// against the current centres (kmeans_statistics), statistics merge in any
// grouping (KMeansStatistics::merge; a distributed engine's reduce), and
// kmeans_update turns the merged statistics into the next centres. Empty
// clusters are relocated by scikit-learn's rule — to the rows farthest from
// their centres — so each batch's statistics carry its farthest rows.
// kmeans_fit_batches (cluster/kmeans_batches.hpp) runs the whole fit this
// way over a source of batches.
//
// Sums and weights are float64 sums of exact products w·x: another
// grouping changes them by float64 rounding only. Distances are float32,
// each batch centred on its own column means as kmeans_fit centres its
// rows, so a batch's labels, inertia and farthest rows can depend on the
// grouping where distances tie within float32 rounding.
//
// Thread safety: as k-means (cluster/kmeans.hpp): no state between calls;
// a Backend is used by one thread at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"

namespace stray {

/// A row kept for relocating empty clusters: its distance to its centre,
/// where it is and what it holds (the non-zero entries, so sparse rows stay
/// small).
struct KMeansFarRow {
  double sq_distance = 0.0;  // ‖x − c_label‖², as the fit measures it
  int64_t row = 0;           // first_row + the row's index in its batch
  int32_t label = 0;         // its nearest centre
  float weight = 1.0f;       // its sample weight
  std::vector<int32_t> columns;  // columns of the non-zero entries, increasing
  std::vector<float> values;     // their values
};

/// What Lloyd's iteration keeps of a set of rows, against fixed centres.
struct KMeansStatistics {
  Matrix<double> sums;          // [k x d] Σ w·x over each cluster's rows
  std::vector<double> weights;  // [k] Σ w over each cluster's rows
  double inertia = 0.0;         // Σ w ‖x − c_label‖² against the given centres
  int64_t n_samples = 0;        // rows seen
  /// Up to k rows farthest from their centres, farthest first (equal
  /// distances: the lower row first): enough for any number of empty
  /// clusters (at most k − 1).
  std::vector<KMeansFarRow> farthest;

  KMeansStatistics() = default;
  /// Empty statistics (no rows) for k clusters of d features.
  KMeansStatistics(int64_t n_clusters, int64_t n_features);
  int64_t n_clusters() const { return sums.rows(); }
  int64_t n_features() const { return sums.cols(); }

  /// Adds `other`'s rows: sums, weights, inertia and counts add; the
  /// farthest rows of both are kept. ErrorCode::shape_mismatch when k or d
  /// differ; default-constructed statistics take `other`'s shape. Rows of different batches should have different `row` numbers
  /// (kmeans_statistics' first_row), so that ties order the same way in
  /// any grouping.
  void merge(const KMeansStatistics& other);
};

/// The statistics of rows X [n x d] (dense) against `centers` [k x d]: each
/// row's nearest centre (ties to the lower index), sums and weights in
/// float64, inertia with each distance computed directly (as kmeans_fit's
/// inertia), and the k farthest rows. Row numbers start at `first_row`.
/// `sample_weight` [n] optional, non-negative. Non-finite values, shapes
/// that disagree and bad weights are ErrorCode errors naming the function.
KMeansStatistics kmeans_statistics(Backend& backend, MatrixView<const float> centers,
                                   MatrixView<const float> X,
                                   const std::vector<float>* sample_weight = nullptr,
                                   int64_t first_row = 0);

/// The same for sparse rows X (CSR), never densified, with the distances
/// of kmeans_fit on sparse rows (float64 expanded form).
KMeansStatistics kmeans_statistics(Backend& backend, MatrixView<const float> centers,
                                   const CsrView& X,
                                   const std::vector<float>* sample_weight = nullptr,
                                   int64_t first_row = 0);

/// The next centres from merged statistics, as kmeans_fit's M-step:
/// clusters left empty first take the farthest rows, farthest first (their
/// sums move with them), then each centre is its members' weighted mean; a
/// cluster with no weight keeps its centre.
struct KMeansUpdate {
  Matrix<float> centers;              // [k x d]
  std::vector<double> center_shift;   // [k] how far each centre moved (Euclidean)
  double squared_shift = 0.0;         // Σ center_shift²: compare with tol (kmeans.hpp)
  std::vector<int64_t> relocated;     // the clusters that were empty, in order
};
KMeansUpdate kmeans_update(MatrixView<const float> centers, const KMeansStatistics& statistics);

}  // namespace stray
