// `stray fleet`: events in, outliers with explanations out — fitted on the
// snapshot itself, on a baseline snapshot, or scored with a saved model.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "progress_line.hpp"
#include "run_outputs.hpp"
#include "json_log_inputs.hpp"
#include "osquery_inputs.hpp"
#include "sbom_inputs.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/io/events.hpp"
#include "stray/report/fleet_report.hpp"
#include "stray/report/html_report.hpp"

namespace stray::cli {
namespace {

struct FleetOptions {
  std::vector<std::string> events, baseline, normalize;
  std::string grains = "auto";
  std::string format, model_in, model_out, out, scores_out, mode = "config",
                                                space = "auto";
  std::string cluster = "kmeans", linkage = "ward", detector = "auto", rarity = "on";
  int64_t neighbors = 20;
  std::string report_out;  // --report: the HTML page
  BackendChoice backend;
  SbomChoice sbom;  // --sbom: the inputs become --events, in the sbom format
  OsqueryChoice osquery;
  JsonLogChoice json_log;
  double pca = 32, percentile = 95.0, top_fraction = 0.0, variance_floor = 1e-3,
         shrinkage = 0.0;
  double k_tolerance = ChooseKParams{}.tolerance;
  int64_t max_clusters = 50;
  int64_t k = 0, top = 0, small = -1, features = 5, limit = 0;
  int32_t ephemeral_ports = FeatureParams{}.ephemeral_port_min;
  uint64_t seed = 0;
  bool idf = false, json = false;
  // Options that shape a fit (not allowed with --model), by name, when given.
  std::vector<std::string> fit_options_given;
};

// --grains: auto, none, or a comma-separated list of k (each >= 2).
void set_grains(const std::string& text, ScoreParams& score) {
  if (text == "auto") return;
  score.auto_grains = false;
  if (text == "none") return;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    int64_t k = 0;
    std::size_t used = 0;
    try {
      k = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || k < 2) {
      throw Error(ErrorCode::invalid_argument,
                  "fleet: --grains expects auto, none, or numbers >= 2 separated by commas, got '" +
                      text + "'");
    }
    score.grains.push_back(k);
    at = comma + 1;
  }
}

// --shrinkage: a pseudo-count; NaN and infinity would poison every score.
const CLI::Validator kFiniteNonNegative(
    [](const std::string& text) {
      double v = 0.0;
      try {
        std::size_t used = 0;
        v = std::stod(text, &used);
        if (used != text.size()) return std::string("not a number: ") + text;
      } catch (const std::exception&) {
        return std::string("not a number: ") + text;
      }
      return std::isfinite(v) && v >= 0.0 ? std::string()
                                         : std::string("expected a finite number >= 0, got ") + text;
    },
    "NUMBER >= 0");


// --sbom: its files (directories listed) become --events, read as SBOMs.
void take_sbom_inputs(FleetOptions& o) {
  if (o.sbom.paths.empty()) {
    if (o.events.empty())
      throw Error(ErrorCode::invalid_argument, "fleet: --events or --sbom is required");
    return;
  }
  if (!o.events.empty())
    throw Error(ErrorCode::invalid_argument, "fleet: --events and --sbom exclude each other");
  if (!o.format.empty() && o.format != "sbom") {
    throw Error(ErrorCode::invalid_argument,
                "fleet: --sbom reads SBOMs; --format " + o.format + " does not apply");
  }
  o.events = sbom_input_files(o.sbom.paths, "fleet");
  o.format = "sbom";
}

// Refusals that need no input read: options that exclude each other.
void check_fleet_options(const FleetOptions& o) {
  if (!o.model_in.empty() && !o.baseline.empty()) {
    throw Error(ErrorCode::invalid_argument, "fleet: --model and --baseline exclude each other");
  }
  if (!o.model_in.empty() && !o.fit_options_given.empty()) {
    throw Error(ErrorCode::invalid_argument,
                "fleet: " + o.fit_options_given.front() +
                    " is part of a fitted model; it cannot change with --model (refit with --baseline)");
  }
  if (o.features < 1) throw Error(ErrorCode::invalid_argument, "fleet: --features must be >= 1");
}

// The pipeline's parameters from the fit options.
FleetPipelineParams pipeline_params(const FleetOptions& o, const ExplainParams& explain,
                                    const ProgressCallback& cb) {
  FleetPipelineParams pp;
  parse_normalize(o.normalize, pp.features, "fleet");
  pp.features.require_named_groups = true;  // a typo in --normalize is an error
  pp.features.idf = o.idf;
  pp.features.ephemeral_port_min = o.ephemeral_ports;
  set_pca_option(o.pca, pp.pca, "fleet");
  pp.pca.seed = o.seed;
  pp.kmeans.n_clusters = o.k;
  pp.kmeans.seed = o.seed;
  pp.clustering = parse_clustering(o.cluster);
  pp.linkage = parse_linkage(o.linkage);
  pp.detector = parse_detector(o.detector);
  pp.rarity = o.rarity == "on";
  pp.lof.n_neighbors = o.neighbors;
  pp.max_clusters = o.max_clusters;
  pp.cluster_choice_tolerance = o.k_tolerance;
  pp.score.space = parse_score_space(o.space);
  pp.score.variance_floor = o.variance_floor;
  pp.score.shrinkage = o.shrinkage;
  set_grains(o.grains, pp.score);
  pp.outliers.percentile = o.percentile;
  pp.outliers.top_n = o.top;
  pp.outliers.top_fraction = o.top_fraction;
  pp.small_cluster_size = o.small;
  pp.explain = explain;
  pp.progress = cb;
  return pp;
}

// What a run found, and with --baseline the model it fitted and its times.
struct FleetRun {
  FleetResult result;
  FleetModel fitted;     // with --baseline: the baseline's model
  std::string fit_time;  // with --baseline: the fit's own steps
};

// Fits on the events, or on the baseline and scores the events against it,
// or scores them with a saved model.
FleetRun run_pipeline(const FleetOptions& o, Backend& backend, const ExplainParams& explain,
                      const ProgressCallback& cb, const EventReadOptions& reading) {
  FleetRun run;
  if (!o.model_in.empty()) {
    const FleetModel model = load_fleet_model(o.model_in);
    FleetScoreParams sp = FleetScoreParams::from_model(model);
    sp.top_n = o.top;
    sp.top_fraction = o.top_fraction;
    sp.explain = explain;
    sp.progress = cb;
    run.result =
        score_fleet(backend, model, file_source(o.events, o.format, cb, "fleet", reading), sp);
    return run;
  }
  const auto& fit_files = o.baseline.empty() ? o.events : o.baseline;
  run.result = fit_fleet(backend, pipeline_params(o, explain, cb),
                         file_source(fit_files, o.format, cb, "fleet", reading));
  if (o.baseline.empty()) return run;
  char total[32];
  std::snprintf(total, sizeof total, "; total %.2f s", run.result.seconds);
  run.fit_time = steps_text(run.result) + total;
  run.fitted = std::move(run.result.model);
  FleetScoreParams sp = FleetScoreParams::from_model(run.fitted);
  sp.progress = cb;
  run.result =
      score_fleet(backend, run.fitted, file_source(o.events, o.format, cb, "fleet", reading), sp);
  return run;
}

// How the findings were reached, in the words of the table and the report.
const char* fitted_on(const FleetOptions& o) {
  return !o.model_in.empty() ? "model" : (o.baseline.empty() ? "events" : "baseline");
}

// The files asked for (--save-model, --out, --scores, --report), all or
// none; returns the JSON object of the findings where --json or --out
// wants it.
nlohmann::ordered_json write_outputs(const FleetOptions& o, const FleetRun& run,
                                     const std::string& backend_name, RunOutputs& out) {
  const FleetResult& r = run.result;
  if (!o.model_out.empty()) {
    const FleetModel& m = o.baseline.empty() ? r.model : run.fitted;
    out.write(o.model_out, [&](const std::string& p) { save_fleet_model(m, p); });
  }
  nlohmann::ordered_json j;
  if (o.json || !o.out.empty()) {
    j = nlohmann::ordered_json::parse(findings_json(r, backend_name));
    j["fitted_on"] = fitted_on(o);
  }
  if (!o.out.empty()) {
    out.write(o.out, [&](const std::string& p) { write_file_atomic(p, j.dump(2) + "\n"); });
  }
  if (!o.scores_out.empty()) {
    out.write(o.scores_out, [&](const std::string& p) { write_file_atomic(p, scores_csv(r)); });
  }
  if (!o.report_out.empty()) {
    HtmlReportOptions ho;
    ho.title = "stray fleet";
    ho.subtitle = !o.model_in.empty() ? "Scored with a saved model."
                  : o.baseline.empty() ? "Fitted on these events."
                                       : "Scored against the baseline.";
    ho.backend = backend_name;
    ho.lof = r.lof;  // LOF sizes the scatter's points where the detector ran it
    out.write(o.report_out, [&](const std::string& p) { write_fleet_html_report(p, r, ho); });
  }
  out.commit();
  return j;
}

// The findings' table, the clusters' profiles and the times, on stdout.
void print_findings(const FleetOptions& o, const FleetRun& run) {
  const FleetResult& r = run.result;
  const char* against = !o.model_in.empty() ? "scored with a saved model"
                        : o.baseline.empty() ? "fitted on these events"
                                             : "scored against the baseline";
  std::printf("stray fleet: %s\n", against);
  std::printf("pipeline: %s\n", pipeline_summary(r).c_str());
  std::printf("%zu finding%s:\n\n", r.findings.size(), r.findings.size() == 1 ? "" : "s");
  write_findings_table(std::cout, r, o.limit, static_cast<std::size_t>(o.features));
  std::printf("\n%zu cluster%s:\n\n", r.clusters.size(), r.clusters.size() == 1 ? "" : "s");
  write_cluster_profiles(std::cout, r);
  if (!run.fit_time.empty()) std::printf("\nbaseline fit: %s", run.fit_time.c_str());
  std::printf("\ntime: %s; total %.2f s\n", steps_text(r).c_str(), r.seconds);
}

void run_fleet(const FleetOptions& o) {
  check_fleet_options(o);
  // Formats checked before any work (standard input, read once, is told
  // when it is read); "-" at most once across --events and --baseline.
  std::vector<std::string> inputs = o.events;
  inputs.insert(inputs.end(), o.baseline.begin(), o.baseline.end());
  std::vector<std::string> read = inputs;
  read.push_back(o.model_in);  // no output may replace a file this run reads
  RunOutputs out("fleet",
                 {{"--save-model", o.model_out}, {"--out", o.out}, {"--scores", o.scores_out},
                  {"--report", o.report_out}},
                 read);
  out.refuse_stdout_with(o.json, "--json");
  check_event_formats(inputs, o.format, "fleet");

  ExplainParams explain;
  explain.mode = parse_explain_mode(o.mode);
  explain.top_features = o.features;
  auto backend = open_backend(o.backend);
  EventReadOptions reading;
  apply_sbom_options(o.sbom, reading);
  apply_osquery_options(o.osquery, reading);
  apply_json_log_options(o.json_log, reading);
  ProgressLine progress;
  const FleetRun run = run_pipeline(o, *backend, explain, progress.callback(), reading);
  progress.finish();

  // Outputs only after everything succeeded, all or none.
  const nlohmann::ordered_json j = write_outputs(o, run, backend->name(), out);
  if (out.uses_stdout()) return;  // standard output carries the file
  if (o.json) {
    print_json(j);
    return;
  }
  print_findings(o, run);
}

// Where the events, baseline and model come from, and where the model goes.
void add_input_options(CLI::App* cmd, FleetOptions* o) {
  cmd->add_option("--events", o->events,
                  "Event files of the snapshot to examine (gzip or zstd compressed or not; "
                  "- reads standard input; or --sbom)")
      ->check(file_or_stdin());
  cmd->add_option("--format", o->format,
                  "csv, jsonl, osquery, sbom or json-log (default: from each file's extension, "
                  ".csv, .jsonl, .log or .spdx.json/.cdx.json/.syft.json, also before .gz or "
                  ".zst, else from its first bytes)");
  add_sbom_options(cmd, &o->sbom);
  add_osquery_options(cmd, &o->osquery);
  add_json_log_options(cmd, &o->json_log);
  cmd->add_option("--baseline", o->baseline,
                  "Fit on these event files and score --events against them")
      ->check(file_or_stdin());
  cmd->add_option("--model", o->model_in, "Score with a model saved by --save-model")
      ->check(CLI::ExistingFile);
  cmd->add_option("--save-model", o->model_out, "Save the fitted model here");
}

// The options that shape a fit (refused with --model); returned so the
// callback can name the first one given.
std::vector<CLI::Option*> add_fit_options(CLI::App* cmd, FleetOptions* o) {
  std::vector<CLI::Option*> fit_options;
  auto fit = [&fit_options](CLI::Option* opt) {
    fit_options.push_back(opt);
    return opt;
  };
  fit(cmd->add_option("--normalize", o->normalize,
                      "Per-group normalisation GROUP=MODE (auto, binary, log1p, fraction, none); *=MODE "
                      "for every other group (default: auto: binary for groups whose values are "
                      "all 1, fraction of the entity's events for groups with counts)"));
  fit(cmd->add_flag("--idf", o->idf, "Weigh features by inverse document frequency"));
  fit(add_ephemeral_ports_option(cmd, &o->ephemeral_ports));
  fit(cmd->add_option("--pca", o->pca,
                      "PCA components (a count), a variance fraction in (0, 1), or 0 for none")
          ->capture_default_str());
  fit(cmd->add_option("-k,--clusters", o->k,
                      "k-means clusters (0 = auto: on a 2,000-row sample, the smallest k whose mean "
                      "silhouette is near the best k's up to --max-clusters: --k-tolerance)")
          ->capture_default_str());
  fit(cmd->add_option("--cluster", o->cluster,
                      "kmeans, or agglomerative (one merge tree over the reduced rows, cut at k; "
                      "time grows as the square of the entities)")
          ->capture_default_str());
  fit(cmd->add_option("--linkage", o->linkage,
                      "--cluster agglomerative: ward, complete, average or single")
          ->capture_default_str());
  fit(cmd->add_option("--detector", o->detector,
                      "centroid (distance to the cluster's peers, with the outlier rules), lof "
                      "(Local Outlier Factor in the reduced space: catches what repeats), both "
                      "(a finding when either flags; ranked by the rarer score against the "
                      "baseline) or auto (both for event telemetry of up to 100,000 entities, "
                      "centroid otherwise)")
          ->capture_default_str());
  fit(cmd->add_option("--rarity", o->rarity,
                      "on: value rarity beside the detector (how rare each feature's value is "
                      "in the fleet, summed; ranks with the other scores and flags the "
                      "baseline's top (100 - percentile) / 2 %), or off")
          ->check(CLI::IsMember({"on", "off"}))
          ->capture_default_str());
  fit(cmd->add_option("--neighbors", o->neighbors, "LOF's neighbours (--detector lof or both)")
          ->check(CLI::Range(int64_t{1}, int64_t{10000}))
          ->capture_default_str());
  fit(cmd->add_option("--max-clusters", o->max_clusters, "-k 0: the largest k tried")
          ->check(CLI::Range(int64_t{2}, int64_t{100000}))
          ->capture_default_str());
  fit(cmd->add_option("--k-tolerance", o->k_tolerance,
                      "-k 0: how much more the chosen k may leave unexplained than the best k, "
                      "relative (1 - silhouette at most (1 + this) times the best's)")
          ->check(CLI::Range(0.0, 1.0))
          ->capture_default_str());
  fit(cmd->add_option("--percentile", o->percentile,
                      "Flag members beyond this percentile of their cluster's scores (0 = off)")
          ->capture_default_str());
  fit(cmd->add_option("--small-cluster", o->small,
                      "Flag clusters of at most this many members whole (-1 = auto, 0 = off)")
          ->capture_default_str());
  fit(cmd->add_option("--score-space", o->space,
                      "auto (features where every group is raw amounts, --normalize '*=none'; "
                      "standardized otherwise), standardized (per-cluster standardised distance in "
                      "the features), features (plain distance in the features) or pca (distance "
                      "in the reduced space)")
          ->capture_default_str());
  fit(cmd->add_option("--variance-floor", o->variance_floor,
                      "standardized: peer share below which a feature counts as unseen")
          ->capture_default_str());
  fit(cmd->add_option("--shrinkage", o->shrinkage,
                      "standardized: pull each cluster's variances toward the fleet's, as if "
                      "this many peers with the fleet's variance joined it (0 = off)")
          ->check(kFiniteNonNegative)
          ->capture_default_str());
  fit(cmd->add_option("--grains", o->grains,
                      "Finer k-means partitions whose distances, each over its fleet median, "
                      "also score each host (the largest counts): auto ({10,20} where every group "
                      "is raw amounts and the score space is auto), none, or k values (10,20) "
                      "(docs/pipeline.md, \"Grains\")")
          ->capture_default_str());
  fit(cmd->add_option("--seed", o->seed, "Seed of k-means (and randomized PCA)")
          ->capture_default_str());
  return fit_options;
}

// What is flagged beyond the fit's rules, how it is explained, and where
// the findings go.
void add_output_options(CLI::App* cmd, FleetOptions* o) {
  cmd->add_option("--top", o->top, "Also flag the N highest scores of each cluster")
      ->capture_default_str();
  cmd->add_option("--top-fraction", o->top_fraction,
                  "Also flag the highest fraction F of each cluster (0.05 = top 5%)")
      ->capture_default_str();
  cmd->add_option("--mode", o->mode,
                  "Explanations: config (what it has or lacks) or behavior (what it does more)")
      ->capture_default_str();
  cmd->add_option("--features", o->features, "Features per explanation")->capture_default_str();
  cmd->add_option("--limit", o->limit, "Findings printed in the table (0 = all)")
      ->capture_default_str();
  add_backend_options(cmd, &o->backend);
  cmd->add_flag("--json", o->json, "Print one JSON object instead of the table");
  cmd->add_option("--out", o->out, "Write the findings as JSON here");
  cmd->add_option("--scores", o->scores_out, "Write every entity's entity,cluster,score,outlier,fleet_rank (and the scores behind the score) here");
  cmd->add_option("--report", o->report_out,
                  "Write a self-contained HTML report here (charts; opens offline)");
}

}  // namespace

void register_fleet_command(CLI::App& app) {
  auto o = std::make_shared<FleetOptions>();
  CLI::App* cmd = app.add_subcommand(
      "fleet",
      "Find the entities that stray from their peers in fleet events (CSV, JSON Lines, "
      "osquery logs or SBOMs), with the features that set them apart. Fits on the events "
      "themselves, on a --baseline snapshot, or scores with a --model saved earlier.");
  add_input_options(cmd, o.get());
  auto fit_options =
      std::make_shared<std::vector<CLI::Option*>>(add_fit_options(cmd, o.get()));
  add_output_options(cmd, o.get());
  cmd->callback([o, fit_options] {
    for (const CLI::Option* opt : *fit_options) {
      if (opt->count() > 0) o->fit_options_given.push_back(opt->get_name());
    }
    resolve_json_log_format(o->json_log, o->format, "fleet");
    take_sbom_inputs(*o);
    run_fleet(*o);
  });
}

}  // namespace stray::cli
