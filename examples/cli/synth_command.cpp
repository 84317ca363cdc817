// `stray synth`: writes a synthetic fleet's events and its ground truth.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli_util.hpp"
#include "commands.hpp"
#include "run_outputs.hpp"
#include "stray/io/events.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"

namespace stray::cli {
namespace {

namespace fs = std::filesystem;

struct SynthOptions {
  int64_t entities = 1000;
  uint64_t seed = 0;
  int64_t per_kind = 1;
  int day = 1;
  double noise = 1.0;
  std::string out, format = "csv";
  bool json = false;
};

const char* extension_of(EventFormat f) {
  switch (f) {
    case EventFormat::csv: return "csv";
    case EventFormat::jsonl: return "jsonl";
    case EventFormat::osquery:
    case EventFormat::osquery_snapshot: return "log";
    case EventFormat::sbom:
    case EventFormat::json_log: break;  // refused by run_synth
  }
  return "txt";
}

// A synthetic fleet is written to disk (6-80 KB of events per host by
// format): the bounds keep a typo from filling it, and each injected
// anomaly needs a host of its own.
constexpr int64_t kMaxEntities = 10'000'000;
constexpr int64_t kMaxPerKind = 10'000;
constexpr int64_t kAnomalyKinds = 6;

void run_synth(const SynthOptions& o) {
  const EventFormat format = parse_event_format(o.format);
  if (format == EventFormat::sbom || format == EventFormat::json_log) {
    throw Error(ErrorCode::invalid_argument,
                std::string("synth: stray reads ") + to_string(format) +
                    " but does not write it; give --format csv, jsonl, osquery or "
                    "osquery-snapshot");
  }
  if (o.entities < 1 || o.entities > kMaxEntities) {
    throw Error(ErrorCode::invalid_argument, "synth: --entities " + std::to_string(o.entities) +
                                                 " is outside [1, " +
                                                 std::to_string(kMaxEntities) + "]");
  }
  if (o.per_kind < 0 || o.per_kind > kMaxPerKind || o.per_kind * kAnomalyKinds > o.entities) {
    throw Error(ErrorCode::invalid_argument,
                "synth: --per-kind " + std::to_string(o.per_kind) + " is outside [0, " +
                    std::to_string(std::min(kMaxPerKind, o.entities / kAnomalyKinds)) +
                    "] (at most " + std::to_string(kMaxPerKind) +
                    ", and six kinds of one host each must fit in --entities)");
  }
  SyntheticFleetParams sp;
  sp.n_entities = o.entities;
  sp.seed = o.seed;
  sp.hosts_per_anomaly = o.per_kind;
  sp.noise = o.noise;

  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec || !fs::is_directory(o.out)) {
    throw Error(ErrorCode::io_error, "synth: cannot create the directory '" + o.out + "'");
  }
  const fs::path events_path = fs::path(o.out) / (std::string("events.") + extension_of(format));
  const fs::path truth_path = fs::path(o.out) / "truth.json";
  // The events stream to a temporary file (a fleet can be far larger than
  // memory); both files move into place only once both are complete.
  RunOutputs outputs("synth", {{"--out", events_path.string()}, {"--out", truth_path.string()}}, {});
  const std::string tmp = outputs.stage(events_path.string());
  GroundTruth truth;
  int64_t written = 0;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(ErrorCode::io_error, "synth: cannot open '" + tmp + "' for writing");
    EventWriter writer(out, format);
    std::ostringstream t;
    if (o.day == 2) {  // the same fleet a day later (churn, a shifted role, drifting hosts)
      const DayTwoTruth two = generate_synthetic_fleet_day_two(sp, writer.sink());
      write_day_two_truth_json(t, two);
      truth = two.fleet;
    } else {
      truth = generate_synthetic_fleet(sp, writer.sink());
      write_ground_truth_json(t, truth);
    }
    writer.finish();
    written = writer.events_written();
    out.close();
    if (!out) throw Error(ErrorCode::io_error, "synth: writing '" + events_path.string() + "' failed");
    outputs.write(truth_path.string(), [&](const std::string& p) { write_file_atomic(p, t.str()); });
  }
  outputs.commit();
  if (o.json) {
    print_json({{"events", events_path.string()},
                {"truth", truth_path.string()},
                {"format", to_string(format)},
                {"entities", truth.n_entities},
                {"events_written", written},
                {"anomalies", truth.anomalies.size()}});
    return;
  }
  std::printf("wrote %lld events of %lld hosts to %s and %zu injected anomalies to %s\n",
              static_cast<long long>(written), static_cast<long long>(truth.n_entities),
              events_path.string().c_str(), truth.anomalies.size(), truth_path.string().c_str());
}

}  // namespace

void register_synth_command(CLI::App& app) {
  auto o = std::make_shared<SynthOptions>();
  CLI::App* cmd = app.add_subcommand(
      "synth",
      "Write a synthetic fleet (servers and containers in nine roles, with injected anomalies) "
      "as events, and its ground truth as truth.json.");
  cmd->add_option("--entities", o->entities, "Hosts in the fleet (at most 10000000)")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed")->capture_default_str();
  cmd->add_option("--per-kind", o->per_kind,
                  "Hosts per injected anomaly kind (six kinds; 0 = none; at most 10000 and "
                  "--entities / 6)")
      ->capture_default_str();
  cmd->add_option("--day", o->day,
                  "1: the fleet; 2: the same fleet a day later (some hosts gone and new, one role "
                  "on a new image, a few hosts repurposed; truth.json says which)")
      ->check(CLI::IsMember({1, 2}))
      ->capture_default_str();
  cmd->add_option("--noise", o->noise, "Scale of the natural noise (0 = clean role templates)")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Directory for events.<ext> and truth.json")->required();
  cmd->add_option("--format", o->format, "csv, jsonl, osquery or osquery-snapshot")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print one JSON object instead of text");
  cmd->callback([o] { run_synth(*o); });
}

}  // namespace stray::cli
