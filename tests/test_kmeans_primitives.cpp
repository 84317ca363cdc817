// Conformance of the k-means primitives on every backend against naive
// float64 loops, on awkward shapes (d = 1, rows not a multiple of a tile,
// k = 1, more centres than a tile is wide).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "backend_params.hpp"
#include "test_data.hpp"
#include "stray/core/backend.hpp"

namespace stray {
namespace {

using stray::testing::naive_sq_dist;
using stray::testing::normal_matrix;

struct Shape {
  int64_t n, d, k;
};

// Rows whose label is not a nearest centre in float64; float32 rounding
// may pick either of two centres within ~1e-6 (relative), so those pass.
int64_t rows_off_a_nearest_centre(const Matrix<float>& X, const Matrix<float>& C,
                                  const std::vector<int32_t>& labels) {
  int64_t wrong = 0;
  for (int64_t i = 0; i < X.rows(); ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < C.rows(); ++j)
      best = std::min(best, naive_sq_dist(X.row(i), C.row(j), X.cols()));
    if (naive_sq_dist(X.row(i), C.row(labels[i]), X.cols()) > best + 2e-6 * (1.0 + best)) ++wrong;
  }
  return wrong;
}

class KMeansPrimitives : public ::testing::TestWithParam<std::string> {};

TEST_P(KMeansPrimitives, NearestCentroidMatchesNaive) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Small workspace forces many tiles, with a ragged last tile.
  for (const Shape s : {Shape{1, 1, 1}, Shape{1000, 1, 3}, Shape{1037, 7, 1}, Shape{2049, 33, 17},
                        Shape{513, 64, 300}}) {
    const Matrix<float> X = normal_matrix(s.n, s.d, 1 + static_cast<uint32_t>(s.n));
    const Matrix<float> C = normal_matrix(s.k, s.d, 2 + static_cast<uint32_t>(s.k));
    auto dx = backend->upload(X.view());
    auto dc = backend->upload(C.view());
    auto labels = backend->allocate<int32_t>(s.n);
    auto dist = backend->allocate<float>(s.n);
    backend->nearest_centroid(dx, dc, labels, dist);
    const auto got_labels = backend->download_vector(labels);
    const auto got_dist = backend->download_vector(dist);
    for (int64_t i = 0; i < s.n; ++i) {
      double best = std::numeric_limits<double>::infinity();
      int64_t best_j = -1;
      for (int64_t j = 0; j < s.k; ++j) {
        const double v = naive_sq_dist(X.row(i), C.row(j), s.d);
        if (v < best) best = v, best_j = j;
      }
      const double chosen = naive_sq_dist(X.row(i), C.row(got_labels[i]), s.d);
      // A different label is acceptable only for a float32 near-tie.
      EXPECT_NEAR(chosen, best, 1e-4 * (1.0 + best)) << "row " << i << " n=" << s.n;
      if (got_labels[i] != best_j) EXPECT_NEAR(chosen, best, 1e-5 * (1.0 + best));
      EXPECT_NEAR(got_dist[i], best, 1e-4 * (1.0 + best)) << "row " << i;
      EXPECT_GE(got_dist[i], 0.0f);
    }
  }
}

// Pruned assignment over a run of centre moves, large first and then small
// (as in Lloyd): every call's labels must be a nearest centre, whatever the
// bounds skipped. The shapes cover the bounds alone (d = 8), and the tile
// unit's products with their float32 re-check of near ties (d >= 32, k >= 16).
TEST_P(KMeansPrimitives, PrunedAssignmentFollowsMovingCentres) {
  for (const bool tile_unit : {true, false}) {
    SCOPED_TRACE(tile_unit ? "tile unit allowed" : "tile unit off");
    BackendOptions options = stray::testing::suite_options();
    options.cpu.tile_unit = tile_unit;
    STRAY_BACKEND_OR_SKIP(backend, GetParam(), options);
    for (const Shape s : {Shape{3000, 8, 5}, Shape{2500, 64, 40}, Shape{1999, 33, 17}}) {
      Matrix<float> X = normal_matrix(s.n, s.d, 11 + static_cast<uint32_t>(s.d));
      Matrix<float> C = normal_matrix(s.k, s.d, 12 + static_cast<uint32_t>(s.k));
      // The last 500 rows sit by the bisector of two centres, nearer to one
      // by 3e-6 to 3e-5 of the squared distance: within the tile unit's
      // error, so on that path only the float32 re-check orders them right
      // (at step 0, before the centres move).
      std::mt19937 tie_gen(5);
      std::uniform_int_distribution<int64_t> pick(0, s.k - 1);
      std::uniform_real_distribution<double> gap(3e-6, 3e-5);
      for (int64_t i = s.n - 500; i < s.n; ++i) {
        const int64_t a = pick(tie_gen), b = (a + 1 + pick(tie_gen) % (s.k - 1)) % s.k;
        double dist2 = 0.0;
        for (int64_t t = 0; t < s.d; ++t) dist2 += std::pow(double(C(b, t)) - C(a, t), 2);
        // x = midpoint + noise ⟂ (c_b − c_a) + δ toward b: d_a² − d_b² = 2δ·|c_b − c_a|.
        const double scale = 0.25 * dist2 + s.d * 0.01;  // ≈ the squared distance to either
        const double delta = gap(tie_gen) * scale / (2.0 * std::sqrt(dist2));
        // Noise with its component along c_b − c_a removed, so it moves the
        // row along the bisector only.
        std::vector<double> u(static_cast<std::size_t>(s.d));
        double noise_along = 0.0;
        for (int64_t t = 0; t < s.d; ++t) {
          u[t] = (double(C(b, t)) - C(a, t)) / std::sqrt(dist2);
          noise_along += 0.1 * X(i, t) * u[t];
        }
        for (int64_t t = 0; t < s.d; ++t) {
          X(i, t) = static_cast<float>(0.5 * (double(C(a, t)) + C(b, t)) + delta * u[t] +
                                       0.1 * X(i, t) - noise_along * u[t]);
        }
      }
      auto dx = backend->upload(X.view());
      auto labels = backend->allocate<int32_t>(s.n);
      const auto bounds = backend->make_assignment_state();
      std::vector<double> shift(static_cast<std::size_t>(s.k), 0.0);
      std::mt19937 gen(7);
      const float steps[] = {0.0f, 1.0f, 0.5f, 0.2f, 0.05f, 0.01f, 0.0f, 0.002f};
      for (int step = 0; step < 8; ++step) {
        std::normal_distribution<float> move(0.0f, steps[step] / std::sqrt(float(s.d)));
        for (int64_t j = 0; j < s.k; ++j) {
          double moved = 0.0;
          for (int64_t t = 0; t < s.d; ++t) {
            const float before = C(j, t);
            if (step > 0) C(j, t) += move(gen);
            const double delta = double(C(j, t)) - before;
            moved += delta * delta;
          }
          shift[j] = std::sqrt(moved);
        }
        auto dc = backend->upload(C.view());
        backend->nearest_centroid_pruned(dx, dc, labels, *bounds, shift.data(), step == 0);
        EXPECT_EQ(rows_off_a_nearest_centre(X, C, backend->download_vector(labels)), 0)
            << "n=" << s.n << " d=" << s.d << " k=" << s.k << " step " << step;
      }
    }
  }
}

// As early Lloyd iterations do: a few centres jump far while the rest
// drift, on blobs large enough (n = 20,000) for the CPU backend to take the
// jumpers out of the lower bound and compare them exactly
// (cpu_kmeans_movers.hpp; at d = 64, with the tile unit's products or
// float32 ones for the rows left). Labels must stay a nearest centre.
TEST_P(KMeansPrimitives, PrunedAssignmentSurvivesCentresThatJump) {
  for (const bool tile_unit : {true, false}) {
    SCOPED_TRACE(tile_unit ? "tile unit allowed" : "tile unit off");
    BackendOptions options = stray::testing::suite_options();
    options.cpu.tile_unit = tile_unit;
    STRAY_BACKEND_OR_SKIP(backend, GetParam(), options);
    for (const Shape s : {Shape{20000, 64, 40}, Shape{20000, 8, 24}}) {
      std::mt19937 gen(21);
      std::normal_distribution<float> normal(0.0f, 1.0f);
      Matrix<float> C(s.k, s.d);
      for (int64_t j = 0; j < s.k; ++j)
        for (int64_t t = 0; t < s.d; ++t) C(j, t) = 3.0f * normal(gen);
      Matrix<float> X(s.n, s.d);
      for (int64_t i = 0; i < s.n; ++i)
        for (int64_t t = 0; t < s.d; ++t) X(i, t) = C(i % s.k, t) + 2.5f * normal(gen);
      auto dx = backend->upload(X.view());
      auto labels = backend->allocate<int32_t>(s.n);
      const auto bounds = backend->make_assignment_state();
      std::vector<double> shift(static_cast<std::size_t>(s.k), 0.0);
      for (int step = 0; step < 5; ++step) {
        for (int64_t j = 0; j < s.k; ++j) {
          // Steps 1-4: three centres (a different three each step) jump
          // about 6, the others drift about 0.03.
          const bool jumps = (j + step) % (s.k / 3) == 0 && j < 3 * (s.k / 3);
          const float size = step == 0 ? 0.0f : (jumps ? 6.0f : 0.03f);
          double moved = 0.0;
          for (int64_t t = 0; t < s.d; ++t) {
            const float before = C(j, t);
            C(j, t) += size * normal(gen) / std::sqrt(float(s.d));
            moved += std::pow(double(C(j, t)) - before, 2);
          }
          shift[j] = std::sqrt(moved);
        }
        auto dc = backend->upload(C.view());
        backend->nearest_centroid_pruned(dx, dc, labels, *bounds, shift.data(), step == 0);
        EXPECT_EQ(rows_off_a_nearest_centre(X, C, backend->download_vector(labels)), 0)
            << "d=" << s.d << " step " << step;
      }
    }
  }
}

TEST_P(KMeansPrimitives, TiesGoToTheLowerIndex) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X(5, 2, 1.0f);
  Matrix<float> C(4, 2, 1.0f);  // all four centres coincide with every row
  C(0, 0) = 50.0f;              // except the first, which is far
  auto dx = backend->upload(X.view());
  auto dc = backend->upload(C.view());
  auto labels = backend->allocate<int32_t>(5);
  auto dist = backend->allocate<float>(5);
  backend->nearest_centroid(dx, dc, labels, dist);
  for (int32_t l : backend->download_vector(labels)) EXPECT_EQ(l, 1);
  for (float v : backend->download_vector(dist)) EXPECT_EQ(v, 0.0f);
}

TEST_P(KMeansPrimitives, AccumulateCentroidsMatchesNaiveAndIsDeterministic) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t n = 20011, d = 5, k = 7;
  const Matrix<float> X = normal_matrix(n, d, 3);
  std::vector<int32_t> labels(n);
  std::vector<float> weights(n);
  std::mt19937 gen(4);
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = static_cast<int32_t>(gen() % (k - 1));  // cluster k-1 stays empty
    weights[i] = 0.5f + static_cast<float>(gen() % 100) / 100.0f;
  }
  auto dx = backend->upload(X.view());
  auto dl = backend->upload(labels);
  auto dw = backend->upload(weights);
  std::vector<double> sums(k * d), counts(k), sums2(k * d), counts2(k);
  backend->accumulate_centroids(dx, dl, &dw, k, sums.data(), counts.data());
  backend->accumulate_centroids(dx, dl, &dw, k, sums2.data(), counts2.data());
  EXPECT_EQ(sums, sums2);  // bitwise, run to run
  EXPECT_EQ(counts, counts2);
  std::vector<double> ref(k * d, 0.0), ref_counts(k, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    ref_counts[labels[i]] += weights[i];
    for (int64_t j = 0; j < d; ++j) ref[labels[i] * d + j] += static_cast<double>(weights[i]) * X(i, j);
  }
  for (int64_t c = 0; c < k; ++c) {
    EXPECT_NEAR(counts[c], ref_counts[c], 1e-9 * (1 + ref_counts[c]));
    for (int64_t j = 0; j < d; ++j) EXPECT_NEAR(sums[c * d + j], ref[c * d + j], 1e-9 * n);
  }
  EXPECT_EQ(counts[k - 1], 0.0);

  // Unweighted: counts are member counts.
  backend->accumulate_centroids(dx, dl, nullptr, k, sums.data(), counts.data());
  std::vector<double> members(k, 0.0);
  for (int32_t l : labels) members[l] += 1.0;
  EXPECT_EQ(counts, members);
}

// Sums brought from one labeling to the next by the rows that moved: equal
// to summing afresh, for few moves (applied in place on the CPU) and many
// (split into parts on the CPU), and the same bits for any thread count.
TEST_P(KMeansPrimitives, UpdateCentroidSumsEqualsSummingAfresh) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t n = 60013, d = 6, k = 9;
  const Matrix<float> X = normal_matrix(n, d, 30);
  std::vector<float> weights(n);
  std::vector<int32_t> before(n);
  std::mt19937 gen(31);
  for (int64_t i = 0; i < n; ++i) {
    before[i] = static_cast<int32_t>(gen() % k);
    weights[i] = 0.5f + static_cast<float>(gen() % 100) / 100.0f;
  }
  auto dx = backend->upload(X.view());
  auto dw = backend->upload(weights);
  for (const int64_t moves : {int64_t{100}, int64_t{7000}}) {  // below and above 4,096
    std::vector<int32_t> after(before);
    for (int64_t q = 0; q < moves; ++q) {
      const int64_t i = (q * 7919) % n;  // distinct rows
      after[i] = static_cast<int32_t>((after[i] + 1 + gen() % (k - 1)) % k);
    }
    after[n - 1] = (before[n - 1] + 1) % k;  // past the CPU's last whole block of 16 labels
    auto dl_before = backend->upload(before), dl_after = backend->upload(after);
    std::vector<double> sums(k * d), counts(k), fresh(k * d), fresh_counts(k);
    backend->accumulate_centroids(dx, dl_before, &dw, k, sums.data(), counts.data());
    backend->update_centroid_sums(dx, dl_before, dl_after, &dw, k, sums.data(), counts.data());
    backend->accumulate_centroids(dx, dl_after, &dw, k, fresh.data(), fresh_counts.data());
    for (int64_t e = 0; e < k * d; ++e) EXPECT_NEAR(sums[e], fresh[e], 1e-9 * n) << moves;
    for (int64_t c = 0; c < k; ++c) EXPECT_NEAR(counts[c], fresh_counts[c], 1e-9 * n) << moves;
    if (GetParam() == "cpu") {
      for (int threads : {1, 3}) {
        BackendOptions o;
        o.cpu.threads = threads;
        auto other = make_backend("cpu", o);
        auto ox = other->upload(X.view());
        auto ow = other->upload(weights);
        auto ol_before = other->upload(before), ol_after = other->upload(after);
        std::vector<double> s2(k * d), c2(k);
        other->accumulate_centroids(ox, ol_before, &ow, k, s2.data(), c2.data());
        other->update_centroid_sums(ox, ol_before, ol_after, &ow, k, s2.data(), c2.data());
        EXPECT_EQ(s2, sums) << moves << " moves, " << threads << " threads";
        EXPECT_EQ(c2, counts) << moves << " moves, " << threads << " threads";
      }
    }
  }
  std::vector<int32_t> bad(before);
  bad[5] = static_cast<int32_t>(k);
  std::vector<double> sums(k * d), counts(k);
  auto dl_bad = backend->upload(bad), dl_good = backend->upload(before);
  EXPECT_THROW(
      backend->update_centroid_sums(dx, dl_good, dl_bad, &dw, k, sums.data(), counts.data()),
      Error);
}

TEST_P(KMeansPrimitives, AccumulateRejectsLabelsOutOfRange) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X(3, 2, 1.0f);
  auto dx = backend->upload(X.view());
  auto dl = backend->upload(std::vector<int32_t>{0, 3, 1});
  std::vector<double> sums(6), counts(3);
  try {
    backend->accumulate_centroids(dx, dl, nullptr, 3, sums.data(), counts.data());
    FAIL() << "expected stray::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  }
}

TEST_P(KMeansPrimitives, AssignedDistancesAreDirect) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Far from the origin the expanded formula loses digits; the direct one must not.
  const int64_t n = 300, d = 3, k = 2;
  Matrix<float> X = normal_matrix(n, d, 5, 0.01f);
  for (auto& v : X.storage()) v += 1000.0f;
  Matrix<float> C(k, d, 1000.0f);
  C(1, 0) = 1000.5f;
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>(i % k);
  auto dx = backend->upload(X.view());
  auto dc = backend->upload(C.view());
  auto dl = backend->upload(labels);
  auto out = backend->allocate<float>(n);
  backend->assigned_sq_distances(dx, dc, dl, out);
  const auto got = backend->download_vector(out);
  for (int64_t i = 0; i < n; ++i) {
    const double ref = naive_sq_dist(X.row(i), C.row(labels[i]), d);
    EXPECT_NEAR(got[i], ref, 1e-6 * (1 + ref)) << i;
  }
}

// The inertia in one call: Σ w‖x − c‖² against float64 loops, with and
// without weights, over more rows than one of the CPU's fixed chunks, far
// from the origin; the same bits for any thread count; a bad label refused.
TEST_P(KMeansPrimitives, AssignedInertiaMatchesNaive) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t n = 20001, d = 7, k = 5;
  Matrix<float> X = normal_matrix(n, d, 31);
  for (auto& v : X.storage()) v += 300.0f;
  Matrix<float> C = normal_matrix(k, d, 32);
  for (auto& v : C.storage()) v += 300.0f;
  std::vector<int32_t> labels(n);
  std::vector<float> weights(n);
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = static_cast<int32_t>((i * 7) % k);
    weights[i] = 0.5f + static_cast<float>(i % 4);
  }
  auto dx = backend->upload(X.view());
  auto dc = backend->upload(C.view());
  auto dl = backend->upload(labels);
  auto dw = backend->upload(weights);
  double plain = 0.0, weighted = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double s = naive_sq_dist(X.row(i), C.row(labels[i]), d);
    plain += s;
    weighted += weights[i] * s;
  }
  EXPECT_NEAR(backend->assigned_inertia(dx, dc, dl, nullptr), plain, 1e-7 * plain);
  const double got = backend->assigned_inertia(dx, dc, dl, &dw);
  EXPECT_NEAR(got, weighted, 1e-7 * weighted);
  if (GetParam() == "cpu") {
    for (const int threads : {1, 3}) {
      BackendOptions options;
      options.cpu.threads = threads;
      auto other = make_backend("cpu", options);
      EXPECT_EQ(other->assigned_inertia(other->upload(X.view()), other->upload(C.view()),
                                        other->upload(labels), &dw),
                got)
          << threads << " threads";
    }
  }
  labels[n / 2] = static_cast<int32_t>(k);
  auto bad = backend->upload(labels);
  try {
    backend->assigned_inertia(dx, dc, bad, nullptr);
    FAIL() << "a label outside [0, k) was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  }
}

TEST_P(KMeansPrimitives, UpdateClosestAndCandidatePotentials) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t n = 4099, d = 6, t = 5;
  const Matrix<float> X = normal_matrix(n, d, 6);
  const Matrix<float> first = normal_matrix(1, d, 7);
  const Matrix<float> candidates = normal_matrix(t, d, 8);
  std::vector<float> weights(n);
  for (int64_t i = 0; i < n; ++i) weights[i] = 1.0f + static_cast<float>(i % 3);
  auto dx = backend->upload(X.view());
  auto dw = backend->upload(weights);
  auto closest = backend->upload(std::vector<float>(n, INFINITY));
  backend->update_closest(dx, backend->upload(first.view()), closest);
  const auto got_closest = backend->download_vector(closest);
  std::vector<double> pots(t);
  backend->candidate_potentials(dx, &dw, closest, backend->upload(candidates.view()), pots.data());
  for (int64_t j = 0; j < t; ++j) {
    double ref = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double c0 = naive_sq_dist(X.row(i), first.row(0), d);
      ref += weights[i] * std::min(c0, naive_sq_dist(X.row(i), candidates.row(j), d));
    }
    EXPECT_NEAR(pots[j], ref, 1e-5 * ref) << "candidate " << j;
  }
  for (int64_t i = 0; i < n; ++i) {
    const double ref = naive_sq_dist(X.row(i), first.row(0), d);
    EXPECT_NEAR(got_closest[i], ref, 1e-4 * (1 + ref));
  }
  // Many centres at once (k-means|| rounds) tile correctly too.
  const Matrix<float> many = normal_matrix(301, d, 9);
  backend->update_closest(dx, backend->upload(many.view()), closest);
  const auto after = backend->download_vector(closest);
  for (int64_t i = 0; i < n; i += 37) {
    double ref = naive_sq_dist(X.row(i), first.row(0), d);
    for (int64_t j = 0; j < many.rows(); ++j) ref = std::min(ref, naive_sq_dist(X.row(i), many.row(j), d));
    EXPECT_NEAR(after[i], ref, 1e-4 * (1 + ref));
  }
}

TEST_P(KMeansPrimitives, ColumnStatsMatchNaive) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Narrow and wide rows (the CPU sizes its chunks by the width), a column
  // far from 0 (a one-pass Σx² − (Σx)²/n would lose it), and a run of
  // zero weights longer than a chunk.
  struct Shape {
    int64_t n, d;
    float offset;
  };
  for (const Shape shape : {Shape{17000, 4, 1e4f}, Shape{9001, 64, 1e5f}, Shape{5000, 300, 1e6f}}) {
    const int64_t n = shape.n, d = shape.d;
    Matrix<float> X = normal_matrix(n, d, 10);
    for (int64_t i = 0; i < n; ++i) X(i, 2) += shape.offset;
    std::vector<float> w(n);
    for (int64_t i = 0; i < n; ++i) {
      w[i] = i >= n / 3 && i < n / 2 ? 0.0f : static_cast<float>(1 + i % 4);
    }
    auto dx = backend->upload(X.view());
    auto dw = backend->upload(w);
    std::vector<double> mean(d), var(d);
    backend->column_stats(dx, &dw, mean.data(), var.data());
    for (int64_t j = 0; j < d; ++j) {
      double sw = 0, sx = 0;
      for (int64_t i = 0; i < n; ++i) sw += w[i], sx += w[i] * static_cast<double>(X(i, j));
      const double m = sx / sw;
      double sv = 0;
      for (int64_t i = 0; i < n; ++i) sv += w[i] * (X(i, j) - m) * (X(i, j) - m);
      ASSERT_NEAR(mean[j], m, 1e-12 * (1 + std::abs(m))) << n << "x" << d << " column " << j;
      ASSERT_NEAR(var[j], sv / sw, 1e-9 * (1 + sv / sw)) << n << "x" << d << " column " << j;
    }
    // Unweighted (the CPU sums short rows four at a time).
    backend->column_stats(dx, nullptr, mean.data(), var.data());
    for (int64_t j = 0; j < d; ++j) {
      double sx = 0;
      for (int64_t i = 0; i < n; ++i) sx += static_cast<double>(X(i, j));
      const double m = sx / static_cast<double>(n);
      double sv = 0;
      for (int64_t i = 0; i < n; ++i) sv += (X(i, j) - m) * (X(i, j) - m);
      ASSERT_NEAR(mean[j], m, 1e-12 * (1 + std::abs(m))) << n << "x" << d << " column " << j;
      ASSERT_NEAR(var[j], sv / n, 1e-9 * (1 + sv / n)) << n << "x" << d << " column " << j;
    }
    backend->column_stats(dx, &dw, mean.data(), var.data());
    backend->subtract_row_vector(dx, mean.data());
    const Matrix<float> centred = backend->download(dx);
    EXPECT_NEAR(centred(5, 2), X(5, 2) - mean[2], 1e-3 * (shape.offset / 1e4f));
  }
}

// A k-means++ step: the potentials of candidate_potentials, the lowest
// one's index, and closest updated with that candidate — against naive
// float64, and against the interface's two-call default (which a backend
// that keeps the distances from one pass, the CPU's, must agree with).
TEST_P(KMeansPrimitives, KMeansPlusPlusStepMatchesItsDefinition) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t n = 5003, d = 7, t = 6;
  const Matrix<float> X = normal_matrix(n, d, 16);
  const Matrix<float> first = normal_matrix(1, d, 17);
  Matrix<float> candidates = normal_matrix(t, d, 18);
  for (int64_t j = 0; j < d; ++j) candidates(3, j) = X(42, j);  // a data row: the best by far
  std::vector<float> weights(n);
  for (int64_t i = 0; i < n; ++i) weights[i] = 1.0f + static_cast<float>(i % 4);
  auto dx = backend->upload(X.view());
  auto dw = backend->upload(weights);
  auto dc = backend->upload(candidates.view());
  auto start = [&] {
    auto closest = backend->upload(std::vector<float>(n, INFINITY));
    backend->update_closest(dx, backend->upload(first.view()), closest);
    return closest;
  };
  auto fused = start(), two_calls = start(), given_norms = start();
  std::vector<double> pots(t), pots_default(t), pots_given(t);
  const int64_t best = backend->kmeanspp_step(dx, &dw, fused, dc, pots.data(), nullptr);
  const int64_t best_default =
      backend->Backend::kmeanspp_step(dx, &dw, two_calls, dc, pots_default.data(), nullptr);
  EXPECT_EQ(best, best_default);
  EXPECT_EQ(pots, pots_default);  // the same potentials pass either way
  // With the rows' norms handed in (as an initialisation does): the same.
  auto norms = backend->allocate<float>(n);
  backend->row_sq_norms(dx, norms);
  EXPECT_EQ(backend->kmeanspp_step(dx, &dw, given_norms, dc, pots_given.data(), &norms), best);
  EXPECT_EQ(pots_given, pots);
  EXPECT_EQ(backend->download_vector(given_norms), backend->download_vector(fused));
  std::vector<double> ref_pots(t, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const double c0 = naive_sq_dist(X.row(i), first.row(0), d);
    for (int64_t j = 0; j < t; ++j)
      ref_pots[j] += weights[i] * std::min(c0, naive_sq_dist(X.row(i), candidates.row(j), d));
  }
  for (int64_t j = 0; j < t; ++j) EXPECT_NEAR(pots[j], ref_pots[j], 1e-5 * ref_pots[j]) << j;
  EXPECT_EQ(best, std::min_element(ref_pots.begin(), ref_pots.end()) - ref_pots.begin());
  EXPECT_EQ(best, 3);
  const auto a = backend->download_vector(fused), b = backend->download_vector(two_calls);
  for (int64_t i = 0; i < n; ++i) {
    const double ref = std::min(naive_sq_dist(X.row(i), first.row(0), d),
                                naive_sq_dist(X.row(i), candidates.row(best), d));
    EXPECT_NEAR(a[i], ref, 1e-4 * (1 + ref)) << i;
    EXPECT_NEAR(a[i], b[i], 1e-4 * (1 + ref)) << i;
  }
}

TEST_P(KMeansPrimitives, RowSquaredNormsMatchNaive) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t n = 70001, d = 9;  // large enough for the CPU's parallel loop
  Matrix<float> X = normal_matrix(n, d, 21);
  for (int64_t j = 0; j < d; ++j) X(7, j) = 0.0f;
  auto dx = backend->upload(X.view());
  auto out = backend->allocate<float>(n);
  backend->row_sq_norms(dx, out);
  const auto got = backend->download_vector(out);
  const std::vector<float> zero(static_cast<std::size_t>(d), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const double ref = naive_sq_dist(X.row(i), zero.data(), d);
    ASSERT_NEAR(got[i], ref, 1e-6 * ref) << i;
  }
  EXPECT_EQ(got[7], 0.0f);
  auto wrong = backend->allocate<float>(n - 1);
  EXPECT_THROW(backend->row_sq_norms(dx, wrong), Error);
}

TEST_P(KMeansPrimitives, UploadShiftedEqualsUploadThenSubtract) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Large enough for the CPU's parallel pass; a view with a row stride too.
  const int64_t n = 3001, d = 37;
  Matrix<float> X = normal_matrix(n, d, 14);
  std::vector<double> shift(d);
  for (int64_t j = 0; j < d; ++j) shift[j] = 1e3 * j + 1.0 / 3.0;
  for (const MatrixView<const float> host :
       {MatrixView<const float>(X.view()), MatrixView<const float>(X.data(), n, d - 5, d)}) {
    SCOPED_TRACE(host.contiguous() ? "contiguous" : "strided");
    DeviceArray<float> expected = backend->upload(host);
    backend->subtract_row_vector(expected, shift.data());
    const DeviceArray<float> fused = backend->upload_shifted(host, shift.data());
    ASSERT_EQ(fused.rows(), host.rows());
    ASSERT_EQ(fused.cols(), host.cols());
    const Matrix<float> a = backend->download(expected), b = backend->download(fused);
    for (int64_t i = 0; i < host.rows(); ++i)
      for (int64_t j = 0; j < host.cols(); ++j) ASSERT_EQ(a(i, j), b(i, j)) << i << "," << j;
  }
}

// k-means++'s sampling primitives by their definition: the running sums
// are within float64 rounding of the sequential ones (bit for bit on a
// backend that keeps the default, the CPU), never decrease, repeat exactly
// at rows without mass, and the draws are upper_bound on them (lower_bound
// of the total when rounding leaves none above the target).
TEST_P(KMeansPrimitives, CumulativeMassAndDrawsFollowTheirDefinition) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t n = 4099;
  std::vector<float> mass(n), w(n);
  std::mt19937 gen(19);
  std::uniform_real_distribution<float> value(0.5f, 3.0f);
  for (int64_t i = 0; i < n; ++i) {
    mass[i] = (i % 7 == 0 || i % 1024 < 2) ? 0.0f : value(gen);
    w[i] = static_cast<float>(1 + i % 4);
  }
  std::vector<double> sequential(n);
  double running = 0.0;
  for (int64_t i = 0; i < n; ++i) sequential[i] = running += static_cast<double>(w[i]) * mass[i];
  auto dm = backend->upload(mass);
  auto dw = backend->upload(w);
  auto cum = backend->allocate<double>(n);
  const double total = backend->cumulative_mass(dm, &dw, cum);
  const std::vector<double> got = backend->download_vector(cum);
  EXPECT_EQ(total, got.back());
  for (int64_t i = 0; i < n; ++i) {
    if (GetParam() == "cpu") ASSERT_EQ(got[i], sequential[i]) << i;
    ASSERT_NEAR(got[i], sequential[i], 1e-12 * running) << i;
    if (mass[i] == 0.0f) ASSERT_EQ(got[i], i == 0 ? 0.0 : got[i - 1]) << i;
    if (mass[i] != 0.0f) ASSERT_GT(got[i], got[i - 1]) << i;
  }
  std::vector<double> targets = {0.0, total, std::nextafter(total, 0.0), sequential[6],
                                 sequential[1000]};
  for (int t = 1; t < 40; ++t) targets.push_back(total * t / 40.0);
  std::vector<int64_t> rows(targets.size());
  backend->draw_from_cumulative(cum, targets.data(), static_cast<int64_t>(targets.size()),
                                rows.data());
  for (std::size_t t = 0; t < targets.size(); ++t) {
    auto it = std::upper_bound(got.begin(), got.end(), targets[t]);
    if (it == got.end()) it = std::lower_bound(got.begin(), got.end(), total);
    EXPECT_EQ(rows[t], it - got.begin()) << "target " << targets[t];
    EXPECT_GT(mass[rows[t]], 0.0f) << "target " << targets[t];
  }
  // Rows 1023..1025 around a run of zeros: the target at row 1023's sum
  // skips the massless 1024 and 1025.
  const double at = got[1023];
  backend->draw_from_cumulative(cum, &at, 1, rows.data());
  EXPECT_EQ(rows[0], 1026);
}

INSTANTIATE_TEST_SUITE_P(Backends, KMeansPrimitives,
                         ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace
}  // namespace stray
