// PCA: parameters, the "auto" rule, the covariance solver's model, fitting
// entry points and the transforms.
#include "stray/decomposition/pca.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/check.hpp"
#include "decomposition/pca_internal.hpp"

namespace stray {

using internal::fail;
using internal::require;

const char* to_string(PcaSolver solver) {
  switch (solver) {
    case PcaSolver::automatic: return "auto";
    case PcaSolver::covariance: return "covariance";
    case PcaSolver::randomized: return "randomized";
    case PcaSolver::gram: return "gram";
  }
  return "unknown";
}

PcaSolver parse_pca_solver(const std::string& name) {
  for (PcaSolver s :
       {PcaSolver::automatic, PcaSolver::covariance, PcaSolver::randomized, PcaSolver::gram}) {
    if (name == to_string(s)) return s;
  }
  fail(ErrorCode::invalid_argument, "parse_pca_solver", "unknown solver '", name,
       "' (expected auto, covariance, randomized or gram)");
}

// Below these sizes an exact solver costs no more than a few randomized
// passes (see docs/pca.md, "The auto rule").
constexpr int64_t kExactDenseMaxOrder = 1000;  // min(n, d), dense input
constexpr int64_t kGramSparseMaxRows = 2000;   // n, sparse input with n < d

PcaSolver choose_pca_solver(const PcaParams& p, int64_t n, int64_t d, bool sparse) {
  if (p.solver != PcaSolver::automatic) return p.solver;
  // The exact solvers' eigenproblem is d x d (covariance) or n x n (gram):
  // the smaller one wins.
  const PcaSolver exact = n < d ? PcaSolver::gram : PcaSolver::covariance;
  const int64_t rank_bound = std::min(n, d);
  const bool full_spectrum = p.variance_fraction > 0.0 || p.n_components == 0 ||
                             2 * p.n_components > rank_bound;
  if (full_spectrum) return exact;
  if (sparse) return n < d && n <= kGramSparseMaxRows ? PcaSolver::gram : PcaSolver::randomized;
  if (rank_bound <= kExactDenseMaxOrder) return exact;
  return PcaSolver::randomized;
}

namespace internal {

int64_t pca_block_rows(const Backend& backend, int64_t d) {
  const std::size_t budget = std::max<std::size_t>(backend.workspace_bytes() / 8, 1);
  return std::max<int64_t>(1, static_cast<int64_t>(budget / (sizeof(float) * std::max<int64_t>(d, 1))));
}

void validate_pca_params(const PcaParams& p, int64_t n, int64_t d, const char* where) {
  require(n >= 2, ErrorCode::invalid_argument, where, "n_samples=", n,
          " — PCA needs at least 2 samples (variance uses n − 1)");
  require(d >= 1, ErrorCode::invalid_argument, where, "n_features=", d, " must be >= 1");
  require(p.n_components >= 0, ErrorCode::invalid_argument, where, "n_components=",
          p.n_components, " must be >= 0 (0 = all)");
  require(p.n_components <= std::min(n, d), ErrorCode::invalid_argument, where, "n_components=",
          p.n_components, " exceeds min(n_samples, n_features)=", std::min(n, d));
  require(std::isfinite(p.variance_fraction) && p.variance_fraction >= 0.0 &&
              p.variance_fraction < 1.0,
          ErrorCode::invalid_argument, where, "variance_fraction=", p.variance_fraction,
          " must be in (0, 1), or 0 for none");
  require(p.variance_fraction == 0.0 || p.n_components == 0, ErrorCode::invalid_argument, where,
          "set n_components=", p.n_components, " or variance_fraction=", p.variance_fraction,
          ", not both");
  require(p.oversamples >= 0, ErrorCode::invalid_argument, where, "oversamples=", p.oversamples,
          " must be >= 0");
  require(p.power_iterations >= -1, ErrorCode::invalid_argument, where,
          "power_iterations=", p.power_iterations, " must be >= 0 (or -1 = auto)");
}

void flip_component_signs(Matrix<double>& C) {
  for (int64_t i = 0; i < C.rows(); ++i) {
    double* row = C.row(i);
    int64_t best = 0;
    for (int64_t j = 1; j < C.cols(); ++j) {
      if (std::abs(row[j]) > std::abs(row[best])) best = j;
    }
    if (row[best] < 0.0) {
      for (int64_t j = 0; j < C.cols(); ++j) row[j] = -row[j];
    }
  }
}

}  // namespace internal

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The solvers that keep the rows on the backend (randomized, gram) on dense
// X: `owned` says X is an uploaded copy, ours to centre in place.
PcaModel fit_rows_dense(Backend& backend, const PcaParams& params, PcaSolver solver,
                        DeviceArray<float>& X, bool owned, MatrixView<const float>* host,
                        const char* where) {
  const int64_t n = X.rows(), d = X.cols();
  std::vector<double> mean(static_cast<std::size_t>(d)), var(static_cast<std::size_t>(d));
  backend.column_stats(X, nullptr, mean.data(), var.data());
  internal::check_stats_finite(mean, var, host, where);
  // An uploaded copy is ours: centre it once, explicitly, for accuracy.
  if (owned) backend.subtract_row_vector(X, mean.data());
  if (solver == PcaSolver::gram) {
    // The Gram's products want centred rows: a caller's array is copied.
    if (owned) return internal::pca_gram_dense(backend, params, X, mean, where);
    internal::require_memory(where, "the centred copy", {n, d}, sizeof(float), "float32");
    const DeviceArray<float> centred = backend.copy_shifted(X, mean.data());
    return internal::pca_gram_dense(backend, params, centred, mean, where);
  }
  auto op = internal::make_dense_operator(backend, X, mean, owned);
  return internal::pca_randomized(backend, params, *op, mean, var);
}

/// Components as float32 [k x d], scaled row-wise by `scale` (or 1).
Matrix<float> scaled_components(const PcaModel& m, bool inverse_whiten) {
  Matrix<float> C(m.n_components, m.n_features);
  for (int64_t c = 0; c < m.n_components; ++c) {
    double s = 1.0;
    if (m.whiten) {
      const double sd = std::sqrt(m.explained_variance[c]);
      s = inverse_whiten ? sd : (sd > 0.0 ? 1.0 / sd : 0.0);
    }
    for (int64_t j = 0; j < m.n_features; ++j) {
      // Entries below float32's normal range (an eigensolver leaves ~1e-40
      // where a feature has no share in a component) would be subnormal
      // floats, and every product with one is far slower: they are zero.
      const float v = static_cast<float>(m.components(c, j) * s);
      C(c, j) = std::abs(v) < std::numeric_limits<float>::min() ? 0.0f : v;
    }
  }
  return C;
}

/// C·μ for the scaled components: the projection of the mean [k].
std::vector<double> projected_mean(const PcaModel& m, const Matrix<float>& C) {
  std::vector<double> out(static_cast<std::size_t>(m.n_components), 0.0);
  for (int64_t c = 0; c < m.n_components; ++c)
    for (int64_t j = 0; j < m.n_features; ++j) out[c] += double(C(c, j)) * m.mean[j];
  return out;
}

void check_model(const PcaModel& m, int64_t cols, const char* where) {
  require(m.fitted(), ErrorCode::not_fitted, where, "the model is not fitted");
  require(m.components.rows() == m.n_components && m.components.cols() == m.n_features &&
              static_cast<int64_t>(m.mean.size()) == m.n_features &&
              static_cast<int64_t>(m.explained_variance.size()) == m.n_components,
          ErrorCode::invalid_argument, where, "inconsistent model (components ",
          m.components.rows(), " x ", m.components.cols(), ", n_components=", m.n_components,
          ", n_features=", m.n_features, ")");
  require(cols == m.n_features, ErrorCode::shape_mismatch, where, "X has ", cols,
          " columns, the model ", m.n_features, " features");
}

}  // namespace

namespace {

// The dense fit for host or resident X: validation, the solver choice and
// the covariance path are shared; `rows(where, solver)` runs the other
// solvers the way each input needs.
template <typename Dense, typename Rows>
PcaModel fit_dense(Backend& backend, const PcaParams& params, const Dense& X, Rows&& rows) {
  const char* where = "pca_fit";
  const auto t0 = Clock::now();
  require(X.rows() > 0 && X.cols() > 0, ErrorCode::invalid_argument, where, "X is empty (",
          X.rows(), " x ", X.cols(), ")");
  internal::validate_pca_params(params, X.rows(), X.cols(), where);
  PcaModel m;
  const PcaSolver solver = choose_pca_solver(params, X.rows(), X.cols(), false);
  if (solver == PcaSolver::covariance) {
    // Checked before the d x d scatter is allocated (else std::bad_alloc).
    internal::require_memory(where, "the covariance", {X.cols(), X.cols()}, sizeof(double),
                             "float64");
    PcaAccumulator acc(X.cols());
    acc.add(backend, X);
    PcaParams p = params;
    p.solver = PcaSolver::covariance;
    m = acc.finalize(backend, p);
  } else {
    m = rows(where, solver);
  }
  m.seconds = since(t0);
  return m;
}

}  // namespace

PcaModel pca_fit(Backend& backend, const PcaParams& params, MatrixView<const float> X) {
  return fit_dense(backend, params, X, [&](const char* where, PcaSolver solver) {
    internal::require_memory(where, "the uploaded copy", {X.rows(), X.cols()}, sizeof(float),
                             "float32");
    DeviceArray<float> dX = backend.upload(X);
    return fit_rows_dense(backend, params, solver, dX, true, &X, where);
  });
}

PcaModel pca_fit(Backend& backend, const PcaParams& params, const DeviceArray<float>& X) {
  return fit_dense(backend, params, X, [&](const char* where, PcaSolver solver) {
    // Not ours to centre: the operator corrects for the mean on the fly.
    return fit_rows_dense(backend, params, solver, const_cast<DeviceArray<float>&>(X), false,
                          nullptr, where);
  });
}

PcaModel pca_fit(Backend& backend, const PcaParams& params, const CsrView& X) {
  validate_csr(X, "pca_fit");
  return pca_fit(backend, params, backend.borrow_or_upload_csr(X));
}

PcaModel pca_fit(Backend& backend, const PcaParams& params, const DeviceCsr& X) {
  const char* where = "pca_fit";
  const auto t0 = Clock::now();
  internal::validate_pca_params(params, X.rows, X.cols, where);
  const PcaSolver solver = choose_pca_solver(params, X.rows, X.cols, true);
  // The column count of a CSR is only a number (10^12 is a valid header):
  // what it sizes is checked before anything is allocated.
  internal::require_memory(where, "the column statistics", {X.cols, 4}, sizeof(double), "float64");
  if (solver == PcaSolver::covariance) {
    internal::require_memory(where, "the covariance", {X.cols, X.cols}, sizeof(double), "float64");
  }
  PcaModel m;
  if (solver == PcaSolver::covariance) {
    PcaAccumulator acc(X.cols);
    acc.add(backend, X);
    PcaParams p = params;
    p.solver = PcaSolver::covariance;
    m = acc.finalize(backend, p);
  } else {
    std::vector<double> mean(static_cast<std::size_t>(X.cols)), var(static_cast<std::size_t>(X.cols));
    backend.csr_column_stats(X, mean.data(), var.data());
    if (solver == PcaSolver::gram) {
      m = internal::pca_gram_sparse(backend, params, X, mean, where);
    } else {
      auto op = internal::make_sparse_operator(backend, X, nullptr, mean);
      m = internal::pca_randomized(backend, params, *op, mean, var);
    }
  }
  m.seconds = since(t0);
  return m;
}

Matrix<float> pca_transform(Backend& backend, const PcaModel& model, MatrixView<const float> X) {
  const char* where = "pca_transform";
  check_model(model, X.cols(), where);
  const int64_t n = X.rows(), d = X.cols(), k = model.n_components;
  Matrix<float> out(n, k);
  if (n == 0) return out;
  const Matrix<float> C = scaled_components(model, false);
  DeviceArray<float> dC = backend.upload(C.view());
  const int64_t block = std::min(n, internal::pca_block_rows(backend, d));
  DeviceArray<float> dX = backend.allocate<float>(block, d);
  DeviceArray<float> dY = backend.allocate<float>(block, k);
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    const int64_t rows = std::min(block, n - b0);
    if (rows != dX.rows()) {
      dX = backend.allocate<float>(rows, d);
      dY = backend.allocate<float>(rows, k);
    }
    MatrixView<const float> part = X.row_block(b0, rows);
    internal::check_finite_matrix(part, where, "X", b0);
    if (part.contiguous()) {
      backend.copy_to_device(*dX.buffer(), 0, part.data(), dX.bytes());
    } else {
      dX = backend.upload(part);
    }
    // Centre explicitly (float64 shift) before the product, for accuracy.
    backend.subtract_row_vector(dX, model.mean.data());
    backend.gemm(false, true, 1.0f, dX, dC, 0.0f, dY);
    backend.copy_to_host(out.row(b0), *dY.buffer(), 0, dY.bytes());
  }
  return out;
}

DeviceArray<float> pca_transform(Backend& backend, const PcaModel& model,
                                 const DeviceArray<float>& X) {
  const char* where = "pca_transform";
  check_model(model, X.cols(), where);
  const Matrix<float> C = scaled_components(model, false);
  DeviceArray<float> dC = backend.upload(C.view());
  DeviceArray<float> dY = backend.allocate<float>(X.rows(), model.n_components);
  if (X.rows() == 0) return dY;
  backend.gemm(false, true, 1.0f, X, dC, 0.0f, dY);
  const std::vector<double> shift = projected_mean(model, C);
  backend.subtract_row_vector(dY, shift.data());
  return dY;
}

Matrix<float> pca_transform(Backend& backend, const PcaModel& model, const CsrView& X) {
  const char* where = "pca_transform";
  check_model(model, X.cols, where);
  validate_csr(X, where);
  if (X.rows == 0) return Matrix<float>(0, model.n_components);
  return backend.download(pca_transform(backend, model, backend.borrow_or_upload_csr(X)));
}

DeviceArray<float> pca_transform(Backend& backend, const PcaModel& model, const DeviceCsr& X) {
  const char* where = "pca_transform";
  check_model(model, X.cols, where);
  const int64_t k = model.n_components;
  DeviceArray<float> dY = backend.allocate<float>(X.rows, k);
  if (X.rows == 0) return dY;
  // (A − 1μᵀ)Cᵀ = A·Cᵀ − 1·(Cμ)ᵀ: the sparse product, then a shift.
  const Matrix<float> C = scaled_components(model, false);
  Matrix<float> Ct(model.n_features, k);
  for (int64_t c = 0; c < k; ++c)
    for (int64_t j = 0; j < model.n_features; ++j) Ct(j, c) = C(c, j);
  DeviceArray<float> dCt = backend.upload(Ct.view());
  backend.spmm(false, X, dCt, dY);
  const std::vector<double> shift = projected_mean(model, C);
  backend.subtract_row_vector(dY, shift.data());
  return dY;
}

Matrix<float> pca_inverse_transform(Backend& backend, const PcaModel& model,
                                    MatrixView<const float> Y) {
  const char* where = "pca_inverse_transform";
  require(model.fitted(), ErrorCode::not_fitted, where, "the model is not fitted");
  require(Y.cols() == model.n_components, ErrorCode::shape_mismatch, where, "Y has ", Y.cols(),
          " columns, the model ", model.n_components, " components");
  check_model(model, model.n_features, where);
  const int64_t n = Y.rows(), d = model.n_features;
  if (n == 0) return Matrix<float>(0, d);
  internal::check_finite_matrix(Y, where, "Y");
  const Matrix<float> C = scaled_components(model, true);
  DeviceArray<float> dC = backend.upload(C.view());
  const DeviceArray<float> dY = backend.borrow_or_upload(Y);
  DeviceArray<float> dX = backend.allocate<float>(n, d);
  backend.gemm(false, false, 1.0f, dY, dC, 0.0f, dX);
  std::vector<double> neg_mean(model.mean);
  for (double& v : neg_mean) v = -v;
  backend.subtract_row_vector(dX, neg_mean.data());
  return backend.download(dX);
}

PcaFitTransformResult pca_fit_transform(Backend& backend, const PcaParams& params,
                                        MatrixView<const float> X) {
  PcaFitTransformResult r;
  r.model = pca_fit(backend, params, X);
  r.transformed = pca_transform(backend, r.model, X);
  return r;
}

PcaFitTransformResult pca_fit_transform(Backend& backend, const PcaParams& params,
                                        const CsrView& X) {
  PcaFitTransformResult r;
  r.model = pca_fit(backend, params, X);
  r.transformed = pca_transform(backend, r.model, X);
  return r;
}

}  // namespace stray
