// k-means behaviour on every backend: edge cases, determinism, the init
// methods, weights, and bad input. (Golden values from scikit-learn are in
// test_kmeans_golden.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "backend_params.hpp"
#include "cluster/kmeans_data.hpp"
#include "stray/synthetic/datasets.hpp"
#include "stray/cluster/kmeans.hpp"
#include "stray/metrics/metrics.hpp"

namespace stray {
namespace {

Blobs separated_blobs(int64_t n, int64_t d, int64_t centers, uint64_t seed) {
  BlobsParams p;
  p.n_samples = n;
  p.n_features = d;
  p.n_centers = centers;
  p.cluster_std = 0.5;
  p.center_box = 20.0;
  p.seed = seed;
  return make_blobs(p);
}

template <typename Fn>
void expect_error(ErrorCode code, Fn&& fn) {
  try {
    fn();
    FAIL() << "expected stray::Error(" << error_code_name(code) << ")";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find("kmeans"), std::string::npos) << e.what();
  }
}

class KMeans : public ::testing::TestWithParam<std::string> {};

TEST_P(KMeans, RecoversSeparatedBlobsWithEveryInit) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = separated_blobs(3001, 4, 5, 11);
  for (KMeansInit init : {KMeansInit::kmeans_plus_plus, KMeansInit::random, KMeansInit::kmeans_parallel}) {
    KMeansParams p;
    p.n_clusters = 5;
    p.init = init;
    p.seed = 3;
    const KMeansResult r = kmeans_fit(*backend, p, b.X.view());
    EXPECT_DOUBLE_EQ(adjusted_rand_score(b.labels, r.labels), 1.0) << to_string(init);
    EXPECT_TRUE(r.converged);
    EXPECT_EQ(r.labels.size(), 3001u);
    double total = 0;
    for (double s : r.cluster_sizes) total += s;
    EXPECT_EQ(total, 3001.0);
  }
}

TEST_P(KMeans, SameSeedSameResultAndAcrossThreadCounts) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  BlobsParams bp;
  bp.n_samples = 20000;
  bp.n_features = 8;
  bp.n_centers = 12;
  bp.cluster_std = 3.0;  // overlapping: many iterations, many near-ties
  bp.seed = 5;
  const Blobs b = make_blobs(bp);
  KMeansParams p;
  p.n_clusters = 12;
  p.seed = 99;
  p.n_init = 2;
  const KMeansResult r1 = kmeans_fit(*backend, p, b.X.view());
  const KMeansResult r2 = kmeans_fit(*backend, p, b.X.view());
  EXPECT_EQ(r1.labels, r2.labels);
  EXPECT_EQ(r1.inertia, r2.inertia);
  EXPECT_EQ(r1.centers.storage(), r2.centers.storage());
  if (GetParam() == "cpu") {
    for (int threads : {1, 3}) {
      BackendOptions o;
      o.cpu.threads = threads;
      auto other = make_backend("cpu", o);
      const KMeansResult r3 = kmeans_fit(*other, p, b.X.view());
      EXPECT_EQ(r1.labels, r3.labels) << threads << " threads";
      EXPECT_EQ(r1.inertia, r3.inertia) << threads << " threads";
    }
  }
}

TEST_P(KMeans, InertiaIsTheDirectSumOfSquaredDistances) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = separated_blobs(2000, 3, 4, 2);
  KMeansParams p;
  p.n_clusters = 6;
  const KMeansResult r = kmeans_fit(*backend, p, b.X.view());
  double ref = 0.0;
  for (int64_t i = 0; i < b.X.rows(); ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      const double diff = static_cast<double>(b.X(i, j)) - r.centers(r.labels[i], j);
      ref += diff * diff;
    }
  }
  // Centring and float32 centres round differently from this float64 loop.
  EXPECT_NEAR(r.inertia, ref, 1e-6 * ref);
  // Labels match the returned centres (final assignment pass).
  const NearestCenters nc = kmeans_predict(*backend, r.centers.view(), b.X.view());
  EXPECT_EQ(nc.labels, r.labels);
  double sum = 0.0;
  for (float v : nc.sq_distances) sum += v;
  EXPECT_NEAR(sum, r.inertia, 1e-5 * r.inertia);
}

// Rows far from the origin are centred before the expanded distances;
// rows near it are used as given. Either way the fit is the same, moved.
TEST_P(KMeans, SameFitFarFromTheOrigin) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // 64 features and 20 centres: the tile unit's path where the CPU has one.
  const Blobs b = separated_blobs(6000, 64, 20, 4);
  // Uncentred, the expanded distances' float32 rounding near ‖x‖² ≈ 6.4e11
  // would exceed the blobs' squared separation (~1.7e4).
  constexpr float kOffset = 1e5f;
  Matrix<float> far = b.X;
  for (auto& v : far.storage()) v += kOffset;
  KMeansParams p;
  p.n_clusters = 20;
  p.max_iter = 10;
  p.tol = 0.0;
  p.init = KMeansInit::explicit_centers;
  p.initial_centers = Matrix<float>(20, 64);
  std::set<int32_t> seeded;  // one initial centre in each blob: no near ties
  for (int64_t i = 0; i < b.X.rows(); ++i) {
    if (!seeded.insert(b.labels[i]).second) continue;
    for (int64_t j = 0; j < 64; ++j) p.initial_centers(b.labels[i], j) = b.X(i, j);
  }
  ASSERT_EQ(seeded.size(), 20u);
  const KMeansResult near_fit = kmeans_fit(*backend, p, b.X.view());
  for (auto& v : p.initial_centers.storage()) v += kOffset;
  const KMeansResult far_fit = kmeans_fit(*backend, p, far.view());
  EXPECT_EQ(near_fit.labels, far_fit.labels);
  EXPECT_DOUBLE_EQ(adjusted_rand_score(b.labels, far_fit.labels), 1.0);
  // The far rows themselves are rounded to float32 near 1e5 (2⁻⁷ apart).
  EXPECT_NEAR(far_fit.inertia, near_fit.inertia, 1e-3 * near_fit.inertia);
  for (int64_t c = 0; c < 20; ++c) {
    for (int64_t j = 0; j < 64; ++j) {
      ASSERT_NEAR(far_fit.centers(c, j) - kOffset, near_fit.centers(c, j), 1e-2) << c << "," << j;
    }
  }
}

TEST(KMeansInput, CentresOnlyRowsFarFromTheOrigin) {
  using internal::needs_centring;
  // ‖mean‖² against the total variance.
  EXPECT_FALSE(needs_centring({0.0, 0.0}, {1.0, 1.0}));
  EXPECT_FALSE(needs_centring({1.0, 1.0}, {1.0, 1.0}));
  EXPECT_TRUE(needs_centring({1.0, 1.01}, {1.0, 1.0}));
  EXPECT_TRUE(needs_centring({0.99, 0.0}, {0.01, 0.0}));  // a near-constant package column
  EXPECT_TRUE(needs_centring({1e-3}, {0.0}));               // constant data
}

TEST_P(KMeans, EdgeShapes) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  {  // n == k: every point its own cluster, inertia 0
    const Blobs b = separated_blobs(9, 2, 3, 1);
    KMeansParams p;
    p.n_clusters = 9;
    const KMeansResult r = kmeans_fit(*backend, p, b.X.view());
    EXPECT_EQ(std::set<int32_t>(r.labels.begin(), r.labels.end()).size(), 9u);
    EXPECT_NEAR(r.inertia, 0.0, 1e-9);
  }
  {  // d == 1
    Matrix<float> X(100, 1);
    for (int64_t i = 0; i < 100; ++i) X(i, 0) = i < 50 ? 0.1f * i : 100.0f + 0.1f * i;
    KMeansParams p;
    p.n_clusters = 2;
    const KMeansResult r = kmeans_fit(*backend, p, X.view());
    EXPECT_NE(r.labels[0], r.labels[99]);
    for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(r.labels[i], r.labels[0]);
  }
  {  // k == 1: the centre is the mean
    const Blobs b = separated_blobs(1001, 3, 2, 4);
    KMeansParams p;
    p.n_clusters = 1;
    const KMeansResult r = kmeans_fit(*backend, p, b.X.view());
    for (int64_t j = 0; j < 3; ++j) {
      double m = 0;
      for (int64_t i = 0; i < 1001; ++i) m += b.X(i, j);
      EXPECT_NEAR(r.centers(0, j), m / 1001, 1e-4);
    }
    EXPECT_LE(r.n_iter, 2);
  }
  {  // duplicated points: fewer distinct points than k, empty clusters get relocated
    Matrix<float> X(40, 2, 0.0f);
    for (int64_t i = 20; i < 40; ++i) X(i, 0) = 5.0f;
    X(39, 1) = 1.0f;
    KMeansParams p;
    p.n_clusters = 3;
    for (KMeansInit init : {KMeansInit::kmeans_plus_plus, KMeansInit::random, KMeansInit::kmeans_parallel}) {
      p.init = init;
      const KMeansResult r = kmeans_fit(*backend, p, X.view());
      EXPECT_NEAR(r.inertia, 0.0, 1e-9) << to_string(init);
      EXPECT_EQ(std::set<int32_t>(r.labels.begin(), r.labels.end()).size(), 3u) << to_string(init);
    }
  }
}

TEST_P(KMeans, EmptyClusterTakesTheFarthestPoint) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Explicit init with a centre far from every point: it attracts nothing in
  // the first assignment and must be moved to the worst-fitted point.
  Matrix<float> X(6, 1);
  const float xs[] = {0.0f, 0.1f, 0.2f, 10.0f, 10.1f, 30.0f};
  for (int i = 0; i < 6; ++i) X(i, 0) = xs[i];
  KMeansParams p;
  p.n_clusters = 3;
  p.init = KMeansInit::explicit_centers;
  p.initial_centers = Matrix<float>(3, 1);
  p.initial_centers(0, 0) = 0.0f;
  p.initial_centers(1, 0) = 10.0f;
  p.initial_centers(2, 0) = -1000.0f;
  const KMeansResult r = kmeans_fit(*backend, p, X.view());
  EXPECT_EQ(r.labels[5], 2);
  EXPECT_NEAR(r.centers(2, 0), 30.0f, 1e-5);
  EXPECT_EQ(r.labels[3], r.labels[4]);
}

TEST_P(KMeans, IntegerWeightsEqualDuplicatedRows) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = separated_blobs(300, 3, 3, 8);
  std::vector<float> w(300);
  Matrix<float> dup(0, 3);
  std::vector<float> rows;
  for (int64_t i = 0; i < 300; ++i) {
    w[i] = static_cast<float>(1 + i % 3);
    for (int r = 0; r < static_cast<int>(w[i]); ++r) rows.insert(rows.end(), b.X.row(i), b.X.row(i) + 3);
  }
  KMeansParams p;
  p.n_clusters = 3;
  p.init = KMeansInit::explicit_centers;
  p.initial_centers = Matrix<float>::copy_of(b.X.view().row_block(0, 3));
  const KMeansResult weighted = kmeans_fit(*backend, p, b.X.view(), &w);
  const MatrixView<const float> dup_view(rows.data(), static_cast<int64_t>(rows.size() / 3), 3);
  const KMeansResult duplicated = kmeans_fit(*backend, p, dup_view);
  EXPECT_NEAR(weighted.inertia, duplicated.inertia, 1e-5 * duplicated.inertia);
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t j = 0; j < 3; ++j) EXPECT_NEAR(weighted.centers(c, j), duplicated.centers(c, j), 1e-4);
  }
}

TEST_P(KMeans, StrictConvergenceWithZeroTol) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = separated_blobs(500, 2, 3, 9);
  KMeansParams p;
  p.n_clusters = 3;
  p.tol = 0.0;
  const KMeansResult r = kmeans_fit(*backend, p, b.X.view());
  EXPECT_TRUE(r.converged);
  // A fixed point: restarting from it changes no label. (One step may be
  // spent on float32 rounding of the centres before labels are compared.)
  p.init = KMeansInit::explicit_centers;
  p.initial_centers = r.centers;
  const KMeansResult again = kmeans_fit(*backend, p, b.X.view());
  EXPECT_LE(again.n_iter, 2);
  EXPECT_EQ(again.labels, r.labels);
}

TEST_P(KMeans, MaxIterStopsWithoutConvergence) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  BlobsParams bp;
  bp.n_samples = 5000;
  bp.n_features = 2;
  bp.n_centers = 30;
  bp.cluster_std = 4.0;
  const Blobs b = make_blobs(bp);
  KMeansParams p;
  p.n_clusters = 30;
  p.max_iter = 2;
  p.tol = 0.0;
  const KMeansResult r = kmeans_fit(*backend, p, b.X.view());
  EXPECT_EQ(r.n_iter, 2);
  EXPECT_FALSE(r.converged);
}

// The CPU backend's tile-unit products (where the CPU has AMX) and its
// float32 path give the same fit up to the order of float32 near ties.
TEST(KMeansTileUnit, SameFitWithAndWithoutTheTileUnit) {
  BlobsParams bp;
  bp.n_samples = 20000;
  bp.n_features = 40;
  bp.n_centers = 20;
  bp.cluster_std = 4.0;  // overlapping: many rows near a boundary
  bp.seed = 3;
  const Blobs blobs = make_blobs(bp);
  KMeansParams p;
  p.n_clusters = 20;
  p.init = KMeansInit::explicit_centers;
  p.initial_centers = Matrix<float>(20, 40);
  for (int64_t c = 0; c < 20; ++c)
    for (int64_t j = 0; j < 40; ++j) p.initial_centers(c, j) = blobs.X(c * 997, j);
  p.max_iter = 30;
  p.tol = 0.0;
  KMeansResult fits[2];
  for (int off = 0; off < 2; ++off) {
    BackendOptions options;
    options.cpu.tile_unit = off == 0;
    auto backend = make_backend("cpu", options);
    fits[off] = kmeans_fit(*backend, p, blobs.X.view());
  }
  EXPECT_NEAR(fits[0].inertia, fits[1].inertia, 1e-6 * fits[1].inertia);
  EXPECT_GE(adjusted_rand_score(fits[0].labels, fits[1].labels), 0.9999);
}

// The finite scan runs in parallel over large inputs; whichever thread
// finds a bad value, the error names the first one in row order.
TEST(KMeansInput, NonFiniteErrorNamesTheFirstBadCell) {
  auto backend = make_backend("cpu");
  Matrix<float> X(40000, 16, 0.5f);
  X(39000, 3) = NAN;
  X(20001, 7) = -INFINITY;
  X(30000, 0) = NAN;
  KMeansParams p;
  p.n_clusters = 2;
  auto message = [&] {
    try {
      kmeans_fit(*backend, p, X.view());
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::non_finite_input);
      return std::string(e.what());
    }
    ADD_FAILURE() << "non-finite input was accepted";
    return std::string();
  };
  EXPECT_NE(message().find("[20001, 7] = -inf"), std::string::npos) << message();
  X(20001, 7) = 0.0f;
  EXPECT_NE(message().find("[30000, 0] = nan"), std::string::npos) << message();
  // Prediction checks X the same way (through its column statistics).
  const Matrix<float> centers(2, 16, 0.0f);
  try {
    kmeans_predict(*backend, centers.view(), X.view());
    ADD_FAILURE() << "non-finite input was accepted by kmeans_predict";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::non_finite_input);
    EXPECT_NE(std::string(e.what()).find("[30000, 0] = nan"), std::string::npos) << e.what();
  }
}

TEST_P(KMeans, BadInputIsAClearError) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  Matrix<float> X(12, 2, 1.0f);
  KMeansParams p;
  p.n_clusters = 16;
  expect_error(ErrorCode::invalid_argument, [&] { kmeans_fit(*backend, p, X.view()); });
  p.n_clusters = 0;
  expect_error(ErrorCode::invalid_argument, [&] { kmeans_fit(*backend, p, X.view()); });
  p.n_clusters = 2;
  p.max_iter = 0;
  expect_error(ErrorCode::invalid_argument, [&] { kmeans_fit(*backend, p, X.view()); });
  p.max_iter = 10;
  p.tol = -1;
  expect_error(ErrorCode::invalid_argument, [&] { kmeans_fit(*backend, p, X.view()); });
  p.tol = 1e-4;
  X(3, 1) = NAN;
  expect_error(ErrorCode::non_finite_input, [&] { kmeans_fit(*backend, p, X.view()); });
  X(3, 1) = INFINITY;
  expect_error(ErrorCode::non_finite_input, [&] { kmeans_fit(*backend, p, X.view()); });
  X(3, 1) = 0.0f;
  expect_error(ErrorCode::invalid_argument, [&] { kmeans_fit(*backend, p, Matrix<float>(0, 2).view()); });
  std::vector<float> w(11, 1.0f);
  expect_error(ErrorCode::shape_mismatch, [&] { kmeans_fit(*backend, p, X.view(), &w); });
  w.assign(12, 0.0f);
  expect_error(ErrorCode::invalid_argument, [&] { kmeans_fit(*backend, p, X.view(), &w); });
  w.assign(12, 1.0f);
  w[2] = -1.0f;
  expect_error(ErrorCode::invalid_argument, [&] { kmeans_fit(*backend, p, X.view(), &w); });
  p.init = KMeansInit::explicit_centers;
  p.initial_centers = Matrix<float>(2, 3);
  expect_error(ErrorCode::shape_mismatch, [&] { kmeans_fit(*backend, p, X.view()); });
  expect_error(ErrorCode::shape_mismatch,
               [&] { kmeans_predict(*backend, Matrix<float>(2, 3).view(), X.view()); });
}

TEST(KMeansMessages, NameTheFunctionAndValues) {
  auto backend = make_backend("cpu");
  KMeansParams p;
  p.n_clusters = 16;
  try {
    kmeans_fit(*backend, p, Matrix<float>(12, 2, 1.0f).view());
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "kmeans_fit: n_samples=12 < n_clusters=16");
  }
  EXPECT_EQ(parse_kmeans_init("k-means||"), KMeansInit::kmeans_parallel);
  EXPECT_THROW(parse_kmeans_init("kmeans++"), Error);
}

TEST(Backends, AutoNeverFailsAndCpuIsAlwaysThere) {
  auto backend = make_backend("auto");
  ASSERT_NE(backend, nullptr);
  const auto names = available_backends();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names[0], "cpu");
  if (cuda_unavailable_reason().empty()) {
    EXPECT_EQ(backend->name(), "cuda");
  } else {
    EXPECT_EQ(backend->name(), "cpu");
    try {
      make_backend("cuda");
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::backend_unavailable);
    }
  }
  EXPECT_THROW(make_backend("tpu"), Error);
}

INSTANTIATE_TEST_SUITE_P(Backends, KMeans, ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace
}  // namespace stray
