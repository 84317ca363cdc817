// k-means on sparse rows, on every backend: the distance and sum
// primitives against naive float64 loops, the fit against the dense fit
// of the same rows (scikit-learn's answers for both are in
// test_kmeans_golden.cpp), rows with repeated or unsorted columns, the
// initialisations, weights, relocation, prediction, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend_params.hpp"
#include "core/rng.hpp"
#include "stray/cluster/kmeans.hpp"
#include "stray/metrics/metrics.hpp"

namespace stray {
namespace {

// A fleet-like 0/1 matrix: `roles` groups of rows, each role with its own
// packages (present with probability 0.9), plus a few random ones.
struct Roles {
  CsrMatrix X;
  std::vector<int64_t> role;
};

Roles role_rows(int64_t n, int64_t d, int64_t roles, uint64_t seed) {
  internal::Rng rng(seed);
  Matrix<float> dense(n, d);
  Roles out;
  const int64_t width = d / roles;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = static_cast<int64_t>(rng.below(static_cast<uint64_t>(roles)));
    out.role.push_back(r);
    for (int64_t j = r * width; j < (r + 1) * width; ++j) {
      dense(i, j) = rng.uniform() < 0.9 ? 1.0f : 0.0f;
    }
    for (int extra = 0; extra < 3; ++extra) dense(i, static_cast<int64_t>(rng.below(d))) = 1.0f;
  }
  out.X = dense_to_csr(dense.view());
  return out;
}

// ‖x − c‖² in float64, directly.
double naive_sq_distance(const Matrix<float>& X, int64_t i, const Matrix<float>& C, int64_t c) {
  double s = 0.0;
  for (int64_t j = 0; j < X.cols(); ++j) {
    const double diff = static_cast<double>(X(i, j)) - C(c, j);
    s += diff * diff;
  }
  return s;
}

Matrix<float> random_centres(int64_t k, int64_t d, uint64_t seed) {
  internal::Rng rng(seed);
  Matrix<float> C(k, d);
  for (float& v : C.storage()) v = static_cast<float>(rng.uniform());
  return C;
}

class SparseKMeans : public ::testing::TestWithParam<std::string> {};

TEST_P(SparseKMeans, DistancesMatchNaiveFloat64) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Roles r = role_rows(300, 40, 4, 1);
  const Matrix<float> dense = csr_to_dense(r.X.view());
  const Matrix<float> C = random_centres(7, 40, 2);
  const DeviceCsr A = backend->upload_csr(r.X.view());
  const DeviceArray<float> device_c = backend->upload(C.view());
  DeviceArray<float> all = backend->allocate<float>(300, 7);
  backend->csr_sq_distances(A, device_c, all);
  DeviceArray<int32_t> labels = backend->allocate<int32_t>(300);
  DeviceArray<float> nearest = backend->allocate<float>(300);
  backend->csr_nearest_centroid(A, device_c, labels, nearest);
  const Matrix<float> got = backend->download(all);
  const std::vector<int32_t> got_labels = backend->download_vector(labels);
  const std::vector<float> got_nearest = backend->download_vector(nearest);
  for (int64_t i = 0; i < 300; ++i) {
    int64_t best = 0;
    for (int64_t c = 0; c < 7; ++c) {
      const double want = naive_sq_distance(dense, i, C, c);
      // float64 expanded form, rounded to float32 once.
      EXPECT_NEAR(got(i, c), want, 1e-6 * (want + 1.0)) << "row " << i << " centre " << c;
      if (want < naive_sq_distance(dense, i, C, best)) best = c;
    }
    EXPECT_EQ(got_labels[i], best) << "row " << i;
    EXPECT_EQ(got_nearest[i], got(i, best)) << "row " << i;
  }
}

TEST_P(SparseKMeans, CentroidSumsMatchNaiveFloat64) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Roles r = role_rows(200, 30, 3, 3);
  const Matrix<float> dense = csr_to_dense(r.X.view());
  std::vector<int32_t> labels(200);
  std::vector<float> weights(200);
  for (int64_t i = 0; i < 200; ++i) {
    labels[i] = static_cast<int32_t>((i * 7) % 5);
    weights[i] = 0.25f * static_cast<float>(i % 4 + 1);
  }
  const DeviceCsr A = backend->upload_csr(r.X.view());
  const DeviceArray<int32_t> device_labels = backend->upload(labels);
  const DeviceArray<float> device_weights = backend->upload(weights);
  std::vector<double> sums(5 * 30), counts(5);
  backend->csr_centroid_sums(A, device_labels, &device_weights, 5, sums.data(), counts.data());
  std::vector<double> want(5 * 30, 0.0), want_counts(5, 0.0);
  for (int64_t i = 0; i < 200; ++i) {
    want_counts[labels[i]] += weights[i];
    for (int64_t j = 0; j < 30; ++j) want[labels[i] * 30 + j] += weights[i] * dense(i, j);
  }
  for (std::size_t e = 0; e < sums.size(); ++e) EXPECT_NEAR(sums[e], want[e], 1e-12) << e;
  for (int c = 0; c < 5; ++c) EXPECT_NEAR(counts[c], want_counts[c], 1e-12) << c;
  // A label outside [0, k) is an error.
  labels[17] = 5;
  const DeviceArray<int32_t> bad = backend->upload(labels);
  EXPECT_THROW(backend->csr_centroid_sums(A, bad, nullptr, 5, sums.data(), counts.data()), Error);
}

TEST_P(SparseKMeans, SameFitAsTheDenseRows) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Roles r = role_rows(1000, 60, 5, 4);
  const Matrix<float> dense = csr_to_dense(r.X.view());
  KMeansParams p;
  p.n_clusters = 5;
  p.init = KMeansInit::explicit_centers;
  p.initial_centers = random_centres(5, 60, 5);
  const KMeansResult sparse_fit = kmeans_fit(*backend, p, r.X.view());
  const KMeansResult dense_fit = kmeans_fit(*backend, p, dense.view());
  EXPECT_EQ(sparse_fit.labels, dense_fit.labels);
  EXPECT_EQ(sparse_fit.n_iter, dense_fit.n_iter);
  EXPECT_NEAR(sparse_fit.inertia, dense_fit.inertia, 1e-5 * dense_fit.inertia);
  for (std::size_t e = 0; e < dense_fit.centers.storage().size(); ++e) {
    EXPECT_NEAR(sparse_fit.centers.storage()[e], dense_fit.centers.storage()[e], 1e-5);
  }
  EXPECT_EQ(sparse_fit.cluster_sizes, dense_fit.cluster_sizes);
}

TEST_P(SparseKMeans, EveryInitFindsTheRoles) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Roles r = role_rows(2000, 80, 4, 6);
  for (KMeansInit init : {KMeansInit::kmeans_plus_plus, KMeansInit::random}) {
    KMeansParams p;
    p.n_clusters = 4;
    p.init = init;
    p.seed = 9;
    const KMeansResult fit = kmeans_fit(*backend, p, r.X.view());
    EXPECT_DOUBLE_EQ(adjusted_rand_score(r.role, std::vector<int64_t>(fit.labels.begin(),
                                                                      fit.labels.end())),
                     1.0)
        << to_string(init);
    EXPECT_TRUE(fit.converged) << to_string(init);
    // The same seed, the same fit.
    const KMeansResult again = kmeans_fit(*backend, p, r.X.view());
    EXPECT_EQ(again.labels, fit.labels);
    EXPECT_EQ(again.inertia, fit.inertia);
  }
}

TEST_P(SparseKMeans, RepeatedAndUnsortedColumnsAddUp) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Row 1 stores column 2 twice (0.5 + 0.5) and its columns out of order.
  CsrMatrix messy;
  messy.rows = 4;
  messy.cols = 3;
  messy.indptr = {0, 1, 4, 5, 6};
  messy.indices = {0, 2, 1, 2, 0, 1};
  messy.values = {1.0f, 0.5f, 2.0f, 0.5f, 1.0f, 2.0f};
  Matrix<float> dense(4, 3);
  dense(0, 0) = 1;
  dense(1, 1) = 2;
  dense(1, 2) = 1;
  dense(2, 0) = 1;
  dense(3, 1) = 2;
  KMeansParams p;
  p.n_clusters = 2;
  p.init = KMeansInit::explicit_centers;
  p.initial_centers = Matrix<float>(2, 3);
  p.initial_centers(1, 1) = 2.0f;
  const KMeansResult a = kmeans_fit(*backend, p, messy.view());
  const KMeansResult b = kmeans_fit(*backend, p, dense.view());
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.labels, (std::vector<int32_t>{0, 1, 0, 1}));
  EXPECT_NEAR(a.inertia, b.inertia, 1e-6);
  EXPECT_NEAR(a.inertia, 0.5, 1e-6);  // (1 − 0.5)² · 2 rows of cluster 1
}

TEST_P(SparseKMeans, IntegerWeightsEqualDuplicatedRows) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Roles r = role_rows(120, 24, 3, 7);
  std::vector<float> weights(120, 1.0f);
  Matrix<float> dense = csr_to_dense(r.X.view());
  Matrix<float> repeated(120 + 40, 24);
  for (int64_t i = 0; i < 120; ++i) std::copy(dense.row(i), dense.row(i) + 24, repeated.row(i));
  for (int64_t i = 0; i < 40; ++i) {
    weights[i * 3] = 2.0f;
    std::copy(dense.row(i * 3), dense.row(i * 3) + 24, repeated.row(120 + i));
  }
  KMeansParams p;
  p.n_clusters = 3;
  p.init = KMeansInit::explicit_centers;
  p.initial_centers = random_centres(3, 24, 8);
  const KMeansResult weighted = kmeans_fit(*backend, p, r.X.view(), &weights);
  const KMeansResult copies = kmeans_fit(*backend, p, dense_to_csr(repeated.view()).view());
  EXPECT_NEAR(weighted.inertia, copies.inertia, 1e-9 * copies.inertia);
  for (int64_t i = 0; i < 120; ++i) EXPECT_EQ(weighted.labels[i], copies.labels[i]);
}

TEST_P(SparseKMeans, EmptyClusterTakesTheFarthestRow) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // A centre far from every row stays empty and takes the row farthest
  // from its centre, as the dense fit does.
  Matrix<float> dense(5, 2);
  const float rows[5][2] = {{0, 0}, {0.1f, 0}, {0, 0.1f}, {5, 5}, {5.2f, 5}};
  for (int i = 0; i < 5; ++i) std::copy(rows[i], rows[i] + 2, dense.row(i));
  KMeansParams p;
  p.n_clusters = 3;
  p.init = KMeansInit::explicit_centers;
  p.initial_centers = Matrix<float>(3, 2);
  p.initial_centers(0, 0) = 1.0f;
  p.initial_centers(1, 0) = 100.0f;
  p.initial_centers(2, 1) = 100.0f;
  const KMeansResult a = kmeans_fit(*backend, p, dense_to_csr(dense.view()).view());
  const KMeansResult b = kmeans_fit(*backend, p, dense.view());
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.n_iter, b.n_iter);
  EXPECT_NEAR(a.inertia, b.inertia, 1e-6);
  for (double size : a.cluster_sizes) EXPECT_GT(size, 0.0);
}

TEST_P(SparseKMeans, PredictMatchesTheDenseRows) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Roles r = role_rows(400, 32, 4, 10);
  const Matrix<float> C = random_centres(6, 32, 11);
  const NearestCenters a = kmeans_predict(*backend, C.view(), r.X.view());
  const NearestCenters b = kmeans_predict(*backend, C.view(), csr_to_dense(r.X.view()).view());
  EXPECT_EQ(a.labels, b.labels);
  for (std::size_t i = 0; i < a.sq_distances.size(); ++i) {
    EXPECT_NEAR(a.sq_distances[i], b.sq_distances[i], 1e-5 * (b.sq_distances[i] + 1.0)) << i;
  }
}

template <typename Fn>
void expect_error(ErrorCode code, const std::string& says, Fn&& fn) {
  try {
    fn();
    FAIL() << "expected stray::Error(" << error_code_name(code) << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TEST_P(SparseKMeans, BadInputIsAClearError) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Roles r = role_rows(50, 10, 2, 12);
  KMeansParams p;
  p.n_clusters = 3;
  p.init = KMeansInit::kmeans_parallel;
  expect_error(ErrorCode::invalid_argument, "k-means||",
               [&] { kmeans_fit(*backend, p, r.X.view()); });
  p.init = KMeansInit::kmeans_plus_plus;
  p.n_clusters = 51;
  expect_error(ErrorCode::invalid_argument, "n_clusters",
               [&] { kmeans_fit(*backend, p, r.X.view()); });
  p.n_clusters = 2;
  CsrMatrix nan = r.X;
  nan.values[3] = NAN;
  expect_error(ErrorCode::non_finite_input, "kmeans_fit",
               [&] { kmeans_fit(*backend, p, nan.view()); });
  CsrMatrix out_of_range = r.X;
  out_of_range.indices[0] = 10;
  EXPECT_THROW(kmeans_fit(*backend, p, out_of_range.view()), Error);
  const Matrix<float> narrow(2, 9);
  expect_error(ErrorCode::shape_mismatch, "features",
               [&] { kmeans_predict(*backend, narrow.view(), r.X.view()); });
}

INSTANTIATE_TEST_SUITE_P(Backends, SparseKMeans,
                         ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace
}  // namespace stray
