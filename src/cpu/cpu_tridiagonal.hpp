// Householder tridiagonalisation of a symmetric matrix, T = Qᵀ·S·Q, blocked
// as LAPACK's dsytrd: panels of columns are reduced with the trailing
// matrix left as it was (each column's symmetric product corrected for the
// panel's earlier reflectors), and the trailing matrix then takes the
// whole panel as one rank-2k update, a matrix product, instead of one
// rank-2 update per column. Eigen's own (unblocked) version reads and
// writes the trailing matrix for every column.
#pragma once

#include <Eigen/Dense>

#include "cpu/cpu_blas.hpp"

namespace stray::internal {

struct Tridiagonal {
  Eigen::VectorXd diag;  // [d]
  Eigen::VectorXd sub;   // [d − 1]
  /// Q·Z for Z [d x m].
  Eigen::MatrixXd apply_q(const Eigen::MatrixXd& Z) const;

  // The reflectors below the subdiagonal of `reflectors`, with their
  // factors `tau`, as Eigen's Tridiagonalization stores them.
  Eigen::MatrixXd reflectors;
  Eigen::VectorXd tau;
};

/// Tridiagonalises S (symmetric; its lower triangle is read): by LAPACK's
/// dsytrd where `sytrd` is given (and succeeds), else by the code here.
Tridiagonal tridiagonalize(Eigen::MatrixXd S, SytrdFn sytrd = nullptr);

}  // namespace stray::internal
