// Label scores and the assignment problem, one thread (the metrics use no
// threads).
//
//   build/bench/bench_metrics --benchmark_filter='CompareLabelings'
//
// CompareLabelings/<case>: the contingency table and every score of
// stray/metrics/label_scores.hpp (adjusted MI's expected MI included) on
// 10,000,000 labels:
//   0  uniform labels, 20 classes against 30 clusters
//   1  two classes against two clusters (the expected MI's widest overlaps)
//   2  skewed sizes, 1000 classes against 50 clusters (many distinct sizes)
//   3  every entity its own class against 100 clusters
//   4  20 classes with label values spread over int64 (numbered by hashing)
// Contingency/<case>: the table alone. `items/s` counts labels.
//
// Assignment/<kind>/<n>: linear_sum_assignment on an n × n matrix of
// uniform floats (kind 0) or integers in [0, 1000) (kind 1).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "stray/metrics/assignment.hpp"
#include "stray/metrics/label_scores.hpp"

namespace {

constexpr int64_t kLabels = 10'000'000;

uint64_t lcg(uint64_t& state) {
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return state;
}

struct LabelPair {
  std::vector<int64_t> truth, pred;
};

LabelPair make_case(int which) {
  LabelPair p;
  p.truth.resize(kLabels);
  p.pred.resize(kLabels);
  uint64_t s = 12345 + which;
  for (int64_t i = 0; i < kLabels; ++i) {
    const uint64_t a = lcg(s) >> 33, b = lcg(s) >> 33;
    const double u = static_cast<double>(a) / 2147483648.0;
    switch (which) {
      case 0: p.truth[i] = a % 20; p.pred[i] = b % 30; break;
      case 1: p.truth[i] = a % 2; p.pred[i] = (a + (b % 5 == 0)) % 2; break;
      case 2: p.truth[i] = static_cast<int64_t>(1000 * u * u); p.pred[i] = b % 50; break;
      case 3: p.truth[i] = i; p.pred[i] = b % 100; break;
      default: p.truth[i] = static_cast<int64_t>((a % 20) * 0x9E3779B97F4A7C1ull); p.pred[i] = b % 30;
    }
  }
  return p;
}

const LabelPair& cached_case(int which) {
  static std::vector<LabelPair> cases(5);
  if (cases[which].truth.empty()) cases[which] = make_case(which);
  return cases[which];
}

void CompareLabelings(benchmark::State& state) {
  const LabelPair& p = cached_case(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    const stray::LabelScores s = stray::compare_labelings(p.truth, p.pred);
    benchmark::DoNotOptimize(s.adjusted_mutual_info);
  }
  state.SetItemsProcessed(state.iterations() * kLabels);
}
BENCHMARK(CompareLabelings)->DenseRange(0, 4)->Unit(benchmark::kMillisecond)->UseRealTime();

void Contingency(benchmark::State& state) {
  const LabelPair& p = cached_case(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    const stray::Contingency t = stray::contingency_table(p.truth, p.pred);
    benchmark::DoNotOptimize(t.cells.data());
  }
  state.SetItemsProcessed(state.iterations() * kLabels);
}
BENCHMARK(Contingency)->DenseRange(0, 4)->Unit(benchmark::kMillisecond)->UseRealTime();

void Assignment(benchmark::State& state) {
  const bool integers = state.range(0) == 1;
  const int64_t n = state.range(1);
  std::vector<double> cost(static_cast<std::size_t>(n * n));
  uint64_t s = 99;
  for (double& c : cost) {
    c = integers ? static_cast<double>((lcg(s) >> 33) % 1000)
                 : static_cast<double>(lcg(s) >> 11) * 0x1p-53;
  }
  for (auto _ : state) {
    const stray::Assignment a = stray::linear_sum_assignment(cost.data(), n, n);
    benchmark::DoNotOptimize(a.total_cost);
  }
}
BENCHMARK(Assignment)->ArgsProduct({{0, 1}, {500, 2000}})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
