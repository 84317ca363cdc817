// `stray stability`: do one day's clusters hold the next day, and which
// entities moved? Two snapshots of events in, the comparison out.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "json_log_inputs.hpp"
#include "osquery_inputs.hpp"
#include "commands.hpp"
#include "run_outputs.hpp"
#include "progress_line.hpp"
#include "stray/fleet/stability.hpp"
#include "stray/report/html_stability.hpp"

namespace stray::cli {
namespace {

namespace fs = std::filesystem;

struct StabilityOptions {
  std::vector<std::string> day1, day2, normalize;
  std::string format, space = "union", drift_space = "features", out;
  std::string report_out;  // --report: the HTML page
  BackendChoice backend;
  OsqueryChoice osquery;
  JsonLogChoice json_log;
  double pca = 32, min_overlap = 0.5, k_tolerance = ChooseKParams{}.tolerance;
  int64_t k = 0, max_clusters = 50, top = 20, features = 10, limit = 20;
  int32_t ephemeral_ports = FeatureParams{}.ephemeral_port_min;
  uint64_t seed = 0;
  bool idf = false, json = false;
};

// The CSV files of --out, by name.
struct OutputFile {
  const char* name;
  std::string (*write)(const StabilityReport&);
};
const OutputFile kOutputs[] = {{"pairs.csv", stability_pairs_csv},
                               {"moved.csv", stability_moved_csv},
                               {"drift.csv", stability_drift_csv},
                               {"changes.csv", stability_changes_csv}};

std::vector<std::string> output_paths(const std::string& dir) {
  std::vector<std::string> paths;
  for (const auto& f : kOutputs) paths.push_back((fs::path(dir) / f.name).string());
  return paths;
}

StabilityParams stability_params(const StabilityOptions& o) {
  StabilityParams sp;
  FleetPipelineParams& pp = sp.pipeline;
  parse_normalize(o.normalize, pp.features, "stability");
  pp.features.idf = o.idf;
  pp.features.ephemeral_port_min = o.ephemeral_ports;
  set_pca_option(o.pca, pp.pca, "stability");
  pp.pca.seed = o.seed;
  if (o.k < 0) throw Error(ErrorCode::invalid_argument, "stability: -k must be >= 0 (0 = auto)");
  pp.kmeans.n_clusters = o.k;
  pp.kmeans.seed = o.seed;
  pp.max_clusters = o.max_clusters;
  pp.cluster_choice_tolerance = o.k_tolerance;
  sp.space = parse_stability_space(o.space);
  sp.drift_space = parse_drift_space(o.drift_space);
  if (o.top < 0 || o.features < 0) {
    throw Error(ErrorCode::invalid_argument, "stability: --top and --features must be >= 0");
  }
  sp.top_drift = o.top;
  sp.features_per_entity = o.features;
  sp.min_overlap = o.min_overlap;
  return sp;
}

void run_stability(const StabilityOptions& o) {
  std::vector<std::pair<std::string, std::string>> outputs = {{"--report", o.report_out}};
  if (!o.out.empty()) {
    std::error_code ec;
    if (!fs::is_directory(o.out, ec)) {
      throw Error(ErrorCode::io_error, "stability: --out '" + o.out + "' is not a directory");
    }
    for (const std::string& p : output_paths(o.out)) outputs.emplace_back("--out", p);
  }
  std::vector<std::string> inputs = o.day1;
  inputs.insert(inputs.end(), o.day2.begin(), o.day2.end());
  RunOutputs out("stability", outputs, inputs);
  out.refuse_stdout_with(o.json, "--json");
  std::string format = o.format;
  resolve_json_log_format(o.json_log, format, "stability");
  check_event_formats(inputs, format, "stability");
  StabilityParams sp = stability_params(o);

  EventReadOptions reading;
  apply_osquery_options(o.osquery, reading);
  apply_json_log_options(o.json_log, reading);
  auto backend = open_backend(o.backend);
  ProgressLine progress;
  sp.pipeline.progress = progress.callback();
  const auto days = [&](const std::vector<std::string>& files) {
    return file_source(files, format, sp.pipeline.progress, "stability", reading);
  };
  const StabilityReport r = compare_days(*backend, sp, days(o.day1), days(o.day2));
  progress.finish();

  // Outputs only after everything succeeded, all or none.
  if (!o.out.empty()) {
    const auto paths = output_paths(o.out);
    for (std::size_t i = 0; i < paths.size(); ++i) {
      out.write(paths[i], [&](const std::string& p) { write_file_atomic(p, kOutputs[i].write(r)); });
    }
  }
  if (!o.report_out.empty()) {
    HtmlReportOptions ho;
    ho.title = "stray stability";
    ho.backend = backend->name();
    out.write(o.report_out, [&](const std::string& p) { write_stability_html_report(p, r, ho); });
  }
  out.commit();
  if (out.uses_stdout()) return;  // standard output carries the page
  if (o.json) {
    std::cout << stability_json(r) << std::endl;
    return;
  }
  write_stability_text(std::cout, r, o.limit);
  std::printf("\ntime: %.2f s\n", r.seconds);
}

}  // namespace

void register_stability_command(CLI::App& app) {
  auto o = std::make_shared<StabilityOptions>();
  CLI::App* cmd = app.add_subcommand(
      "stability",
      "Compare two snapshots of a fleet (events of day one and day two): the entities on both "
      "days, clustered alike in one space; how well the clusters match (Jaccard, centre shift, "
      "adjusted Rand), which entities changed cluster, and which drifted most, with the "
      "features that changed.");
  cmd->add_option("--day1", o->day1, "Event files of the first snapshot")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--day2", o->day2, "Event files of the second snapshot")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--format", o->format,
                  "csv, jsonl, osquery or json-log (default: from each file's extension: .csv, "
                  ".jsonl, .log)");
  add_osquery_options(cmd, &o->osquery);
  add_json_log_options(cmd, &o->json_log);
  cmd->add_option("--normalize", o->normalize,
                  "Per-group normalisation GROUP=MODE (auto, binary, log1p, fraction, none); "
                  "*=MODE for every other group (default: auto, decided once over both days: "
                  "binary for groups whose values are all 1, fraction for groups with counts)");
  cmd->add_flag("--idf", o->idf, "Weigh features by inverse document frequency (over both days)");
  add_ephemeral_ports_option(cmd, &o->ephemeral_ports);
  cmd->add_option("--pca", o->pca,
                  "PCA components (a count), a variance fraction in (0, 1), or 0 for none")
      ->capture_default_str();
  cmd->add_option("--space", o->space,
                  "Where PCA is fitted: union (both days; features new on day two count) or "
                  "day-one")
      ->capture_default_str();
  cmd->add_option("-k,--clusters", o->k,
                  "k-means clusters on both days (0 = auto: chosen on day one as the fleet "
                  "command chooses)")
      ->capture_default_str();
  cmd->add_option("--max-clusters", o->max_clusters, "-k 0: the largest k tried")
      ->check(CLI::Range(int64_t{2}, int64_t{100000}))
      ->capture_default_str();
  cmd->add_option("--k-tolerance", o->k_tolerance,
                  "-k 0: how much more the chosen k may leave unexplained than the best k, "
                  "relative (1 - silhouette at most (1 + this) times the best's)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of k-means (and randomized PCA)")->capture_default_str();
  cmd->add_option("--drift", o->drift_space,
                  "Rank drift in the features (every feature counts) or reduced (the PCA space)")
      ->capture_default_str();
  cmd->add_option("--top", o->top, "Drifted entities reported, with their changed features")
      ->capture_default_str();
  cmd->add_option("--features", o->features, "Changed features listed per drifted entity")
      ->capture_default_str();
  cmd->add_option("--min-overlap", o->min_overlap,
                  "Warn when the entities on both days are fewer than this share of either day")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--limit", o->limit, "Entities that changed cluster printed (0 = all)")
      ->capture_default_str();
  add_backend_options(cmd, &o->backend);
  cmd->add_flag("--json", o->json, "Print one JSON object instead of the text");
  cmd->add_option("--out", o->out,
                  "Write pairs.csv, moved.csv, drift.csv and changes.csv into this directory");
  cmd->add_option("--report", o->report_out,
                  "Write a self-contained HTML report here (charts; opens offline)");
  cmd->callback([o] { run_stability(*o); });
}

}  // namespace stray::cli
