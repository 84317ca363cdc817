// k-means benchmarks: one Lloyd iteration's primitives (nearest_centroid +
// accumulate_centroids), the column statistics, the assigned distances,
// a full pass of the pruned assignment (with and without the CPU's tile
// unit) and one where every bound holds, on every available backend, and
// kmeans_fit with a fixed iteration count, from given centres and from the
// default k-means++ start. Data are Gaussian blobs made once per shape.
//
//   build/bench/bench_kmeans --benchmark_filter='LloydStep/cpu/200000/64/100'
//
// Counters: `rows/s` is samples assigned per second; for LloydStep one
// iteration is one pass over X.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "stray/core/backend.hpp"
#include "stray/synthetic/datasets.hpp"
#include "stray/cluster/kmeans.hpp"

namespace {

struct Shape {
  int64_t n, d, k;
};

// (n, d, k): the design card's reference size, a wide one, many clusters,
// and a small one where per-call overheads show.
const std::vector<Shape> kShapes = {
    {200000, 64, 100}, {100000, 256, 32}, {50000, 32, 1000}, {10000, 16, 8}};

const stray::Blobs& blobs(const Shape& s) {
  static std::map<std::tuple<int64_t, int64_t, int64_t>, stray::Blobs> cache;
  auto key = std::make_tuple(s.n, s.d, s.k);
  auto it = cache.find(key);
  if (it == cache.end()) {
    stray::BlobsParams p;
    p.n_samples = s.n;
    p.n_features = s.d;
    p.n_centers = s.k;
    p.seed = 42;
    it = cache.emplace(key, stray::make_blobs(p)).first;
  }
  return it->second;
}

// The first k rows as centres: a cheap, deterministic start.
stray::Matrix<float> first_rows(const stray::Matrix<float>& X, int64_t k) {
  return stray::Matrix<float>::copy_of(X.view().row_block(0, k));
}

// A backend with the blobs of one shape resident: X, the first k rows as
// centres, and a label array.
struct Resident {
  std::unique_ptr<stray::Backend> backend;
  stray::DeviceArray<float> X, C;
  stray::DeviceArray<int32_t> labels;

  Resident(const std::string& backend_name, const Shape& s,
           const stray::BackendOptions& options = {})
      : backend(stray::make_backend(backend_name, options)) {
    const stray::Blobs& b = blobs(s);
    X = backend->upload(b.X.view());
    C = backend->upload(first_rows(b.X, s.k).view());
    labels = backend->allocate<int32_t>(s.n);
  }
};

// The `rows/s` counter: rows handled per second over all iterations.
void count_rows(benchmark::State& state, const Shape& s) {
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(s.n) * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

void lloyd_step(benchmark::State& state, const std::string& backend_name, Shape s) {
  Resident r(backend_name, s);
  auto dist = r.backend->allocate<float>(s.n);
  std::vector<double> sums(static_cast<std::size_t>(s.k * s.d));
  std::vector<double> counts(static_cast<std::size_t>(s.k));
  for (auto _ : state) {
    r.backend->nearest_centroid(r.X, r.C, r.labels, dist);
    r.backend->accumulate_centroids(r.X, r.labels, nullptr, s.k, sums.data(), counts.data());
    r.backend->synchronize();
    benchmark::DoNotOptimize(sums.data());
  }
  count_rows(state, s);
  state.SetLabel(r.backend->device_description());
}

void nearest_only(benchmark::State& state, const std::string& backend_name, Shape s) {
  Resident r(backend_name, s);
  auto dist = r.backend->allocate<float>(s.n);
  for (auto _ : state) {
    r.backend->nearest_centroid(r.X, r.C, r.labels, dist);
    r.backend->synchronize();
  }
  count_rows(state, s);
}

void accumulate_only(benchmark::State& state, const std::string& backend_name, Shape s) {
  const stray::Blobs& b = blobs(s);
  auto backend = stray::make_backend(backend_name);
  auto X = backend->upload(b.X.view());
  std::vector<int32_t> host_labels(static_cast<std::size_t>(s.n));
  for (int64_t i = 0; i < s.n; ++i) host_labels[static_cast<std::size_t>(i)] = b.labels[i];
  auto labels = backend->upload(host_labels);
  std::vector<double> sums(static_cast<std::size_t>(s.k * s.d));
  std::vector<double> counts(static_cast<std::size_t>(s.k));
  for (auto _ : state) {
    backend->accumulate_centroids(X, labels, nullptr, s.k, sums.data(), counts.data());
    backend->synchronize();
    benchmark::DoNotOptimize(sums.data());
  }
  count_rows(state, s);
}

// One full pass of the pruned assignment (a `fresh` call: every row
// against every centre, the cost of each of Lloyd's first iterations),
// with the CPU's tile unit allowed or not (`tile_unit`; CPUs without AMX
// take the float32 path either way).
void pruned_full_pass(benchmark::State& state, const std::string& backend_name, Shape s,
                      bool tile_unit) {
  stray::BackendOptions options;
  options.cpu.tile_unit = tile_unit;
  Resident r(backend_name, s, options);
  const auto bounds = r.backend->make_assignment_state();
  for (auto _ : state) {
    r.backend->nearest_centroid_pruned(r.X, r.C, r.labels, *bounds, nullptr, true);
    r.backend->synchronize();
  }
  count_rows(state, s);
}

// Column means and variances (the first pass of every fit).
void column_stats_only(benchmark::State& state, const std::string& backend_name, Shape s) {
  Resident r(backend_name, s);
  std::vector<double> mean(static_cast<std::size_t>(s.d)), var(mean.size());
  for (auto _ : state) {
    r.backend->column_stats(r.X, nullptr, mean.data(), var.data());
    benchmark::DoNotOptimize(var.data());
  }
  count_rows(state, s);
}

// Each row's squared distance to its assigned centre (a fit's inertia).
void assigned_distances_only(benchmark::State& state, const std::string& backend_name, Shape s) {
  Resident r(backend_name, s);
  auto dist = r.backend->allocate<float>(s.n);
  r.backend->nearest_centroid(r.X, r.C, r.labels, dist);
  for (auto _ : state) {
    r.backend->assigned_sq_distances(r.X, r.C, r.labels, dist);
    r.backend->synchronize();
  }
  count_rows(state, s);
}

// A pruned pass after one where no centre moved: every bound holds, so this
// is the fixed cost of a late Lloyd iteration (moving the bounds, setup).
void pruned_settled_pass(benchmark::State& state, const std::string& backend_name, Shape s) {
  Resident r(backend_name, s);
  const auto bounds = r.backend->make_assignment_state();
  r.backend->nearest_centroid_pruned(r.X, r.C, r.labels, *bounds, nullptr, true);
  const std::vector<double> no_shift(static_cast<std::size_t>(s.k), 0.0);
  for (auto _ : state) {
    r.backend->nearest_centroid_pruned(r.X, r.C, r.labels, *bounds, no_shift.data(), false);
    r.backend->synchronize();
  }
  count_rows(state, s);
}

// Whole fit, from the first k rows or from the default k-means++ start,
// exactly `iters` Lloyd iterations (tol = 0 and max_iter = iters; blobs
// this size do not converge strictly sooner).
void fit(benchmark::State& state, const std::string& backend_name, Shape s, int iters,
         stray::KMeansInit init) {
  const stray::Blobs& b = blobs(s);
  auto backend = stray::make_backend(backend_name);
  stray::KMeansParams p;
  p.n_clusters = s.k;
  p.init = init;
  if (init == stray::KMeansInit::explicit_centers) p.initial_centers = first_rows(b.X, s.k);
  p.max_iter = iters;
  p.tol = 0.0;
  p.n_init = 1;
  int n_iter = 0;
  for (auto _ : state) {
    const stray::KMeansResult r = stray::kmeans_fit(*backend, p, b.X.view());
    n_iter = r.n_iter;
    benchmark::DoNotOptimize(r.inertia);
  }
  state.counters["n_iter"] = n_iter;
  state.counters["s/iter"] = benchmark::Counter(
      static_cast<double>(n_iter) * state.iterations(),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

std::string shape_name(const Shape& s) {
  return std::to_string(s.n) + "/" + std::to_string(s.d) + "/" + std::to_string(s.k);
}

// Registered at start-up so the list follows available_backends() on the
// machine that runs it (CUDA appears only where a device is present).
const bool kRegistered = [] {
  for (const std::string& backend : stray::available_backends()) {
    for (const Shape& s : kShapes) {
      const std::string tail = backend + "/" + shape_name(s);
      benchmark::RegisterBenchmark(("LloydStep/" + tail).c_str(), lloyd_step, backend, s)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("NearestCentroid/" + tail).c_str(), nearest_only, backend, s)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("AccumulateCentroids/" + tail).c_str(), accumulate_only,
                                   backend, s)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("AssignedDistances/" + tail).c_str(), assigned_distances_only,
                                   backend, s)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("ColumnStats/" + tail).c_str(), column_stats_only, backend, s)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("PrunedFullPass/" + tail).c_str(), pruned_full_pass, backend,
                                   s, true)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("PrunedSettledPass/" + tail).c_str(), pruned_settled_pass,
                                   backend, s)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      if (backend == "cpu") {
        benchmark::RegisterBenchmark(("PrunedFullPass/cpu-float32/" + shape_name(s)).c_str(),
                                     pruned_full_pass, backend, s, false)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
    const Shape ref{200000, 64, 100};
    benchmark::RegisterBenchmark(("KMeansFit20/" + backend + "/" + shape_name(ref)).c_str(), fit,
                                 backend, ref, 20, stray::KMeansInit::explicit_centers)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(3);
    // The default start: greedy k-means++ (the default seed), most of a
    // default fit's time.
    benchmark::RegisterBenchmark(("KMeansFit20PlusPlus/" + backend + "/" + shape_name(ref)).c_str(),
                                 fit, backend, ref, 20, stray::KMeansInit::kmeans_plus_plus)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(3);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
