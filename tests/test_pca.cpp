// PCA properties on every backend: the randomized solver finds the exact
// subspace on low-rank-plus-noise data (dense and sparse), sparse and dense
// inputs give the same model, streaming in batches and merging gives the
// one-shot model, edge cases and errors.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "backend_params.hpp"
#include "core/rng.hpp"
#include "stray/decomposition/pca.hpp"

namespace {

using stray::Backend;
using stray::CsrMatrix;
using stray::ErrorCode;
using stray::Matrix;
using stray::PcaAccumulator;
using stray::PcaModel;
using stray::PcaParams;
using stray::PcaSolver;

/// n x d: rank-r signal with scales 10, 9, ... plus isotropic noise and offsets.
Matrix<float> low_rank_plus_noise(int64_t n, int64_t d, int64_t r, double noise, uint64_t seed) {
  stray::internal::Rng rng(seed);
  // Orthonormal signal directions Q [d x r] by Gram–Schmidt (twice, for
  // accuracy). No Eigen here: the library is built with other CPU flags.
  Matrix<double> Q(d, r);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < r; ++j) Q(i, j) = rng.normal();
  for (int pass = 0; pass < 2; ++pass) {
    for (int64_t j = 0; j < r; ++j) {
      for (int64_t p = 0; p < j; ++p) {
        double dot = 0.0;
        for (int64_t i = 0; i < d; ++i) dot += Q(i, j) * Q(i, p);
        for (int64_t i = 0; i < d; ++i) Q(i, j) -= dot * Q(i, p);
      }
      double norm = 0.0;
      for (int64_t i = 0; i < d; ++i) norm += Q(i, j) * Q(i, j);
      norm = std::sqrt(norm);
      for (int64_t i = 0; i < d; ++i) Q(i, j) /= norm;
    }
  }
  std::vector<double> offset(static_cast<std::size_t>(d));
  for (auto& o : offset) o = 5.0 * rng.normal();
  Matrix<float> X(n, d);
  std::vector<double> z(static_cast<std::size_t>(r));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < r; ++j) z[j] = (10.0 - j) * rng.normal();
    for (int64_t c = 0; c < d; ++c) {
      double v = offset[c] + noise * rng.normal();
      for (int64_t j = 0; j < r; ++j) v += Q(c, j) * z[j];
      X(i, c) = static_cast<float>(v);
    }
  }
  return X;
}

/// Sparse binary rows drawn from a few prototypes (a fleet of workload
/// types): a few strong directions over a flat noise floor.
CsrMatrix prototype_binary(int64_t n, int64_t d, int64_t types, double density, uint64_t seed) {
  stray::internal::Rng rng(seed);
  std::vector<std::vector<double>> prob(static_cast<std::size_t>(types),
                                        std::vector<double>(static_cast<std::size_t>(d)));
  for (auto& p : prob)
    for (auto& v : p) v = rng.uniform() < 0.2 ? 0.6 : density * 0.2;
  CsrMatrix m;
  m.rows = n;
  m.cols = d;
  for (int64_t i = 0; i < n; ++i) {
    const auto& p = prob[rng.below(static_cast<uint64_t>(types))];
    for (int64_t j = 0; j < d; ++j) {
      if (rng.uniform() < p[j]) {
        m.indices.push_back(static_cast<int32_t>(j));
        m.values.push_back(1.0f);
      }
    }
    m.indptr.push_back(static_cast<int64_t>(m.indices.size()));
  }
  return m;
}

/// An upper bound on the largest principal angle (radians) between the row
/// spaces of A and B [k x d] (orthonormal rows): with M = A·Bᵀ,
/// Σ sin²θᵢ = k − ‖M‖²_F ≥ sin²θ_max.
double max_principal_angle(const Matrix<double>& A, const Matrix<double>& B) {
  const int64_t k = A.rows(), d = A.cols();
  double fro = 0.0;
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b) {
      double s = 0.0;
      for (int64_t j = 0; j < d; ++j) s += A(a, j) * B(b, j);
      fro += s * s;
    }
  return std::asin(std::min(1.0, std::sqrt(std::max(0.0, static_cast<double>(k) - fro))));
}

// The dense CPU Gram adds float32 partial sums over row blocks of at most
// 2048 rows before carrying them in float64 (docs/pca.md). A float32 sum of
// m terms of one sign has rounding error about sqrt(m) * 2^-24 relative, so
// the dense model's variances carry about 2.7e-6 relative error against the
// float64 sparse path; four times that bounds it with room on any x86 CPU
// (the summation order inside a block differs with the SIMD width).
constexpr double kDenseGramRelTol = 4.0 * 45.26 /* sqrt(2048) */ * 5.96e-8;

void expect_models_equal(const PcaModel& a, const PcaModel& b, double comp_tol, double ratio_tol,
                         double variance_rel_tol = 1e-6) {
  ASSERT_EQ(a.n_components, b.n_components);
  ASSERT_EQ(a.n_features, b.n_features);
  EXPECT_EQ(a.n_samples, b.n_samples);
  for (int64_t j = 0; j < a.n_features; ++j)
    EXPECT_NEAR(a.mean[j], b.mean[j], 1e-6 * (1.0 + std::abs(a.mean[j])));
  for (int64_t c = 0; c < a.n_components; ++c) {
    EXPECT_NEAR(a.explained_variance_ratio[c], b.explained_variance_ratio[c], ratio_tol) << c;
    EXPECT_NEAR(a.explained_variance[c], b.explained_variance[c],
                ratio_tol * a.explained_variance[0] * 10)
        << c;
    for (int64_t j = 0; j < a.n_features; ++j)
      ASSERT_NEAR(a.components(c, j), b.components(c, j), comp_tol) << c << "," << j;
  }
  EXPECT_NEAR(a.total_variance, b.total_variance, variance_rel_tol * a.total_variance);
}

template <typename F>
void expect_error(ErrorCode code, F&& f, const std::string& fragment = "") {
  try {
    f();
    FAIL() << "expected stray::Error";
  } catch (const stray::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    if (!fragment.empty()) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
}

class Pca : public ::testing::TestWithParam<std::string> {};

TEST_P(Pca, RandomizedFindsTheExactSubspaceDense) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = low_rank_plus_noise(3000, 400, 8, 0.5, 1);
  PcaParams exact;
  exact.n_components = 8;
  exact.solver = PcaSolver::covariance;
  PcaParams rnd = exact;
  rnd.solver = PcaSolver::randomized;
  rnd.seed = 3;
  const PcaModel me = stray::pca_fit(*backend, exact, X.view());
  const PcaModel mr = stray::pca_fit(*backend, rnd, X.view());
  EXPECT_EQ(mr.solver, PcaSolver::randomized);
  EXPECT_LT(max_principal_angle(me.components, mr.components), 1e-3);
  for (int64_t c = 0; c < 8; ++c) {
    EXPECT_NEAR(mr.explained_variance_ratio[c], me.explained_variance_ratio[c], 1e-5) << c;
    EXPECT_NEAR(mr.explained_variance[c] / me.explained_variance[c], 1.0, 1e-4) << c;
  }
  EXPECT_NEAR(mr.total_variance, me.total_variance, 1e-6 * me.total_variance);
  EXPECT_NEAR(mr.noise_variance / me.noise_variance, 1.0, 1e-3);
  // Well-separated components match one by one after the sign convention.
  for (int64_t c = 0; c < 8; ++c)
    for (int64_t j = 0; j < 400; ++j)
      ASSERT_NEAR(mr.components(c, j), me.components(c, j), 1e-3) << c << "," << j;

  // Resident data (implicit centring) give the same subspace.
  auto dX = backend->upload(X.view());
  const PcaModel mres = stray::pca_fit(*backend, rnd, dX);
  EXPECT_LT(max_principal_angle(me.components, mres.components), 1e-3);
  // Same seed, same result.
  const PcaModel again = stray::pca_fit(*backend, rnd, X.view());
  EXPECT_EQ(again.components.storage(), mr.components.storage());
}

TEST_P(Pca, RandomizedFindsTheExactSubspaceSparse) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const CsrMatrix S = prototype_binary(4000, 500, 5, 0.05, 2);
  PcaParams exact;
  exact.n_components = 4;
  exact.solver = PcaSolver::covariance;
  PcaParams rnd = exact;
  rnd.solver = PcaSolver::automatic;  // sparse → randomized
  const PcaModel me = stray::pca_fit(*backend, exact, S.view());
  const PcaModel mr = stray::pca_fit(*backend, rnd, S.view());
  EXPECT_EQ(mr.solver, PcaSolver::randomized);
  EXPECT_LT(max_principal_angle(me.components, mr.components), 1e-3);
  for (int64_t c = 0; c < 4; ++c)
    EXPECT_NEAR(mr.explained_variance_ratio[c], me.explained_variance_ratio[c], 1e-5) << c;

  // Dense input of the same data: same exact model, and randomized agrees.
  const Matrix<float> D = stray::csr_to_dense(S.view());
  expect_models_equal(me, stray::pca_fit(*backend, exact, D.view()), 1e-5,
                      kDenseGramRelTol * me.explained_variance_ratio[0], kDenseGramRelTol);
  PcaParams rnd_dense = exact;
  rnd_dense.solver = PcaSolver::randomized;
  const PcaModel mrd = stray::pca_fit(*backend, rnd_dense, D.view());
  EXPECT_LT(max_principal_angle(mr.components, mrd.components), 1e-3);

  // Sparse and dense transforms agree.
  const Matrix<float> Ts = stray::pca_transform(*backend, mr, S.view());
  const Matrix<float> Td = stray::pca_transform(*backend, mr, D.view());
  for (int64_t i = 0; i < Ts.size(); ++i) ASSERT_NEAR(Ts.data()[i], Td.data()[i], 1e-4) << i;
}

TEST_P(Pca, StreamingAndMergingGiveTheOneShotModel) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = low_rank_plus_noise(2500, 40, 5, 0.3, 7);
  PcaParams p;
  p.n_components = 5;  // the signal's rank: noise directions are ill-determined
  const PcaModel one_shot = stray::pca_fit(*backend, p, X.view());

  // Two "processes", uneven batches, then a merge.
  const std::vector<int64_t> cuts{0, 1, 300, 301, 1200, 1999, 2500};
  PcaAccumulator a(40), b(40);
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    (i % 2 ? a : b).add(*backend, X.view().row_block(cuts[i], cuts[i + 1] - cuts[i]));
  }
  PcaAccumulator merged = a;
  merged.merge(b);
  EXPECT_EQ(merged.n_samples(), 2500);
  expect_models_equal(one_shot, merged.finalize(*backend, p), 2e-5, 1e-7);

  // The other grouping, and a round trip through raw sums.
  PcaAccumulator other = b;
  other.merge(a);
  expect_models_equal(one_shot, other.finalize(*backend, p), 2e-5, 1e-7);
  const PcaAccumulator from_sums =
      PcaAccumulator::from_sums(merged.n_samples(), merged.sum(), merged.sum_outer());
  expect_models_equal(one_shot, from_sums.finalize(*backend, p), 1e-4, 1e-6);
  const PcaAccumulator from_moments =
      PcaAccumulator::from_moments(merged.n_samples(), merged.mean(), merged.scatter());
  expect_models_equal(merged.finalize(*backend, p), from_moments.finalize(*backend, p), 1e-12,
                      1e-12);

  // CSR batches and resident batches feed the same statistics.
  PcaAccumulator c(40);
  const CsrMatrix S = stray::dense_to_csr(X.view().row_block(0, 1000));
  c.add(*backend, S.view());
  auto rest = backend->upload(X.view().row_block(1000, 1500));
  c.add(*backend, rest);
  expect_models_equal(one_shot, c.finalize(*backend, p), 2e-5, 1e-7);

  // Empty accumulators merge as no-ops; mismatched widths are refused.
  PcaAccumulator empty(40);
  merged.merge(empty);
  EXPECT_EQ(merged.n_samples(), 2500);
  PcaAccumulator narrow(39);
  expect_error(ErrorCode::shape_mismatch, [&] { merged.merge(narrow); });
  expect_error(ErrorCode::invalid_argument, [&] { empty.finalize(*backend, p); }, "n_samples=0");
  PcaParams rnd = p;
  rnd.solver = PcaSolver::randomized;
  expect_error(ErrorCode::invalid_argument, [&] { merged.finalize(*backend, rnd); });
}

TEST_P(Pca, SmallBlocksStreamTheSameModel) {
  // A tiny workspace forces many row blocks through the host streaming path.
  stray::BackendOptions opts = stray::testing::suite_options();
  opts.workspace_bytes = 64 << 10;  // the minimum: blocks of ~68 rows (~270 read in place)
  STRAY_BACKEND_OR_SKIP(small, GetParam(), opts);
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = low_rank_plus_noise(1500, 30, 4, 0.2, 9);
  PcaParams p;
  p.n_components = 4;
  expect_models_equal(stray::pca_fit(*backend, p, X.view()), stray::pca_fit(*small, p, X.view()),
                      2e-5, 1e-7);
  const CsrMatrix S = stray::dense_to_csr(X.view());
  p.solver = PcaSolver::covariance;
  expect_models_equal(stray::pca_fit(*backend, p, X.view()), stray::pca_fit(*small, p, S.view()),
                      2e-5, 1e-7);
  // A NaN is named by its row in X, not within the block that met it.
  Matrix<float> nan = X;
  nan(1400, 7) = std::nanf("");
  const PcaModel model = stray::pca_fit(*small, p, X.view());
  for (const auto& fit_or_transform : std::vector<std::function<void()>>{
           [&] { stray::pca_fit(*small, p, nan.view()); },
           [&] { stray::pca_transform(*small, model, nan.view()); }}) {
    expect_error(ErrorCode::non_finite_input, fit_or_transform, "X[1400, 7] = nan");
  }
}

TEST_P(Pca, DriftingRowsKeepTheScatterAccurate) {
  // Rows sorted by a large offset: the first rows' mean is a poor guess of
  // the batch mean (the accumulator then repeats the pass about the mean
  // it found), and consecutive host blocks have different means. Mean and
  // scatter must match a float64 two-pass reference as closely as
  // centring on each block's own mean does.
  stray::BackendOptions small_opts = stray::testing::suite_options();
  small_opts.workspace_bytes = 4 << 20;  // host blocks of ~1,900 rows (~7,500 read in place)
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  STRAY_BACKEND_OR_SKIP(small, GetParam(), small_opts);
  const int64_t n = 20000, d = 70;
  Matrix<float> X = low_rank_plus_noise(n, d, 3, 0.5, 12);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; j += 3) X(i, j) += static_cast<float>(200.0 * i / n);
  std::vector<double> mean(d, 0.0), ref(static_cast<std::size_t>(d * d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean[j] += X(i, j);
  for (double& m : mean) m /= n;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t a = 0; a < d; ++a)
      for (int64_t b = 0; b < d; ++b) ref[a * d + b] += (X(i, a) - mean[a]) * (X(i, b) - mean[b]);
  auto check = [&](const PcaAccumulator& acc) {
    ASSERT_EQ(acc.n_samples(), n);
    for (int64_t a = 0; a < d; ++a) {
      ASSERT_NEAR(acc.mean()[a], mean[a], 1e-6 * std::sqrt(ref[a * d + a] / n)) << a;
      for (int64_t b = 0; b < d; ++b) {
        const double scale = std::sqrt(ref[a * d + a] * ref[b * d + b]);
        ASSERT_NEAR(acc.scatter()[a * d + b], ref[a * d + b], 1e-6 * scale) << a << "," << b;
      }
    }
  };
  for (Backend* be : {backend.get(), small.get()}) {
    PcaAccumulator host(d);
    host.add(*be, X.view());
    check(host);
    PcaAccumulator resident(d);
    resident.add(*be, be->upload(X.view()));
    check(resident);
  }
}

TEST_P(Pca, EdgeCases) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // d = 1.
  Matrix<float> col(50, 1);
  for (int64_t i = 0; i < 50; ++i) col(i, 0) = static_cast<float>(i % 7);
  PcaModel m1 = stray::pca_fit(*backend, PcaParams{}, col.view());
  EXPECT_EQ(m1.n_components, 1);
  EXPECT_NEAR(m1.explained_variance_ratio[0], 1.0, 1e-12);
  EXPECT_EQ(m1.components(0, 0), 1.0);

  // Two rows: one direction carries everything.
  Matrix<float> two(2, 3);
  two(0, 0) = 1; two(0, 1) = 2; two(0, 2) = 3;
  two(1, 0) = 2; two(1, 1) = 2; two(1, 2) = 5;
  PcaParams p2;
  p2.n_components = 1;
  const PcaModel m2 = stray::pca_fit(*backend, p2, two.view());
  EXPECT_NEAR(m2.explained_variance_ratio[0], 1.0, 1e-6);
  EXPECT_NEAR(m2.components(0, 2), 2.0 / std::sqrt(5.0), 1e-6);

  // All-constant data: zero variance everywhere, finite ratios and whitening.
  Matrix<float> flat(10, 4, 2.5f);
  PcaParams pw;
  pw.n_components = 2;
  pw.whiten = true;
  const PcaModel mf = stray::pca_fit(*backend, pw, flat.view());
  for (double r : mf.explained_variance_ratio) EXPECT_EQ(r, 0.0);
  const Matrix<float> Tf = stray::pca_transform(*backend, mf, flat.view());
  for (float v : Tf.storage()) EXPECT_EQ(v, 0.0f);

  // n < d with every component: n_components = min(n, d).
  const Matrix<float> wide = low_rank_plus_noise(6, 20, 3, 0.1, 3);
  const PcaModel mw = stray::pca_fit(*backend, PcaParams{}, wide.view());
  EXPECT_EQ(mw.n_components, 6);
  EXPECT_EQ(mw.noise_variance, 0.0);
  double sum = 0.0;
  for (double r : mw.explained_variance_ratio) sum += r;
  EXPECT_NEAR(sum, 1.0, 1e-6);

  // Whitened coordinates have unit variance.
  const Matrix<float> X = low_rank_plus_noise(2000, 12, 3, 0.5, 4);
  PcaParams pw3;
  pw3.n_components = 3;
  pw3.whiten = true;
  const auto ft = stray::pca_fit_transform(*backend, pw3, X.view());
  for (int64_t c = 0; c < 3; ++c) {
    double s = 0.0, s2 = 0.0;
    for (int64_t i = 0; i < 2000; ++i) {
      s += ft.transformed(i, c);
      s2 += double(ft.transformed(i, c)) * ft.transformed(i, c);
    }
    EXPECT_NEAR(s / 2000, 0.0, 1e-4);
    EXPECT_NEAR(s2 / 1999, 1.0, 1e-4);
  }
  // The resident transform agrees with the host one.
  auto dX = backend->upload(X.view());
  const Matrix<float> Tr = backend->download(stray::pca_transform(*backend, ft.model, dX));
  for (int64_t i = 0; i < Tr.size(); ++i)
    ASSERT_NEAR(Tr.data()[i], ft.transformed.data()[i], 1e-3) << i;
}

TEST_P(Pca, ClearErrors) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  Matrix<float> one(1, 5, 1.0f);
  expect_error(ErrorCode::invalid_argument, [&] { stray::pca_fit(*backend, PcaParams{}, one.view()); },
               "n_samples=1");
  const CsrMatrix one_sparse = stray::dense_to_csr(one.view());
  expect_error(ErrorCode::invalid_argument,
               [&] { stray::pca_fit(*backend, PcaParams{}, one_sparse.view()); }, "n_samples=1");

  const Matrix<float> X = low_rank_plus_noise(30, 6, 2, 0.1, 5);
  PcaParams too_many;
  too_many.n_components = 7;
  expect_error(ErrorCode::invalid_argument, [&] { stray::pca_fit(*backend, too_many, X.view()); },
               "n_components=7");
  PcaParams both;
  both.n_components = 2;
  both.variance_fraction = 0.5;
  expect_error(ErrorCode::invalid_argument, [&] { stray::pca_fit(*backend, both, X.view()); });
  PcaParams bad_fraction;
  bad_fraction.variance_fraction = 1.5;
  expect_error(ErrorCode::invalid_argument,
               [&] { stray::pca_fit(*backend, bad_fraction, X.view()); });
  PcaParams rnd_fraction;
  rnd_fraction.variance_fraction = 0.9;
  rnd_fraction.solver = PcaSolver::randomized;
  expect_error(ErrorCode::invalid_argument,
               [&] { stray::pca_fit(*backend, rnd_fraction, X.view()); }, "variance_fraction");

  Matrix<float> nan = X;
  nan(17, 3) = std::nanf("");
  expect_error(ErrorCode::non_finite_input, [&] { stray::pca_fit(*backend, PcaParams{}, nan.view()); },
               "[17, 3]");
  PcaParams rp;
  rp.n_components = 2;
  rp.solver = PcaSolver::randomized;
  expect_error(ErrorCode::non_finite_input, [&] { stray::pca_fit(*backend, rp, nan.view()); });

  PcaParams p;
  p.n_components = 2;
  const PcaModel m = stray::pca_fit(*backend, p, X.view());
  Matrix<float> wrong(4, 5);
  expect_error(ErrorCode::shape_mismatch, [&] { stray::pca_transform(*backend, m, wrong.view()); });
  expect_error(ErrorCode::shape_mismatch,
               [&] { stray::pca_inverse_transform(*backend, m, wrong.view()); });
  expect_error(ErrorCode::not_fitted, [&] { stray::pca_transform(*backend, PcaModel{}, X.view()); });
  expect_error(ErrorCode::invalid_argument, [] { stray::parse_pca_solver("svd"); }, "svd");
}

// Finite values whose float32 products pass float's range: every solver
// says so (not "NaN or Inf in the data" alone, nor a failed SVD).
TEST_P(Pca, FiniteValuesTooLargeForFloat32ProductsAreNamed) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  Matrix<float> X(40, 3, 1.0f);
  for (int64_t i = 0; i < X.rows(); ++i) X(i, 1) = static_cast<float>(i);
  X(0, 0) = 3e38f;
  const CsrMatrix sparse = stray::dense_to_csr(X.view());
  // The CUDA backend's own solvers may meet the overflow elsewhere first
  // (unverified on a GPU); the error's kind is the same.
  const std::string says = GetParam() == "cpu" ? "too large for float32 products" : "";
  for (const PcaSolver solver : {PcaSolver::covariance, PcaSolver::randomized, PcaSolver::gram}) {
    PcaParams p;
    p.n_components = 2;
    p.solver = solver;
    expect_error(ErrorCode::non_finite_input, [&] { stray::pca_fit(*backend, p, X.view()); }, says);
    expect_error(ErrorCode::non_finite_input, [&] { stray::pca_fit(*backend, p, sparse.view()); },
                 says);
  }
}

TEST_P(Pca, RankDeficientRandomized) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Rank 3 exactly (no noise); asking for 3 recovers the exact subspace.
  const Matrix<float> X = low_rank_plus_noise(800, 60, 3, 0.0, 8);
  PcaParams pe;
  pe.n_components = 3;
  pe.solver = PcaSolver::covariance;
  PcaParams pr = pe;
  pr.solver = PcaSolver::randomized;
  const PcaModel me = stray::pca_fit(*backend, pe, X.view());
  const PcaModel mr = stray::pca_fit(*backend, pr, X.view());
  EXPECT_LT(max_principal_angle(me.components, mr.components), 1e-3);
  double kept = 0.0;
  for (double r : mr.explained_variance_ratio) kept += r;
  EXPECT_NEAR(kept, 1.0, 1e-5);
}

TEST(PcaSolverRule, AutoChoosesAsDocumented) {
  PcaParams p;
  p.n_components = 10;
  EXPECT_EQ(stray::choose_pca_solver(p, 200000, 512, false), PcaSolver::covariance);
  EXPECT_EQ(stray::choose_pca_solver(p, 100000, 1000, false), PcaSolver::covariance);
  EXPECT_EQ(stray::choose_pca_solver(p, 100000, 2000, false), PcaSolver::randomized);
  EXPECT_EQ(stray::choose_pca_solver(p, 1500, 1200, false), PcaSolver::randomized);
  EXPECT_EQ(stray::choose_pca_solver(p, 100000, 5000, false), PcaSolver::randomized);
  EXPECT_EQ(stray::choose_pca_solver(p, 100000, 20000, true), PcaSolver::randomized);
  EXPECT_EQ(stray::choose_pca_solver(p, 100000, 50, true), PcaSolver::randomized);
  // Fewer samples than features: the exact solver on the smaller side.
  EXPECT_EQ(stray::choose_pca_solver(p, 300, 400, false), PcaSolver::gram);
  EXPECT_EQ(stray::choose_pca_solver(p, 1000, 1500, false), PcaSolver::gram);
  EXPECT_EQ(stray::choose_pca_solver(p, 1001, 100000, false), PcaSolver::randomized);
  EXPECT_EQ(stray::choose_pca_solver(p, 1000, 5000, true), PcaSolver::gram);
  EXPECT_EQ(stray::choose_pca_solver(p, 2001, 50000, true), PcaSolver::randomized);
  PcaParams frac;
  frac.variance_fraction = 0.95;
  EXPECT_EQ(stray::choose_pca_solver(frac, 100000, 20000, true), PcaSolver::covariance);
  EXPECT_EQ(stray::choose_pca_solver(frac, 1000, 5000, true), PcaSolver::gram);
  EXPECT_EQ(stray::choose_pca_solver(frac, 931, 5382, false), PcaSolver::gram);
  EXPECT_EQ(stray::choose_pca_solver(frac, 5000, 5000, false), PcaSolver::covariance);
  PcaParams many;
  many.n_components = 40;
  EXPECT_EQ(stray::choose_pca_solver(many, 60, 5000, false), PcaSolver::gram);
  EXPECT_EQ(stray::choose_pca_solver(many, 60, 50, false), PcaSolver::covariance);
  PcaParams forced;
  forced.solver = PcaSolver::randomized;
  EXPECT_EQ(stray::choose_pca_solver(forced, 100, 10, false), PcaSolver::randomized);
  EXPECT_STREQ(stray::to_string(stray::parse_pca_solver("auto")), "auto");
  EXPECT_EQ(stray::parse_pca_solver("gram"), PcaSolver::gram);
}

TEST(PcaThreads, ResultsDoNotDependOnThreadCount) {
  stray::BackendOptions one, three;
  one.cpu.threads = 1;
  three.cpu.threads = 3;
  auto b1 = stray::make_backend("cpu", one);
  auto b3 = stray::make_backend("cpu", three);
  const Matrix<float> X = low_rank_plus_noise(5000, 300, 6, 0.5, 10);
  for (PcaSolver s : {PcaSolver::covariance, PcaSolver::randomized}) {
    PcaParams p;
    p.n_components = 6;
    p.solver = s;
    const PcaModel a = stray::pca_fit(*b1, p, X.view());
    const PcaModel b = stray::pca_fit(*b3, p, X.view());
    EXPECT_EQ(a.components.storage(), b.components.storage()) << to_string(s);
    EXPECT_EQ(a.explained_variance, b.explained_variance) << to_string(s);
  }
}

// The covariance fit with the CPU's tile unit (bfloat16-split Gram, where
// the CPU has AMX) and without it: the same model within rounding.
TEST(PcaTileUnit, SameModelWithAndWithoutTheTileUnit) {
  const Matrix<float> X = low_rank_plus_noise(6000, 200, 8, 0.3, 12);
  PcaParams p;
  p.n_components = 8;
  p.solver = PcaSolver::covariance;
  PcaModel m[2];
  for (int off = 0; off < 2; ++off) {
    stray::BackendOptions options;
    options.cpu.tile_unit = off == 0;
    auto backend = stray::make_backend("cpu", options);
    m[off] = stray::pca_fit(*backend, p, X.view());
  }
  for (int64_t c = 0; c < 8; ++c) {
    EXPECT_NEAR(m[0].explained_variance_ratio[c], m[1].explained_variance_ratio[c], 1e-6) << c;
    double dot = 0.0;
    for (int64_t j = 0; j < 200; ++j) dot += m[0].components(c, j) * m[1].components(c, j);
    EXPECT_NEAR(dot, 1.0, 1e-6) << "component " << c;  // same direction and sign
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Pca, ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace

namespace {

// n x d rows: `rank` random directions with scales scale(r), plus noise
// 0.1 and an offset of 3.
template <typename Scale>
Matrix<float> spread_rows(int64_t n, int64_t d, int64_t rank, Scale scale, uint64_t seed) {
  stray::internal::Rng rng(seed);
  Matrix<float> basis(rank, d), X(n, d);
  for (auto& v : basis.storage()) v = static_cast<float>(rng.normal());
  std::vector<double> z(rank);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < rank; ++r) z[r] = rng.normal() * scale(r);
    for (int64_t j = 0; j < d; ++j) {
      double v = 0.1 * rng.normal() + 3.0;
      for (int64_t r = 0; r < rank; ++r) v += z[r] * basis(r, j);
      X(i, j) = static_cast<float>(v);
    }
  }
  return X;
}

// The covariance model on the CPU against the whole eigendecomposition of
// the float32 rows' covariance in float64 (Eigen's solver, here): the
// count, explained variances and ratios, the components (each, or their
// span where `same_span_only`), the noise and total variance.
void expect_float64_model(const PcaModel& m, const Matrix<float>& X, int64_t expected_count,
                          bool same_span_only) {
  const int64_t n = X.rows(), d = X.cols();
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean[j] += X(i, j);
  mean /= static_cast<double>(n);
  Eigen::MatrixXd centred(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) centred(i, j) = X(i, j) - mean[j];
  const Eigen::MatrixXd cov = centred.transpose() * centred / static_cast<double>(n - 1);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
  const Eigen::VectorXd ev = es.eigenvalues().reverse().cwiseMax(0.0);
  const double total = ev.sum();
  const int64_t k = expected_count;
  ASSERT_EQ(m.n_components, k);
  Matrix<double> reference(k, d);
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < d; ++j) reference(c, j) = es.eigenvectors()(j, d - 1 - c);
    EXPECT_NEAR(m.explained_variance[c], ev[c], 1e-6 * ev[0]) << c;
    EXPECT_NEAR(m.explained_variance_ratio[c], ev[c] / total, 1e-7) << c;
    if (same_span_only) continue;
    double dot = 0.0;
    for (int64_t j = 0; j < d; ++j) dot += m.components(c, j) * reference(c, j);
    EXPECT_NEAR(std::abs(dot), 1.0, 1e-6) << "component " << c;
  }
  for (int64_t a = 0; a < k; ++a)  // orthonormal rows (the angle bound assumes them)
    for (int64_t b = 0; b <= a; ++b) {
      double dot = 0.0;
      for (int64_t j = 0; j < d; ++j) dot += m.components(a, j) * m.components(b, j);
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-9) << a << ", " << b;
    }
  if (same_span_only) EXPECT_LT(max_principal_angle(m.components, reference), 1e-4);
  const int64_t rank_bound = std::min(n, d);
  if (k < rank_bound) {
    EXPECT_NEAR(m.noise_variance,
                ev.segment(k, rank_bound - k).sum() / static_cast<double>(rank_bound - k),
                1e-6 * ev[k]);
  }
  EXPECT_NEAR(m.total_variance, total, 1e-7 * total);  // the Gram itself differs at ~1e-9
}

// sklearn's count for a variance fraction, from the float64 reference.
int64_t reference_count(const Matrix<float>& X, double fraction) {
  const int64_t n = X.rows(), d = X.cols();
  Eigen::MatrixXd centred(n, d);
  for (int64_t j = 0; j < d; ++j) {
    double mean = 0.0;
    for (int64_t i = 0; i < n; ++i) mean += X(i, j);
    mean /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) centred(i, j) = X(i, j) - mean;
  }
  const Eigen::VectorXd ev =
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(centred.transpose() * centred, false)
          .eigenvalues()
          .reverse()
          .cwiseMax(0.0);
  double cum = 0.0;
  int64_t below = 0;
  for (int64_t i = 0; i < d; ++i) {
    cum += ev[i] / ev.sum();
    if (cum <= fraction) below = i + 1; else break;
  }
  return std::min(below + 1, std::min(n, d));
}

// Wide data (d = 800) with a fixed component count: the CPU backend forms
// only the k largest eigenpairs, iteratively, and knows the rest of the
// spectrum by its sum.
TEST(PcaWide, FixedCountFromTheLargestEigenpairsOnly) {
  const Matrix<float> X = spread_rows(1500, 800, 20, [](int64_t r) { return 10.0 / (1.0 + r); }, 41);
  auto backend = stray::make_backend("cpu");
  PcaParams p;
  p.n_components = 10;
  p.solver = PcaSolver::covariance;
  expect_float64_model(stray::pca_fit(*backend, p, X.view()), X, 10, false);
}

// A variance fraction: every eigenvalue, but only the vectors of the count
// it decides. Within the first guess of the count (d = 300, a few strong
// directions), and past it (d = 200, 120 directions of nearly equal
// variance: a second solve).
TEST(PcaFraction, OnlyTheVectorsOfTheCountItKeeps) {
  auto backend = stray::make_backend("cpu");
  PcaParams p;
  p.solver = PcaSolver::covariance;
  {
    SCOPED_TRACE("within the first guess");
    const Matrix<float> X =
        spread_rows(2000, 300, 12, [](int64_t r) { return 10.0 / (1.0 + r); }, 43);
    p.variance_fraction = 0.9;
    const int64_t expected = reference_count(X, 0.9);
    ASSERT_LT(expected, 32);
    expect_float64_model(stray::pca_fit(*backend, p, X.view()), X, expected, false);
  }
  {
    SCOPED_TRACE("past the first guess");
    const Matrix<float> X =
        spread_rows(3000, 200, 120, [](int64_t r) { return 1.0 + 0.002 * r; }, 47);
    p.variance_fraction = 0.95;
    const int64_t expected = reference_count(X, 0.95);
    ASSERT_GT(expected, 32);
    expect_float64_model(stray::pca_fit(*backend, p, X.view()), X, expected, true);
  }
}

}  // namespace
