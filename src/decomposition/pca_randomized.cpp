// Randomized truncated SVD for PCA (Halko, Martinsson & Tropp 2011,
// algorithm 4.4): a Gaussian test matrix, power iterations with QR after
// every product, then the exact SVD of the small projected matrix.
// Centring is implicit: products with X̃ = X − 1μᵀ are products with X
// plus a rank-one correction, so sparse data stay sparse.
#include <algorithm>
#include <cmath>

#include "core/check.hpp"
#include "core/rng.hpp"
#include "decomposition/pca_internal.hpp"

namespace stray::internal {
namespace {

/// Shared rank-one corrections. With m = μ as float32 [1 x d] and [d x 1]:
///   X̃·B  = X·B  − 1·(μᵀB)      (a row-vector shift of Y)
///   X̃ᵀ·Q = Xᵀ·Q − μ·(1ᵀQ)      (a rank-one GEMM update of Z)
class Centring {
 public:
  Centring(Backend& backend, const std::vector<double>& mean) : backend_(backend) {
    const int64_t d = static_cast<int64_t>(mean.size());
    std::vector<float> m(mean.begin(), mean.end());
    mean_row_ = backend.upload(MatrixView<const float>(m.data(), 1, d));
    mean_col_ = backend.upload(MatrixView<const float>(m.data(), d, 1));
  }

  void correct_apply(const DeviceArray<float>& B, DeviceArray<float>& Y) {
    const int64_t l = B.cols();
    if (row_.cols() != l) row_ = backend_.allocate<float>(1, l);
    backend_.gemm(false, false, 1.0f, mean_row_, B, 0.0f, row_);  // μᵀB [1 x l]
    std::vector<float> r = backend_.download_vector(row_);
    std::vector<double> shift(r.begin(), r.end());
    backend_.subtract_row_vector(Y, shift.data());
  }

  void correct_apply_transposed(const DeviceArray<float>& Q, DeviceArray<float>& Z) {
    const int64_t n = Q.rows(), l = Q.cols();
    std::vector<double> mean(static_cast<std::size_t>(l)), var(static_cast<std::size_t>(l));
    backend_.column_stats(Q, nullptr, mean.data(), var.data());
    std::vector<float> sums(static_cast<std::size_t>(l));
    for (int64_t j = 0; j < l; ++j) sums[j] = static_cast<float>(mean[j] * static_cast<double>(n));
    DeviceArray<float> s = backend_.upload(MatrixView<const float>(sums.data(), 1, l));
    backend_.gemm(false, false, -1.0f, mean_col_, s, 1.0f, Z);  // Z −= μ·sᵀ
  }

 private:
  Backend& backend_;
  DeviceArray<float> mean_row_, mean_col_, row_;
};

class DenseOperator final : public CenteredOperator {
 public:
  DenseOperator(Backend& backend, const DeviceArray<float>& X, const std::vector<double>& mean,
                bool already_centred)
      : backend_(backend), X_(X) {
    if (!already_centred) centring_ = std::make_unique<Centring>(backend, mean);
  }
  int64_t rows() const override { return X_.rows(); }
  int64_t cols() const override { return X_.cols(); }
  void apply(const DeviceArray<float>& B, DeviceArray<float>& Y) override {
    backend_.gemm(false, false, 1.0f, X_, B, 0.0f, Y);
    if (centring_) centring_->correct_apply(B, Y);
  }
  void apply_transposed(const DeviceArray<float>& Q, DeviceArray<float>& Z) override {
    backend_.gemm(true, false, 1.0f, X_, Q, 0.0f, Z);
    if (centring_) centring_->correct_apply_transposed(Q, Z);
  }

 private:
  Backend& backend_;
  const DeviceArray<float>& X_;
  std::unique_ptr<Centring> centring_;
};

class SparseOperator final : public CenteredOperator {
 public:
  SparseOperator(Backend& backend, const DeviceCsr& X, const DeviceCsr* Xt,
                 const std::vector<double>& mean)
      : backend_(backend), X_(X), Xt_(Xt), centring_(backend, mean) {}
  int64_t rows() const override { return X_.rows; }
  int64_t cols() const override { return X_.cols; }
  void apply(const DeviceArray<float>& B, DeviceArray<float>& Y) override {
    backend_.spmm(false, X_, B, Y);
    centring_.correct_apply(B, Y);
  }
  void apply_transposed(const DeviceArray<float>& Q, DeviceArray<float>& Z) override {
    // With an explicit transpose the product is a row gather, which is
    // faster than scattering into Z on every backend.
    if (Xt_) {
      backend_.spmm(false, *Xt_, Q, Z);
    } else {
      backend_.spmm(true, X_, Q, Z);
    }
    centring_.correct_apply_transposed(Q, Z);
  }

 private:
  Backend& backend_;
  const DeviceCsr& X_;
  const DeviceCsr* Xt_;
  Centring centring_;
};

}  // namespace

std::unique_ptr<CenteredOperator> make_dense_operator(Backend& backend, const DeviceArray<float>& X,
                                                      const std::vector<double>& mean,
                                                      bool already_centred) {
  return std::make_unique<DenseOperator>(backend, X, mean, already_centred);
}

std::unique_ptr<CenteredOperator> make_sparse_operator(Backend& backend, const DeviceCsr& X,
                                                       const DeviceCsr* Xt,
                                                       const std::vector<double>& mean) {
  return std::make_unique<SparseOperator>(backend, X, Xt, mean);
}

PcaModel pca_randomized(Backend& backend, const PcaParams& params, CenteredOperator& op,
                        const std::vector<double>& mean, const std::vector<double>& column_var) {
  const char* where = "pca_fit (randomized)";
  const int64_t n = op.rows(), d = op.cols();
  const int64_t rank_bound = std::min(n, d);
  require(params.variance_fraction == 0.0, ErrorCode::invalid_argument, where,
          "variance_fraction needs the full spectrum: use the covariance solver");
  require(params.n_components >= 1, ErrorCode::invalid_argument, where,
          "n_components=", params.n_components, " must be >= 1 with the randomized solver");
  const int64_t k = params.n_components;
  // Test vectors: k + oversamples rounded up to a multiple of 16 (full
  // vector panels in the backends' kernels; a little extra accuracy).
  const int64_t l = std::min(rank_bound, (k + params.oversamples + 15) / 16 * 16);
  const int iterations = params.power_iterations >= 0 ? params.power_iterations : 4;

  // Gaussian test matrix, drawn on the host so every backend sees the same.
  Matrix<float> omega(d, l);
  Rng rng(params.seed);
  for (auto& v : omega.storage()) v = static_cast<float>(rng.normal());
  DeviceArray<float> B = backend.upload(omega.view());  // [d x l]
  DeviceArray<float> Y = backend.allocate<float>(n, l);

  op.apply(B, Y);
  backend.orthonormalize_columns(Y);
  for (int it = 0; it < iterations; ++it) {
    op.apply_transposed(Y, B);
    backend.orthonormalize_columns(B);
    op.apply(B, Y);
    backend.orthonormalize_columns(Y);
  }
  // Bᵀ = X̃ᵀ·Q [d x l]; X̃ ≈ Q·B, and B's right singular vectors are X̃'s.
  op.apply_transposed(Y, B);
  std::vector<double> S(static_cast<std::size_t>(k));
  std::vector<double> components(static_cast<std::size_t>(k * d));
  backend.thin_svd(B, k, S.data(), components.data());

  double total = 0.0;
  for (double v : column_var) total += v;
  const double dof = static_cast<double>(n - 1);
  total *= static_cast<double>(n) / dof;  // ddof = 1

  PcaModel m;
  m.n_samples = n;
  m.n_features = d;
  m.n_components = k;
  m.solver = PcaSolver::randomized;
  m.whiten = params.whiten;
  m.mean = mean;
  m.total_variance = total;
  m.components = Matrix<double>(k, d);
  std::copy(components.begin(), components.end(), m.components.data());
  flip_component_signs(m.components);
  m.singular_values.resize(static_cast<std::size_t>(k));
  m.explained_variance.resize(static_cast<std::size_t>(k));
  m.explained_variance_ratio.resize(static_cast<std::size_t>(k));
  double kept = 0.0;
  for (int64_t c = 0; c < k; ++c) {
    m.singular_values[c] = S[c];
    m.explained_variance[c] = S[c] * S[c] / dof;
    m.explained_variance_ratio[c] = total > 0.0 ? m.explained_variance[c] / total : 0.0;
    kept += m.explained_variance[c];
  }
  if (k < rank_bound) m.noise_variance = (total - kept) / static_cast<double>(rank_bound - k);
  return m;
}

}  // namespace stray::internal
