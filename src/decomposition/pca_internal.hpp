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

}  // namespace stray::internal
