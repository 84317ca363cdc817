#include "cpu/cpu_tridiagonal.hpp"

#include <algorithm>
#include <limits>

namespace stray::internal {
namespace {

// Columns per panel (LAPACK's width for dsytrd), and the trailing size
// below which the rest is reduced one column at a time: one panel was
// slower than Eigen's unblocked reduction at d = 129 and faster at d = 200
// (see RESULTS.md, 'Figures moved from source comments (2026-12-05)').
constexpr Eigen::Index kPanel = 32;
constexpr Eigen::Index kUnblockedBelow = 128;

// Reduces the first kPanel columns of P [N x N] (lower triangle), the
// trailing part of the matrix from column i0 on: reflectors into P's
// columns (the unit element written as 1), their factors into tau and the
// subdiagonal into e; W [N x kPanel] receives the panel's update vectors,
// so that P's trailing part is then P − V·Wᵀ − W·Vᵀ (V: the reflectors).
template <typename Block>
void reduce_panel(Block P, Eigen::Ref<Eigen::VectorXd> tau, Eigen::Ref<Eigen::VectorXd> e,
                  Eigen::MatrixXd& W) {
  const Eigen::Index N = P.rows();
  W.setZero(N, kPanel);
  Eigen::VectorXd tmp(kPanel);
  for (Eigen::Index I = 0; I < kPanel; ++I) {
    const Eigen::Index below = N - I - 1;
    if (I > 0) {  // bring column I up to date with the panel's earlier reflectors
      P.col(I).tail(N - I).noalias() -= P.block(I, 0, N - I, I) * W.row(I).head(I).transpose();
      P.col(I).tail(N - I).noalias() -= W.block(I, 0, N - I, I) * P.row(I).head(I).transpose();
    }
    double beta = 0.0, t = 0.0;
    P.col(I).tail(below).makeHouseholderInPlace(t, beta);
    tau[I] = t;
    e[I] = beta;
    P(I + 1, I) = 1.0;
    const auto v = P.col(I).tail(below);
    auto w = W.col(I).tail(below);
    // w = τ·(A − V·Wᵀ − W·Vᵀ)·v with A the trailing matrix as it was, then
    // w −= ½τ(wᵀv)·v, as in an unblocked step.
    w.noalias() = P.bottomRightCorner(below, below).template selfadjointView<Eigen::Lower>() * v;
    if (I > 0) {
      tmp.head(I).noalias() = W.block(I + 1, 0, below, I).transpose() * v;
      w.noalias() -= P.block(I + 1, 0, below, I) * tmp.head(I);
      tmp.head(I).noalias() = P.block(I + 1, 0, below, I).transpose() * v;
      w.noalias() -= W.block(I + 1, 0, below, I) * tmp.head(I);
    }
    w *= t;
    w += (-0.5 * t * w.dot(v)) * v;
  }
}

// LAPACK's reduction, where given: the same storage, with OpenBLAS's tuned
// symmetric products (dsymv, dsyr2k) where the code below uses Eigen's
// (figures in bench/RESULTS.md). False, S untouched, where it is not to be
// used.
bool lapack_tridiagonalize(Eigen::MatrixXd& S, SytrdFn sytrd, Tridiagonal& out) {
  const Eigen::Index n = S.rows();
  if (sytrd == nullptr || n < 2 || static_cast<double>(n) * static_cast<double>(n) >
                                       static_cast<double>(std::numeric_limits<int>::max())) {
    return false;
  }
  Eigen::MatrixXd A = S;  // a copy: S stays for the fallback if LAPACK fails
  Eigen::VectorXd e(n - 1), tau(n - 1);
  if (sytrd(static_cast<int>(n), A.data(), out.diag.data(), e.data(), tau.data()) != 0) {
    return false;
  }
  out.sub = std::move(e);
  out.tau = std::move(tau);
  out.reflectors = std::move(A);
  return true;
}

}  // namespace

Tridiagonal tridiagonalize(Eigen::MatrixXd S, SytrdFn sytrd) {
  const Eigen::Index n = S.rows();
  Tridiagonal out;
  out.diag.resize(n);
  if (lapack_tridiagonalize(S, sytrd, out)) return out;
  out.sub.resize(std::max<Eigen::Index>(n - 1, 0));
  out.tau.resize(std::max<Eigen::Index>(n - 1, 0));
  Eigen::MatrixXd W;
  Eigen::Index i0 = 0;
  for (; n - i0 > kUnblockedBelow; i0 += kPanel) {
    const Eigen::Index N = n - i0;
    reduce_panel(S.bottomRightCorner(N, N), out.tau.segment(i0, kPanel),
                 out.sub.segment(i0, kPanel), W);
    // The trailing matrix takes the panel at once: A −= V·Wᵀ + W·Vᵀ (lower).
    const Eigen::Index rest = N - kPanel;
    const auto V = S.block(i0 + kPanel, i0, rest, kPanel);
    const auto Wr = W.bottomRows(rest);
    auto trailing = S.bottomRightCorner(rest, rest).triangularView<Eigen::Lower>();
    trailing -= V * Wr.transpose();
    trailing -= Wr * V.transpose();
    for (Eigen::Index j = i0; j < i0 + kPanel; ++j) {
      S(j + 1, j) = out.sub[j];  // the unit element back to the subdiagonal
      out.diag[j] = S(j, j);
    }
  }
  // The rest one column at a time (Eigen's own step, the same storage).
  const Eigen::Index m = n - i0;
  if (m > 1) {
    auto rest = S.bottomRightCorner(m, m);
    Eigen::VectorXd rest_tau(m - 1);
    Eigen::internal::tridiagonalization_inplace(rest, rest_tau);
    out.tau.tail(m - 1) = rest_tau;
    for (Eigen::Index j = i0; j + 1 < n; ++j) out.sub[j] = S(j + 1, j);
  }
  for (Eigen::Index j = i0; j < n; ++j) out.diag[j] = S(j, j);
  out.reflectors = std::move(S);
  return out;
}

Eigen::MatrixXd Tridiagonal::apply_q(const Eigen::MatrixXd& Z) const {
  const Eigen::Index n = reflectors.rows();
  if (n < 2) return Z;
  const Eigen::HouseholderSequence<Eigen::MatrixXd, Eigen::VectorXd> Q =
      Eigen::HouseholderSequence<Eigen::MatrixXd, Eigen::VectorXd>(reflectors, tau)
          .setLength(n - 1)
          .setShift(1);
  return Q * Z;
}

}  // namespace stray::internal
