// stray — principal component analysis on any backend.
//
// Three solvers, all written once against the Backend primitives:
//  - covariance: column means and the centred scatter Σ(x−μ)(x−μ)ᵀ with
//    float64 accumulation (float32 products on centred row blocks, float64
//    across blocks), then a symmetric eigensolver. Exact; cost n·d² + d³,
//    memory d² doubles.
//  - gram: the dual, for fewer samples than features: the n x n Gram of
//    the centred rows K = X̃X̃ᵀ (same non-zero eigenvalues as the scatter),
//    its eigenvectors u, and the components X̃ᵀu/σ. Exact; cost n²·d
//    (dense) or 2·n·nnz (sparse, centred implicitly) + n³ + n·d·k, memory
//    n² doubles plus a centred copy of dense data (n·d floats).
//  - randomized: Halko, Martinsson & Tropp's randomized range finder with
//    power iterations and QR re-orthonormalisation, then a small SVD of the
//    projected matrix. Cost ≈ (2q + 2)·n·d·(k + oversamples). Centring is
//    implicit (x − μ is never formed), so sparse input stays sparse.
//
// "auto" (see choose_pca_solver) takes an exact solver — on the smaller
// side, gram when n < d, else covariance — for dense data with modest
// min(n, d), for sparse data with few samples, and whenever the full
// spectrum is needed (a variance fraction, or k close to min(n, d));
// randomized otherwise.
//
// Matches scikit-learn's PCA where users compare: explained_variance uses
// ddof = 1; the covariance solver's ratio denominator is the sum of all
// (clipped at 0) eigenvalues and the randomized solver's the total column
// variance; components follow svd_flip(u_based_decision=False) — in each
// component the entry of largest magnitude is positive; whitening divides
// by sqrt(explained_variance); a variance fraction picks the smallest count
// whose cumulative ratio exceeds it (searchsorted side="right" + 1).
// Differences: data are float32 with float64 accumulation; noise_variance of
// the covariance solver averages the discarded eigenvalues up to min(n, d)
// (sklearn's "full" solver's definition) rather than up to d; a component of
// zero variance is whitened to 0 instead of inf/NaN; randomized draws come
// from stray's own generator, so randomized results equal sklearn's only up
// to the algorithm's accuracy.
//
// Thread safety: the functions keep no state between calls and only read
// their inputs; a Backend is used by one thread at a time (core/backend.hpp), so
// concurrent calls each bring their own Backend.
// A PcaAccumulator is used by one thread at a time; merge() combines the
// accumulators of several threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"
#include "stray/core/row_batches.hpp"

namespace stray {

enum class PcaSolver {
  automatic,   // "auto": see choose_pca_solver
  covariance,  // scatter matrix + symmetric eigensolver (exact)
  randomized,  // randomized range finder + small SVD (truncated)
  gram,        // Gram of the centred rows + symmetric eigensolver (exact; the dual)
};

/// "auto" | "covariance" | "randomized" | "gram".
const char* to_string(PcaSolver solver);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
PcaSolver parse_pca_solver(const std::string& name);

struct PcaParams {
  /// Number of components to keep, 1 ≤ n_components ≤ min(n_samples,
  /// n_features); 0 keeps min(n_samples, n_features) (with the randomized
  /// solver 0 is an error).
  int64_t n_components = 0;
  /// If in (0, 1): keep the fewest components whose cumulative explained
  /// variance ratio exceeds this fraction (e.g. 0.95). Needs the full
  /// spectrum, so an exact solver (covariance or gram); n_components must
  /// then be 0.
  double variance_fraction = 0.0;
  PcaSolver solver = PcaSolver::automatic;
  /// Scale each projected coordinate to unit variance.
  bool whiten = false;
  /// Seed of the randomized solver's Gaussian test matrix (and of the
  /// gram solver's completion of zero-variance components).
  uint64_t seed = 0;
  /// Randomized: extra columns of the test matrix beyond n_components
  /// (the total is rounded up to a multiple of 16, capped at min(n, d)).
  int64_t oversamples = 10;
  /// Randomized: power iterations (each one product with X̃ᵀ and one with
  /// X̃, QR-normalised); -1 = auto, currently 4. See docs/pca.md.
  int power_iterations = -1;
};

/// A fitted PCA. All vectors have one entry per kept component unless said.
struct PcaModel {
  int64_t n_samples = 0;
  int64_t n_features = 0;
  int64_t n_components = 0;
  PcaSolver solver = PcaSolver::automatic;  // the solver that ran (never automatic once fitted)
  bool whiten = false;
  std::vector<double> mean;                      // [n_features]
  Matrix<double> components;                     // [n_components x n_features], unit rows
  std::vector<double> explained_variance;        // eigenvalues of the covariance (ddof = 1)
  std::vector<double> explained_variance_ratio;  // explained_variance / total variance
  std::vector<double> singular_values;           // of the centred data: sqrt(ev · (n − 1))
  /// Probabilistic-PCA noise: the mean variance of the discarded directions.
  double noise_variance = 0.0;
  /// Σ over features of the column variance (ddof = 1).
  double total_variance = 0.0;
  /// Wall time of the fit (uploads included), seconds.
  double seconds = 0.0;

  bool fitted() const { return n_components > 0; }
};

/// The solver "auto" resolves to for this problem. "Exact" below is gram
/// when n_samples < n_features (its n x n eigenproblem is the smaller),
/// covariance otherwise:
///  - variance_fraction set, n_components = 0, or n_components >
///    0.5 · min(n, d): exact (the full spectrum is needed);
///  - sparse input: exact when n_samples < n_features and n_samples ≤
///    2000 (the Gram costs two sparse products per sample), randomized
///    otherwise;
///  - dense: exact when min(n, d) ≤ 1000; randomized otherwise (the
///    cubic eigensolver and the quadratic Gram or scatter overtake a few
///    randomized passes beyond that).
/// An explicit solver is returned unchanged.
PcaSolver choose_pca_solver(const PcaParams& params, int64_t n_samples, int64_t n_features,
                            bool sparse);

/// Fits PCA to X [n_samples x n_features] (float32, finite, n_samples ≥ 2).
/// Host data are streamed to the backend in row blocks (covariance solver)
/// or uploaded once (randomized, gram).
PcaModel pca_fit(Backend& backend, const PcaParams& params, MatrixView<const float> X);
/// Fits PCA to a CSR matrix without densifying or centring it (the
/// covariance solver densifies one row block at a time; the gram solver
/// forms dense blocks of the centred rows' transpose, [n_features x b]).
PcaModel pca_fit(Backend& backend, const PcaParams& params, const CsrView& X);
/// Fits PCA to data already resident on the backend; X is not modified.
PcaModel pca_fit(Backend& backend, const PcaParams& params, const DeviceArray<float>& X);
/// Fits PCA to a CSR matrix already on the backend (borrow_or_upload_csr of
/// a validated host CSR), so one upload serves the fit, pca_transform and
/// later steps.
PcaModel pca_fit(Backend& backend, const PcaParams& params, const DeviceCsr& X);

/// Projects X [n x n_features] onto the components: (X − mean)·componentsᵀ,
/// divided by sqrt(explained_variance) when whitening. Result [n x n_components].
Matrix<float> pca_transform(Backend& backend, const PcaModel& model, MatrixView<const float> X);
Matrix<float> pca_transform(Backend& backend, const PcaModel& model, const CsrView& X);
/// Resident variant (result stays on the backend, e.g. for k-means next).
/// X is left untouched and not copied, so the mean is removed after the
/// product (X·Cᵀ − 1·(Cμ)ᵀ): where column means are large against the
/// spread this loses float32 digits that the host overloads (which centre
/// each block first) keep.
DeviceArray<float> pca_transform(Backend& backend, const PcaModel& model,
                                 const DeviceArray<float>& X);
/// The same for a CSR matrix resident on `backend` (borrow_or_upload_csr):
/// the result stays on the backend.
DeviceArray<float> pca_transform(Backend& backend, const PcaModel& model, const DeviceCsr& X);

/// Maps Y [n x n_components] back to feature space [n x n_features].
Matrix<float> pca_inverse_transform(Backend& backend, const PcaModel& model,
                                    MatrixView<const float> Y);

struct PcaFitTransformResult {
  PcaModel model;
  Matrix<float> transformed;  // [n_samples x n_components]
};
PcaFitTransformResult pca_fit_transform(Backend& backend, const PcaParams& params,
                                        MatrixView<const float> X);
PcaFitTransformResult pca_fit_transform(Backend& backend, const PcaParams& params,
                                        const CsrView& X);

/// Mergeable PCA statistics, for fleets that do not fit on one device or
/// live in several processes: stream batches through add(), combine
/// partial accumulators with merge() (in any grouping), then finalize().
/// The result equals the one-shot covariance fit within rounding.
///
/// Held as (n, mean, centred scatter M = Σ(x−μ)(x−μ)ᵀ) in float64 and
/// merged with Chan et al.'s pairwise update — the same information as
/// (n, Σx, ΣxxT) without the cancellation of ΣxxT − n·μμᵀ. The raw sums are
/// available (sum(), sum_outer()) and accepted (from_sums()) for engines
/// that reduce plain sums. Memory: n_features² doubles.
class PcaAccumulator {
 public:
  PcaAccumulator() = default;
  explicit PcaAccumulator(int64_t n_features);

  /// Adds the rows of a batch [rows x n_features].
  void add(Backend& backend, MatrixView<const float> batch);
  /// Adds the rows of a CSR batch (densified one row block at a time).
  void add(Backend& backend, const CsrView& batch);
  /// Adds a batch already resident on the backend.
  void add(Backend& backend, const DeviceArray<float>& batch);
  /// Adds a CSR batch already on the backend (from a validated host CSR).
  void add(Backend& backend, const DeviceCsr& batch);
  /// Adds another accumulator's rows (same n_features).
  void merge(const PcaAccumulator& other);
  /// Fits the model (covariance solver; "randomized" and "gram" are errors).
  PcaModel finalize(Backend& backend, const PcaParams& params) const;

  int64_t n_samples() const { return n_; }
  int64_t n_features() const { return d_; }
  const std::vector<double>& mean() const { return mean_; }
  /// Centred scatter Σ(x−μ)(x−μ)ᵀ, [n_features x n_features] row-major.
  const std::vector<double>& scatter() const { return scatter_; }
  /// Σx [n_features].
  std::vector<double> sum() const;
  /// ΣxxT [n_features x n_features].
  std::vector<double> sum_outer() const;
  /// Rebuilds an accumulator from raw sums (n, Σx, ΣxxT).
  static PcaAccumulator from_sums(int64_t n_samples, const std::vector<double>& sum,
                                  const std::vector<double>& sum_outer);
  /// Rebuilds an accumulator from (n, mean, centred scatter).
  static PcaAccumulator from_moments(int64_t n_samples, std::vector<double> mean,
                                     std::vector<double> scatter);

 private:
  void merge_moments(int64_t n, const double* mean, const double* scatter);

  int64_t d_ = 0;
  int64_t n_ = 0;
  std::vector<double> mean_;
  std::vector<double> scatter_;
};

/// PCA of rows that arrive in batches (core/row_batches.hpp), never all in
/// memory: one pass through a PcaAccumulator, then the covariance solver —
/// pca_fit's covariance answer on the same rows, within rounding. Dense and
/// sparse batches (one kind a source); solver auto or covariance (the others
/// need the rows together: ErrorCode::invalid_argument), and batches without
/// sample weights (PCA takes none). Memory: n_features² doubles.
PcaModel pca_fit_batches(Backend& backend, const PcaParams& params, RowBatches& batches);

}  // namespace stray
