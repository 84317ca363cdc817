// k-means on an accelerator backend against the CPU backend and naive
// float64 loops: the fused distance kernel (rows up to 256 wide) and the
// GEMM tiles beyond it, each with shapes that are not multiples of the
// kernel's tiles (64 rows, 64 centres, 32 features), k = 1, exact ties
// split across threads and centre tiles, the smallest workspace (so the
// GEMM path runs many row tiles), and the device's k-means++ sampling.
// On a machine without a GPU every case skips with the probe's reason
// (and fails under STRAY_REQUIRE_CUDA=1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "backend_params.hpp"
#include "test_data.hpp"
#include "stray/cluster/kmeans.hpp"
#include "stray/core/backend.hpp"
#include "stray/metrics/metrics.hpp"
#include "stray/synthetic/datasets.hpp"

namespace stray {
namespace {

using stray::testing::accelerator_names;
using stray::testing::naive_sq_dist;
using stray::testing::normal_matrix;

/// The smallest workspace make_backend accepts: GEMM tiles of few rows.
BackendOptions tiny_workspace() {
  BackendOptions options = stray::testing::suite_options();
  options.workspace_bytes = std::size_t{1} << 16;
  return options;
}

struct Shape {
  int64_t n, d, k;
};

// Fused kernel: d <= 256 (ragged d, k = 1, k across several centre tiles,
// d at the limit). GEMM tiles: d > 256.
const Shape kFusedShapes[] = {{1, 1, 1},     {130, 5, 1},     {1000, 7, 3},
                              {2049, 33, 65}, {777, 256, 130}, {300, 100, 1000}};
const Shape kGemmShapes[] = {{513, 257, 70}, {400, 300, 1}, {200, 301, 129}};

// Float64 distances from row i to every centre.
std::vector<double> distances(const Matrix<float>& X, const Matrix<float>& C, int64_t i) {
  std::vector<double> out(static_cast<std::size_t>(C.rows()));
  for (int64_t j = 0; j < C.rows(); ++j) out[j] = naive_sq_dist(X.row(i), C.row(j), X.cols());
  return out;
}

struct Assignment {
  std::vector<int32_t> labels;
  std::vector<float> dist;
};

Assignment assign(Backend& be, const Matrix<float>& X, const Matrix<float>& C) {
  auto dx = be.upload(X.view());
  auto dc = be.upload(C.view());
  auto labels = be.allocate<int32_t>(X.rows());
  auto dist = be.allocate<float>(X.rows());
  be.nearest_centroid(dx, dc, labels, dist);
  return {be.download_vector(labels), be.download_vector(dist)};
}

// Labels must be a float64-nearest centre up to float32 rounding, equal the
// CPU's wherever the two nearest centres are not a near-tie, and distances
// must match float64.
void expect_assignment_agrees(Backend& device, Backend& cpu, const Shape& s) {
  SCOPED_TRACE(::testing::Message() << "n=" << s.n << " d=" << s.d << " k=" << s.k);
  const Matrix<float> X = normal_matrix(s.n, s.d, 100 + static_cast<uint32_t>(s.d));
  const Matrix<float> C = normal_matrix(s.k, s.d, 200 + static_cast<uint32_t>(s.k));
  const Assignment got = assign(device, X, C), want = assign(cpu, X, C);
  for (int64_t i = 0; i < s.n; ++i) {
    std::vector<double> dist = distances(X, C, i);
    const double chosen = dist[got.labels[i]];
    std::vector<double> sorted = dist;
    std::sort(sorted.begin(), sorted.end());
    const double best = sorted[0];
    EXPECT_NEAR(chosen, best, 1e-5 * (1.0 + best)) << "row " << i;
    EXPECT_NEAR(got.dist[i], best, 1e-4 * (1.0 + best)) << "row " << i;
    EXPECT_GE(got.dist[i], 0.0f);
    const bool clear = s.k == 1 || sorted[1] - sorted[0] > 1e-4 * (1.0 + best);
    if (clear) EXPECT_EQ(got.labels[i], want.labels[i]) << "row " << i;
  }
}

class DeviceKMeans : public ::testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DeviceKMeans);

TEST_P(DeviceKMeans, NearestCentroidAgreesWithTheCpu) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam(), tiny_workspace());
  auto cpu = make_backend("cpu");
  for (const Shape& s : kFusedShapes) expect_assignment_agrees(*backend, *cpu, s);
  for (const Shape& s : kGemmShapes) expect_assignment_agrees(*backend, *cpu, s);
}

// Integer coordinates: every product and sum is exact in float32, so equal
// centres give equal expressions on either path, in any order of addition.
// Copies of the nearest centre sit in the same thread (5, 21), another
// thread (6), and other centre tiles (70, 140): the lowest index wins.
TEST_P(DeviceKMeans, ExactTiesGoToTheLowerIndexAcrossTiles) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam(), tiny_workspace());
  for (const int64_t d : {int64_t{3}, int64_t{40}, int64_t{300}}) {
    SCOPED_TRACE(::testing::Message() << "d=" << d);
    const int64_t n = 150, k = 150;
    std::mt19937 gen(static_cast<uint32_t>(d));
    std::uniform_int_distribution<int> coord(-8, 8);
    Matrix<float> C(k, d);
    for (auto& v : C.storage()) v = static_cast<float>(coord(gen) + 40);  // far from the rows
    Matrix<float> X(n, d);
    for (auto& v : X.storage()) v = static_cast<float>(coord(gen));
    for (const int64_t copy : {5, 6, 21, 70, 140}) {
      for (int64_t j = 0; j < d; ++j) C(copy, j) = X(0, j);
    }
    for (int64_t i = 1; i < n; ++i) {  // every row: a copy of row 0
      for (int64_t j = 0; j < d; ++j) X(i, j) = X(0, j);
    }
    const Assignment got = assign(*backend, X, C);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_EQ(got.labels[i], 5) << "row " << i;
      EXPECT_EQ(got.dist[i], 0.0f) << "row " << i;
    }
  }
}

// closest and the k-means++ potentials, against float64 and the CPU.
TEST_P(DeviceKMeans, ClosestAndPotentialsAgreeWithTheCpu) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam(), tiny_workspace());
  auto cpu = make_backend("cpu");
  for (const Shape& s : {Shape{1, 3, 1}, Shape{1001, 33, 7}, Shape{700, 256, 70},
                         Shape{600, 290, 130}}) {
    SCOPED_TRACE(::testing::Message() << "n=" << s.n << " d=" << s.d << " t=" << s.k);
    const Matrix<float> X = normal_matrix(s.n, s.d, 7);
    const Matrix<float> first = normal_matrix(1, s.d, 8);
    const Matrix<float> C = normal_matrix(s.k, s.d, 9);
    std::vector<float> w(static_cast<std::size_t>(s.n));
    for (int64_t i = 0; i < s.n; ++i) w[i] = 0.5f + static_cast<float>(i % 3);
    std::vector<double> pots(static_cast<std::size_t>(s.k)), cpu_pots(pots);
    std::vector<float> closest;
    for (Backend* be : {backend.get(), cpu.get()}) {
      auto dx = be->upload(X.view());
      auto dw = be->upload(w);
      auto near = be->upload(std::vector<float>(static_cast<std::size_t>(s.n), INFINITY));
      be->update_closest(dx, be->upload(first.view()), near);
      be->candidate_potentials(dx, &dw, near, be->upload(C.view()),
                               be == cpu.get() ? cpu_pots.data() : pots.data());
      if (be == backend.get()) closest = be->download_vector(near);
    }
    for (int64_t j = 0; j < s.k; ++j) {
      double ref = 0.0;
      for (int64_t i = 0; i < s.n; ++i) {
        ref += w[i] * std::min(naive_sq_dist(X.row(i), first.row(0), s.d),
                               naive_sq_dist(X.row(i), C.row(j), s.d));
      }
      EXPECT_NEAR(pots[j], ref, 1e-5 * ref) << "candidate " << j;
      EXPECT_NEAR(pots[j], cpu_pots[j], 1e-5 * ref) << "candidate " << j;
    }
    for (int64_t i = 0; i < s.n; ++i) {
      const double ref = naive_sq_dist(X.row(i), first.row(0), s.d);
      EXPECT_NEAR(closest[i], ref, 1e-4 * (1.0 + ref)) << "row " << i;
    }
  }
}

// The device's running sums: close to the host's, never decreasing, a row
// without mass repeats its predecessor exactly (also where the scan's
// threads and blocks meet), and draws follow upper_bound on them.
TEST_P(DeviceKMeans, CumulativeMassAndDrawsOnTheDevice) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  auto cpu = make_backend("cpu");
  // 524,325 rows: 3 rows per thread, 683 blocks of 768.
  for (const int64_t n : {int64_t{1}, int64_t{300}, int64_t{524325}}) {
    SCOPED_TRACE(::testing::Message() << "n=" << n);
    std::mt19937 gen(static_cast<uint32_t>(n));
    std::uniform_real_distribution<float> value(0.5f, 4.0f);
    std::vector<float> mass(static_cast<std::size_t>(n)), w(mass.size());
    for (int64_t i = 0; i < n; ++i) {
      // Zero runs at thread and block starts and ends, and scattered.
      const bool zero = i % 768 < 4 || i % 768 > 764 || i % 3 == 1 || i % 11 == 0;
      mass[i] = zero ? 0.0f : value(gen);
      w[i] = 1.0f + static_cast<float>(i % 5);
    }
    if (n > 1) mass[n - 1] = 0.0f;  // a massless last row
    mass[0] = n == 1 ? 2.0f : mass[0];
    std::vector<double> sums[2];
    double totals[2];
    Backend* bes[2] = {backend.get(), cpu.get()};
    for (int b = 0; b < 2; ++b) {
      auto dm = bes[b]->upload(mass);
      auto dw = bes[b]->upload(w);
      auto cum = bes[b]->allocate<double>(n);
      totals[b] = bes[b]->cumulative_mass(dm, &dw, cum);
      sums[b] = bes[b]->download_vector(cum);
    }
    const std::vector<double>& got = sums[0];
    EXPECT_EQ(totals[0], got.back());
    EXPECT_NEAR(totals[0], totals[1], 1e-10 * totals[1]);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(got[i], sums[1][i], 1e-10 * totals[1]) << "row " << i;
      const double before = i == 0 ? 0.0 : got[i - 1];
      if (mass[i] == 0.0f) {
        ASSERT_EQ(got[i], before) << "massless row " << i;
      } else {
        ASSERT_GT(got[i], before) << "row " << i;
      }
    }
    // Targets spread over [0, total], both ends included.
    std::vector<double> targets = {0.0, totals[0]};
    for (int t = 1; t < 64; ++t) targets.push_back(totals[0] * t / 64.0);
    auto dm = backend->upload(mass);
    auto dw = backend->upload(w);
    auto cum = backend->allocate<double>(n);
    backend->cumulative_mass(dm, &dw, cum);
    std::vector<int64_t> rows(targets.size());
    backend->draw_from_cumulative(cum, targets.data(), static_cast<int64_t>(targets.size()),
                                  rows.data());
    for (std::size_t t = 0; t < targets.size(); ++t) {
      auto it = std::upper_bound(got.begin(), got.end(), targets[t]);
      if (it == got.end()) it = std::lower_bound(got.begin(), got.end(), got.back());
      EXPECT_EQ(rows[t], it - got.begin()) << "target " << targets[t];
      EXPECT_GT(mass[rows[t]], 0.0f) << "target " << targets[t];
    }
  }
}

// Whole fits on both paths with the smallest workspace: the device's
// clustering is the CPU's up to float rounding.
TEST_P(DeviceKMeans, FitsAgreeWithTheCpu) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam(), tiny_workspace());
  auto cpu = make_backend("cpu");
  for (const Shape& s : {Shape{6000, 40, 70}, Shape{3000, 300, 12}}) {
    SCOPED_TRACE(::testing::Message() << "n=" << s.n << " d=" << s.d << " k=" << s.k);
    BlobsParams bp;
    bp.n_samples = s.n;
    bp.n_features = s.d;
    bp.n_centers = s.k;
    bp.cluster_std = 1.0;
    bp.seed = 5;
    const Blobs b = make_blobs(bp);
    KMeansParams p;
    p.n_clusters = s.k;
    p.seed = 13;
    const KMeansResult on_cpu = kmeans_fit(*cpu, p, b.X.view());
    const KMeansResult on_device = kmeans_fit(*backend, p, b.X.view());
    EXPECT_GE(adjusted_rand_score(on_cpu.labels, on_device.labels), 0.999);
    EXPECT_NEAR(on_device.inertia, on_cpu.inertia, 1e-4 * on_cpu.inertia);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DeviceKMeans, ::testing::ValuesIn(accelerator_names()),
                         stray::testing::param_name);

}  // namespace
}  // namespace stray
