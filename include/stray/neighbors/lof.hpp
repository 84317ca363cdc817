// stray — Local Outlier Factor, as scikit-learn's LocalOutlierFactor
// (docs/neighbors.md).
//
// With N_k(i) the k nearest other rows of row i (Backend::knn: exact, ties
// to the lower index) and d(i, j) their Euclidean distances:
//   k_distance(j)   = the distance from j to its k-th nearest neighbour
//   reach_k(i, j)   = max(d(i, j), k_distance(j))
//   lrd(i)          = 1 / (mean_{j ∈ N_k(i)} reach_k(i, j) + 1e-10)
//   LOF(i)          = mean_{j ∈ N_k(i)} lrd(j) / lrd(i)
//   negative_outlier_factor(i) = −LOF(i)        (about −1 for inliers)
// and row i is an outlier (label −1) where negative_outlier_factor < offset
// (−1.5 for contamination "auto"), else an inlier (1): fit_predict's labels.
// The 1e-10 is scikit-learn's guard: a row with at least k exact duplicates
// has reach distances 0 and lrd = 1e10, and so do its duplicates; a row
// near such a group but not in it then gets a LOF of order 1e10 × its
// distance (see docs/neighbors.md on fleets of identical hosts).
//
// Differences from scikit-learn: rows are float32 (distances and everything
// after them float64, as scikit-learn on the same values in float64); ties
// among equally distant neighbours go to the lower row index, where
// scikit-learn's order depends on its search algorithm (scores differ only
// where the k-th neighbour is tied with another row of a different
// k-distance).
//
// Memory: the neighbour lists (n × k × 16 bytes) and Backend::knn's
// temporaries; time: Backend::knn's, then O(n·k).
//
// Thread safety: the functions keep no state between calls and only read
// their inputs (a LofModel too); a Backend is used by one thread at a time (core/backend.hpp), so
// concurrent calls each bring their own
// Backend.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"

namespace stray {

struct LofParams {
  /// Neighbours per row (k). As scikit-learn, a value above n − 1 is
  /// lowered to n − 1 (LofResult::warning says so); it must be at least 1.
  int64_t n_neighbors = 20;
  /// Keep the training rows in the model, so lof_score_samples can score
  /// new rows against them (scikit-learn's novelty=True).
  bool novelty = false;
  /// The expected share of outliers, in (0, 0.5]: the offset is then that
  /// percentile of negative_outlier_factor (numpy's linear interpolation).
  /// Empty: scikit-learn's "auto", offset −1.5.
  std::optional<double> contamination = std::nullopt;
  /// Keep every row's neighbours and distances in the result.
  bool keep_neighbors = false;
  /// Fit on the distinct rows only, each row scored as its first copy: each
  /// point counted once, in the spirit of the k-distinct distance Breunig
  /// et al. suggest for duplicates. Without it (scikit-learn's way), a row with at least k
  /// exact copies has an lrd of 1e10 and a row near such a group a LOF of
  /// order 1e10 × its distance; with it, a group of identical rows is one
  /// point of ordinary density, and its neighbours are graded against it.
  /// The model then keeps the distinct rows; neighbour lists name the
  /// first copy of each neighbour; contamination is a share of all rows.
  /// Data with fewer than two distinct rows is fitted as it is.
  bool distinct_rows = false;
};

/// A fitted LOF: what scoring new rows against the training rows needs.
struct LofModel {
  int64_t n_neighbors = 0;         // k as used (after lowering to n − 1)
  double offset = -1.5;            // outlier where the score is below it
  bool novelty = false;
  Matrix<float> reference;         // [n x d] the training rows (novelty, dense fit; else empty)
  CsrMatrix sparse_reference;      // the training rows (novelty, sparse fit, canonical; else empty)
  std::vector<double> k_distance;  // [n] each training row's k-distance
  std::vector<double> lrd;         // [n] each training row's local reachability density
};

struct LofResult : LofModel {
  std::vector<double> negative_outlier_factor;  // [n] −LOF of each training row
  std::vector<int32_t> labels;                  // [n] −1 outlier, 1 inlier
  int64_t n_outliers = 0;                       // rows labelled −1
  Matrix<int64_t> neighbor_indices;   // [n x k] with keep_neighbors, else empty
  Matrix<double> neighbor_distances;  // [n x k] with keep_neighbors, else empty
  /// scikit-learn's warnings, where it would give one: n_neighbors lowered
  /// to n − 1, or scores below −1e7 from duplicated rows. Empty otherwise.
  std::string warning;
  double seconds = 0.0;  // wall time of the fit (upload included)
};

/// Fits LOF on the rows of X [n x d] (finite, n ≥ 2).
LofResult lof_fit(Backend& backend, const LofParams& params, MatrixView<const float> X);
/// The same on X resident on `backend` (checked finite by its column
/// statistics); the rows come to the host only for a novelty model.
LofResult lof_fit(Backend& backend, const LofParams& params, const DeviceArray<float>& X);

/// Fits LOF on sparse rows X [n x d] (CSR, never densified whole), with
/// Backend::csr_knn's distances (float64, the expanded form, as
/// scikit-learn's for sparse input: neighbors/knn.hpp). A row's columns
/// may come in any order and repeat (repeats add up). distinct_rows
/// compares rows by value (a stored zero is no entry). A novelty model
/// keeps the rows in sparse_reference.
LofResult lof_fit(Backend& backend, const LofParams& params, const CsrView& X);

/// −LOF of new rows X [q x d] against a novelty model's training rows
/// (scikit-learn's score_samples: a training row among X counts itself as a
/// neighbour, and X's rows are not each other's). Lower is more abnormal.
std::vector<double> lof_score_samples(Backend& backend, const LofModel& model,
                                      MatrixView<const float> X);
/// lof_score_samples − offset: negative for outliers.
std::vector<double> lof_decision_function(Backend& backend, const LofModel& model,
                                          MatrixView<const float> X);
/// −1 where lof_decision_function < 0, else 1.
std::vector<int32_t> lof_predict(Backend& backend, const LofModel& model,
                                 MatrixView<const float> X);

/// The same for sparse rows X (CSR). Whichever form X comes in, the
/// model's decides the distance: rows are compared as the model was fitted
/// (dense X becomes CSR for a sparse model; sparse X is densified for a
/// dense one, within memory).
std::vector<double> lof_score_samples(Backend& backend, const LofModel& model, const CsrView& X);
std::vector<double> lof_decision_function(Backend& backend, const LofModel& model,
                                          const CsrView& X);
std::vector<int32_t> lof_predict(Backend& backend, const LofModel& model, const CsrView& X);

}  // namespace stray
