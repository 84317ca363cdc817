// What every stage of a k-means fit shares: the data resident on the
// backend (column-centred where that is needed for accurate expanded
// distances), the host view it came from, and the sample weights.
#pragma once

#include <functional>
#include <vector>

#include "core/rng.hpp"
#include "stray/core/backend.hpp"
#include "stray/cluster/kmeans.hpp"

namespace stray::internal {

struct KMeansData {
  Backend& backend;
  /// The rows as the caller gave them, not centred; empty when the caller
  /// gave resident rows (then rows are read back from X).
  MatrixView<const float> host_X;
  std::vector<double> shift;         // subtracted from every row of X: the
                                     // column means, or zeros (needs_centring)
  std::vector<double> variance;      // column (population) variances
  const std::vector<float>* weights;  // host [n], null = all ones
  DeviceArray<float> device_weights;  // empty when weights is null

  /// Puts `host` on the backend, centred if needs_centring (else read in
  /// place where the backend shares host memory); a non-finite value is
  /// reported as `where`'s error, naming its cell (its row counted from
  /// `first_row`: a batch's first row in its source).
  KMeansData(Backend& be, MatrixView<const float> host, const std::vector<float>* w,
             const char* where, int64_t first_row = 0);
  /// Puts `host` on the backend less `known_shift` (an earlier pass over
  /// the same rows decided it): no column statistics are taken, and
  /// `variance` is left at zero. The rows are not scanned for non-finite
  /// values either (that pass did; the statistics' distances catch a value
  /// that turned non-finite since).
  KMeansData(Backend& be, MatrixView<const float> host, const std::vector<float>* w,
             std::vector<double> known_shift);
  /// Uses `resident` (an array of `be`) in place, or a centred copy of it
  /// if needs_centring.
  KMeansData(Backend& be, const DeviceArray<float>& resident, const std::vector<float>* w,
             const char* where);
  KMeansData(const KMeansData&) = delete;
  KMeansData& operator=(const KMeansData&) = delete;

  /// [n x d] the rows less shift, on the backend.
  const DeviceArray<float>& X() const { return *x_; }
  int64_t n() const { return x_->rows(); }
  int64_t d() const { return x_->cols(); }
  const DeviceArray<float>* w() const { return weights ? &device_weights : nullptr; }
  double weight(int64_t i) const { return weights ? (*weights)[static_cast<std::size_t>(i)] : 1.0; }
  /// Row i as X holds it (the rows less shift), written to out [d].
  void shifted_row(int64_t i, float* out) const;
  /// Uploads rows `ids`, less shift as in X, as a [ids.size() x d]
  /// backend array.
  DeviceArray<float> gather_shifted(const std::vector<int64_t>& ids);

 private:
  void upload_weights();

  DeviceArray<float> storage_;    // X when it was uploaded or centred here
  const DeviceArray<float>* x_;   // &storage_, or the caller's resident rows
};

/// Whether rows with these column means and variances must be centred for
/// the expanded distance ‖x‖² + ‖c‖² − 2x·c to be accurate: its rounding
/// grows with ‖x‖², which centring lowers by about ‖mean‖² on average. When
/// ‖mean‖² is at most the total variance, centring would at most halve the
/// norms, so the rows are used as they are and need no centred copy.
bool needs_centring(const std::vector<double>& mean, const std::vector<double>& variance);

/// A row's sample weight (1 without weights).
using RowWeight = std::function<double(int64_t)>;

/// Running float64 sums of weight(i) × mass[i] (mass null = 1) over the n
/// rows, for inverse-CDF sampling with draw_index (Backend::cumulative_mass
/// is the same sum for mass on the backend, as dense k-means++ steps use it).
std::vector<double> cumulative_mass(const RowWeight& weight, int64_t n, const float* mass);
inline std::vector<double> cumulative_mass(const KMeansData& data, const float* mass) {
  return cumulative_mass([&](int64_t i) { return data.weight(i); }, data.n(), mass);
}
/// A row drawn with probability proportional to its share of the running
/// sum; rows with no mass are never drawn.
int64_t draw_index(const std::vector<double>& cumulative, Rng& rng);

/// Centres to predict with: finite, d features, labels fit int32.
void check_kmeans_centers(MatrixView<const float> centers, int64_t d, const char* where);

/// k distinct rows of n, each draw with probability proportional to
/// weight(i) among the rows not yet drawn (random init); fewer than k rows
/// of positive weight is ErrorCode::invalid_argument.
std::vector<int64_t> draw_distinct_rows(const RowWeight& weight, int64_t n, int64_t k, Rng& rng);

/// One Lloyd run's result.
struct LloydOutcome {
  Matrix<float> centers;  // in the fit's coordinates (dense: less KMeansData::shift)
  std::vector<int32_t> labels;
  std::vector<double> sizes;
  double inertia = 0.0;
  int n_iter = 0;
  bool converged = false;
};

/// sklearn's tol: relative to the mean (unweighted) feature variance.
double absolute_tol(const KMeansParams& params, const std::vector<double>& variance);

/// The n_init runs (1 for explicit centres; "auto": 10 for random init,
/// else 1), each `one_run` (initialisation and Lloyd) drawing from one
/// generator seeded with params.seed; the lowest inertia wins (the first
/// on a tie). The result's centres are the run's as they are.
KMeansResult best_of_runs(const KMeansParams& params,
                          const std::function<LloydOutcome(Rng&)>& one_run);

/// The checks every fit makes of its parameters, X's shape [n x d] and
/// the weights (X's values are checked where they are read).
void validate_kmeans_params(const KMeansParams& p, int64_t n, int64_t d,
                            const std::vector<float>* sample_weight);

/// The M-step: centres from the per-cluster sums and weights (a cluster
/// with no weight keeps its centre), and how far each moved into
/// center_shift [k]. Returns the squared shift summed over clusters.
double update_kmeans_centers(const std::vector<double>& sums, const std::vector<double>& counts,
                             const Matrix<float>& centers, Matrix<float>& new_centers,
                             std::vector<double>& center_shift);

/// The clusters with no weight, in order (sklearn relocates them).
std::vector<int64_t> empty_clusters(const std::vector<double>& counts);
/// sklearn's relocation of one row: `row` [d] (weight w) leaves cluster
/// `from`'s sums and weight and becomes empty cluster `to`'s.
void move_row_to_empty(std::vector<double>& sums, std::vector<double>& counts, int64_t d,
                       int64_t from, int64_t to, double w, const float* row);
/// The `count` rows of largest squared distance, largest first (equal
/// distances: the lower row first); fewer where there are fewer rows.
std::vector<int64_t> farthest_rows(const std::vector<float>& sq_dist, std::size_t count);

/// Initial centres, in the centred coordinates of `data.X`: [k x d].
Matrix<float> init_kmeans_plus_plus(KMeansData& data, int64_t k, Rng& rng);
Matrix<float> init_random(KMeansData& data, int64_t k, Rng& rng);
Matrix<float> init_kmeans_parallel(KMeansData& data, const KMeansParams& params, Rng& rng);

}  // namespace stray::internal
