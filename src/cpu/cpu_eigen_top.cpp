// CPU backend: the k largest eigenpairs of a symmetric matrix, for PCA with
// a fixed number of components.
//
// The full solver (QR iteration accumulating all d eigenvectors) spends most
// of its time on vectors PCA throws away. Here: Householder
// tridiagonalisation T = QᵀAQ (blocked, cpu_tridiagonal.hpp), the
// eigenvalues of T (all by QR without vectors, O(d²), for
// symmetric_eigen_top; only the k largest by bisection, O(d) a step, for
// symmetric_eigen_largest), the k wanted eigenvectors of T by inverse
// iteration (O(d) per step), and V = Q·Z for those k only. Where most
// vectors are wanted (past a quarter), T's come all at once from LAPACK's
// divide and conquer instead, still from the one reduction.
// Eigenvalues closer than 10⁻³‖T‖ form a cluster whose vectors are
// re-orthogonalised at every step (as LAPACK's stein does), so equal
// eigenvalues get an orthonormal basis of their eigenspace. Every vector
// is then checked (residual and orthogonality); any doubt falls back to
// the full solver, so the result is never worse.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/cpu_tridiagonal.hpp"
#include "core/check.hpp"

namespace stray::internal {
namespace {

// Tiny matrices go to the full solver.
constexpr int64_t kMinTopDim = 8;
// Past a quarter of the vectors, all of the tridiagonal form's at once
// (divide and conquer) beat finding them one by one (inverse iteration,
// re-orthogonalised within clusters of close eigenvalues); see RESULTS.md,
// "PCA on wide data (2026-12-06)".
constexpr int64_t kWholeAbove = 4;
// symmetric_eigen_largest's subspace iteration: below this dimension the
// tridiagonal method is cheap enough that a slowly
// converging spectrum, which pays for its iterations and then the
// fallback, would lose more than a fast one wins; the block (~2k) must
// stay well below d; the residual every pair it returns meets, relative
// to the largest eigenvalue.
constexpr int64_t kMinIterativeDim = 768;
constexpr int64_t kMaxBlockShare = 8;
constexpr double kResidualTolerance = 1e-11;
// The iteration budget: d/40 iterations (GEMM, QR, every other one a
// Rayleigh-Ritz step) keep within what the tridiagonal method costs at
// d = 512 and 1024 (see RESULTS.md, 'Figures moved from source comments
// (2026-12-05)').
constexpr int64_t kMinIterations = 6;
constexpr int64_t kDimPerIteration = 40;

// (T − σI) for a symmetric tridiagonal T (diagonal a [d], off-diagonal b
// [d − 1]), factored by Gaussian elimination with partial pivoting: upper
// triangular with two super-diagonals, plus the row swaps and multipliers.
struct TridiagonalLu {
  std::vector<double> diag, up1, up2, mult;
  std::vector<char> swapped;

  void factor(const std::vector<double>& a, const std::vector<double>& b, double sigma,
              double tiny) {
    const std::size_t d = a.size();
    diag.resize(d);
    up1.assign(d, 0.0);
    up2.assign(d, 0.0);
    mult.assign(d, 0.0);
    swapped.assign(d, 0);
    for (std::size_t i = 0; i < d; ++i) diag[i] = a[i] - sigma;
    for (std::size_t i = 0; i + 1 < d; ++i) up1[i] = b[i];
    for (std::size_t i = 0; i + 1 < d; ++i) {
      const double sub = b[i];  // entry (i + 1, i)
      const double next_up = i + 2 < d ? up1[i + 1] : 0.0;
      if (std::abs(diag[i]) >= std::abs(sub)) {
        if (diag[i] == 0.0) diag[i] = tiny;
        const double m = sub / diag[i];
        mult[i] = m;
        diag[i + 1] -= m * up1[i];
      } else {
        // Swap rows i and i + 1, then eliminate.
        const double m = diag[i] / sub;
        mult[i] = m;
        swapped[i] = 1;
        const double row_i1 = diag[i + 1];
        diag[i] = sub;
        diag[i + 1] = up1[i] - m * row_i1;
        up1[i] = row_i1;
        up2[i] = next_up;
        if (i + 2 < d) up1[i + 1] = -m * next_up;
      }
    }
    for (double& v : diag)
      if (std::abs(v) < tiny) v = std::copysign(tiny, v);
  }

  // Solves (T − σI)·x = y in place.
  void solve(std::vector<double>& y) const {
    const std::size_t d = y.size();
    for (std::size_t i = 0; i + 1 < d; ++i) {
      if (swapped[i]) std::swap(y[i], y[i + 1]);
      y[i + 1] -= mult[i] * y[i];
    }
    for (std::size_t r = d; r-- > 0;) {
      double v = y[r];
      if (r + 1 < d) v -= up1[r] * y[r + 1];
      if (r + 2 < d) v -= up2[r] * y[r + 2];
      y[r] = v / diag[r];
    }
  }
};

double norm2(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// Eigenvectors of T for the eigenvalues `lambda` (descending) as the
// columns of Z [d x k]. Returns false when a vector fails its checks.
bool tridiagonal_vectors(const std::vector<double>& a, const std::vector<double>& b,
                         const std::vector<double>& lambda, Eigen::MatrixXd& Z) {
  const int64_t d = static_cast<int64_t>(a.size()), k = static_cast<int64_t>(lambda.size());
  double tnorm = 0.0;  // ‖T‖∞
  for (int64_t i = 0; i < d; ++i) {
    const double row = std::abs(a[i]) + (i > 0 ? std::abs(b[i - 1]) : 0.0) +
                       (i + 1 < d ? std::abs(b[i]) : 0.0);
    tnorm = std::max(tnorm, row);
  }
  if (!(tnorm > 0.0)) return false;
  const double eps = std::numeric_limits<double>::epsilon();
  const double cluster = 1e-3 * tnorm;     // re-orthogonalise within this
  const double nudge = 10.0 * eps * tnorm;  // separate equal shifts
  const double tiny = eps * tnorm;
  const double residual_tol = 1e3 * static_cast<double>(d) * eps * tnorm;
  Z.resize(d, k);
  TridiagonalLu lu;
  std::vector<double> y(static_cast<std::size_t>(d));
  double prev_sigma = 0.0;
  int64_t cluster_start = 0;
  for (int64_t c = 0; c < k; ++c) {
    double sigma = lambda[c];
    if (c > 0) {
      if (lambda[c - 1] - lambda[c] > cluster) cluster_start = c;
      if (sigma >= prev_sigma - nudge) sigma = prev_sigma - nudge;
    }
    prev_sigma = sigma;
    lu.factor(a, b, sigma, tiny);
    // A fixed pseudo-random start (results do not depend on anything else).
    uint64_t state = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(c + 1);
    for (auto& v : y) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      v = static_cast<double>(state >> 11) * 0x1.0p-53 - 0.5;
    }
    bool ok = false;
    for (int iter = 0; iter < 6 && !ok; ++iter) {
      lu.solve(y);
      for (int64_t p = cluster_start; p < c; ++p) {  // Gram–Schmidt within the cluster
        double dot = 0.0;
        for (int64_t i = 0; i < d; ++i) dot += Z(i, p) * y[i];
        for (int64_t i = 0; i < d; ++i) y[i] -= dot * Z(i, p);
      }
      const double nrm = norm2(y);
      if (!(nrm > 0.0) || !std::isfinite(nrm)) return false;
      for (auto& v : y) v /= nrm;
      if (iter < 2) continue;  // at least three steps
      double res = 0.0;  // ‖T·y − λ·y‖₂
      for (int64_t i = 0; i < d; ++i) {
        double t = (a[i] - lambda[c]) * y[i];
        if (i > 0) t += b[i - 1] * y[i - 1];
        if (i + 1 < d) t += b[i] * y[i + 1];
        res += t * t;
      }
      ok = std::sqrt(res) <= residual_tol;
    }
    if (!ok) return false;
    for (int64_t i = 0; i < d; ++i) Z(i, c) = y[i];
  }
  // Orthonormal to working precision, clusters and all.
  const Eigen::MatrixXd gram = Z.transpose() * Z;
  const double ortho_tol = 1e3 * static_cast<double>(d) * eps;
  return (gram - Eigen::MatrixXd::Identity(k, k)).cwiseAbs().maxCoeff() <= ortho_tol;
}

// The k largest eigenvalues of T (diagonal a, off-diagonal b), descending,
// by bisection on Sturm counts: the number of negative pivots of the LDLᵀ
// factorisation of T − xI is the number of eigenvalues below x. O(d) per
// step and ~60 steps an eigenvalue, against O(d²) for all of them by QR.
// A count is a chain of dependent divisions, so kLanes eigenvalues are
// bisected at once, their chains interleaved (vectorised): one chain at a
// time was slower than QR for all d eigenvalues at d = 512, k = 32.
constexpr int kLanes = 8;

std::vector<double> largest_tridiagonal_eigenvalues(const std::vector<double>& a,
                                                    const std::vector<double>& b, int64_t k) {
  const int64_t d = static_cast<int64_t>(a.size());
  std::vector<double> b2(static_cast<std::size_t>(d), 0.0);  // b2[i] = b[i − 1]², b2[0] = 0
  double b2_max = 1.0;
  for (int64_t i = 1; i < d; ++i) {
    b2[i] = b[i - 1] * b[i - 1];
    b2_max = std::max(b2_max, b2[i]);
  }
  // A pivot this small counts as a tiny negative one (LAPACK's PIVMIN).
  const double pivmin = std::numeric_limits<double>::min() * b2_max;
  // Gershgorin bounds hold every eigenvalue.
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t i = 0; i < d; ++i) {
    const double r = (i > 0 ? std::abs(b[i - 1]) : 0.0) + (i + 1 < d ? std::abs(b[i]) : 0.0);
    lo = std::min(lo, a[i] - r);
    hi = std::max(hi, a[i] + r);
  }
  const double eps = std::numeric_limits<double>::epsilon();
  const double tol = 2.0 * eps * std::max(std::abs(lo), std::abs(hi)) + pivmin;
  std::vector<double> out(static_cast<std::size_t>(k));
  double upper = hi;  // larger eigenvalues found so far bound the rest from above
  for (int64_t c0 = 0; c0 < k; c0 += kLanes) {
    const int64_t lanes = std::min<int64_t>(kLanes, k - c0);
    alignas(64) double left[kLanes], right[kLanes], mid[kLanes], q[kLanes];
    int64_t index[kLanes], below[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      left[l] = lo;
      right[l] = upper;
      // Ascending position of the eigenvalue; spare lanes repeat the last.
      index[l] = d - 1 - (c0 + std::min<int64_t>(l, lanes - 1));
    }
    // A lane is done when its interval is narrow enough, or when no double
    // lies strictly between its ends.
    const auto open = [&](int l) {
      return right[l] - left[l] > tol && mid[l] > left[l] && mid[l] < right[l];
    };
    for (int step = 0; step < 200; ++step) {
      bool any_open = false;
      for (int l = 0; l < kLanes; ++l) {
        mid[l] = 0.5 * (left[l] + right[l]);
        any_open = any_open || open(l);
      }
      if (!any_open) break;
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        q[l] = 1.0;
        below[l] = 0;
      }
      for (int64_t i = 0; i < d; ++i) {
        const double ai = a[i], bi = b2[i];
#pragma omp simd
        for (int l = 0; l < kLanes; ++l) {
          double v = (ai - mid[l]) - bi / q[l];
          v = std::abs(v) < pivmin ? -pivmin : v;
          q[l] = v;
          below[l] += v < 0.0;
        }
      }
      for (int l = 0; l < kLanes; ++l)
        if (open(l)) (below[l] > index[l] ? right[l] : left[l]) = mid[l];
    }
    for (int64_t l = 0; l < lanes; ++l) out[c0 + l] = 0.5 * (left[l] + right[l]);
    upper = right[lanes - 1];
  }
  return out;
}

using RowMatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// (A + Aᵀ)/2 scaled to unit max entry (as Eigen's own solver does), with
// that scale; 0 for a zero matrix (left unscaled). Non-finite entries are
// refused.
Eigen::MatrixXd symmetrised_unit_scale(int64_t d, const double* A, const char* where,
                                       double& scale) {
  for (int64_t i = 0; i < d * d; ++i)
    require(std::isfinite(A[i]), ErrorCode::non_finite_input, where, "entry ", i,
            " is not finite");
  const Eigen::Map<const RowMatD> Am(A, d, d);
  Eigen::MatrixXd S = 0.5 * (Am + Am.transpose());
  scale = S.cwiseAbs().maxCoeff();
  if (scale > 0.0) S /= scale;
  return S;
}

// The k largest eigenpairs of S (unit-scaled, PSD, wide) by block subspace
// iteration (below); false where it would not converge in its budget.
bool subspace_iteration_largest(const Eigen::MatrixXd& S, int64_t k, double scale,
                                double* values, double* vectors);

// The k largest eigenpairs of S (unit-scaled, k < d) through its
// tridiagonal form: eigenvalues by bisection, vectors by inverse iteration,
// then V = Q·Z for those k only. False when a vector fails its checks.
bool tridiagonal_largest(Eigen::MatrixXd S, int64_t k, double scale, double* values,
                         double* vectors, SytrdFn sytrd) {
  const int64_t d = S.rows();
  const Tridiagonal tri = tridiagonalize(std::move(S), sytrd);
  std::vector<double> a(tri.diag.data(), tri.diag.data() + d),
      b(tri.sub.data(), tri.sub.data() + d - 1);
  const std::vector<double> wanted = largest_tridiagonal_eigenvalues(a, b, k);
  Eigen::MatrixXd Z;
  if (!tridiagonal_vectors(a, b, wanted, Z)) return false;
  const Eigen::MatrixXd V = tri.apply_q(Z);  // [d x k]
  for (int64_t c = 0; c < k; ++c) values[c] = wanted[c] * scale;
  Eigen::Map<RowMatD>(vectors, k, d) = V.transpose();
  return true;
}

// Every eigenvalue of the tridiagonal form, ascending: LAPACK's root-free
// QR (dsterf) where given, else Eigen's implicit QR without vectors, which
// took as long as the reduction itself at d = 1,000 (bench/RESULTS.md).
bool tridiagonal_eigenvalues(const Tridiagonal& tri, SterfFn sterf, Eigen::VectorXd& ev) {
  const Eigen::Index d = tri.diag.size();
  if (sterf != nullptr && d >= 2) {
    ev = tri.diag;
    Eigen::VectorXd e = tri.sub;
    if (sterf(static_cast<int>(d), ev.data(), e.data()) == 0) return true;
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> values;
  values.computeFromTridiagonal(tri.diag, tri.sub, Eigen::EigenvaluesOnly);
  if (values.info() != Eigen::Success) return false;
  ev = values.eigenvalues();
  return true;
}

// The eigenvectors of T's k largest eigenvalues, largest first, as the
// columns of Z [d x k], from LAPACK's divide and conquer over all of them
// (dstedc); false where it is missing, declines the size or fails.
bool tridiagonal_all_vectors(const Tridiagonal& tri, StedcFn stedc, int64_t k,
                             Eigen::MatrixXd& Z) {
  const int64_t d = tri.diag.size();
  const double workspace = 1.0 + 4.0 * static_cast<double>(d) +
                           static_cast<double>(d) * static_cast<double>(d);
  if (stedc == nullptr || d < 2 ||
      workspace > static_cast<double>(std::numeric_limits<int>::max()))
    return false;
  Eigen::VectorXd values = tri.diag, e = tri.sub;
  Eigen::MatrixXd all(d, d);  // column-major, as LAPACK writes it
  if (stedc(static_cast<int>(d), values.data(), e.data(), all.data()) != 0) return false;
  Z = all.rightCols(k).rowwise().reverse();
  return Z.allFinite();
}

}  // namespace

void CpuBackend::symmetric_eigen_top(int64_t d, const double* A, int64_t k, double* eigenvalues,
                                     double* top_vectors) {
  require(d >= 0 && k >= 0 && k <= d, ErrorCode::invalid_argument, "symmetric_eigen_top", "d=",
          d, ", k=", k);
  std::vector<double> top;
  symmetric_eigen_counted(
      d, A, [k](const double*) { return k; }, eigenvalues, top);
  std::copy(top.begin(), top.end(), top_vectors);
}

int64_t CpuBackend::symmetric_eigen_counted(int64_t d, const double* A,
                                            const std::function<int64_t(const double*)>& count,
                                            double* eigenvalues, std::vector<double>& top_vectors) {
  const char* where = "symmetric_eigen_counted";
  require(d >= 0, ErrorCode::invalid_argument, where, "d=", d);
  const auto full = [&] {
    return Backend::symmetric_eigen_counted(d, A, count, eigenvalues, top_vectors);
  };
  if (d < kMinTopDim) return full();
  double scale = 0.0;
  Eigen::MatrixXd S = symmetrised_unit_scale(d, A, where, scale);
  if (!(scale > 0.0)) return full();
  const Tridiagonal tri = tridiagonalize(std::move(S), sytrd());  // S is not needed after
  Eigen::VectorXd ev;  // ascending
  if (!tridiagonal_eigenvalues(tri, sterf(), ev)) return full();
  for (int64_t i = 0; i < d; ++i) eigenvalues[i] = ev[i] * scale;
  const int64_t k = count(eigenvalues);
  require(k >= 0 && k <= d, ErrorCode::invalid_argument, where,
          "the count must lie in [0, d=", d, "], got ", k);
  top_vectors.assign(static_cast<std::size_t>(k * d), 0.0);
  if (k == 0) return 0;  // eigenvalues only
  Eigen::MatrixXd Z;
  if (k * kWholeAbove > d) {
    // Most of the vectors: all of T's at once (divide and conquer), where
    // LAPACK is at hand, beats finding them one by one; else the whole
    // solver (which repeats the reduction).
    if (!tridiagonal_all_vectors(tri, stedc(), k, Z)) return full();
  } else {
    std::vector<double> a(tri.diag.data(), tri.diag.data() + d),
        b(tri.sub.data(), tri.sub.data() + d - 1);
    std::vector<double> wanted(static_cast<std::size_t>(k));
    for (int64_t c = 0; c < k; ++c) wanted[c] = ev[d - 1 - c];
    if (!tridiagonal_vectors(a, b, wanted, Z)) return full();
  }
  const Eigen::MatrixXd V = tri.apply_q(Z);  // [d x k]
  Eigen::Map<RowMatD>(top_vectors.data(), k, d) = V.transpose();
  return k;
}

bool CpuBackend::symmetric_eigen_largest(int64_t d, const double* A, int64_t k, double* values,
                                         double* vectors) {
  require(d >= 0 && k >= 0 && k <= d, ErrorCode::invalid_argument, "symmetric_eigen_largest",
          "d=", d, ", k=", k);
  // Wide matrices try block subspace iteration first (a few GEMMs where
  // the spectrum decays fast); the rest, and spectra too slow for it, go
  // through the tridiagonal form with only the k eigenvalues wanted.
  // Tiny matrices, and all pairs wanted, are left to symmetric_eigen_top.
  if (k == 0 || k >= d || d < kMinTopDim) return false;
  double scale = 0.0;
  Eigen::MatrixXd S = symmetrised_unit_scale(d, A, "symmetric_eigen_largest", scale);
  if (!(scale > 0.0)) return false;
  if (d >= kMinIterativeDim && k * kMaxBlockShare <= d &&
      subspace_iteration_largest(S, k, scale, values, vectors))
    return true;
  // S is not needed after.
  return tridiagonal_largest(std::move(S), k, scale, values, vectors, sytrd());
}

namespace {

bool subspace_iteration_largest(const Eigen::MatrixXd& S, int64_t k, double scale,
                                double* values, double* vectors) {
  // Block subspace iteration with Rayleigh-Ritz: Q [d x b] spans the
  // block; Z = S·Q is one float64 GEMM (parallel, ~2·d²·b flops); the
  // Ritz pairs of Qᵀ·Z are checked by their residuals S·v − θ·v, which
  // come from Z at no extra product. Each iteration shrinks the error of
  // pair i by about θ_{b+1}/θ_i. The budget keeps the GEMMs well below
  // the tridiagonal method's serial O(d³): where the spectrum decays too
  // slowly to converge in it, false sends the caller there after all.
  const int64_t d = S.rows();
  const int64_t b = std::min(d, k + std::max<int64_t>(k, 16));
  const int64_t max_iterations = std::max<int64_t>(kMinIterations, d / kDimPerIteration);
  // A fixed start, so results repeat run to run: rows of a cheap
  // deterministic hash in [-1, 1].
  Eigen::MatrixXd Q(d, b);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int64_t j = 0; j < b; ++j)
    for (int64_t i = 0; i < d; ++i) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      Q(i, j) = static_cast<double>(state >> 11) * 0x1p-52 - 1.0;
    }
  Q = Eigen::HouseholderQR<Eigen::MatrixXd>(Q).householderQ() * Eigen::MatrixXd::Identity(d, b);
  Eigen::MatrixXd Z(d, b);
  for (int64_t it = 1; it <= max_iterations; ++it) {
    Z.noalias() = S * Q;
    if (it % 2 == 0 || it == max_iterations) {
      Eigen::MatrixXd T = Q.transpose() * Z;
      T = 0.5 * (T + T.transpose());
      const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> ritz(T);
      if (ritz.info() != Eigen::Success) return false;
      // The k largest Ritz pairs (eigen solver order: ascending).
      const Eigen::MatrixXd W = ritz.eigenvectors().rightCols(k).rowwise().reverse();
      const Eigen::VectorXd theta = ritz.eigenvalues().tail(k).reverse();
      const Eigen::MatrixXd V = Q * W;
      const Eigen::MatrixXd R = Z * W - V * theta.asDiagonal();
      const double worst = R.colwise().norm().maxCoeff();
      const double norm = std::abs(theta[0]);  // ≈ ‖S‖ (PSD)
      // Subspace iteration finds the eigenvalues largest in magnitude: a
      // clearly negative one means A is not positive semi-definite, and
      // the algebraically largest may lie elsewhere.
      if (ritz.eigenvalues()[0] < -1e-8 * norm) return false;
      if (worst <= kResidualTolerance * norm) {
        for (int64_t c = 0; c < k; ++c) values[c] = theta[c] * scale;
        Eigen::Map<RowMatD>(vectors, k, d) = V.transpose();
        return true;
      }
      // Residuals shrink by about |θ_b| / |θ_k| an iteration (the block's
      // smallest Ritz value over the kth largest): where that is far from
      // reaching the tolerance within the budget, give up now rather than
      // after it. The first estimates are pessimistic (the block's smallest
      // Ritz values still rise), so they must predict twice the budget.
      const double rate = std::abs(ritz.eigenvalues()[0]) / std::abs(theta[k - 1]);
      const double needed = std::log(kResidualTolerance * norm / std::max(worst, 1e-300)) /
                            std::log(std::max(rate, 1e-300));
      const double allowed = (it <= 2 ? 2.0 : 1.5) * static_cast<double>(max_iterations);
      if (!(rate < 1.0) || static_cast<double>(it) + needed > allowed) return false;
    }
    Q = Eigen::HouseholderQR<Eigen::MatrixXd>(Z).householderQ() * Eigen::MatrixXd::Identity(d, b);
  }
  return false;
}

}  // namespace

}  // namespace stray::internal
