// Conformance of the linear-algebra primitives behind PCA (gram, gemm, thin
// QR, symmetric eigensolver, CSR upload / statistics / products) against
// naive float64 loops, on every backend.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "backend_params.hpp"
#include "cpu/cpu_tridiagonal.hpp"
#include "core/rng.hpp"
#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"

namespace {

using stray::Backend;
using stray::CsrMatrix;
using stray::DeviceArray;
using stray::ErrorCode;
using stray::Matrix;

Matrix<float> random_matrix(int64_t rows, int64_t cols, uint64_t seed, float offset = 0.0f) {
  stray::internal::Rng rng(seed);
  Matrix<float> m(rows, cols);
  for (auto& v : m.storage()) v = offset + static_cast<float>(rng.normal());
  return m;
}

CsrMatrix random_csr(int64_t rows, int64_t cols, double density, uint64_t seed) {
  stray::internal::Rng rng(seed);
  CsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      if (rng.uniform() < density) {
        m.indices.push_back(static_cast<int32_t>(j));
        m.values.push_back(static_cast<float>(rng.uniform() < 0.5 ? 1.0 : rng.normal()));
      }
    }
    m.indptr.push_back(static_cast<int64_t>(m.indices.size()));
  }
  return m;
}

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

class LinalgPrimitives : public ::testing::TestWithParam<std::string> {};

TEST_P(LinalgPrimitives, GramMatchesNaiveFloat64) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // d spans several output tiles and n several row blocks, neither a multiple.
  for (auto [n, d] : {std::pair<int64_t, int64_t>{5000, 200}, {3, 1}, {1, 7}, {2100, 129}}) {
    SCOPED_TRACE("n=" + std::to_string(n) + " d=" + std::to_string(d));
    Matrix<float> X = random_matrix(n, d, 11 + n, 3.0f);
    std::vector<float> w(static_cast<std::size_t>(n));
    stray::internal::Rng rng(5);
    for (auto& v : w) v = static_cast<float>(0.5 + rng.uniform());
    std::vector<double> shift(static_cast<std::size_t>(d));
    for (int64_t j = 0; j < d; ++j) shift[j] = 3.0 + 0.01 * j;

    auto dX = backend->upload(X.view());
    auto dw = backend->upload(w);
    for (bool weighted : {false, true}) {
      std::vector<double> G(static_cast<std::size_t>(d * d));
      backend->gram(dX, weighted ? &dw : nullptr, shift.data(), G.data());
      std::vector<double> ref(static_cast<std::size_t>(d * d), 0.0);
      for (int64_t i = 0; i < n; ++i) {
        const double wi = weighted ? w[i] : 1.0;
        for (int64_t a = 0; a < d; ++a) {
          const double xa = X(i, a) - shift[a];
          for (int64_t b = 0; b < d; ++b) ref[a * d + b] += wi * xa * (X(i, b) - shift[b]);
        }
      }
      const double scale = max_abs(ref);
      for (int64_t p = 0; p < d * d; ++p) {
        ASSERT_NEAR(G[p], ref[p], 2e-6 * scale) << "entry " << p;
      }
      for (int64_t a = 0; a < d; ++a)
        for (int64_t b = 0; b < d; ++b) ASSERT_EQ(G[a * d + b], G[b * d + a]);
    }
  }
}

TEST_P(LinalgPrimitives, GramWithSumsMatchesNaiveFloat64) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Shifts near the mean and far from it (the sums are what corrects for
  // the latter); shapes on both sides of the CPU's tile-unit threshold.
  for (auto [n, d] : {std::pair<int64_t, int64_t>{5000, 200}, {3, 1}, {2100, 129}, {700, 40}}) {
    SCOPED_TRACE("n=" + std::to_string(n) + " d=" + std::to_string(d));
    Matrix<float> X = random_matrix(n, d, 21 + n, 3.0f);
    for (double offset : {0.0, 0.1, -4.0}) {
      SCOPED_TRACE("shift offset " + std::to_string(offset));
      std::vector<double> shift(static_cast<std::size_t>(d));
      for (int64_t j = 0; j < d; ++j) shift[j] = 3.0 + offset + 0.001 * j;
      auto dX = backend->upload(X.view());
      std::vector<double> G(static_cast<std::size_t>(d * d)), sums(static_cast<std::size_t>(d));
      backend->gram_with_sums(dX, shift.data(), G.data(), sums.data());
      std::vector<double> ref(static_cast<std::size_t>(d * d), 0.0);
      std::vector<double> ref_sums(static_cast<std::size_t>(d), 0.0), abs_sums(ref_sums);
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t a = 0; a < d; ++a) {
          const double xa = X(i, a) - shift[a];
          ref_sums[a] += xa;
          abs_sums[a] += std::abs(xa);
          for (int64_t b = 0; b < d; ++b) ref[a * d + b] += xa * (X(i, b) - shift[b]);
        }
      }
      const double scale = max_abs(ref);
      for (int64_t p = 0; p < d * d; ++p) ASSERT_NEAR(G[p], ref[p], 2e-6 * scale) << "entry " << p;
      for (int64_t a = 0; a < d; ++a) {
        ASSERT_NEAR(sums[a], ref_sums[a], 1e-6 * abs_sums[a]) << "column " << a;
        for (int64_t b = 0; b < d; ++b) ASSERT_EQ(G[a * d + b], G[b * d + a]);
      }
    }
  }
  // A NaN makes its column's sum non-finite.
  Matrix<float> X = random_matrix(3000, 70, 5);
  X(1234, 17) = std::nanf("");
  auto dX = backend->upload(X.view());
  std::vector<double> G(70 * 70), sums(70), shift(70, 0.0);
  backend->gram_with_sums(dX, shift.data(), G.data(), sums.data());
  EXPECT_FALSE(std::isfinite(sums[17]));
  EXPECT_TRUE(std::isfinite(sums[16]));
}

TEST_P(LinalgPrimitives, GemmAllTransposesMatchNaive) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  struct Shape {
    int64_t m, n, k;
  };
  // Includes a long inner dimension with a small output (the Qᵀ·X case).
  for (Shape s : {Shape{37, 23, 19}, Shape{300, 600, 70}, Shape{5, 7, 40000}, Shape{1, 1, 1}}) {
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        SCOPED_TRACE("m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) +
                     " k=" + std::to_string(s.k) + " ta=" + std::to_string(ta) +
                     " tb=" + std::to_string(tb));
        Matrix<float> A = ta ? random_matrix(s.k, s.m, 1) : random_matrix(s.m, s.k, 1);
        Matrix<float> B = tb ? random_matrix(s.n, s.k, 2) : random_matrix(s.k, s.n, 2);
        Matrix<float> C0 = random_matrix(s.m, s.n, 3);
        auto dA = backend->upload(A.view());
        auto dB = backend->upload(B.view());
        auto dC = backend->upload(C0.view());
        const float alpha = 0.75f, beta = -0.5f;
        backend->gemm(ta, tb, alpha, dA, dB, beta, dC);
        Matrix<float> C = backend->download(dC);
        for (int64_t i = 0; i < s.m; ++i) {
          for (int64_t j = 0; j < s.n; ++j) {
            double acc = 0.0, mag = 0.0;
            for (int64_t p = 0; p < s.k; ++p) {
              const double a = ta ? A(p, i) : A(i, p);
              const double b = tb ? B(j, p) : B(p, j);
              acc += a * b;
              mag += std::abs(a * b);
            }
            const double ref = alpha * acc + beta * C0(i, j);
            ASSERT_NEAR(C(i, j), ref, 1e-5 * (mag + 1.0)) << i << "," << j;
          }
        }
      }
    }
  }
}

TEST_P(LinalgPrimitives, GemmBetaZeroIgnoresGarbageAndChecksShapes) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  Matrix<float> A = random_matrix(4, 3, 1), B = random_matrix(3, 2, 2);
  Matrix<float> C0(4, 2, std::nanf(""));
  auto dA = backend->upload(A.view());
  auto dB = backend->upload(B.view());
  auto dC = backend->upload(C0.view());
  backend->gemm(false, false, 1.0f, dA, dB, 0.0f, dC);
  Matrix<float> C = backend->download(dC);
  for (float v : C.storage()) EXPECT_TRUE(std::isfinite(v));

  auto bad = backend->allocate<float>(5, 2);
  try {
    backend->gemm(false, false, 1.0f, dA, dB, 0.0f, bad);
    FAIL() << "expected shape_mismatch";
  } catch (const stray::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::shape_mismatch);
  }
  try {
    backend->gemm(true, false, 1.0f, dA, dB, 0.0f, dC);
    FAIL() << "expected shape_mismatch";
  } catch (const stray::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::shape_mismatch);
  }
}

TEST_P(LinalgPrimitives, OrthonormalizeColumnsGivesOrthonormalBasisOfSameSpan) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  for (auto [n, l] : {std::pair<int64_t, int64_t>{1000, 20}, {64, 64}, {5, 1}, {30000, 60}}) {
    SCOPED_TRACE("n=" + std::to_string(n) + " l=" + std::to_string(l));
    Matrix<float> A = random_matrix(n, l, 9);
    auto dA = backend->upload(A.view());
    backend->orthonormalize_columns(dA);
    Matrix<float> Q = backend->download(dA);
    // QᵀQ = I
    for (int64_t a = 0; a < l; ++a) {
      for (int64_t b = 0; b < l; ++b) {
        double s = 0.0;
        for (int64_t i = 0; i < n; ++i) s += double(Q(i, a)) * Q(i, b);
        ASSERT_NEAR(s, a == b ? 1.0 : 0.0, 1e-4) << a << "," << b;
      }
    }
    // Each column of A lies in span(Q): ‖A − Q QᵀA‖ small.
    for (int64_t c = 0; c < std::min<int64_t>(l, 5); ++c) {
      std::vector<double> coef(static_cast<std::size_t>(l), 0.0);
      double norm = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        norm += double(A(i, c)) * A(i, c);
        for (int64_t a = 0; a < l; ++a) coef[a] += double(Q(i, a)) * A(i, c);
      }
      double resid = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        double r = A(i, c);
        for (int64_t a = 0; a < l; ++a) r -= coef[a] * Q(i, a);
        resid += r * r;
      }
      EXPECT_LT(std::sqrt(resid / norm), 1e-4) << "column " << c;
    }
  }
  auto wide = backend->allocate<float>(3, 5);
  EXPECT_THROW(backend->orthonormalize_columns(wide), stray::Error);
}

TEST_P(LinalgPrimitives, SymmetricEigenAscendingAndOrthonormal) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  for (int64_t d : {1, 2, 17, 150}) {
    SCOPED_TRACE("d=" + std::to_string(d));
    Matrix<float> R = random_matrix(d + 3, d, 21);
    std::vector<double> A(static_cast<std::size_t>(d * d), 0.0);
    for (int64_t i = 0; i < R.rows(); ++i)
      for (int64_t a = 0; a < d; ++a)
        for (int64_t b = 0; b < d; ++b) A[a * d + b] += double(R(i, a)) * R(i, b);
    std::vector<double> evals(static_cast<std::size_t>(d)), evecs(static_cast<std::size_t>(d * d));
    backend->symmetric_eigen(d, A.data(), evals.data(), evecs.data());
    const double scale = max_abs(A);
    for (int64_t k = 1; k < d; ++k) EXPECT_LE(evals[k - 1], evals[k]);
    for (int64_t k = 0; k < d; ++k) {
      // A v = λ v
      for (int64_t a = 0; a < d; ++a) {
        double av = 0.0;
        for (int64_t b = 0; b < d; ++b) av += A[a * d + b] * evecs[b * d + k];
        ASSERT_NEAR(av, evals[k] * evecs[a * d + k], 1e-9 * scale);
      }
      for (int64_t k2 = 0; k2 < d; ++k2) {
        double dot = 0.0;
        for (int64_t a = 0; a < d; ++a) dot += evecs[a * d + k] * evecs[a * d + k2];
        ASSERT_NEAR(dot, k == k2 ? 1.0 : 0.0, 1e-9);
      }
    }
  }
}

// A = Q·diag(λ)·Qᵀ with a random orthogonal Q [d x d].
std::vector<double> with_spectrum(const std::vector<double>& lambda, uint64_t seed) {
  const int64_t d = static_cast<int64_t>(lambda.size());
  stray::internal::Rng rng(seed);
  std::vector<double> Q(static_cast<std::size_t>(d * d));  // columns orthonormalised below
  for (auto& v : Q) v = rng.normal();
  for (int pass = 0; pass < 2; ++pass) {
    for (int64_t j = 0; j < d; ++j) {
      for (int64_t p = 0; p < j; ++p) {
        double dot = 0.0;
        for (int64_t i = 0; i < d; ++i) dot += Q[i * d + j] * Q[i * d + p];
        for (int64_t i = 0; i < d; ++i) Q[i * d + j] -= dot * Q[i * d + p];
      }
      double nrm = 0.0;
      for (int64_t i = 0; i < d; ++i) nrm += Q[i * d + j] * Q[i * d + j];
      for (int64_t i = 0; i < d; ++i) Q[i * d + j] /= std::sqrt(nrm);
    }
  }
  std::vector<double> A(static_cast<std::size_t>(d * d), 0.0);
  for (int64_t a = 0; a < d; ++a)
    for (int64_t b = 0; b < d; ++b)
      for (int64_t j = 0; j < d; ++j) A[a * d + b] += Q[a * d + j] * lambda[j] * Q[b * d + j];
  return A;
}

// The k top pairs (`top`, largest first) of A [d x d] with all eigenvalues
// `vals`, against the full solver's: the same eigenvalues, A·v = λ·v,
// orthonormal, and for a simple, well separated eigenvalue the same vector
// up to sign.
void expect_top_pairs(const std::vector<double>& A, const std::vector<double>& full_vals,
                      const std::vector<double>& full_vecs, const std::vector<double>& vals,
                      const std::vector<double>& top, int64_t k) {
  const int64_t d = static_cast<int64_t>(vals.size());
  const double scale = std::max(max_abs(A), 1e-300);
  for (int64_t i = 0; i < d; ++i) ASSERT_NEAR(vals[i], full_vals[i], 1e-12 * scale) << i;
  for (int64_t c = 0; c < k; ++c) {
    const double lambda = vals[d - 1 - c];
    const double* v = top.data() + c * d;
    for (int64_t a = 0; a < d; ++a) {  // A v = λ v
      double av = 0.0;
      for (int64_t b = 0; b < d; ++b) av += A[a * d + b] * v[b];
      ASSERT_NEAR(av, lambda * v[a], 1e-9 * scale) << "vector " << c << " row " << a;
    }
    for (int64_t c2 = 0; c2 <= c; ++c2) {
      double dot = 0.0;
      for (int64_t a = 0; a < d; ++a) dot += v[a] * top[c2 * d + a];
      ASSERT_NEAR(dot, c == c2 ? 1.0 : 0.0, 1e-9) << c << "," << c2;
    }
    const double gap = std::min(c > 0 ? vals[d - c] - lambda : 1e300,
                                c + 1 < d ? lambda - vals[d - 2 - c] : 1e300);
    if (gap > 1e-3 * scale) {
      double dot = 0.0;
      for (int64_t a = 0; a < d; ++a) dot += v[a] * full_vecs[a * d + (d - 1 - c)];
      ASSERT_NEAR(std::abs(dot), 1.0, 1e-9) << "vector " << c;
    }
  }
}

TEST_P(LinalgPrimitives, SymmetricEigenTopMatchesTheFullSolver) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  struct Case {
    std::string name;
    std::vector<double> A;
  };
  std::vector<Case> cases;
  for (int64_t d : {5, 150, 300}) {
    Matrix<float> R = random_matrix(d + 3, d, 31 + d);
    std::vector<double> A(static_cast<std::size_t>(d * d), 0.0);
    for (int64_t i = 0; i < R.rows(); ++i)
      for (int64_t a = 0; a < d; ++a)
        for (int64_t b = 0; b < d; ++b) A[a * d + b] += double(R(i, a)) * R(i, b);
    cases.push_back({"random d=" + std::to_string(d), A});
  }
  // Repeated eigenvalues (a cluster of 3, a pair, one more), then a rank
  // deficient tail of zeros; and a matrix of equal eigenvalues only.
  std::vector<double> clustered(160, 0.0);
  for (int64_t j = 0; j < 3; ++j) clustered[j] = 10.0;
  clustered[3] = clustered[4] = 5.0;
  clustered[5] = 4.999999;
  for (int64_t j = 6; j < 40; ++j) clustered[j] = 1.0 / static_cast<double>(j);
  cases.push_back({"clustered, rank 40", with_spectrum(clustered, 8)});
  cases.push_back({"identity", with_spectrum(std::vector<double>(96, 2.0), 9)});
  cases.push_back({"zero", std::vector<double>(80 * 80, 0.0)});

  for (const Case& tc : cases) {
    const int64_t d = static_cast<int64_t>(std::lround(std::sqrt(double(tc.A.size()))));
    std::vector<double> full_vals(static_cast<std::size_t>(d)), full_vecs(tc.A.size());
    backend->symmetric_eigen(d, tc.A.data(), full_vals.data(), full_vecs.data());
    // Past a quarter of the vectors the CPU takes all of them at once; the
    // counted form decides k from the eigenvalues it is given.
    for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{7}, d / 4, d / 2 + 1, d}) {
      if (k > d) continue;
      for (bool counted : {false, true}) {
        SCOPED_TRACE(tc.name + ", k=" + std::to_string(k) + (counted ? ", counted" : ""));
        std::vector<double> vals(static_cast<std::size_t>(d)), top(static_cast<std::size_t>(k * d));
        if (counted) {
          std::vector<double> seen;
          const auto count = [&](const double* ascending) {
            seen.assign(ascending, ascending + d);
            return k;
          };
          ASSERT_EQ(backend->symmetric_eigen_counted(d, tc.A.data(), count, vals.data(), top), k);
          ASSERT_EQ(top.size(), static_cast<std::size_t>(k * d));
          EXPECT_EQ(seen, vals) << "the count saw other eigenvalues than those returned";
        } else {
          backend->symmetric_eigen_top(d, tc.A.data(), k, vals.data(), top.data());
        }
        ASSERT_NO_FATAL_FAILURE(expect_top_pairs(tc.A, full_vals, full_vecs, vals, top, k));
      }
    }
  }
}

TEST_P(LinalgPrimitives, SymmetricEigenCountedRefusesACountOutOfRange) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const std::vector<double> A = with_spectrum(std::vector<double>(20, 1.5), 3);
  std::vector<double> vals(20), top;
  for (int64_t bad : {int64_t{-1}, int64_t{21}}) {
    EXPECT_THROW(
        backend->symmetric_eigen_counted(
            20, A.data(), [bad](const double*) { return bad; }, vals.data(), top),
        stray::Error)
        << bad;
  }
}

// symmetric_eigen_largest on every backend: where it answers, the k largest
// pairs, descending, match the backend's full solver and the CPU's (values;
// vectors up to sign where the eigenvalue is simple); an orthonormal basis
// for a repeated top eigenvalue; nothing written where it declines. The
// CUDA backend (cusolverDnXsyevdx, an index range) must answer every shape
// it does not decline by rule (tiny d, k = 0, k = d).
TEST_P(LinalgPrimitives, SymmetricEigenLargestMatchesTheFullSolvers) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  auto cpu = stray::make_backend("cpu");
  struct Case {
    std::string name;
    std::vector<double> lambda;
    int64_t k;
  };
  std::vector<double> decaying(300), indefinite(200), clustered(120, 0.0);
  for (int64_t j = 0; j < 300; ++j) decaying[j] = 50.0 * std::pow(0.9, double(j));
  for (int64_t j = 0; j < 200; ++j) indefinite[j] = 3.0 - 0.03 * double(j);  // down to −3
  for (int64_t j = 0; j < 4; ++j) clustered[j] = 7.0;  // a repeated top eigenvalue
  for (int64_t j = 4; j < 60; ++j) clustered[j] = 1.0 / double(j);
  const std::vector<Case> cases = {{"decaying", decaying, 10},
                                   {"indefinite", indefinite, 25},
                                   {"repeated top", clustered, 6},
                                   {"one of many", decaying, 1},
                                   {"all but one", std::vector<double>(decaying.begin(),
                                                                       decaying.begin() + 40),
                                    39}};
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    const int64_t d = static_cast<int64_t>(tc.lambda.size()), k = tc.k;
    const std::vector<double> A = with_spectrum(tc.lambda, 40 + d);
    std::vector<double> values(static_cast<std::size_t>(k), -1.0),
        vectors(static_cast<std::size_t>(k * d), -1.0);
    const bool answered = backend->symmetric_eigen_largest(d, A.data(), k, values.data(),
                                                           vectors.data());
    if (GetParam() == "cuda") ASSERT_TRUE(answered);
    if (!answered) {
      EXPECT_TRUE(std::all_of(values.begin(), values.end(), [](double v) { return v == -1.0; }));
      continue;
    }
    std::vector<double> all(static_cast<std::size_t>(d)), top(static_cast<std::size_t>(k * d));
    backend->symmetric_eigen_top(d, A.data(), k, all.data(), top.data());
    std::vector<double> cpu_all(static_cast<std::size_t>(d)), cpu_vecs(A.size());
    cpu->symmetric_eigen(d, A.data(), cpu_all.data(), cpu_vecs.data());
    const double scale = std::max(std::abs(all[0]), std::abs(all[d - 1]));
    for (int64_t c = 0; c < k; ++c) {
      EXPECT_NEAR(values[c], all[d - 1 - c], 1e-10 * scale) << c;
      EXPECT_NEAR(values[c], cpu_all[d - 1 - c], 1e-10 * scale) << c;
      if (c > 0) EXPECT_GE(values[c - 1], values[c]) << "not descending at " << c;
      const double* v = vectors.data() + c * d;
      double resid = 0.0;
      for (int64_t a = 0; a < d; ++a) {
        double av = 0.0;
        for (int64_t b = 0; b < d; ++b) av += A[a * d + b] * v[b];
        resid += (av - values[c] * v[a]) * (av - values[c] * v[a]);
      }
      EXPECT_LE(std::sqrt(resid), 1e-10 * scale) << "pair " << c;
      for (int64_t c2 = 0; c2 <= c; ++c2) {
        double dot = 0.0;
        for (int64_t a = 0; a < d; ++a) dot += v[a] * vectors[c2 * d + a];
        EXPECT_NEAR(dot, c == c2 ? 1.0 : 0.0, 1e-9) << c << "," << c2;
      }
      const double gap = std::min(c > 0 ? all[d - c] - all[d - 1 - c] : 1e300,
                                  all[d - 1 - c] - all[d - 2 - c]);
      if (gap > 1e-3 * scale) {
        double dot = 0.0, cpu_dot = 0.0;
        for (int64_t a = 0; a < d; ++a) {
          dot += v[a] * top[c * d + a];
          cpu_dot += v[a] * cpu_vecs[a * d + (d - 1 - c)];
        }
        EXPECT_NEAR(std::abs(dot), 1.0, 1e-8) << "vector " << c;
        EXPECT_NEAR(std::abs(cpu_dot), 1.0, 1e-8) << "vector " << c << " against the CPU";
      }
    }
  }
  // Declined by rule: nothing written.
  for (const auto [d, k] : {std::pair<int64_t, int64_t>{5, 2}, {50, 0}, {50, 50}}) {
    const std::vector<double> A = with_spectrum(std::vector<double>(d, 1.0), 3);
    std::vector<double> values(static_cast<std::size_t>(k) + 1, -1.0),
        vectors(static_cast<std::size_t>(k * d) + 1, -1.0);
    EXPECT_FALSE(backend->symmetric_eigen_largest(d, A.data(), k, values.data(), vectors.data()))
        << "d=" << d << " k=" << k;
    EXPECT_TRUE(std::all_of(vectors.begin(), vectors.end(), [](double v) { return v == -1.0; }));
  }
}

TEST_P(LinalgPrimitives, CsrColumnStatsMatchDense) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  CsrMatrix S = random_csr(9000, 53, 0.05, 4);
  Matrix<float> D = stray::csr_to_dense(S.view());
  auto dS = backend->upload_csr(S.view());
  EXPECT_EQ(dS.rows, S.rows);
  EXPECT_EQ(dS.cols, S.cols);
  EXPECT_EQ(dS.nnz, S.nnz());
  std::vector<double> mean(53), var(53);
  backend->csr_column_stats(dS, mean.data(), var.data());
  for (int64_t j = 0; j < 53; ++j) {
    double s = 0.0;
    for (int64_t i = 0; i < D.rows(); ++i) s += D(i, j);
    const double m = s / D.rows();
    double v = 0.0;
    for (int64_t i = 0; i < D.rows(); ++i) v += (D(i, j) - m) * (D(i, j) - m);
    v /= D.rows();
    EXPECT_NEAR(mean[j], m, 1e-12 + 1e-10 * std::abs(m));
    EXPECT_NEAR(var[j], v, 1e-10 * (v + 1e-12));
  }
}

TEST_P(LinalgPrimitives, SpmmBothOrientationsMatchNaive) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // k covers every panel width of the CPU kernels (64, 48, 32, 16) and tails.
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{20000, 300, 13}, {7, 5, 1},
                         {1, 40, 64}, {300, 50, 125}, {200, 30, 35}, {100, 20, 20}}) {
    SCOPED_TRACE("m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
    CsrMatrix S = random_csr(m, n, 0.03, 8);
    Matrix<float> D = stray::csr_to_dense(S.view());
    auto dS = backend->upload_csr(S.view());
    for (bool t : {false, true}) {
      const int64_t inner = t ? m : n, outer = t ? n : m;
      Matrix<float> B = random_matrix(inner, k, 17);
      auto dB = backend->upload(B.view());
      auto dC = backend->allocate<float>(outer, k);
      backend->spmm(t, dS, dB, dC);
      Matrix<float> C = backend->download(dC);
      for (int64_t i = 0; i < outer; ++i) {
        for (int64_t c = 0; c < k; ++c) {
          double acc = 0.0, mag = 0.0;
          for (int64_t p = 0; p < inner; ++p) {
            const double a = t ? D(p, i) : D(i, p);
            acc += a * B(p, c);
            mag += std::abs(a * B(p, c));
          }
          ASSERT_NEAR(C(i, c), acc, 1e-5 * (mag + 1.0)) << "t=" << t << " " << i << "," << c;
        }
      }
      auto bad = backend->allocate<float>(outer + 1, k);
      EXPECT_THROW(backend->spmm(t, dS, dB, bad), stray::Error);
    }
  }
}

// Aᵀ·B with an output larger than a core's L2 (6,000 x 64 floats): the CPU
// backend splits it into slices when the rows' columns ascend, and takes
// the row-chunk path when they do not. Both match float64, and the sliced
// result is the same bits for any thread (so slice) count.
TEST_P(LinalgPrimitives, SpmmTransposedLargeOutputMatchesNaive) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t m = 3000, n = 6000, k = 64;
  CsrMatrix sorted = random_csr(m, n, 0.005, 12);
  CsrMatrix shuffled = sorted;  // the same entries, each row reversed
  for (int64_t i = 0; i < m; ++i) {
    std::reverse(shuffled.indices.begin() + shuffled.indptr[i],
                 shuffled.indices.begin() + shuffled.indptr[i + 1]);
    std::reverse(shuffled.values.begin() + shuffled.indptr[i],
                 shuffled.values.begin() + shuffled.indptr[i + 1]);
  }
  const Matrix<float> B = random_matrix(m, k, 19);
  std::vector<double> ref(static_cast<std::size_t>(n * k), 0.0), mag(ref.size(), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = sorted.indptr[i]; p < sorted.indptr[i + 1]; ++p)
      for (int64_t c = 0; c < k; ++c) {
        const double term = double(sorted.values[p]) * B(i, c);
        ref[sorted.indices[p] * k + c] += term;
        mag[sorted.indices[p] * k + c] += std::abs(term);
      }
  auto dB = backend->upload(B.view());
  for (const CsrMatrix* S : {&sorted, &shuffled}) {
    SCOPED_TRACE(S == &sorted ? "ascending rows" : "descending rows");
    auto dS = backend->upload_csr(S->view());
    auto dC = backend->allocate<float>(n, k);
    backend->spmm(true, dS, dB, dC);
    const std::vector<float> C = backend->download_vector(dC);
    for (int64_t e = 0; e < n * k; ++e) ASSERT_NEAR(C[e], ref[e], 1e-5 * (mag[e] + 1.0)) << e;
  }
  if (GetParam() == "cpu") {
    stray::BackendOptions one, three;
    one.cpu.threads = 1;
    three.cpu.threads = 3;
    std::vector<std::vector<float>> results;
    for (const auto& options : {one, three}) {
      auto cpu = stray::make_backend("cpu", options);
      auto dS = cpu->upload_csr(sorted.view());
      auto dC = cpu->allocate<float>(n, k);
      cpu->spmm(true, dS, cpu->upload(B.view()), dC);
      results.push_back(cpu->download_vector(dC));
    }
    EXPECT_EQ(results[0], results[1]);
  }
}

TEST_P(LinalgPrimitives, ReductionsDoNotDependOnThreadCount) {
  if (GetParam() != "cpu") GTEST_SKIP() << "thread count is a CPU backend option";
  stray::BackendOptions one, two;
  one.cpu.threads = 1;
  two.cpu.threads = 3;
  auto b1 = stray::make_backend("cpu", one);
  auto b2 = stray::make_backend("cpu", two);
  Matrix<float> X = random_matrix(9000, 150, 3, 1.0f);
  std::vector<double> shift(150, 1.0);
  std::vector<double> g1(150 * 150), g2(150 * 150);
  auto x1 = b1->upload(X.view());
  auto x2 = b2->upload(X.view());
  b1->gram(x1, nullptr, shift.data(), g1.data());
  b2->gram(x2, nullptr, shift.data(), g2.data());
  EXPECT_EQ(g1, g2);
  std::vector<double> sums1(150), sums2(150);
  b1->gram_with_sums(x1, shift.data(), g1.data(), sums1.data());
  b2->gram_with_sums(x2, shift.data(), g2.data(), sums2.data());
  EXPECT_EQ(g1, g2);
  EXPECT_EQ(sums1, sums2);

  Matrix<float> Q = random_matrix(9000, 12, 4);
  auto q1 = b1->upload(Q.view());
  auto q2 = b2->upload(Q.view());
  auto c1 = b1->allocate<float>(12, 150);
  auto c2 = b2->allocate<float>(12, 150);
  b1->gemm(true, false, 1.0f, q1, x1, 0.0f, c1);
  b2->gemm(true, false, 1.0f, q2, x2, 0.0f, c2);
  EXPECT_EQ(b1->download_vector(c1), b2->download_vector(c2));
  // A small output with an inner dimension past one reduction chunk (Qᵀ·X
  // in randomized PCA): once summed in another order on one thread.
  Matrix<float> Xl = random_matrix(40000, 150, 8), Ql = random_matrix(40000, 12, 9);
  auto xl1 = b1->upload(Xl.view()), xl2 = b2->upload(Xl.view());
  auto ql1 = b1->upload(Ql.view()), ql2 = b2->upload(Ql.view());
  b1->gemm(true, false, 1.0f, ql1, xl1, 0.0f, c1);
  b2->gemm(true, false, 1.0f, ql2, xl2, 0.0f, c2);
  EXPECT_EQ(b1->download_vector(c1), b2->download_vector(c2));

  CsrMatrix S = random_csr(30000, 40, 0.05, 6);
  auto s1 = b1->upload_csr(S.view());
  auto s2 = b2->upload_csr(S.view());
  Matrix<float> B = random_matrix(30000, 8, 5);
  auto bb1 = b1->upload(B.view());
  auto bb2 = b2->upload(B.view());
  auto o1 = b1->allocate<float>(40, 8);
  auto o2 = b2->allocate<float>(40, 8);
  b1->spmm(true, s1, bb1, o1);
  b2->spmm(true, s2, bb2, o2);
  EXPECT_EQ(b1->download_vector(o1), b2->download_vector(o2));
}

INSTANTIATE_TEST_SUITE_P(Backends, LinalgPrimitives,
                         ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace

namespace {

// The blocked tridiagonalisation (CPU): Q·T·Qᵀ gives S back, Q is
// orthogonal, and T has S's eigenvalues; sizes on both sides of the
// blocked path's threshold (128), with one and several panels; the code
// here and LAPACK's dsytrd (where the single-threaded OpenBLAS is loaded).
TEST(LinalgTridiagonal, ReconstructsTheMatrix) {
  const stray::internal::SytrdFn reductions[] = {nullptr, stray::internal::openblas_sytrd()};
  for (const int64_t d : {1, 2, 7, 128, 129, 200, 300}) {
    for (const stray::internal::SytrdFn sytrd : reductions) {
      SCOPED_TRACE(std::to_string(d) + (sytrd ? " LAPACK" : " own"));
      stray::internal::Rng rng(static_cast<uint64_t>(d));
      Eigen::MatrixXd G(d, d);
      for (int64_t i = 0; i < d * d; ++i) G.data()[i] = rng.normal();
      const Eigen::MatrixXd S = G + G.transpose();  // symmetric, indefinite
      const stray::internal::Tridiagonal t = stray::internal::tridiagonalize(S, sytrd);
      ASSERT_EQ(t.diag.size(), d);
      ASSERT_EQ(t.sub.size(), d - 1);
      Eigen::MatrixXd T = Eigen::MatrixXd::Zero(d, d);
      T.diagonal() = t.diag;
      if (d > 1) {
        T.diagonal(1) = t.sub;
        T.diagonal(-1) = t.sub;
      }
      const Eigen::MatrixXd Q = t.apply_q(Eigen::MatrixXd::Identity(d, d));
      const double size = S.cwiseAbs().maxCoeff();
      EXPECT_LE((Q * T * Q.transpose() - S).cwiseAbs().maxCoeff(), 1e-13 * size * d);
      EXPECT_LE((Q.transpose() * Q - Eigen::MatrixXd::Identity(d, d)).cwiseAbs().maxCoeff(),
                1e-13 * d);
      const Eigen::VectorXd want =
          Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(S, false).eigenvalues();
      const Eigen::VectorXd got =
          Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(T, false).eigenvalues();
      EXPECT_LE((want - got).cwiseAbs().maxCoeff(), 1e-12 * size * d);
    }
  }
}

// symmetric_eigen_largest against the full tridiagonal solver: the same
// eigenvalues, residuals at rounding level, orthonormal vectors, and the
// same vectors (up to sign) where the eigenvalues are simple. Covers the
// subspace iteration (wide, fast-decaying), its fallback (wide, flat: a
// degenerate top eigenspace), the tridiagonal path with bisection (d =
// 300), and a matrix that is not positive semi-definite, where the
// algebraically largest eigenvalues are wanted, not the largest in size.
TEST(LinalgLargest, TopPairsMatchTheFullSolver) {
  auto backend = stray::make_backend("cpu");
  const int64_t k = 12;
  // A = Q·diag(λ)·Qᵀ, Q orthogonal from a QR of a seeded random matrix
  // (Eigen here: the naive helper takes seconds at this size).
  const auto spectral = [](const std::vector<double>& lambda) {
    const int64_t d = static_cast<int64_t>(lambda.size());
    stray::internal::Rng rng(17);
    Eigen::MatrixXd G(d, d);
    for (int64_t i = 0; i < d * d; ++i) G.data()[i] = rng.normal();
    const Eigen::MatrixXd Q = Eigen::HouseholderQR<Eigen::MatrixXd>(G).householderQ();
    const Eigen::MatrixXd M =
        Q * Eigen::Map<const Eigen::VectorXd>(lambda.data(), d).asDiagonal() * Q.transpose();
    std::vector<double> A(static_cast<std::size_t>(d * d));
    Eigen::Map<Eigen::MatrixXd>(A.data(), d, d) = 0.5 * (M + M.transpose());  // symmetric
    return A;
  };
  struct Spectrum {
    const char* name;
    std::vector<double> lambda;
    bool simple;  // the k largest are simple: vectors unique up to sign
  };
  const auto decaying = [](int64_t d) {
    std::vector<double> l(d);
    for (int64_t j = 0; j < d; ++j) l[j] = 100.0 * std::pow(0.7, static_cast<double>(j));
    return l;
  };
  std::vector<double> flat(800), indefinite = decaying(800);
  for (int64_t j = 0; j < 800; ++j) flat[j] = 1.0 + 1e-3 * static_cast<double>(j % 7);
  for (int64_t j = 0; j < 5; ++j) indefinite[799 - j] = -200.0;  // the largest in size: negative
  const std::vector<Spectrum> cases = {{"wide, decaying", decaying(800), true},
                                       {"wide, flat", flat, false},
                                       {"narrow, decaying", decaying(300), true},
                                       {"indefinite", indefinite, true}};
  for (const Spectrum& sp : cases) {
    SCOPED_TRACE(sp.name);
    const int64_t d = static_cast<int64_t>(sp.lambda.size());
    const std::vector<double> A = spectral(sp.lambda);
    std::vector<double> values(k), vectors(static_cast<std::size_t>(k * d));
    ASSERT_TRUE(backend->symmetric_eigen_largest(d, A.data(), k, values.data(), vectors.data()));
    std::vector<double> all(d), top(static_cast<std::size_t>(k * d));
    backend->symmetric_eigen_top(d, A.data(), k, all.data(), top.data());
    const double size = std::max(std::abs(all[0]), std::abs(all[d - 1]));
    const Eigen::Map<const Eigen::MatrixXd> Am(A.data(), d, d);
    const Eigen::Map<const Eigen::MatrixXd> V(vectors.data(), d, k);  // column c: vector c
    for (int64_t c = 0; c < k; ++c) {
      EXPECT_NEAR(values[c], all[d - 1 - c], 1e-10 * size) << c;
      EXPECT_LE((Am * V.col(c) - values[c] * V.col(c)).norm(), 1e-10 * size) << "pair " << c;
      if (sp.simple) {
        double dot = 0.0;
        for (int64_t a = 0; a < d; ++a) dot += vectors[c * d + a] * top[c * d + a];
        EXPECT_NEAR(std::abs(dot), 1.0, 1e-8) << c;
      }
    }
    EXPECT_LE((V.transpose() * V - Eigen::MatrixXd::Identity(k, k)).cwiseAbs().maxCoeff(), 1e-10);
  }
  {
    // Already diagonal (no off-diagonal to pivot on), repeated eigenvalues.
    SCOPED_TRACE("diagonal, repeated");
    const std::vector<double> diag = {5, 1, 5, 3, 0, 5, 1, 3, 0, 1};
    const int64_t d = 10, kd = 4;
    std::vector<double> A(d * d, 0.0);
    for (int64_t i = 0; i < d; ++i) A[i * d + i] = diag[i];
    std::vector<double> values(kd), vectors(kd * d);
    ASSERT_TRUE(backend->symmetric_eigen_largest(d, A.data(), kd, values.data(), vectors.data()));
    const std::vector<double> expected = {5, 5, 5, 3};
    for (int64_t c = 0; c < kd; ++c) EXPECT_NEAR(values[c], expected[c], 1e-13) << c;
    const Eigen::Map<const Eigen::MatrixXd> Am(A.data(), d, d);
    const Eigen::Map<const Eigen::MatrixXd> V(vectors.data(), d, kd);
    for (int64_t c = 0; c < kd; ++c)
      EXPECT_LE((Am * V.col(c) - values[c] * V.col(c)).norm(), 1e-12) << c;
    EXPECT_LE((V.transpose() * V - Eigen::MatrixXd::Identity(kd, kd)).cwiseAbs().maxCoeff(), 1e-12);
  }
  // Nothing to form, or everything: left to the other solvers.
  const std::vector<double> A = spectral(decaying(300));
  std::vector<double> values(300), vectors(300 * 300);
  EXPECT_FALSE(backend->symmetric_eigen_largest(300, A.data(), 0, values.data(), vectors.data()));
  EXPECT_FALSE(backend->symmetric_eigen_largest(300, A.data(), 300, values.data(), vectors.data()));
}

}  // namespace
