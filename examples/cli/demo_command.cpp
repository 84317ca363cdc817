// `stray demo`: a synthetic fleet with injected anomalies, generated in
// memory, through the whole pipeline; prints the findings and how they
// compare with the ground truth.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

#include "cli_util.hpp"
#include "commands.hpp"
#include "run_outputs.hpp"
#include "progress_line.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/report/fleet_report.hpp"
#include "stray/report/html_report.hpp"
#include "stray/synthetic/recall.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"

namespace stray::cli {
namespace {

struct DemoOptions {
  int64_t entities = 10000;
  uint64_t seed = 1;
  int64_t per_kind = 2;
  int64_t show = 20;
  int64_t k = 0;
  double pca = 32;
  double percentile = 95.0;
  std::string mode = "config", space = "auto";
  std::string report_out;  // --report: the HTML page
  BackendChoice backend;
  bool json = false;
};

FleetPipelineParams demo_pipeline_params(const DemoOptions& o) {
  FleetPipelineParams pp;
  set_pca_option(o.pca, pp.pca, "demo");  // --pca 1.5 is an error, not 1
  pp.kmeans.n_clusters = o.k;
  pp.kmeans.seed = o.seed;
  pp.pca.seed = o.seed;
  pp.outliers.percentile = o.percentile;
  pp.explain.mode = parse_explain_mode(o.mode);
  pp.score.space = parse_score_space(o.space);
  return pp;
}

// The pipeline fitted on the synthetic fleet as it is generated; its
// ground truth into `truth`.
FleetResult fit_synthetic_fleet(Backend& backend, const FleetPipelineParams& pp,
                                const SyntheticFleetParams& sp, GroundTruth& truth) {
  const ProgressCallback& report = pp.progress;
  return fit_fleet(backend, pp, [&](const EventSink& sink) {
    if (!report) {
      truth = generate_synthetic_fleet(sp, sink);
      return;
    }
    // Hosts are generated one after the other: count them for the progress line.
    std::string last;
    int64_t hosts = 0;
    truth = generate_synthetic_fleet(sp, [&](const Event& e) {
      if (e.entity != last) {
        last.assign(e.entity);
        if ((++hosts & 0xfff) == 0) {
          report("read", static_cast<double>(hosts) / static_cast<double>(sp.n_entities));
        }
      }
      sink(e);
    });
  });
}

nlohmann::ordered_json recall_json(const RecallReport& rep) {
  nlohmann::ordered_json anomalies = nlohmann::ordered_json::array();
  for (const AnomalyRecall& a : rep.anomalies) {
    anomalies.push_back({{"entity", a.anomaly.entity},
                         {"kind", to_string(a.anomaly.kind)},
                         {"flagged", a.finding >= 0},
                         {"finding", a.finding},
                         {"first_feature", a.first_feature},
                         {"first_difference", a.first_difference},
                         {"signature_first", a.signature_first}});
  }
  nlohmann::ordered_json recall;
  recall["injected"] = rep.anomalies.size();
  recall["flagged"] = rep.flagged;
  recall["signature_first"] = rep.signature_first;
  recall["anomalies"] = anomalies;
  return recall;
}

// Each injected anomaly: its position among the findings and whether its
// signature came first in the explanation.
void print_recall_table(const RecallReport& rep, const GroundTruth& truth) {
  std::printf("\ninjected anomalies (ground truth) and where the pipeline put them:\n\n");
  std::size_t width = 6;
  for (const AnomalyRecall& a : rep.anomalies) width = std::max(width, display_width(a.anomaly.entity));
  std::printf("  %-20s %-*s %8s  %-9s %s\n", "kind", static_cast<int>(width), "entity", "position",
              "signature", "first feature");
  for (const AnomalyRecall& a : rep.anomalies) {
    const std::string pos = a.finding >= 0 ? std::to_string(a.finding + 1) : "missed";
    const std::string first = a.first_feature.empty() ? ""
                                                      : display_text(a.first_feature) + " " +
                                                            signed_difference(a.first_difference);
    std::printf("  %-20s %-*s %8s  %-9s %s\n", to_string(a.anomaly.kind), static_cast<int>(width),
                display_text(a.anomaly.entity).c_str(), pos.c_str(),
                a.finding < 0 ? "-" : (a.signature_first ? "first" : "NOT first"), first.c_str());
  }
  if (!truth.not_injected.empty()) {
    std::printf("  (%zu anomalies could not be injected: no eligible host in a fleet this small)\n",
                truth.not_injected.size());
  }
}

void print_demo(const DemoOptions& o, const FleetResult& r, const RecallReport& rep,
                const GroundTruth& truth, const std::string& backend_name) {
  std::printf("stray demo: a synthetic fleet of %lld hosts in %zu roles, seed %llu, with %zu injected "
              "anomalies\n",
              static_cast<long long>(o.entities), truth.roles.size(),
              static_cast<unsigned long long>(o.seed), truth.anomalies.size());
  std::printf("pipeline: %s (backend %s)\n", pipeline_summary(r).c_str(), backend_name.c_str());
  std::printf("\n%zu findings (%.1f%% of the fleet); the %lld highest scores:\n\n", r.findings.size(),
              100.0 * static_cast<double>(r.findings.size()) / static_cast<double>(o.entities),
              static_cast<long long>(std::min<int64_t>(o.show, static_cast<int64_t>(r.findings.size()))));
  write_findings_table(std::cout, r, o.show);
  print_recall_table(rep, truth);
  std::printf("\nrecall: %lld of %zu injected anomalies flagged, %lld of them explained by their "
              "signature first; %zu findings in all\n",
              static_cast<long long>(rep.flagged), rep.anomalies.size(),
              static_cast<long long>(rep.signature_first), r.findings.size());
  std::printf("time: %s; total %.2f s\n", steps_text(r).c_str(), r.seconds);
}

void run_demo(const DemoOptions& o) {
  if (o.entities < 2) {
    throw Error(ErrorCode::invalid_argument, "demo: --entities must be >= 2");
  }
  RunOutputs out("demo", {{"--report", o.report_out}}, {});
  out.refuse_stdout_with(o.json, "--json");
  SyntheticFleetParams sp;
  sp.n_entities = o.entities;
  sp.seed = o.seed;
  sp.hosts_per_anomaly = o.per_kind;
  FleetPipelineParams pp = demo_pipeline_params(o);

  auto backend = open_backend(o.backend);
  ProgressLine progress;
  pp.progress = progress.callback();
  GroundTruth truth;
  const FleetResult r = fit_synthetic_fleet(*backend, pp, sp, truth);
  progress.finish();
  const RecallReport rep = evaluate_recall(r, truth);
  if (!o.report_out.empty()) {
    HtmlReportOptions ho;
    ho.title = "stray demo";
    ho.subtitle = "A synthetic fleet of " + std::to_string(o.entities) + " hosts in " +
                  std::to_string(truth.roles.size()) + " roles (seed " + std::to_string(o.seed) +
                  ") with " + std::to_string(truth.anomalies.size()) + " injected anomalies.";
    ho.backend = backend->name();
    out.write(o.report_out, [&](const std::string& p) { write_fleet_html_report(p, r, ho); });
  }
  out.commit();
  if (out.uses_stdout()) return;  // standard output carries the page
  if (o.json) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(findings_json(r, backend->name()));
    j["recall"] = recall_json(rep);
    print_json(j);
    return;
  }
  print_demo(o, r, rep, truth, backend->name());
}

}  // namespace

void register_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "Generate a synthetic fleet with injected anomalies in memory, run the whole pipeline "
      "(features, PCA, k-means, scores, outlier rules, explanations) and print the findings "
      "with their recall against the ground truth.");
  cmd->add_option("--entities", o->entities, "Hosts in the fleet")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the fleet and of the pipeline")->capture_default_str();
  cmd->add_option("--per-kind", o->per_kind, "Hosts per injected anomaly kind (six kinds)")
      ->capture_default_str();
  cmd->add_option("--show", o->show, "Findings printed (0 = all)")->capture_default_str();
  cmd->add_option("-k,--clusters", o->k, "k-means clusters (0 = auto: on a 2,000-row sample, the smallest k in 2..50 whose "
                  "mean silhouette is near the best k's)")
      ->capture_default_str();
  cmd->add_option("--pca", o->pca,
                  "PCA components (a count), a variance fraction in (0, 1), or 0 for none")
      ->capture_default_str();
  cmd->add_option("--percentile", o->percentile,
                  "Flag members beyond this percentile of their cluster's scores (0 = off)")
      ->capture_default_str();
  cmd->add_option("--mode", o->mode, "Explanations: config (both signs) or behavior (positive)")
      ->capture_default_str();
  cmd->add_option("--score-space", o->space, "auto, standardized, features or pca")
      ->capture_default_str();
  add_backend_options(cmd, &o->backend);
  cmd->add_flag("--json", o->json, "Print one JSON object (findings and recall) instead of text");
  cmd->add_option("--report", o->report_out,
                  "Write a self-contained HTML report here (charts; opens offline)");
  cmd->callback([o] { run_demo(*o); });
}

}  // namespace stray::cli
