// Reading events: a synthetic fleet's CSV and JSON Lines files (stray synth's
// events, written once and kept), and the same events as a collector's JSON
// log read through a mapping, read whole on 1 and 2 threads.
//
//   build/bench/bench_event_read --benchmark_filter='^ReadEvents/0/2/'
//
// (bench/RESULTS.md ran each configuration as its own process, alternating;
// --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
// alternates them within one.)
//
// ReadEvents/<format>/<threads>: the reader alone, into a sink that only
// looks at each event (format 0 CSV, 1 JSON Lines, 2 a JSON log: each event a
// line shaped as an agent writes one, nested, with a timestamp, the agent
// and a message beside it, read through json_log_mapping() below).
// bytes_per_second is the
// file's size over the wall time; the page cache holds the file after the
// first run, so it measures parsing, not the disk.
// ReadBlocks/<format>/<threads>: the reader into a block sink that only
// looks at each block: parsing plus interning each block's names (what a
// FeatureBuilder's sink asks of the parsing threads).
// ReadIntoFeatures/<format>/<threads>: into a FeatureBuilder, the sink of
// `stray fleet` (a block sink: the builder runs on the calling thread, one
// block at a time).
//
// Environment: STRAY_BENCH_ENTITIES hosts (default 100000: a 642 MB CSV and
// a 1.45 GB JSON Lines file); STRAY_BENCH_EVENTS_DIR, where the files are
// kept (default: the temporary directory).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "stray/features/features.hpp"
#include "stray/io/events.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"

namespace {

namespace fs = std::filesystem;

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoll(v) : fallback;
}

// The events of a synthetic fleet as a collector's JSON log (its names are
// plain ASCII: nothing to escape).
class JsonLogWriter {
 public:
  explicit JsonLogWriter(std::ostream& out) : out_(out) {}
  stray::EventSink sink() {
    return [this](const stray::Event& e) {
      out_ << R"({"@timestamp":"2026-12-08T00:00:)" << (n_++ % 60) << R"(.000Z","host":{"name":")"
           << e.entity << R"(","os":{"type":"linux","kernel":"6.1.0-18-amd64"}},"event":{"kind":"event","category":[")"
           << e.group << R"("],"dataset":"fleet.inventory"},"seen":{"what":")" << e.feature
           << R"(","count":)" << e.value
           << R"(},"agent":{"type":"collector","version":"8.12.0"},"message":"observed )"
           << e.group << ' ' << e.feature << " on " << e.entity << "\"}\n";
    };
  }

 private:
  std::ostream& out_;
  int64_t n_ = 0;
};

// What reads JsonLogWriter's lines back as the fleet's events.
stray::JsonLogMapping json_log_mapping() {
  stray::JsonLogMapping m;
  m.entity = {{"/host/name"}};
  for (const char* group : {"package", "process", "net.port", "net.remote", "net.remote_net"}) {
    stray::JsonLogRule r;
    r.when = {{"/event/category", {group}}};
    r.fields = {"/seen/what"};
    r.group = group;
    r.value = "/seen/count";
    m.rules.push_back(r);
  }
  return m;
}

const char* extension_of(stray::EventFormat format) {
  if (format == stray::EventFormat::csv) return "csv";
  return format == stray::EventFormat::jsonl ? "jsonl" : "log.json";
}

// The fleet's events in `format`, written on first use.
fs::path events_file(stray::EventFormat format) {
  const int64_t hosts = env_int("STRAY_BENCH_ENTITIES", 100000);
  const char* dir = std::getenv("STRAY_BENCH_EVENTS_DIR");
  const fs::path base = dir != nullptr && *dir != '\0' ? fs::path(dir) : fs::temp_directory_path();
  const fs::path path =
      base / ("stray-bench-events-" + std::to_string(hosts) + "." + extension_of(format));
  if (!fs::exists(path)) {
    const fs::path tmp = path.string() + ".partial";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      stray::SyntheticFleetParams params;
      params.n_entities = hosts;
      if (format == stray::EventFormat::json_log) {
        JsonLogWriter writer(out);
        stray::generate_synthetic_fleet(params, writer.sink());
      } else {
        stray::EventWriter writer(out, format);
        stray::generate_synthetic_fleet(params, writer.sink());
        writer.finish();
      }
    }
    fs::rename(tmp, path);
  }
  return path;
}

stray::EventFormat format_of(const benchmark::State& state) {
  const stray::EventFormat formats[] = {stray::EventFormat::csv, stray::EventFormat::jsonl,
                                        stray::EventFormat::json_log};
  return formats[state.range(0)];
}

// Reading options for `state`'s format and thread count.
stray::EventReadOptions reading(const benchmark::State& state) {
  stray::EventReadOptions options;
  options.threads = static_cast<int>(state.range(1));
  if (format_of(state) == stray::EventFormat::json_log) options.json_log = json_log_mapping();
  return options;
}

void ReadEvents(benchmark::State& state) {
  const fs::path path = events_file(format_of(state));
  const stray::EventReadOptions options = reading(state);
  int64_t events = 0;
  for (auto _ : state) {
    uint64_t bytes = 0;
    const stray::ReadStats s = stray::read_events(
        path, format_of(state),
        [&](const stray::Event& e) { bytes += e.entity.size() + e.feature.size(); }, options);
    benchmark::DoNotOptimize(bytes);
    events = s.events;
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(fs::file_size(path)));
  state.counters["events"] = static_cast<double>(events);
}
BENCHMARK(ReadEvents)
    ->ArgsProduct({{0, 1, 2}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

// Looks at each block as a sink keyed by name would: a name per event.
class LookingBlockSink final : public stray::EventBlockSink {
 public:
  uint64_t bytes = 0;
  void add(const stray::Event& e) override { bytes += e.entity.size() + e.feature.size(); }
  void add_block(const stray::EventBlock& block) override {
    for (std::size_t i = 0; i < block.events.size(); ++i) {
      bytes += block.entity_of[i] + block.feature_of[i];
    }
    bytes += block.entities.size() + block.features.size();
  }
};

void ReadBlocks(benchmark::State& state) {
  const fs::path path = events_file(format_of(state));
  const stray::EventReadOptions options = reading(state);
  for (auto _ : state) {
    LookingBlockSink sink;
    stray::read_events(path, format_of(state), stray::block_sink(sink), options);
    benchmark::DoNotOptimize(sink.bytes);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(fs::file_size(path)));
}
BENCHMARK(ReadBlocks)
    ->ArgsProduct({{0, 1, 2}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

void ReadIntoFeatures(benchmark::State& state) {
  const fs::path path = events_file(format_of(state));
  const stray::EventReadOptions options = reading(state);
  for (auto _ : state) {
    stray::FeatureBuilder builder;
    stray::read_events(path, format_of(state), builder.sink(), options);
    benchmark::DoNotOptimize(builder.n_events());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(fs::file_size(path)));
}
BENCHMARK(ReadIntoFeatures)
    ->ArgsProduct({{0, 1, 2}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

}  // namespace

BENCHMARK_MAIN();
