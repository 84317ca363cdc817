// The HTML report (stray/report/html_report.hpp) of a synthetic fleet: the
// time to write the page and its size. The fleet is fitted once, outside
// the timing: STRAY_BENCH_ENTITIES entities (default 1,000,000), seed 1, the
// pipeline's defaults. STRAY_BENCH_HTML names a file to write the page to
// (to time a browser opening it). Results: bench/RESULTS.md.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "stray/core/backend.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/io/files.hpp"
#include "stray/report/html_report.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"

namespace {

const stray::FleetResult& fleet() {
  static const stray::FleetResult r = [] {
    const char* env = std::getenv("STRAY_BENCH_ENTITIES");
    stray::SyntheticFleetParams sp;
    sp.n_entities = env != nullptr ? std::atoll(env) : 1000000;
    sp.seed = 1;
    stray::FleetPipelineParams pp;
    pp.kmeans.seed = 1;
    auto backend = stray::make_backend("cpu");
    return stray::fit_fleet(*backend, pp, [&](const stray::EventSink& sink) {
      stray::generate_synthetic_fleet(sp, sink);
    });
  }();
  return r;
}

void BM_FleetHtmlReport(benchmark::State& state) {
  const stray::FleetResult& r = fleet();
  std::string page;
  for (auto _ : state) {
    page = stray::fleet_html_report(r);
    benchmark::DoNotOptimize(page.data());
  }
  state.counters["entities"] = static_cast<double>(r.features.n_entities());
  state.counters["findings"] = static_cast<double>(r.findings.size());
  state.counters["bytes"] = static_cast<double>(page.size());
  if (const char* out = std::getenv("STRAY_BENCH_HTML"); out != nullptr && *out != '\0') {
    stray::write_file_atomic(out, page);
  }
}
BENCHMARK(BM_FleetHtmlReport)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
