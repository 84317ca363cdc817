// Pieces shared by the PCA translation units (pca.cpp, pca_randomized.cpp,
// pca_accumulator.cpp). Not installed.
#pragma once

#include <cstdint>
#include <vector>

#include "stray/core/backend.hpp"
#include "stray/decomposition/pca.hpp"

namespace stray::internal {

/// Rows per host→backend block when streaming [n x d] float32 data: about
/// an eighth of the workspace budget, at least one row.
int64_t pca_block_rows(const Backend& backend, int64_t d);

/// Checks the parameters that do not depend on the solver.
void validate_pca_params(const PcaParams& p, int64_t n, int64_t d, const char* where);

/// In each row of C [k x d], makes the entry of largest magnitude positive
/// (sklearn's svd_flip with u_based_decision=False; the first of equal
/// magnitudes wins).
void flip_component_signs(Matrix<double>& components);

/// The eigen step the exact solvers share: as many leading eigenpairs of a
/// symmetric positive semi-definite S [m x m] (a scatter, or the Gram of the
/// centred rows) as the parameters need. Eigenvalues are divided by `dof`.
struct Spectrum {
  int64_t m = 0;  // order of S
  int64_t k = 0;  // components kept (≤ rank_bound)
  /// [m] eigenvalues / dof, descending, clipped at 0; with largest_only
  /// only the first k are known (the rest are 0 here, their sum is `rest`).
  std::vector<double> variance;
  /// [k x m] the unit eigenvectors of the first k, largest first.
  std::vector<double> vectors;
  double total = 0.0;  // the sum of all m eigenvalues / dof
  double rest = 0.0;   // largest_only: the sum of those not computed
  bool largest_only = false;
};

/// The spectrum of S [m x m] for `params` (a fixed count, a variance
/// fraction or all components), with at most rank_bound = min(n, d)
/// components. S is read, not modified.
Spectrum symmetric_spectrum(Backend& backend, const PcaParams& params, int64_t m, const double* S,
                            int64_t rank_bound, double dof);

/// The model from a spectrum and its components [k x d] (unit rows; their
/// signs are fixed here, svd_flip's convention).
PcaModel model_from_spectrum(const PcaParams& params, int64_t n, const std::vector<double>& mean,
                             const Spectrum& spectrum, Matrix<double> components,
                             int64_t rank_bound, PcaSolver solver);

/// The covariance solver's model from (n, mean, centred scatter [d x d]).
PcaModel pca_model_from_scatter(Backend& backend, const PcaParams& params, int64_t n,
                                const std::vector<double>& mean,
                                const std::vector<double>& scatter, const char* where);

/// X̃ = X − 1·μᵀ as a linear operator on the backend, never formed.
class CenteredOperator {
 public:
  virtual ~CenteredOperator() = default;
  virtual int64_t rows() const = 0;
  virtual int64_t cols() const = 0;
  /// Y [rows x l] = X̃ · B, B [cols x l].
  virtual void apply(const DeviceArray<float>& B, DeviceArray<float>& Y) = 0;
  /// Z [cols x l] = X̃ᵀ · Q, Q [rows x l].
  virtual void apply_transposed(const DeviceArray<float>& Q, DeviceArray<float>& Z) = 0;
};

/// Randomized truncated SVD of the operator (Halko et al., algorithm 4.4
/// with QR after every product). `column_var` are population variances, for
/// the ratio denominator.
PcaModel pca_randomized(Backend& backend, const PcaParams& params, CenteredOperator& op,
                        const std::vector<double>& mean, const std::vector<double>& column_var);

/// Operators over a dense resident X (centring corrected on the fly unless
/// `already_centred`) and over a resident CSR matrix.
std::unique_ptr<CenteredOperator> make_dense_operator(Backend& backend, const DeviceArray<float>& X,
                                                      const std::vector<double>& mean,
                                                      bool already_centred);
/// `Xt` (optional) is X's transpose, for faster X̃ᵀ·Q products.
std::unique_ptr<CenteredOperator> make_sparse_operator(Backend& backend, const DeviceCsr& X,
                                                       const DeviceCsr* Xt,
                                                       const std::vector<double>& mean);

/// The Gram solver (pca_gram.cpp): PCA from K = X̃X̃ᵀ [n x n], the dual of
/// the covariance, for n < d. `Xc` is dense data already centred on `mean`;
/// a CSR operator is centred implicitly. `where` names the caller in errors.
PcaModel pca_gram_dense(Backend& backend, const PcaParams& params, const DeviceArray<float>& Xc,
                        const std::vector<double>& mean, const char* where);
PcaModel pca_gram_sparse(Backend& backend, const PcaParams& params, const DeviceCsr& X,
                         const std::vector<double>& mean, const char* where);

}  // namespace stray::internal
