// Thin QR (orthonormalize_columns) across conditioning: well-conditioned
// matrices take CholeskyQR2 on both backends, ill-conditioned and rank
// deficient ones its Householder fallback. Whatever the path, the columns
// must be orthonormal, span the columns of A, and repeat bit for bit; an
// accelerator's basis must span what the CPU's does. The smallest
// workspace makes the Gram's row tiles many.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "backend_params.hpp"
#include "core/rng.hpp"
#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"

namespace {

using stray::Matrix;

// A = U·diag(σ)·Vᵀ [n x l], U and V with orthonormal columns, σ spread
// geometrically from 1 down to 1/condition; `rank` < l zeroes the last
// singular values (a rank-deficient A).
Matrix<float> with_condition(int64_t n, int64_t l, double condition, int64_t rank, uint64_t seed) {
  stray::internal::Rng rng(seed);
  Eigen::MatrixXd G(n, l), H(l, l);
  for (int64_t i = 0; i < n * l; ++i) G.data()[i] = rng.normal();
  for (int64_t i = 0; i < l * l; ++i) H.data()[i] = rng.normal();
  const Eigen::MatrixXd U = Eigen::HouseholderQR<Eigen::MatrixXd>(G).householderQ() *
                            Eigen::MatrixXd::Identity(n, l);
  const Eigen::MatrixXd V = Eigen::HouseholderQR<Eigen::MatrixXd>(H).householderQ();
  Eigen::VectorXd sigma(l);
  for (int64_t j = 0; j < l; ++j) {
    const double t = l > 1 ? static_cast<double>(j) / static_cast<double>(l - 1) : 0.0;
    sigma[j] = j < rank ? std::pow(condition, -t) : 0.0;
  }
  const Eigen::MatrixXd A = U * sigma.asDiagonal() * V.transpose();
  Matrix<float> out(n, l);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < l; ++j) out(i, j) = static_cast<float>(A(i, j));
  return out;
}

Eigen::MatrixXd to_eigen(const Matrix<float>& M) {
  Eigen::MatrixXd E(M.rows(), M.cols());
  for (int64_t i = 0; i < M.rows(); ++i)
    for (int64_t j = 0; j < M.cols(); ++j) E(i, j) = M(i, j);
  return E;
}

struct Case {
  const char* name;
  int64_t n, l;
  double condition;
  int64_t rank;
};

// CholeskyQR2 takes κ up to 2¹² (its rule; docs/cuda-backend.md); past it,
// and rank deficient, Householder.
const Case kCases[] = {{"well conditioned", 20000, 48, 10.0, 48},
                       {"near the limit", 20000, 48, 1e3, 48},
                       {"ill conditioned", 20000, 48, 1e6, 48},
                       {"rank deficient", 6000, 40, 10.0, 30},
                       {"square", 64, 64, 10.0, 64},
                       {"one column", 1000, 1, 1.0, 1}};

class ThinQr : public ::testing::TestWithParam<std::string> {};

TEST_P(ThinQr, OrthonormalBasisOfTheSameSpanAtAnyCondition) {
  stray::BackendOptions options = stray::testing::suite_options();
  options.workspace_bytes = std::size_t{64} << 10;
  STRAY_BACKEND_OR_SKIP(backend, GetParam(), options);
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const Matrix<float> A = with_condition(c.n, c.l, c.condition, c.rank, 7 + c.l);
    auto dA = backend->upload(A.view());
    backend->orthonormalize_columns(dA);
    const Matrix<float> Qf = backend->download(dA);
    const Eigen::MatrixXd Q = to_eigen(Qf), Ae = to_eigen(A);
    const double orth = (Q.transpose() * Q - Eigen::MatrixXd::Identity(c.l, c.l)).norm();
    EXPECT_LT(orth, 1e-4) << "‖QᵀQ − I‖_F";
    // Backward stability: ‖A − Q·QᵀA‖ at float32 rounding of ‖A‖ (= ‖σ‖).
    const double resid = (Ae - Q * (Q.transpose() * Ae)).norm() / Ae.norm();
    EXPECT_LT(resid, 1e-5) << "A is not in span(Q)";
    // Bit for bit again.
    auto again = backend->upload(A.view());
    backend->orthonormalize_columns(again);
    EXPECT_TRUE(backend->download(again).storage() == Qf.storage()) << "not deterministic";
  }
}

// Where the columns are well conditioned both backends take CholeskyQR2, so
// the bases agree column by column (R's diagonal is positive on both);
// otherwise only the spans must agree.
TEST_P(ThinQr, AcceleratorSpansWhatTheCpuSpans) {
  if (GetParam() == "cpu") GTEST_SKIP() << "compares an accelerator with the CPU";
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  auto cpu = stray::make_backend("cpu");
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const Matrix<float> A = with_condition(c.n, c.l, c.condition, c.rank, 11 + c.l);
    auto dA = backend->upload(A.view());
    auto hA = cpu->upload(A.view());
    backend->orthonormalize_columns(dA);
    cpu->orthonormalize_columns(hA);
    const Eigen::MatrixXd Q = to_eigen(backend->download(dA)), P = to_eigen(cpu->download(hA));
    if (c.rank < c.l) continue;  // the spans of A's null directions are arbitrary
    // Equal spans: ‖QᵀP‖_F² = l.
    EXPECT_NEAR((Q.transpose() * P).squaredNorm(), static_cast<double>(c.l), 1e-3);
    if (c.condition <= 10.0 && c.n >= 4 * c.l) {
      for (int64_t j = 0; j < c.l; ++j) {
        EXPECT_NEAR(Q.col(j).dot(P.col(j)), 1.0, 1e-4) << "column " << j;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ThinQr, ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace
