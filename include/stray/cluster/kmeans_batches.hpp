// stray — k-means over rows that arrive in batches (core/row_batches.hpp):
// a fleet larger than memory clusters with exact Lloyd iterations, holding
// one batch, a sample and k x d statistics at a time.
//
// The fit (kmeans_fit_batches):
//  1. one pass learns the rows' count and shape, the column variances (for
//     tol, as kmeans_fit) and a uniform sample of init_sample_rows rows;
//  2. the initial centres are kmeans_fit on the sample (params' init,
//     n_init, max_iter and tol), or params.initial_centers when explicit;
//  3. Lloyd's iterations over all rows, each one pass: the batches'
//     statistics against the centres (cluster/kmeans_statistics.hpp),
//     merged, then the M-step with scikit-learn's relocation of empty
//     clusters; stopping where kmeans_fit stops (the squared centre shift
//     at most tol × the mean column variance; with tol = 0, when the
//     centres no longer move, which is when no label changes);
//  4. a last pass for the inertia and cluster sizes of the returned centres
//     (kept from the last iteration when the centres did not move).
// With explicit centres, or a sample holding every row, the result is
// kmeans_fit's on the same rows up to float64 rounding of the sums.
// Fitting the sample first means the full passes start near the answer:
// they refine what the sample found rather than search.
//
// Dense and sparse batches (never densified) are both taken; one source
// gives one kind. Dense rows keep their labels and Hamerly's bounds between
// passes unless keep_bounds is off (then nothing of a row outlives its
// batch).
#pragma once

#include <cstdint>

#include "stray/cluster/kmeans.hpp"
#include "stray/core/backend.hpp"
#include "stray/core/row_batches.hpp"

namespace stray {

struct BatchKMeansParams {
  KMeansParams kmeans;
  /// Rows sampled (uniformly, in one pass) for the initial centres; 0 =
  /// auto: 100 rows a cluster and at least 10,000. A sample holding every
  /// row makes the first full pass a check of kmeans_fit's answer.
  int64_t init_sample_rows = 0;
  /// Keep each dense row's label and distance bounds between passes (16
  /// bytes a row, in the backend's memory), so that a pass skips the rows
  /// whose nearest centre cannot have changed — kmeans_fit's pruning, with
  /// the same answer. false: nothing is kept per row, every pass assigns
  /// every row. Sparse rows are always assigned in full.
  bool keep_bounds = true;
};

struct BatchKMeansResult : KMeansModel {
  int64_t n_samples = 0;     // rows over all batches
  int64_t sample_rows = 0;   // rows the initial centres were fitted on (0: explicit)
  int sample_iter = 0;       // Lloyd iterations of the sample's fit
  int passes = 0;            // passes over the batches, all included
  double seconds = 0.0;      // wall time of the fit
};

/// Fits k-means to every row `batches` gives (n_iter counts the Lloyd
/// passes over all rows). Bad parameters, rows, weights (a total of 0
/// included) and passes that differ are ErrorCode errors.
BatchKMeansResult kmeans_fit_batches(Backend& backend, const BatchKMeansParams& params,
                                     RowBatches& batches);

}  // namespace stray
