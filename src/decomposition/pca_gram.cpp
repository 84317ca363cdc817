// The Gram solver: exact PCA through the dual, for fewer samples than
// features. The centred rows X̃ [n x d] give K = X̃X̃ᵀ [n x n], whose
// non-zero eigenvalues are the scatter X̃ᵀX̃'s; an eigenvector u of K with
// eigenvalue σ² gives the component v = X̃ᵀu/σ. So an n x n eigenproblem
// replaces the d x d one, and d² memory becomes n².
#include <algorithm>
#include <cmath>

#include "core/check.hpp"
#include "core/rng.hpp"
#include "decomposition/pca_internal.hpp"

namespace stray::internal {
namespace {

// An eigenvalue of K at or below this fraction of the largest is rounding
// (K's products are float32): its direction X̃ᵀu/σ would be noise, so the
// component is completed as an orthonormal direction instead.
constexpr double kNullEigenvalue = 1e-7;
// Components further than this from orthonormal (max |VᵀV − I|) are
// re-orthonormalised: float32 rounding alone leaves ~1e-7.
constexpr double kOrthonormalTolerance = 5e-7;
// Below this distance a Newton–Schulz step restores orthonormality (to its
// square); above it CholeskyQR does.
constexpr double kNewtonSchulzBelow = 0.05;

// K = (K + Kᵀ)/2 in place: the products round a little differently on
// either side of the diagonal, and the eigensolvers read one triangle.
void symmetrise(std::vector<double>& K, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      const double v = 0.5 * (K[i * n + j] + K[j * n + i]);
      K[i * n + j] = v;
      K[j * n + i] = v;
    }
}

// K of centred dense rows: one product, float32, on the backend.
std::vector<double> dense_row_gram(Backend& backend, const DeviceArray<float>& Xc) {
  const int64_t n = Xc.rows();
  DeviceArray<float> dK = backend.allocate<float>(n, n);
  backend.gemm(false, true, 1.0f, Xc, Xc, 0.0f, dK);
  const std::vector<float> k32 = backend.download_vector(dK);
  std::vector<double> K(k32.begin(), k32.end());
  symmetrise(K, n);
  return K;
}

// K of the operator's rows, a block of b columns at a time: T = X̃ᵀ·E, with
// E the identity's columns of the block, holds the block's centred rows as
// columns [d x b]; then K[:, block] = X̃·T. For a CSR operator both are
// sparse products (2·nnz·b multiply-adds a block) with the centring as
// rank-one corrections, so X is never densified or centred.
std::vector<double> operator_row_gram(Backend& backend, CenteredOperator& op) {
  const int64_t n = op.rows(), d = op.cols();
  const std::size_t per_column = sizeof(float) * static_cast<std::size_t>(2 * n + d);
  const int64_t by_budget = static_cast<int64_t>(backend.workspace_bytes() / per_column);
  const int64_t b = std::min(n, std::max<int64_t>(by_budget, 16));
  std::vector<double> K(static_cast<std::size_t>(n * n));
  std::vector<float> e, y;
  DeviceArray<float> E, T, Y;
  for (int64_t c0 = 0; c0 < n; c0 += b) {
    const int64_t cols = std::min(b, n - c0);
    if (cols != E.cols()) {
      E = backend.allocate<float>(n, cols);
      T = backend.allocate<float>(d, cols);
      Y = backend.allocate<float>(n, cols);
    }
    e.assign(static_cast<std::size_t>(n * cols), 0.0f);
    for (int64_t c = 0; c < cols; ++c) e[(c0 + c) * cols + c] = 1.0f;
    backend.copy_to_device(*E.buffer(), 0, e.data(), E.bytes());
    op.apply_transposed(E, T);
    op.apply(T, Y);
    y.resize(static_cast<std::size_t>(n * cols));
    backend.download(Y, y.data());
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < cols; ++c) K[i * n + c0 + c] = y[i * cols + c];
  }
  symmetrise(K, n);
  return K;
}

// G = WᵀW [k x k] (float64) for the columns of W [d x k], and its largest
// distance from the identity.
double orthonormality_error(Backend& backend, const DeviceArray<float>& W,
                            std::vector<double>& G) {
  const int64_t k = W.cols();
  G.resize(static_cast<std::size_t>(k * k));
  const std::vector<double> zero(static_cast<std::size_t>(k), 0.0);
  backend.gram(W, nullptr, zero.data(), G.data());
  double worst = 0.0;
  for (int64_t a = 0; a < k; ++a)
    for (int64_t c = 0; c < k; ++c)
      worst = std::max(worst, std::abs(G[a * k + c] - (a == c ? 1.0 : 0.0)));
  return std::isfinite(worst) ? worst : HUGE_VAL;
}

// One Newton–Schulz step towards the nearest orthonormal columns, with the
// Gram G = WᵀW already formed: W ← W·(3I − G)/2. With G = I + E it leaves
// an error of order E²; each column moves by about E against the others.
void newton_schulz_step(Backend& backend, DeviceArray<float>& W, const std::vector<double>& G) {
  const int64_t k = W.cols();
  Matrix<float> C(k, k);
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b)
      C(a, b) = static_cast<float>(((a == b ? 3.0 : 0.0) - G[a * k + b]) / 2.0);
  DeviceArray<float> out = backend.allocate<float>(W.rows(), k);
  backend.gemm(false, false, 1.0f, W, backend.upload(C.view()), 0.0f, out);
  W = std::move(out);
}

// One CholeskyQR step with the Gram G = WᵀW already formed: G = RᵀR on the
// host (k x k, float64), then W ← W·R⁻¹ on the backend. R is upper
// triangular, so each column is made orthogonal to those before it and
// keeps its direction as far as they allow (Gram–Schmidt's order). False,
// with W unchanged, when G is not positive definite. G is overwritten.
bool cholesky_orthonormalize(Backend& backend, DeviceArray<float>& W, std::vector<double>& G) {
  const int64_t k = W.cols();
  // G's lower triangle becomes Rᵀ (Cholesky–Banachiewicz).
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j <= i; ++j) {
      double s = G[i * k + j];
      for (int64_t p = 0; p < j; ++p) s -= G[i * k + p] * G[j * k + p];
      if (i == j) {
        if (!(s > 0.0)) return false;
        G[i * k + i] = std::sqrt(s);
      } else {
        G[i * k + j] = s / G[j * k + j];
      }
    }
  }
  // R⁻¹ (upper triangular), column by column: R·x = e_c by back substitution.
  Matrix<float> Rinv(k, k);
  std::vector<double> x(static_cast<std::size_t>(k));
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t i = c; i >= 0; --i) {
      double s = i == c ? 1.0 : 0.0;
      for (int64_t p = i + 1; p <= c; ++p) s -= G[p * k + i] * x[p];  // R(i, p) = G(p, i)
      x[i] = s / G[i * k + i];
    }
    for (int64_t i = 0; i < k; ++i) Rinv(i, c) = i <= c ? static_cast<float>(x[i]) : 0.0f;
  }
  DeviceArray<float> out = backend.allocate<float>(W.rows(), k);
  backend.gemm(false, false, 1.0f, W, backend.upload(Rinv.view()), 0.0f, out);
  W = std::move(out);
  return true;
}

// The components [k x d] from the spectrum of K: v_c = X̃ᵀu_c/σ_c, one
// product on the backend. Those are orthonormal up to K's rounding over
// σ_a·σ_b; where that shows (and for directions of no variance, whose
// columns are set to random ones first), the columns are orthonormalised
// in order, so each keeps its direction as far as the ones before allow.
Matrix<double> components_from_gram(Backend& backend, const PcaParams& params,
                                    CenteredOperator& op, const Spectrum& s, double dof) {
  const int64_t n = op.rows(), d = op.cols(), k = s.k;
  const double largest = s.variance.empty() ? 0.0 : s.variance[0];
  std::vector<uint8_t> null(static_cast<std::size_t>(k), 0);
  Matrix<float> U(n, k);
  for (int64_t c = 0; c < k; ++c) {
    const double lambda = s.variance[c];
    null[c] = !(lambda > kNullEigenvalue * largest);
    const double scale = null[c] ? 0.0 : 1.0 / std::sqrt(lambda * dof);
    for (int64_t i = 0; i < n; ++i) U(i, c) = static_cast<float>(s.vectors[c * n + i] * scale);
  }
  DeviceArray<float> W = backend.allocate<float>(d, k);
  op.apply_transposed(backend.upload(U.view()), W);

  const bool completed = std::find(null.begin(), null.end(), 1) != null.end();
  if (completed) {
    // Directions of no variance: random columns, made orthogonal to the
    // others below.
    Matrix<float> host = backend.download(W);
    Rng rng(params.seed);
    for (int64_t c = 0; c < k; ++c)
      if (null[c])
        for (int64_t j = 0; j < d; ++j) host(j, c) = static_cast<float>(rng.normal() / std::sqrt(double(d)));
    W = backend.upload(host.view());
  }
  // Nearly orthonormal columns take a Newton–Schulz step, far ones
  // CholeskyQR; two steps at most, then the backend's robust thin QR. Random
  // completions always take CholeskyQR first, however near they happen to
  // be: Newton–Schulz moves every column towards the others, so a random
  // one would pull the real components with it (by up to half of
  // kNewtonSchulzBelow), differently for every seed.
  std::vector<double> G;
  for (int step = 0;; ++step) {
    const double error = orthonormality_error(backend, W, G);
    if (error <= kOrthonormalTolerance) break;
    const bool symmetric_step = error < kNewtonSchulzBelow && !(completed && step == 0);
    if (step == 2 || (symmetric_step ? (newton_schulz_step(backend, W, G), false)
                                     : !cholesky_orthonormalize(backend, W, G))) {
      backend.orthonormalize_columns(W);
      break;
    }
  }
  const Matrix<float> V = backend.download(W);
  Matrix<double> components(k, d);
  for (int64_t j = 0; j < d; ++j)
    for (int64_t c = 0; c < k; ++c) components(c, j) = V(j, c);
  return components;
}

void check_gram_memory(int64_t n, int64_t d, const char* where) {
  // K and, for all components, its eigenvectors; the components [d x k].
  require_memory(where, "the Gram matrix", {2, n, n}, sizeof(double), "float64");
  require_memory(where, "the components", {d, std::min(n, d)}, sizeof(float), "float32");
}

PcaModel gram_model(Backend& backend, const PcaParams& params, CenteredOperator& op,
                    const std::vector<double>& K, const std::vector<double>& mean,
                    const char* where) {
  const int64_t n = op.rows(), d = op.cols();
  for (std::size_t i = 0; i < K.size(); ++i) {
    require(std::isfinite(K[i]), ErrorCode::non_finite_input, where,
            "the Gram matrix is not finite (entry ", i, "): ", kProductsOverflow);
  }
  const int64_t rank_bound = std::min(n, d);
  const double dof = static_cast<double>(n - 1);
  const Spectrum s = symmetric_spectrum(backend, params, n, K.data(), rank_bound, dof);
  Matrix<double> components = components_from_gram(backend, params, op, s, dof);
  return model_from_spectrum(params, n, mean, s, std::move(components), rank_bound,
                             PcaSolver::gram);
}

}  // namespace

PcaModel pca_gram_dense(Backend& backend, const PcaParams& params, const DeviceArray<float>& Xc,
                        const std::vector<double>& mean, const char* where) {
  const int64_t n = Xc.rows(), d = Xc.cols();
  validate_pca_params(params, n, d, where);
  check_gram_memory(n, d, where);
  const std::vector<double> K = dense_row_gram(backend, Xc);
  auto op = make_dense_operator(backend, Xc, mean, /*already_centred=*/true);
  return gram_model(backend, params, *op, K, mean, where);
}

PcaModel pca_gram_sparse(Backend& backend, const PcaParams& params, const DeviceCsr& X,
                         const std::vector<double>& mean, const char* where) {
  validate_pca_params(params, X.rows, X.cols, where);
  check_gram_memory(X.rows, X.cols, where);
  auto op = make_sparse_operator(backend, X, nullptr, mean);
  const std::vector<double> K = operator_row_gram(backend, *op);
  return gram_model(backend, params, *op, K, mean, where);
}

}  // namespace stray::internal
