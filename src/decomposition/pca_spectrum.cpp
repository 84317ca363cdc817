// The eigen step of the exact PCA solvers and the model built from it. The
// covariance solver hands it the d x d scatter, the Gram solver the n x n
// Gram of the centred rows; both have the same non-zero eigenvalues, so the
// count a variance fraction keeps, the ratios and the noise variance come
// out of the same code.
#include <algorithm>
#include <cmath>

#include "core/check.hpp"
#include "decomposition/pca_internal.hpp"

namespace stray::internal {

namespace {

// The component count sklearn keeps for a variance fraction, from the m
// eigenvalues (ascending, as the solvers return them; negatives are
// rounding and count as 0): searchsorted(cumsum(ratio), fraction,
// side="right") + 1, at most rank_bound.
int64_t components_for_fraction(const double* ascending, int64_t m, int64_t rank_bound,
                                double fraction) {
  double total = 0.0;
  for (int64_t i = 0; i < m; ++i) total += std::max(0.0, ascending[i]);
  double cum = 0.0;
  int64_t below = 0;
  for (int64_t i = 0; i < m; ++i) {
    cum += total > 0.0 ? std::max(0.0, ascending[m - 1 - i]) / total : 0.0;
    if (cum <= fraction) below = i + 1; else break;
  }
  return std::min(below + 1, rank_bound);
}

}  // namespace

Spectrum symmetric_spectrum(Backend& backend, const PcaParams& params, int64_t m, const double* S,
                            int64_t rank_bound, double dof) {
  // A fixed component count needs only those eigenvectors; a variance
  // fraction decides the count from the eigenvalues first; all components
  // take the whole eigendecomposition.
  const bool fixed_k = params.variance_fraction == 0.0 && params.n_components > 0;
  std::vector<double> evals(static_cast<std::size_t>(m)), top;
  Spectrum s;
  s.m = m;
  if (fixed_k) {
    // Where only the k largest eigenvalues are formed (the backend's
    // symmetric_eigen_largest), the rest are known by their sum: the trace
    // minus those k.
    const int64_t want = params.n_components;
    top.resize(static_cast<std::size_t>(want * m));
    std::vector<double> largest(static_cast<std::size_t>(want));
    if (backend.symmetric_eigen_largest(m, S, want, largest.data(), top.data())) {
      s.largest_only = true;
      for (int64_t c = 0; c < want; ++c) evals[m - 1 - c] = largest[c];  // ascending, as below
    } else {
      backend.symmetric_eigen_top(m, S, want, evals.data(), top.data());
    }
  } else if (params.variance_fraction > 0.0) {
    // The count comes from the eigenvalues, and only that many vectors are
    // formed.
    const auto count = [&](const double* ascending) {
      return components_for_fraction(ascending, m, rank_bound, params.variance_fraction);
    };
    backend.symmetric_eigen_counted(m, S, count, evals.data(), top);
  } else {
    std::vector<double> evecs(static_cast<std::size_t>(m * m));
    backend.symmetric_eigen(m, S, evals.data(), evecs.data());
    top.resize(static_cast<std::size_t>(rank_bound * m));  // the largest rank_bound, largest first
    for (int64_t c = 0; c < rank_bound; ++c)
      for (int64_t j = 0; j < m; ++j) top[c * m + j] = evecs[j * m + (m - 1 - c)];
  }

  for (double& v : evals) v /= dof;

  // Descending; clip the rounding negatives of a PSD matrix at 0.
  s.variance.resize(static_cast<std::size_t>(m));
  for (int64_t i = 0; i < m; ++i) s.variance[i] = std::max(0.0, evals[m - 1 - i]);
  for (double v : s.variance) s.total += v;
  if (s.largest_only) {
    double trace = 0.0;
    for (int64_t j = 0; j < m; ++j) trace += S[j * m + j] / dof;
    s.rest = std::max(0.0, trace - s.total);
    s.total += s.rest;
  }

  s.k = params.n_components == 0 ? rank_bound : params.n_components;
  if (params.variance_fraction > 0.0)
    s.k = components_for_fraction(evals.data(), m, rank_bound, params.variance_fraction);
  top.resize(static_cast<std::size_t>(s.k * m));
  s.vectors = std::move(top);
  return s;
}

PcaModel model_from_spectrum(const PcaParams& params, int64_t n, const std::vector<double>& mean,
                             const Spectrum& s, Matrix<double> components, int64_t rank_bound,
                             PcaSolver solver) {
  const int64_t k = s.k;
  const double dof = static_cast<double>(n - 1);
  PcaModel m;
  m.n_samples = n;
  m.n_features = static_cast<int64_t>(mean.size());
  m.n_components = k;
  m.solver = solver;
  m.whiten = params.whiten;
  m.mean = mean;
  m.total_variance = s.total;
  m.components = std::move(components);
  flip_component_signs(m.components);
  m.explained_variance.assign(s.variance.begin(), s.variance.begin() + k);
  m.explained_variance_ratio.resize(static_cast<std::size_t>(k));
  m.singular_values.resize(static_cast<std::size_t>(k));
  for (int64_t c = 0; c < k; ++c) {
    m.explained_variance_ratio[c] = s.total > 0.0 ? s.variance[c] / s.total : 0.0;
    m.singular_values[c] = std::sqrt(s.variance[c] * dof);
  }
  if (k < rank_bound) {
    double rest = s.rest;
    for (int64_t i = k; i < rank_bound && !s.largest_only; ++i) rest += s.variance[i];
    m.noise_variance = rest / static_cast<double>(rank_bound - k);
  }
  return m;
}

PcaModel pca_model_from_scatter(Backend& backend, const PcaParams& params, int64_t n,
                                const std::vector<double>& mean,
                                const std::vector<double>& scatter, const char* where) {
  const int64_t d = static_cast<int64_t>(mean.size());
  validate_pca_params(params, n, d, where);
  require(params.solver != PcaSolver::randomized && params.solver != PcaSolver::gram,
          ErrorCode::invalid_argument, where, "the ", to_string(params.solver),
          " solver cannot run from accumulated statistics (it needs the rows); use covariance "
          "or auto");
  for (std::size_t i = 0; i < scatter.size(); ++i) {
    require(std::isfinite(scatter[i]), ErrorCode::non_finite_input, where,
            "the scatter matrix is not finite (entry ", i, "): ", kProductsOverflow);
  }
  // The covariance is scatter / (n − 1): the solvers take the scatter
  // itself (same vectors; no d x d copy) and the eigenvalues are divided.
  const int64_t rank_bound = std::min(n, d);
  const Spectrum s = symmetric_spectrum(backend, params, d, scatter.data(), rank_bound,
                                        static_cast<double>(n - 1));
  Matrix<double> components(s.k, d);
  std::copy(s.vectors.begin(), s.vectors.begin() + s.k * d, components.data());
  return model_from_spectrum(params, n, mean, s, std::move(components), rank_bound,
                             PcaSolver::covariance);
}

}  // namespace stray::internal
