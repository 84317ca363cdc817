// Backend primitives of the pipeline's steps other than k-means (those are
// in bench_kmeans.cpp), over a ladder of row counts, so that time against
// rows gives each primitive's scaling: the Gram matrix (PCA's covariance),
// the symmetric eigensolvers (PCA's spectrum), the sparse product (the
// fleet's projection and the randomized PCA), and k nearest neighbours
// (LOF). Every case runs on every available backend ("cuda" appears only
// where a device is present).
//
//   build/bench/bench_primitives --benchmark_filter='^Gram/' --benchmark_min_time=0.01
//   # one primitive: ^Gram/ ^SymmetricEigen/ ^SymmetricEigenTop/
//   # ^SymmetricEigenLargest/ ^SpMM/ ^SpMMT/ ^Knn/
//
// Names: <Primitive>/<backend>/<rows>/<width>[/<k or B's width>]. Counters:
// `rows` (d for the eigensolvers) so a script can fit log time against log
// rows; `rows/s` (not for the eigensolvers); `FLOP/s` where the arithmetic
// is fixed by the shape (formula beside each), `B/s` where memory traffic
// may be the limit (the bytes each call must at least move). Data are made
// once per case, uploaded once, and never timed.
//
// Rows step by 10x (by ~3x for knn), so the slope of log time against log
// rows is read off the table: ~1 for a pass over the rows, more where the
// work grows faster (knn), less where fixed costs dominate the small end.
// Figures and slopes: bench/RESULTS.md, "Backend primitives over fleet
// sizes".
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"
#include "stray/synthetic/datasets.hpp"

namespace {

// ---- the shapes -----------------------------------------------------------

// Fleet sizes: per-call overheads show at 10k, 1M is the pipeline's reference
// fleet (bench/RESULTS.md, "Fleet pipeline").
const std::vector<int64_t> kRows = {10'000, 100'000, 1'000'000};
// Gram: a wide dense input, and a narrow one, where each row carries little
// arithmetic (~8 FLOPs a byte at 32 columns).
const std::vector<int64_t> kGramWidths = {256, 32};
// Eigensolvers on a d x d covariance; the top-k ones want PCA's default 32.
const std::vector<int64_t> kEigenDims = {256, 512, 2000};
constexpr int64_t kEigenTop = 32;
// SpMM: a binary CSR at ~5% density with the fleet's 477 features and a
// package inventory's 5,000; B is 32 wide (the fleet's 32 components). (The
// synthetic fleet's own rows are denser: RESULTS.md's "Fleet pipeline"
// counts 180 M non-zeros at 1M x 477.)
const std::vector<int64_t> kSpmmCols = {477, 5000};
constexpr double kSpmmDensity = 0.05;
constexpr int64_t kSpmmWidth = 32;
// knn: LOF's default k and narrow widths (LOF's benchmark data, a fleet
// after PCA). A self query's time grows faster than its rows (slope ~1.5
// on a log-log scale on the CPU), so the ladder stops at 100k, a few
// seconds a call; 1M would take about a minute.
const std::vector<int64_t> kKnnRows = {10'000, 30'000, 100'000};
const std::vector<int64_t> kKnnWidths = {16, 32};
constexpr int64_t kKnnK = 20;

// ---- data -------------------------------------------------------------------

// The data of the case being run. Google Benchmark calls a case's function
// more than once (to size the iteration count, then to run it), so data are
// kept between those calls; only one case's data are held at a time, since
// the 1M-row cases take GBs.
struct Held {
  std::string key;
  std::shared_ptr<const void> data;
};

Held& held_data() {  // one slot for every kind of data (not one per template)
  static Held held;
  return held;
}

template <typename T, typename Make>
const T& case_data(const std::string& key, Make make) {
  Held& held = held_data();
  if (held.key != key) {
    held.data.reset();  // free the previous case's data before making these
    held.key.clear();
    held.data = std::make_shared<const T>(make());
    held.key = key;
  }
  return *static_cast<const T*>(held.data.get());
}

// Gaussian blobs [n x d] (stray's generator, seed fixed).
const stray::Matrix<float>& blobs(int64_t n, int64_t d, int64_t centers, double std_dev) {
  const std::string key = "blobs/" + std::to_string(n) + "/" + std::to_string(d) + "/" +
                          std::to_string(centers) + "/" + std::to_string(std_dev);
  return case_data<stray::Matrix<float>>(key, [&] {
    stray::BlobsParams p;
    p.n_samples = n;
    p.n_features = d;
    p.n_centers = centers;
    p.cluster_std = std_dev;
    p.seed = 42;
    return stray::make_blobs(p).X;
  });
}

// Uniform values in [-1, 1) [n x d], for primitives whose time does not
// depend on the values (dense arithmetic): at 1M x 256 they take a fraction
// of the time of blobs to make, which keeps a short run short.
const stray::Matrix<float>& uniform_rows(int64_t n, int64_t d) {
  const std::string key = "uniform/" + std::to_string(n) + "/" + std::to_string(d);
  return case_data<stray::Matrix<float>>(key, [&] {
    stray::Matrix<float> X(n, d);
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::generate(X.data(), X.data() + X.size(), [&] { return uniform(rng); });
    return X;
  });
}

// A covariance-like d x d matrix: the Gram of 4d centred blob rows, over
// the row count. Its spectrum is PCA's usual one (a few large eigenvalues
// from the 9 centres, a bulk near the blobs' variance), which is what the
// solvers' iteration counts depend on.
const std::vector<double>& covariance(int64_t d) {
  return case_data<std::vector<double>>("cov/" + std::to_string(d), [d] {
    stray::BlobsParams p;
    p.n_samples = 4 * d;
    p.n_features = d;
    p.n_centers = 9;
    p.seed = 42;
    const stray::Matrix<float> X = stray::make_blobs(p).X;
    std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
    for (int64_t i = 0; i < X.rows(); ++i)
      for (int64_t j = 0; j < d; ++j) mean[j] += X(i, j);
    for (double& m : mean) m /= static_cast<double>(X.rows());
    auto cpu = stray::make_backend("cpu");
    std::vector<double> G(static_cast<std::size_t>(d * d));
    cpu->gram(cpu->upload(X.view()), nullptr, mean.data(), G.data());
    for (double& g : G) g /= static_cast<double>(X.rows());
    return G;
  });
}

// A binary CSR [n x cols], each entry stored with probability `density`,
// columns uniform: the gaps between stored columns of a row are geometric,
// so making it costs one draw per stored entry (250 M at 1M x 5,000), not
// one per cell.
const stray::CsrMatrix& binary_csr(int64_t n, int64_t cols, double density) {
  const std::string key = "csr/" + std::to_string(n) + "/" + std::to_string(cols);
  return case_data<stray::CsrMatrix>(key, [&] {
    stray::CsrMatrix A;
    A.rows = n;
    A.cols = cols;
    A.indptr.reserve(static_cast<std::size_t>(n + 1));
    const auto expected = static_cast<std::size_t>(static_cast<double>(n * cols) * density);
    A.indices.reserve(expected + expected / 50);
    std::mt19937_64 rng(42);
    std::geometric_distribution<int64_t> gap(density);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = gap(rng); j < cols; j += 1 + gap(rng))
        A.indices.push_back(static_cast<int32_t>(j));
      A.indptr.push_back(static_cast<int64_t>(A.indices.size()));
    }
    A.values.assign(A.indices.size(), 1.0f);
    return A;
  });
}

// ---- counters ---------------------------------------------------------------

// `rows` (the ladder's x: a script fits log time against log rows) and
// per-call FLOPs and bytes as rates (0 leaves one out). Rates are over real
// time (UseRealTime below): the backend's own threads do the work, not the
// timing thread.
void count(benchmark::State& state, int64_t rows, double flops, double bytes) {
  using benchmark::Counter;
  state.counters["rows"] = static_cast<double>(rows);
  if (flops > 0) state.counters["FLOP/s"] = Counter(flops, Counter::kIsIterationInvariantRate);
  if (bytes > 0) state.counters["B/s"] = Counter(bytes, Counter::kIsIterationInvariantRate);
}

// count, plus rows handled a second (for the primitives that pass over rows).
void count_rows(benchmark::State& state, int64_t rows, double flops, double bytes) {
  count(state, rows, flops, bytes);
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// An output array of the backend's, written once before timing: the CPU
// backend's memory is the kernel's fresh pages until first written, and
// faulting them in (100+ MB at 1M rows) would be timed in the first call.
template <typename T>
stray::DeviceArray<T> output(stray::Backend& backend, int64_t rows, int64_t cols) {
  const stray::Matrix<T> zero(rows, cols);
  return backend.upload(zero.view());
}

// One untimed call the first time this process runs a primitive on a
// backend. One-time costs (the CPU backend loads its BLAS on first use, a
// GPU its modules) belong to the process, not the primitive, and in a short
// run they would be the first case's only iteration.
void warm_up_once(const std::string& primitive, const stray::Backend& backend,
                  const std::function<void()>& call) {
  static std::set<std::string> done;
  if (done.insert(primitive + "/" + backend.name()).second) call();
}

// ---- the primitives ---------------------------------------------------------

// gram_with_sums, as PCA's covariance fit calls it: the scatter of X [n x d]
// about a shift near the mean, and the shifted column sums, in one pass.
// FLOPs: the d(d+1)/2 entries of the symmetric result, n multiply-adds each:
// n·d·(d+1). Bytes: X read once, n·d·4 (at d = 32 there are only ~8 FLOPs
// a byte, so memory bandwidth may bind before the FMA units).
void gram(benchmark::State& state, const std::string& backend_name, int64_t n, int64_t d) {
  const stray::Matrix<float>& host = uniform_rows(n, d);
  auto backend = stray::make_backend(backend_name);
  const stray::DeviceArray<float> X = backend->borrow_or_upload(host.view());
  std::vector<double> shift(static_cast<std::size_t>(d), 0.0), sums(shift);
  backend->column_stats(X, nullptr, shift.data(), sums.data());  // the mean as the shift
  std::vector<double> out(static_cast<std::size_t>(d * d));
  auto call = [&] {
    backend->gram_with_sums(X, shift.data(), out.data(), sums.data());
    backend->synchronize();
  };
  warm_up_once("gram", *backend, call);
  for (auto _ : state) {
    call();
    benchmark::DoNotOptimize(out.data());
  }
  const double nd = static_cast<double>(n) * static_cast<double>(d);
  count_rows(state, n, nd * static_cast<double>(d + 1), nd * sizeof(float));
  state.SetLabel(backend->device_description());
}

// The whole decomposition (every eigenvalue and eigenvector; PCA with all
// components, or a variance fraction past a quarter of them). FLOPs: the
// nominal 9d³ of the tridiagonal QR method with vectors (Golub & Van Loan,
// "Matrix Computations", §8.3); a reference count, not what was executed.
void symmetric_eigen(benchmark::State& state, const std::string& backend_name, int64_t d) {
  const std::vector<double>& A = covariance(d);
  auto backend = stray::make_backend(backend_name);
  std::vector<double> values(static_cast<std::size_t>(d)), vectors(A.size());
  auto call = [&] { backend->symmetric_eigen(d, A.data(), values.data(), vectors.data()); };
  warm_up_once("symmetric_eigen", *backend, call);
  for (auto _ : state) {
    call();
    benchmark::DoNotOptimize(vectors.data());
  }
  const double dd = static_cast<double>(d);
  count(state, d, 9.0 * dd * dd * dd, 0);
  state.SetLabel(backend->device_description());
}

// All eigenvalues and the k largest eigenvectors (a variance fraction's
// first guess; the fixed-k fallback). FLOPs: the nominal (4/3)d³ of the
// reduction to tridiagonal form, which every method of this kind pays, plus
// 2d²k to bring the k vectors back; a reference count.
void symmetric_eigen_top(benchmark::State& state, const std::string& backend_name, int64_t d,
                         int64_t k) {
  const std::vector<double>& A = covariance(d);
  auto backend = stray::make_backend(backend_name);
  std::vector<double> values(static_cast<std::size_t>(d)), vectors(static_cast<std::size_t>(k * d));
  auto call = [&] { backend->symmetric_eigen_top(d, A.data(), k, values.data(), vectors.data()); };
  warm_up_once("symmetric_eigen_top", *backend, call);
  for (auto _ : state) {
    call();
    benchmark::DoNotOptimize(vectors.data());
  }
  const double dd = static_cast<double>(d);
  count(state, d, 4.0 / 3.0 * dd * dd * dd + 2.0 * dd * dd * static_cast<double>(k), 0);
  state.SetLabel(backend->device_description());
}

// The k largest pairs only (PCA with a fixed component count tries this
// first). A backend may decline a shape (the interface allows it for tiny
// d, or where it has no such method); the case then reports that instead
// of a time. No FLOP count: the work depends on the spectrum (the CPU tries
// block subspace iteration on wide matrices, which converges only where the
// eigenvalues past the k-th fall off fast, then the tridiagonal form). The
// untimed call that checks for a decline also serves as the warm-up.
void symmetric_eigen_largest(benchmark::State& state, const std::string& backend_name, int64_t d,
                             int64_t k) {
  const std::vector<double>& A = covariance(d);
  auto backend = stray::make_backend(backend_name);
  std::vector<double> values(static_cast<std::size_t>(k)), vectors(static_cast<std::size_t>(k * d));
  if (!backend->symmetric_eigen_largest(d, A.data(), k, values.data(), vectors.data())) {
    state.SkipWithError("declined: callers use symmetric_eigen_top (see SymmetricEigenTop)");
    return;
  }
  for (auto _ : state) {
    backend->symmetric_eigen_largest(d, A.data(), k, values.data(), vectors.data());
    benchmark::DoNotOptimize(vectors.data());
  }
  count(state, d, 0, 0);
  state.SetLabel(backend->device_description());
}

// C = op(A)·B, A a binary CSR [n x cols], B dense and kSpmmWidth wide.
// A·B (transpose = false) is the fleet's projection onto its components;
// Aᵀ·B is the randomized PCA's other product. FLOPs: 2·nnz·w. Bytes: the
// CSR read once (row pointers, 4-byte indices and values) plus the n-row
// dense operand, C written (A·B) or B read (Aᵀ·B), n·w·4; the cols-row
// operand is small enough to stay in cache and is not counted.
void spmm(benchmark::State& state, const std::string& backend_name, bool transpose, int64_t n,
          int64_t cols) {
  const stray::CsrMatrix& host = binary_csr(n, cols, kSpmmDensity);
  auto backend = stray::make_backend(backend_name);
  const stray::DeviceCsr A = backend->borrow_or_upload_csr(host.view());
  const int64_t inner = transpose ? n : cols, outer = transpose ? cols : n;
  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  stray::Matrix<float> b(inner, kSpmmWidth);
  std::generate(b.data(), b.data() + b.size(), [&] { return normal(rng); });
  const stray::DeviceArray<float> B = backend->upload(b.view());
  stray::DeviceArray<float> C = output<float>(*backend, outer, kSpmmWidth);
  auto call = [&] {
    backend->spmm(transpose, A, B, C);
    backend->synchronize();
  };
  warm_up_once("spmm", *backend, call);
  for (auto _ : state) call();
  const double nnz = static_cast<double>(host.nnz());
  const double bytes = static_cast<double>(n + 1) * sizeof(int64_t) +
                       nnz * (sizeof(int32_t) + sizeof(float)) +
                       static_cast<double>(n * kSpmmWidth) * sizeof(float);
  count_rows(state, n, 2.0 * nnz * kSpmmWidth, bytes);
  state.counters["nnz/row"] = nnz / static_cast<double>(n);
  state.SetLabel(backend->device_description());
}

// The exact k nearest neighbours of every row among the others (LOF's
// query). Rows are 20 blobs of σ 2 in ±10 (LOF's benchmark data): the
// clustered case, where the CPU's pruned tiles skip most pairs. No FLOP
// count: the pairs computed depend on the data; brute force would be
// 3·n²·d.
void knn(benchmark::State& state, const std::string& backend_name, int64_t n, int64_t d) {
  const stray::Matrix<float>& host = blobs(n, d, 20, 2.0);
  auto backend = stray::make_backend(backend_name);
  const stray::DeviceArray<float> X = backend->borrow_or_upload(host.view());
  auto indices = output<int64_t>(*backend, n, kKnnK);
  auto distances = output<double>(*backend, n, kKnnK);
  auto call = [&] {
    backend->knn(X, nullptr, kKnnK, indices, distances);
    backend->synchronize();
  };
  warm_up_once("knn", *backend, call);
  for (auto _ : state) call();
  count_rows(state, n, 0, 0);
  state.SetLabel(backend->device_description());
}

// ---- registration -----------------------------------------------------------

std::string name(std::initializer_list<std::string> parts) {
  std::string s;
  for (const std::string& p : parts) s += (s.empty() ? "" : "/") + p;
  return s;
}

template <typename... Args>
void add(const std::string& case_name, Args&&... args) {
  benchmark::RegisterBenchmark(case_name.c_str(), std::forward<Args>(args)...)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

// Registered at start-up so the list follows available_backends() on the
// machine that runs it.
const bool kRegistered = [] {
  using std::to_string;
  for (const std::string& b : stray::available_backends()) {
    for (int64_t d : kGramWidths)
      for (int64_t n : kRows) add(name({"Gram", b, to_string(n), to_string(d)}), gram, b, n, d);
    // Cases that share data are registered one after the other, so that
    // the data are made once (case_data holds one case's).
    for (int64_t d : kEigenDims) {
      add(name({"SymmetricEigen", b, to_string(d)}), symmetric_eigen, b, d);
      add(name({"SymmetricEigenTop", b, to_string(d), to_string(kEigenTop)}), symmetric_eigen_top,
          b, d, kEigenTop);
      add(name({"SymmetricEigenLargest", b, to_string(d), to_string(kEigenTop)}),
          symmetric_eigen_largest, b, d, kEigenTop);
    }
    for (int64_t cols : kSpmmCols)
      for (int64_t n : kRows)
        for (bool t : {false, true})
          add(name({t ? "SpMMT" : "SpMM", b, to_string(n), to_string(cols), to_string(kSpmmWidth)}),
              spmm, b, t, n, cols);
    for (int64_t d : kKnnWidths)
      for (int64_t n : kKnnRows)
        add(name({"Knn", b, to_string(n), to_string(d), to_string(kKnnK)}), knn, b, n, d);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
