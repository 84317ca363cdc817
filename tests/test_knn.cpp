// Backend::knn against a naive float64 loop (sorted by distance, then index)
// on every backend, on ties and duplicates, far from the origin, with tiny
// workspaces; the CPU's two methods (brute force, pruned tiles) bit for bit
// against each other; and the argument checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "backend_params.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/cpu_knn.hpp"
#include "stray/core/backend.hpp"

namespace stray {
namespace {

Matrix<float> gaussian(int64_t rows, int64_t cols, uint32_t seed, float scale = 1.0f,
                       float offset = 0.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  Matrix<float> m(rows, cols);
  for (auto& v : m.storage()) v = offset + normal(gen);
  return m;
}

/// Small integers: many distances tie exactly.
Matrix<float> grid(int64_t rows, int64_t cols, uint32_t seed, int levels) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> pick(0, levels - 1);
  Matrix<float> m(rows, cols);
  for (auto& v : m.storage()) v = static_cast<float>(pick(gen));
  return m;
}

struct Neighbours {
  std::vector<int64_t> indices;  // [q x k]
  std::vector<double> distances;
};

/// The definition, written plainly: float64 squared differences summed in
/// order, the k smallest (distance, index) pairs.
Neighbours naive(const Matrix<float>& R, const Matrix<float>* Q, int64_t k) {
  const int64_t m = R.rows(), d = R.cols(), q = Q ? Q->rows() : m;
  Neighbours out;
  for (int64_t i = 0; i < q; ++i) {
    const float* x = Q ? Q->row(i) : R.row(i);
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t j = 0; j < m; ++j) {
      if (!Q && j == i) continue;
      double s = 0.0;
      for (int64_t t = 0; t < d; ++t) {
        const double diff = static_cast<double>(x[t]) - R.row(j)[t];
        s += diff * diff;
      }
      all.emplace_back(s, j);
    }
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    for (int64_t c = 0; c < k; ++c) {
      out.indices.push_back(all[c].second);
      out.distances.push_back(std::sqrt(all[c].first));
    }
  }
  return out;
}

Neighbours run_knn(Backend& be, const Matrix<float>& R, const Matrix<float>* Q, int64_t k) {
  const DeviceArray<float> ref = be.upload(R);
  DeviceArray<float> queries;
  if (Q) queries = be.upload(*Q);
  const int64_t q = Q ? Q->rows() : R.rows();
  DeviceArray<int64_t> idx = be.allocate<int64_t>(q, k);
  DeviceArray<double> dist = be.allocate<double>(q, k);
  be.knn(ref, Q ? &queries : nullptr, k, idx, dist);
  return Neighbours{be.download_vector(idx), be.download_vector(dist)};
}

/// Indices identical; distances within float64 rounding of the plain sum
/// (knn uses fused multiply-adds).
void expect_matches_naive(const Neighbours& got, const Neighbours& want, const char* what) {
  ASSERT_EQ(got.indices.size(), want.indices.size()) << what;
  int64_t wrong = 0;
  for (std::size_t p = 0; p < want.indices.size(); ++p) {
    if (got.indices[p] != want.indices[p] ||
        std::abs(got.distances[p] - want.distances[p]) > 1e-12 * (1.0 + want.distances[p])) {
      if (++wrong <= 5) {
        ADD_FAILURE() << what << ": entry " << p << " got (" << got.indices[p] << ", "
                      << got.distances[p] << ") want (" << want.indices[p] << ", "
                      << want.distances[p] << ")";
      }
    }
  }
  EXPECT_EQ(wrong, 0) << what;
}

bool same_bits(const Neighbours& a, const Neighbours& b) {
  return a.indices == b.indices && a.distances.size() == b.distances.size() &&
         std::memcmp(a.distances.data(), b.distances.data(),
                     a.distances.size() * sizeof(double)) == 0;
}

class Knn : public ::testing::TestWithParam<std::string> {};

TEST_P(Knn, MatchesNaiveOnRandomRows) {
  BackendOptions small = stray::testing::suite_options();
  small.workspace_bytes = 64 << 10;  // many tiles, ragged last ones
  STRAY_BACKEND_OR_SKIP(backend, GetParam(), small);
  struct Case {
    int64_t m, q, d, k;
  };
  for (const Case c : {Case{2, 0, 1, 1}, Case{300, 0, 3, 5}, Case{1031, 0, 16, 20},
                       Case{700, 0, 40, 7}, Case{500, 123, 5, 500}, Case{257, 1000, 30, 1}}) {
    const Matrix<float> R = gaussian(c.m, c.d, 7 + static_cast<uint32_t>(c.m));
    const Matrix<float> Q = gaussian(c.q, c.d, 9 + static_cast<uint32_t>(c.q));
    const Matrix<float>* queries = c.q > 0 ? &Q : nullptr;
    const std::string what = "m=" + std::to_string(c.m) + " q=" + std::to_string(c.q) +
                             " d=" + std::to_string(c.d) + " k=" + std::to_string(c.k);
    expect_matches_naive(run_knn(*backend, R, queries, c.k), naive(R, queries, c.k), what.c_str());
  }
}

TEST_P(Knn, TiesGoToTheLowerIndex) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Integer rows: squared distances are small integers, so hundreds tie
  // exactly and the index alone decides the lists.
  for (const int64_t d : {2, 4, 24, 33}) {
    const Matrix<float> R = grid(1100, d, 3 + static_cast<uint32_t>(d), 3);
    const Matrix<float> Q = grid(50, d, 5, 3);
    const std::string what = "grid d=" + std::to_string(d);
    expect_matches_naive(run_knn(*backend, R, nullptr, 15), naive(R, nullptr, 15), what.c_str());
    expect_matches_naive(run_knn(*backend, R, &Q, 15), naive(R, &Q, 15), what.c_str());
  }
}

TEST_P(Knn, DuplicatesAndIdenticalRows) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // 3 groups of identical rows (sizes 40, 5, 1) plus distinct rows.
  Matrix<float> R = gaussian(400, 6, 11);
  for (int64_t i = 0; i < 400; ++i) {
    const int64_t copy_of = i % 9 == 0 ? 0 : (i % 50 == 1 ? 1 : -1);
    if (copy_of >= 0 && i != copy_of) std::copy(R.row(copy_of), R.row(copy_of) + 6, R.row(i));
  }
  expect_matches_naive(run_knn(*backend, R, nullptr, 10), naive(R, nullptr, 10), "groups");
  // Every row the same: each list is the lowest indices other than itself,
  // at distance 0.
  Matrix<float> same(300, 3);
  for (auto& v : same.storage()) v = 2.5f;
  const Neighbours got = run_knn(*backend, same, nullptr, 4);
  expect_matches_naive(got, naive(same, nullptr, 4), "identical");
  EXPECT_EQ((std::vector<int64_t>(got.indices.begin(), got.indices.begin() + 4)),
            (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ((std::vector<int64_t>(got.indices.begin() + 8, got.indices.begin() + 12)),
            (std::vector<int64_t>{0, 1, 3, 4}));
}

TEST_P(Knn, FarFromTheOriginAndWideRanges) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Offsets dwarf the spread (the expanded form's rounding would swamp the
  // distances without centring); rows of very different scales.
  for (const int64_t d : {8, 48}) {
    const Matrix<float> far = gaussian(500, d, 13, 1.0f, 1e4f);
    expect_matches_naive(run_knn(*backend, far, nullptr, 6), naive(far, nullptr, 6), "far");
    Matrix<float> scales = gaussian(500, d, 17);
    for (int64_t i = 0; i < 500; ++i)
      for (int64_t t = 0; t < d; ++t) scales.row(i)[t] *= std::pow(10.0f, static_cast<float>(i % 7) - 3);
    expect_matches_naive(run_knn(*backend, scales, nullptr, 6), naive(scales, nullptr, 6), "scales");
  }
}

TEST_P(Knn, SameAnswerAsTheCpu) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  BackendOptions one;
  one.cpu.threads = 1;
  auto cpu = make_backend("cpu", one);
  for (const int64_t d : {3, 16, 64}) {
    const Matrix<float> R = gaussian(2000, d, 19 + static_cast<uint32_t>(d));
    const Matrix<float> Q = gaussian(333, d, 23);
    EXPECT_TRUE(same_bits(run_knn(*backend, R, nullptr, 20), run_knn(*cpu, R, nullptr, 20)))
        << "self d=" << d;
    EXPECT_TRUE(same_bits(run_knn(*backend, R, &Q, 9), run_knn(*cpu, R, &Q, 9))) << "d=" << d;
  }
}

TEST_P(Knn, RejectsBadArguments) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const DeviceArray<float> R = backend->upload(gaussian(5, 3, 1));
  const DeviceArray<float> Q4 = backend->upload(gaussian(2, 4, 1));
  auto call = [&](const DeviceArray<float>* q, int64_t k, int64_t rows, int64_t cols) {
    DeviceArray<int64_t> idx = backend->allocate<int64_t>(rows, cols);
    DeviceArray<double> dist = backend->allocate<double>(rows, cols);
    backend->knn(R, q, k, idx, dist);
  };
  EXPECT_THROW(call(nullptr, 0, 5, 0), Error);
  EXPECT_THROW(call(nullptr, 5, 5, 5), Error);  // only 4 other rows
  EXPECT_NO_THROW(call(nullptr, 4, 5, 4));
  EXPECT_THROW(call(nullptr, 2, 5, 3), Error);  // outputs the wrong shape
  EXPECT_THROW(call(&Q4, 1, 2, 1), Error);      // widths differ
  try {
    call(nullptr, 5, 5, 5);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("k=5 neighbours asked of 4 other rows"), std::string::npos)
        << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Knn, ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

// ---- the CPU's two methods ----------------------------------------------------

Neighbours run_method(bool pruned, int threads, const Matrix<float>& R, const Matrix<float>* Q,
                      int64_t k, std::size_t workspace = std::size_t{256} << 20,
                      internal::KnnKernel kernel = internal::KnnKernel::automatic) {
  CpuOptions options;
  options.threads = threads;
  internal::CpuBackend be(workspace, options);
  const int64_t q = Q ? Q->rows() : R.rows();
  Neighbours out{std::vector<int64_t>(static_cast<std::size_t>(q * k)),
                 std::vector<double>(static_cast<std::size_t>(q * k))};
  internal::KnnTask task;
  task.reference = R.data();
  task.m = R.rows();
  task.queries = Q ? Q->data() : nullptr;
  task.q = q;
  task.d = R.cols();
  task.k = k;
  task.indices = out.indices.data();
  task.distances = out.distances.data();
  task.kernel = kernel;
  if (pruned) {
    internal::knn_pruned(be, task);
  } else {
    internal::knn_brute(be, task);
  }
  return out;
}

TEST(KnnCpuMethods, PrunedTilesAndBruteForceAgreeBitForBit) {
  struct Case {
    int64_t m, d, k;
    bool grid;
  };
  for (const Case c : {Case{3000, 2, 20, false}, Case{5000, 16, 20, false}, Case{2500, 8, 7, true},
                       Case{1000, 30, 50, false}, Case{40, 5, 39, false}}) {
    const Matrix<float> R = c.grid ? grid(c.m, c.d, 31, 4) : gaussian(c.m, c.d, 29);
    const Matrix<float> Q = c.grid ? grid(100, c.d, 37, 4) : gaussian(100, c.d, 37);
    const Neighbours pruned = run_method(true, 2, R, nullptr, c.k);
    const Neighbours brute = run_method(false, 2, R, nullptr, c.k, 64 << 10);
    EXPECT_TRUE(same_bits(pruned, brute)) << "self m=" << c.m << " d=" << c.d;
    expect_matches_naive(pruned, naive(R, nullptr, c.k), "pruned");
    EXPECT_TRUE(same_bits(run_method(true, 1, R, &Q, c.k), run_method(false, 2, R, &Q, c.k)))
        << "queries m=" << c.m << " d=" << c.d;
  }
}

TEST(KnnCpuMethods, ThreadCountDoesNotMatter) {
  const Matrix<float> R = gaussian(4000, 12, 41);
  for (const bool pruned : {true, false}) {
    EXPECT_TRUE(same_bits(run_method(pruned, 1, R, nullptr, 20), run_method(pruned, 2, R, nullptr, 20)))
        << (pruned ? "pruned tiles" : "brute force");
  }
}

TEST(KnnCpuMethods, ClusteredRowsWithManyDuplicates) {
  // A fleet's shape: a few hundred distinct configurations, thousands of
  // hosts on each, a few one-offs.
  const Matrix<float> configs = gaussian(50, 10, 43, 3.0f);
  Matrix<float> R(6000, 10);
  std::mt19937 gen(47);
  for (int64_t i = 0; i < R.rows(); ++i) {
    const int64_t c = static_cast<int64_t>(gen() % 50);
    std::copy(configs.row(c), configs.row(c) + 10, R.row(i));
    if (i % 997 == 0) R.row(i)[0] += 0.25f;
  }
  const Neighbours pruned = run_method(true, 2, R, nullptr, 20);
  EXPECT_TRUE(same_bits(pruned, run_method(false, 2, R, nullptr, 20)));
  expect_matches_naive(pruned, naive(R, nullptr, 20), "fleet");
}

// ---- the tile kernels: GEMM tiles, and the fused kernel on AVX2 and AVX-512 ----

using internal::KnnKernel;

const KnnKernel kKernels[] = {KnnKernel::gemm, KnnKernel::avx2, KnnKernel::avx512};

const char* kernel_name(KnnKernel k) {
  return k == KnnKernel::gemm ? "gemm" : k == KnnKernel::avx2 ? "avx2" : "avx512";
}

/// Each kernel the CPU has, by each method, on `R` (and `Q`): the naive
/// answer, and the same bits as GEMM tiles by brute force.
void expect_every_kernel_matches(const Matrix<float>& R, const Matrix<float>* Q, int64_t k,
                                 const std::string& what, int threads = 2) {
  const Neighbours want = naive(R, Q, k);
  const Neighbours reference = run_method(false, threads, R, Q, k, std::size_t{256} << 20, KnnKernel::gemm);
  expect_matches_naive(reference, want, (what + " gemm brute").c_str());
  for (const KnnKernel kernel : kKernels) {
    if (internal::knn_kernel_for(R.cols(), kernel) != kernel) continue;  // not on this CPU
    for (const bool pruned : {false, true}) {
      const std::string name = what + " " + kernel_name(kernel) + (pruned ? " pruned" : " brute");
      // Small workspaces: many small tiles and leaves, ragged last panels.
      for (const std::size_t workspace : {std::size_t{256} << 20, std::size_t{16} << 10}) {
        const Neighbours got = run_method(pruned, threads, R, Q, k, workspace, kernel);
        EXPECT_TRUE(same_bits(got, reference)) << name << " workspace " << workspace;
      }
    }
  }
}

TEST(KnnCpuKernels, FusedKernelIsUsedWhereTheCpuHasIt) {
  EXPECT_EQ(internal::knn_kernel_for(16, KnnKernel::gemm), KnnKernel::gemm);
  EXPECT_EQ(internal::knn_kernel_for(internal::kFusedMaxWidth + 1, KnnKernel::automatic),
            KnnKernel::gemm);
  const KnnKernel best = internal::knn_kernel_for(16, KnnKernel::automatic);
  if (best == KnnKernel::gemm) GTEST_SKIP() << "this CPU has neither AVX2 + FMA nor AVX-512F";
  EXPECT_EQ(internal::knn_kernel_for(internal::kFusedMaxWidth, KnnKernel::automatic), best);
}

TEST(KnnCpuKernels, SmallAndOddShapes) {
  struct Case {
    int64_t m, q, d, k;
  };
  // Fewer rows than a panel, than a register block (32), than a group of 8
  // queries; widths 1, odd, one past a panel's 16, the widest fused one.
  for (const Case c : {Case{2, 0, 1, 1}, Case{17, 0, 3, 16}, Case{33, 5, 17, 4}, Case{40, 0, 64, 39},
                       Case{300, 7, 16, 20}, Case{1031, 9, 31, 5}, Case{1500, 0, 16, 1},
                       Case{600, 13, 2, 50}}) {
    const Matrix<float> R = gaussian(c.m, c.d, 53 + static_cast<uint32_t>(c.m));
    const Matrix<float> Q = gaussian(c.q, c.d, 59 + static_cast<uint32_t>(c.d));
    const std::string what = "m=" + std::to_string(c.m) + " q=" + std::to_string(c.q) +
                             " d=" + std::to_string(c.d) + " k=" + std::to_string(c.k);
    expect_every_kernel_matches(R, c.q > 0 ? &Q : nullptr, c.k, what);
  }
}

TEST(KnnCpuKernels, TiesDuplicatesAndFarRows) {
  // Integer rows: hundreds of exact ties, decided by the index alone.
  for (const int64_t d : {3, 16, 40}) {
    const Matrix<float> G = grid(1200, d, 61 + static_cast<uint32_t>(d), 3);
    const Matrix<float> Q = grid(45, d, 67, 3);
    expect_every_kernel_matches(G, nullptr, 15, "grid d=" + std::to_string(d));
    expect_every_kernel_matches(G, &Q, 15, "grid queries d=" + std::to_string(d));
  }
  // Groups of identical rows (40, 25 copies), and every row the same.
  Matrix<float> R = gaussian(1100, 8, 71);
  for (int64_t i = 0; i < R.rows(); ++i) {
    const int64_t copy_of = i % 27 == 0 ? 0 : (i % 44 == 1 ? 1 : -1);
    if (copy_of >= 0 && i != copy_of) std::copy(R.row(copy_of), R.row(copy_of) + 8, R.row(i));
  }
  expect_every_kernel_matches(R, nullptr, 30, "groups");
  Matrix<float> same(1050, 5);
  for (auto& v : same.storage()) v = -7.25f;
  expect_every_kernel_matches(same, nullptr, 6, "identical");
  // Far from the origin; rows of scales 1e-3 to 1e3.
  expect_every_kernel_matches(gaussian(1100, 16, 73, 1.0f, 1e4f), nullptr, 10, "far");
  Matrix<float> scales = gaussian(1100, 12, 79);
  for (int64_t i = 0; i < scales.rows(); ++i)
    for (int64_t t = 0; t < 12; ++t) scales.row(i)[t] *= std::pow(10.0f, static_cast<float>(i % 7) - 3);
  expect_every_kernel_matches(scales, nullptr, 10, "scales");
}

TEST(KnnCpuKernels, ThreadCountDoesNotMatter) {
  const Matrix<float> R = gaussian(5000, 16, 83);
  for (const KnnKernel kernel : kKernels) {
    if (internal::knn_kernel_for(16, kernel) != kernel) continue;
    for (const bool pruned : {false, true}) {
      EXPECT_TRUE(same_bits(run_method(pruned, 1, R, nullptr, 20, std::size_t{256} << 20, kernel),
                            run_method(pruned, 3, R, nullptr, 20, std::size_t{256} << 20, kernel)))
          << kernel_name(kernel) << (pruned ? " pruned" : " brute");
    }
  }
}

}  // namespace
}  // namespace stray
