// `stray agglomerative`: hierarchical clustering of a .npy matrix; labels
// and scipy's linkage matrix (for a dendrogram) as .npy files.
#include <cstdio>
#include <optional>
#include <string>

#include "cli_util.hpp"
#include "commands.hpp"
#include "run_outputs.hpp"
#include "stray/cluster/agglomerative.hpp"
#include "stray/io/npy.hpp"

namespace stray::cli {
namespace {

struct AgglomerativeOptions {
  std::string input, linkage = "ward", labels_out, linkage_out;
  int64_t k = 0;
  std::optional<double> threshold;
  int64_t memory_budget_mib = 2048;
  int threads = 0;
  bool json = false;
};

void run_agglomerative(const AgglomerativeOptions& o) {
  RunOutputs out("agglomerative", {{"--labels", o.labels_out}, {"--linkage-matrix", o.linkage_out}},
                 {o.input});
  out.refuse_stdout_with(o.json, "--json");
  AgglomerativeParams params;
  params.linkage = parse_linkage(o.linkage);
  if ((o.k > 0) == o.threshold.has_value())
    throw Error(ErrorCode::invalid_argument,
                "agglomerative: give exactly one of -k and --distance-threshold");
  params.n_clusters = o.k;
  params.distance_threshold = o.threshold;
  params.memory_budget_bytes = static_cast<std::size_t>(o.memory_budget_mib) << 20;
  params.threads = o.threads;
  const Matrix<float> X = read_npy_float(o.input);

  const AgglomerativeResult r = agglomerative_fit(params, X.view());

  // Outputs are written only after the fit succeeded, all or none.
  if (!o.labels_out.empty()) out.write(o.labels_out, [&](const std::string& p) { write_npy(p, r.labels); });
  if (!o.linkage_out.empty()) {
    out.write(o.linkage_out, [&](const std::string& p) { write_npy(p, r.linkage_matrix.view()); });
  }
  out.commit();
  if (out.uses_stdout()) return;  // standard output carries the file

  const double top = r.linkage_matrix(r.linkage_matrix.rows() - 1, 2);
  if (o.json) {
    nlohmann::json j = {{"backend", "cpu"},
                        {"device", "host threads"},
                        {"threads", r.threads},
                        {"linkage", to_string(params.linkage)},
                        {"n_samples", X.rows()},
                        {"n_features", X.cols()},
                        {"n_clusters", r.n_clusters},
                        {"root_distance", top},
                        {"seconds", r.seconds}};
    if (o.threshold) j["distance_threshold"] = *o.threshold;
    print_json(j);
    return;
  }
  std::printf("agglomerative (%s linkage) on %lld x %lld %s: %lld clusters, %.3f s\n",
              to_string(params.linkage), static_cast<long long>(X.rows()),
              static_cast<long long>(X.cols()), o.input.c_str(),
              static_cast<long long>(r.n_clusters), r.seconds);
  std::printf("  last merge at distance %.6g\n", top);
}

}  // namespace

void register_agglomerative_command(CLI::App& app) {
  auto opts = std::make_shared<AgglomerativeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "agglomerative",
      "Hierarchical clustering of the rows of a matrix (ward, complete, average or single "
      "linkage): labels cut at -k clusters or at a distance, and the full merge tree as "
      "scipy's linkage matrix.");
  cmd->add_option("-i,--input", opts->input, "Input matrix, .npy [n_samples x n_features]")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-k,--clusters", opts->k, "Cut the tree into this many clusters")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--distance-threshold", opts->threshold,
                  "Instead of -k: cut where merges reach this distance (>= 0)");
  cmd->add_option("--linkage", opts->linkage, "ward, complete, average or single")
      ->capture_default_str();
  cmd->add_option("--memory-budget", opts->memory_budget_mib,
                  "MiB that complete and average linkage may take for the n(n-1)/2 pairwise "
                  "distances (ward and single need O(n x d))")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--threads", opts->threads, "Host threads (0: OMP_NUM_THREADS, else the cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  cmd->add_option("--labels", opts->labels_out, "Write labels here (.npy int32)");
  cmd->add_option("--linkage-matrix", opts->linkage_out,
                  "Write the merge tree here (.npy float64 [(n-1) x 4]: child a, child b, "
                  "distance, size; scipy's linkage matrix)");
  cmd->add_flag("--json", opts->json,
                "Print one JSON object (n_clusters, seconds = the fit alone, backend)");
  cmd->callback([opts] { run_agglomerative(*opts); });
}

}  // namespace stray::cli
