// PCA over batches (pca_fit_batches) on every backend: the one-shot
// covariance fit of the same rows (scikit-learn's answers are in
// test_pca_golden.cpp), a .npy read in blocks, and what it refuses.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "backend_params.hpp"
#include "stray/decomposition/pca.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npy_rows.hpp"
#include "stray/synthetic/datasets.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

Matrix<float> correlated_rows(int64_t n, int64_t d, uint64_t seed) {
  BlobsParams p;
  p.n_samples = n;
  p.n_features = d;
  p.n_centers = 6;
  p.cluster_std = 2.0;
  p.seed = seed;
  return make_blobs(p).X;
}

void expect_same_model(const PcaModel& got, const PcaModel& want, const std::string& what) {
  ASSERT_EQ(got.n_components, want.n_components) << what;
  for (int64_t c = 0; c < want.n_components; ++c) {
    EXPECT_NEAR(got.explained_variance_ratio[c], want.explained_variance_ratio[c], 1e-6) << what;
    EXPECT_NEAR(got.explained_variance[c], want.explained_variance[c],
                1e-6 * want.explained_variance[c]) << what;
    for (int64_t j = 0; j < want.components.cols(); ++j) {
      // The same sign convention (svd_flip): the same vectors, not negated.
      EXPECT_NEAR(got.components(c, j), want.components(c, j), 1e-5) << what << " " << c;
    }
  }
  for (std::size_t j = 0; j < want.mean.size(); ++j) {
    // The accumulator sums each block less a guess of its mean, taken in
    // float32: the means agree within float32 rounding of the data's scale.
    EXPECT_NEAR(got.mean[j], want.mean[j], 1e-6 * (1.0 + std::abs(want.mean[j]))) << what;
  }
}

class PcaBatches : public ::testing::TestWithParam<std::string> {};

TEST_P(PcaBatches, TheWholeCovarianceFit) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = correlated_rows(5000, 12, 1);
  PcaParams p;
  p.n_components = 4;
  p.solver = PcaSolver::covariance;
  const PcaModel whole = pca_fit(*backend, p, X.view());
  p.solver = PcaSolver::automatic;
  for (int64_t batch_rows : {int64_t{777}, int64_t{5000}}) {
    MatrixRowBatches batches(X.view(), batch_rows);
    expect_same_model(pca_fit_batches(*backend, p, batches), whole,
                      "batches of " + std::to_string(batch_rows));
  }
  stray::testing::TempDir dir;
  const std::string path = (dir.path() / "X.npy").string();
  write_npy(path, X.view());
  NpyRowBatches from_file(path, 1000);
  expect_same_model(pca_fit_batches(*backend, p, from_file), whole, "a .npy in blocks");
}

TEST_P(PcaBatches, RefusesWhatItCannotDo) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = correlated_rows(300, 5, 2);
  PcaParams p;
  p.n_components = 2;
  MatrixRowBatches batches(X.view(), 100);
  for (PcaSolver solver : {PcaSolver::randomized, PcaSolver::gram}) {
    p.solver = solver;
    EXPECT_THROW(pca_fit_batches(*backend, p, batches), Error) << to_string(solver);
  }
  p.solver = PcaSolver::automatic;
  const std::vector<float> w(300, 1.0f);
  MatrixRowBatches weighted(X.view(), 100, &w);
  EXPECT_THROW(pca_fit_batches(*backend, p, weighted), Error);
  MatrixRowBatches one_row(X.view().row_block(0, 1), 1);
  EXPECT_THROW(pca_fit_batches(*backend, p, one_row), Error);
  MatrixRowBatches narrow(X.view().row_block(0, 100), 100);
  p.n_components = 6;  // more than the 5 features
  EXPECT_THROW(pca_fit_batches(*backend, p, narrow), Error);

  // A NaN is named by its row among all the rows, not within its batch.
  p.n_components = 2;
  Matrix<float> poisoned = Matrix<float>::copy_of(X.view());
  poisoned(241, 3) = std::nanf("");
  MatrixRowBatches bad(poisoned.view(), 100);
  try {
    pca_fit_batches(*backend, p, bad);
    ADD_FAILURE() << "no error for a NaN";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::non_finite_input);
    EXPECT_NE(std::string(e.what()).find("X[241, 3] = nan"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, PcaBatches,
                         ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace
}  // namespace stray
