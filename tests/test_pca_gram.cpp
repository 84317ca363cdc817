// The Gram (dual) PCA solver, for fewer samples than features, on every
// backend: it gives the covariance solver's model — counts, variances,
// ratios, noise, components with the same signs, projections — on dense and
// CSR input, host and resident, for n = 2, rank-deficient data (whose
// zero-variance components must still come out orthonormal), a variance
// fraction and all components; and the covariance's float64
// eigendecomposition where an outside reference is wanted. The
// scikit-learn goldens for n < d are in test_pca_golden.cpp.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backend_params.hpp"
#include "core/rng.hpp"
#include "stray/decomposition/pca.hpp"

namespace {

using stray::CsrMatrix;
using stray::ErrorCode;
using stray::Matrix;
using stray::PcaModel;
using stray::PcaParams;
using stray::PcaSolver;

// n x d: `rank` random directions with scales 10/(1 + r), plus `noise` and
// offsets of about 3.
Matrix<float> wide_rows(int64_t n, int64_t d, int64_t rank, double noise, uint64_t seed) {
  stray::internal::Rng rng(seed);
  Matrix<float> basis(rank, d), X(n, d);
  for (auto& v : basis.storage()) v = static_cast<float>(rng.normal() / std::sqrt(double(d)));
  std::vector<double> offset(static_cast<std::size_t>(d)), z(static_cast<std::size_t>(rank));
  for (auto& o : offset) o = 3.0 + rng.normal();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < rank; ++r) z[r] = rng.normal() * 10.0 / (1.0 + r);
    for (int64_t j = 0; j < d; ++j) {
      double v = offset[j] + noise * rng.normal();
      for (int64_t r = 0; r < rank; ++r) v += z[r] * basis(r, j);
      X(i, j) = static_cast<float>(v);
    }
  }
  return X;
}

// Sparse binary rows from a few prototypes, as package inventories.
Matrix<float> binary_rows(int64_t n, int64_t d, int64_t types, double density, uint64_t seed) {
  stray::internal::Rng rng(seed);
  std::vector<std::vector<double>> prob(static_cast<std::size_t>(types),
                                        std::vector<double>(static_cast<std::size_t>(d)));
  for (auto& p : prob)
    for (auto& v : p) v = rng.uniform() < 0.2 ? 0.6 : density * 0.2;
  Matrix<float> X(n, d);
  for (int64_t i = 0; i < n; ++i) {
    const auto& p = prob[rng.below(static_cast<uint64_t>(types))];
    for (int64_t j = 0; j < d; ++j) X(i, j) = rng.uniform() < p[j] ? 1.0f : 0.0f;
  }
  return X;
}

void expect_orthonormal(const PcaModel& m, double tol) {
  for (int64_t a = 0; a < m.n_components; ++a)
    for (int64_t b = 0; b <= a; ++b) {
      double dot = 0.0;
      for (int64_t j = 0; j < m.n_features; ++j) dot += m.components(a, j) * m.components(b, j);
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, tol) << "components " << a << ", " << b;
    }
}

// The gram model `g` against the covariance model `c` of the same data: the
// first `determined` components entry by entry (same signs), the rest only
// orthonormal (they span a zero-variance eigenspace).
void expect_same_model(const PcaModel& g, const PcaModel& c, int64_t determined) {
  EXPECT_EQ(g.solver, PcaSolver::gram);
  EXPECT_EQ(c.solver, PcaSolver::covariance);
  ASSERT_EQ(g.n_components, c.n_components);
  ASSERT_EQ(g.n_features, c.n_features);
  EXPECT_EQ(g.n_samples, c.n_samples);
  const double ev0 = c.explained_variance[0];
  for (int64_t j = 0; j < g.n_features; ++j)
    EXPECT_NEAR(g.mean[j], c.mean[j], 1e-6 * (1.0 + std::abs(c.mean[j])));
  for (int64_t k = 0; k < g.n_components; ++k) {
    EXPECT_NEAR(g.explained_variance_ratio[k], c.explained_variance_ratio[k], 1e-6) << k;
    EXPECT_NEAR(g.explained_variance[k], c.explained_variance[k], 1e-5 * ev0) << k;
    EXPECT_NEAR(g.singular_values[k], c.singular_values[k],
                1e-5 * c.singular_values[k] + 5e-4 * c.singular_values[0])
        << k;
  }
  EXPECT_NEAR(g.total_variance, c.total_variance, 1e-5 * c.total_variance);
  EXPECT_NEAR(g.noise_variance, c.noise_variance, 1e-5 * ev0);
  for (int64_t k = 0; k < std::min(determined, g.n_components); ++k)
    for (int64_t j = 0; j < g.n_features; ++j)
      ASSERT_NEAR(g.components(k, j), c.components(k, j), 1e-4) << "component " << k << ", " << j;
  expect_orthonormal(g, 1e-6);
}

void expect_same_projection(stray::Backend& backend, const PcaModel& g, const PcaModel& c,
                            const Matrix<float>& X, int64_t determined) {
  const Matrix<float> Tg = stray::pca_transform(backend, g, X.view());
  const Matrix<float> Tc = stray::pca_transform(backend, c, X.view());
  double scale = 0.0;
  for (float v : Tc.storage()) scale = std::max(scale, double(std::abs(v)));
  for (int64_t i = 0; i < X.rows(); ++i)
    for (int64_t k = 0; k < std::min(determined, g.n_components); ++k)
      ASSERT_NEAR(Tg(i, k), Tc(i, k), 1e-4 * scale) << "row " << i << ", component " << k;
}

PcaModel fit(stray::Backend& backend, PcaParams p, PcaSolver solver, const Matrix<float>& X,
             bool sparse) {
  p.solver = solver;
  if (!sparse) return stray::pca_fit(backend, p, X.view());
  const CsrMatrix S = stray::dense_to_csr(X.view());
  return stray::pca_fit(backend, p, S.view());
}

class PcaGram : public ::testing::TestWithParam<std::string> {};

// Fixed counts, all components and a variance fraction, dense and CSR.
TEST_P(PcaGram, MatchesTheCovarianceSolver) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  struct Data {
    const char* name;
    Matrix<float> X;
    // Leading components that stand apart from the rest (the others, of
    // nearly equal variance, are determined only as a span).
    int64_t determined;
  };
  const Data sets[] = {
      {"low rank plus noise, 40 x 150", wide_rows(40, 150, 8, 0.1, 3), 6},
      {"binary, 60 x 400", binary_rows(60, 400, 4, 0.08, 5), 3},
  };
  for (const Data& s : sets) {
    for (bool sparse : {false, true}) {
      PcaParams fixed, all, fraction;
      fixed.n_components = 6;
      fraction.variance_fraction = 0.9;
      for (const PcaParams& p : {fixed, all, fraction}) {
        SCOPED_TRACE(std::string(s.name) + (sparse ? ", CSR" : ", dense") + ", n_components " +
                     std::to_string(p.n_components) + ", fraction " +
                     std::to_string(p.variance_fraction));
        const PcaModel g = fit(*backend, p, PcaSolver::gram, s.X, sparse);
        const PcaModel c = fit(*backend, p, PcaSolver::covariance, s.X, sparse);
        expect_same_model(g, c, s.determined);
        expect_same_projection(*backend, g, c, s.X, s.determined);
        // Auto takes the Gram here, and the model says so.
        PcaParams a = p;
        EXPECT_EQ(fit(*backend, a, PcaSolver::automatic, s.X, sparse).solver, PcaSolver::gram);
      }
    }
  }
}

// n = 2: one direction of variance, the difference of the rows; the second
// component has none and must still be a unit vector orthogonal to it. The
// second is completed at random from the seed, so every seed of a range
// must leave the first where it is (a near-orthogonal random column once
// pulled it by up to 0.02).
TEST_P(PcaGram, TwoSamples) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  Matrix<float> X(2, 7);
  const float a[] = {1.5f, -2.0f, 0.0f, 4.0f, 3.0f, 0.0f, 7.0f};
  const float b[] = {0.5f, 1.0f, 0.0f, 4.5f, -1.0f, 2.0f, 7.0f};
  for (int64_t j = 0; j < 7; ++j) X(0, j) = a[j], X(1, j) = b[j];
  double sq = 0.0;
  for (int64_t j = 0; j < 7; ++j) sq += double(a[j] - b[j]) * (a[j] - b[j]);
  for (bool sparse : {false, true}) {
    for (uint64_t seed = 0; seed < 300; ++seed) {
      SCOPED_TRACE(std::string(sparse ? "CSR" : "dense") + ", seed " + std::to_string(seed));
      PcaParams p;  // all components: 2
      p.seed = seed;
      const PcaModel g = fit(*backend, p, PcaSolver::gram, X, sparse);
      ASSERT_EQ(g.n_components, 2);
      EXPECT_NEAR(g.explained_variance[0], sq / 2.0, 1e-5 * sq);  // ‖a − b‖²/2 over n − 1 = 1
      EXPECT_NEAR(g.explained_variance[1], 0.0, 1e-6 * sq);
      EXPECT_NEAR(g.explained_variance_ratio[0], 1.0, 1e-6);
      // The first component is ±(a − b)/‖a − b‖, its largest entry positive
      // (a − b = [1, −3, 0, −0.5, 4, −2, 0]: the 4).
      for (int64_t j = 0; j < 7; ++j)
        ASSERT_NEAR(g.components(0, j), (a[j] - b[j]) / std::sqrt(sq), 1e-6) << j;
      expect_orthonormal(g, 1e-6);
      if (seed == 0) expect_same_model(g, fit(*backend, p, PcaSolver::covariance, X, sparse), 1);
    }
  }
}

// Exactly rank 4 with n < d: the leading four components match the
// covariance solver's; those past the rank have no variance and come out
// orthonormal all the same, for a few and for all n of them.
TEST_P(PcaGram, RankDeficient) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = wide_rows(30, 100, 4, 0.0, 7);
  for (bool sparse : {false, true}) {
    for (int64_t k : {10, 0}) {
      SCOPED_TRACE(std::string(sparse ? "CSR" : "dense") + ", n_components " + std::to_string(k));
      PcaParams p;
      p.n_components = k;
      const PcaModel g = fit(*backend, p, PcaSolver::gram, X, sparse);
      const PcaModel c = fit(*backend, p, PcaSolver::covariance, X, sparse);
      expect_same_model(g, c, 4);
      expect_same_projection(*backend, g, c, X, 4);
      for (int64_t i = 4; i < g.n_components; ++i)
        EXPECT_LT(g.explained_variance[i], 1e-5 * g.explained_variance[0]) << i;
    }
    PcaParams f;
    f.variance_fraction = 0.999;
    const PcaModel g = fit(*backend, f, PcaSolver::gram, X, sparse);
    const PcaModel c = fit(*backend, f, PcaSolver::covariance, X, sparse);
    EXPECT_LE(g.n_components, 4);
    expect_same_model(g, c, 4);
  }
}

// Data already on the backend (dense, and CSR as the fleet pipeline hands
// it over) give the host model; the caller's array is left as it was.
TEST_P(PcaGram, ResidentInputs) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = wide_rows(25, 90, 5, 0.05, 11);
  PcaParams p;
  p.n_components = 5;
  p.solver = PcaSolver::gram;
  const PcaModel host = stray::pca_fit(*backend, p, X.view());
  const stray::DeviceArray<float> dX = backend->upload(X.view());
  const PcaModel dense = stray::pca_fit(*backend, p, dX);
  EXPECT_EQ(backend->download(dX).storage(), X.storage());
  const CsrMatrix S = stray::dense_to_csr(X.view());
  const stray::DeviceCsr dS = backend->borrow_or_upload_csr(S.view());
  const PcaModel csr = stray::pca_fit(*backend, p, dS);
  for (const PcaModel* m : {&dense, &csr}) {
    ASSERT_EQ(m->n_components, 5);
    for (int64_t k = 0; k < 5; ++k) {
      EXPECT_NEAR(m->explained_variance_ratio[k], host.explained_variance_ratio[k], 1e-6);
      for (int64_t j = 0; j < 90; ++j) ASSERT_NEAR(m->components(k, j), host.components(k, j), 1e-4);
    }
  }
}

// Against the float64 eigendecomposition of the covariance (an outside
// reference, not the other solver): binary data, 80 x 600, a variance
// fraction that keeps more components than the first guess of the count.
TEST_P(PcaGram, MatchesTheFloat64Covariance) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = binary_rows(80, 600, 6, 0.07, 13);
  const int64_t n = X.rows(), d = X.cols();
  Eigen::MatrixXd centred(n, d);
  for (int64_t j = 0; j < d; ++j) {
    double mean = 0.0;
    for (int64_t i = 0; i < n; ++i) mean += X(i, j);
    mean /= double(n);
    for (int64_t i = 0; i < n; ++i) centred(i, j) = X(i, j) - mean;
  }
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(
      centred.transpose() * centred / double(n - 1));
  const Eigen::VectorXd ev = es.eigenvalues().reverse().cwiseMax(0.0);
  double cum = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < d && cum <= 0.95; ++i, ++count) cum += ev[i] / ev.sum();
  ASSERT_GT(count, 32);  // past the first guess: a second eigen solve
  for (bool sparse : {false, true}) {
    SCOPED_TRACE(sparse ? "CSR" : "dense");
    PcaParams p;
    p.variance_fraction = 0.95;
    const PcaModel g = fit(*backend, p, PcaSolver::automatic, X, sparse);
    EXPECT_EQ(g.solver, PcaSolver::gram);
    ASSERT_EQ(g.n_components, count);
    for (int64_t c = 0; c < count; ++c) {
      EXPECT_NEAR(g.explained_variance[c], ev[c], 1e-5 * ev[0]) << c;
      EXPECT_NEAR(g.explained_variance_ratio[c], ev[c] / ev.sum(), 1e-6) << c;
    }
    EXPECT_NEAR(g.total_variance, ev.sum(), 1e-6 * ev.sum());
    // The leading components, which stand apart from the rest.
    for (int64_t c = 0; c < 4; ++c) {
      double dot = 0.0;
      for (int64_t j = 0; j < d; ++j) dot += g.components(c, j) * es.eigenvectors()(j, d - 1 - c);
      EXPECT_NEAR(std::abs(dot), 1.0, 1e-6) << c;
    }
    expect_orthonormal(g, 1e-6);
  }
}

TEST_P(PcaGram, StatisticsAloneCannotRunIt) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = wide_rows(10, 20, 3, 0.1, 17);
  stray::PcaAccumulator acc(20);
  acc.add(*backend, X.view());
  PcaParams p;
  p.n_components = 2;
  p.solver = PcaSolver::gram;
  try {
    acc.finalize(*backend, p);
    FAIL() << "expected stray::Error";
  } catch (const stray::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("gram"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, PcaGram, ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

// The same bits for any number of CPU threads (the products' summation
// order depends on the shape alone).
TEST(PcaGramThreads, ResultsDoNotDependOnThreadCount) {
  stray::BackendOptions one, three;
  one.cpu.threads = 1;
  three.cpu.threads = 3;
  auto b1 = stray::make_backend("cpu", one);
  auto b3 = stray::make_backend("cpu", three);
  const Matrix<float> X = binary_rows(70, 300, 4, 0.08, 19);
  const CsrMatrix S = stray::dense_to_csr(X.view());
  PcaParams p;
  p.variance_fraction = 0.9;
  p.solver = PcaSolver::gram;
  for (bool sparse : {false, true}) {
    const PcaModel m1 = sparse ? stray::pca_fit(*b1, p, S.view()) : stray::pca_fit(*b1, p, X.view());
    const PcaModel m3 = sparse ? stray::pca_fit(*b3, p, S.view()) : stray::pca_fit(*b3, p, X.view());
    EXPECT_EQ(m1.explained_variance, m3.explained_variance);
    EXPECT_EQ(m1.components.storage(), m3.components.storage());
  }
}

}  // namespace
