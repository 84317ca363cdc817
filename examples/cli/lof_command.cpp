// `stray lof`: Local Outlier Factor of the rows of a dense .npy matrix or
// a CSR .npz (scipy.sparse.save_npz; never densified).
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>

#include "cli_util.hpp"
#include "commands.hpp"
#include "run_outputs.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npz.hpp"
#include "stray/neighbors/lof.hpp"

namespace stray::cli {
namespace {

struct LofOptions {
  std::string input, contamination = "auto";
  BackendChoice backend;
  std::string scores_out, labels_out;
  int64_t neighbors = 20;
  bool distinct_rows = false;
  bool json = false;
};

LofParams params_from(const LofOptions& o) {
  LofParams p;
  p.n_neighbors = o.neighbors;
  p.distinct_rows = o.distinct_rows;
  if (o.contamination != "auto") {
    std::size_t used = 0;
    double c = 0.0;
    try {
      c = std::stod(o.contamination, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != o.contamination.size()) {
      throw Error(ErrorCode::invalid_argument,
                  "lof: --contamination must be \"auto\" or a number in (0, 0.5], got '" +
                      o.contamination + "'");
    }
    p.contamination = c;
  }
  return p;
}

/// The `count` lowest scores' rows, most abnormal first (ties: lower row).
std::vector<int64_t> most_abnormal(const std::vector<double>& scores, std::size_t count) {
  std::vector<int64_t> rows(scores.size());
  std::iota(rows.begin(), rows.end(), 0);
  count = std::min(count, rows.size());
  std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(count), rows.end(),
                    [&](int64_t a, int64_t b) {
                      return scores[a] < scores[b] || (scores[a] == scores[b] && a < b);
                    });
  rows.resize(count);
  return rows;
}

void run_lof(const LofOptions& o) {
  RunOutputs out("lof", {{"--scores", o.scores_out}, {"--labels", o.labels_out}}, {o.input});
  out.refuse_stdout_with(o.json, "--json");
  const LofParams params = params_from(o);
  const bool sparse = ends_with(o.input, ".npz");
  Matrix<float> X;
  CsrMatrix S;
  if (sparse) {
    S = read_npz_csr(o.input);
  } else {
    X = read_npy_float(o.input);
  }
  const int64_t rows = sparse ? S.rows : X.rows(), cols = sparse ? S.cols : X.cols();
  auto backend = open_backend(o.backend);
  const LofResult r =
      sparse ? lof_fit(*backend, params, S.view()) : lof_fit(*backend, params, X.view());
  if (!r.warning.empty()) std::fprintf(stderr, "stray: warning: lof: %s\n", r.warning.c_str());

  // Outputs are written only after the fit succeeded, all or none.
  if (!o.scores_out.empty()) {
    out.write(o.scores_out, [&](const std::string& p) { write_npy(p, r.negative_outlier_factor); });
  }
  if (!o.labels_out.empty()) out.write(o.labels_out, [&](const std::string& p) { write_npy(p, r.labels); });
  out.commit();
  if (out.uses_stdout()) return;  // standard output carries the file

  const std::vector<int64_t> top = most_abnormal(r.negative_outlier_factor, 10);
  if (o.json) {
    nlohmann::json worst = nlohmann::json::array();
    for (const int64_t i : top) worst.push_back({{"row", i}, {"score", r.negative_outlier_factor[i]}});
    nlohmann::json j = {{"backend", backend->name()},
                        {"device", backend->device_description()},
                        {"input", sparse ? "csr" : "dense"},
                        {"n_samples", rows},
                        {"n_features", cols},
                        {"n_neighbors", r.n_neighbors},
                        {"n_neighbors_requested", params.n_neighbors},
                        {"contamination", o.contamination == "auto" ? nlohmann::json("auto")
                                                                   : nlohmann::json(*params.contamination)},
                        {"offset", r.offset},
                        {"n_outliers", r.n_outliers},
                        {"most_abnormal", worst},
                        {"seconds", r.seconds}};
    if (!r.warning.empty()) j["warning"] = r.warning;
    print_json(j);
    return;
  }
  std::printf("LOF on %lld x %lld %s%s, n_neighbors = %lld, backend %s (%s)\n",
              static_cast<long long>(rows), static_cast<long long>(cols), o.input.c_str(),
              sparse ? " (sparse rows)" : "",
              static_cast<long long>(r.n_neighbors), backend->name().c_str(),
              backend->device_description().c_str());
  std::printf("  %lld outliers (negative_outlier_factor < offset %.6g), %.3f s\n",
              static_cast<long long>(r.n_outliers), r.offset, r.seconds);
  std::printf("  most abnormal rows:");
  for (const int64_t i : top) std::printf(" %lld (%.4g)", static_cast<long long>(i), r.negative_outlier_factor[i]);
  std::printf("\n");
}

}  // namespace

void register_lof_command(CLI::App& app) {
  auto opts = std::make_shared<LofOptions>();
  CLI::App* cmd = app.add_subcommand(
      "lof",
      "Local Outlier Factor of the rows of a matrix, as scikit-learn's LocalOutlierFactor: "
      "each row's density against its nearest neighbours' (exact neighbours, ties to the lower "
      "row). Dense .npy rows, or a CSR .npz written by scipy.sparse.save_npz (never densified).");
  cmd->add_option("-i,--input", opts->input,
                  "Input matrix [n_samples x n_features]: .npy (dense) or .npz (scipy CSR)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--neighbors", opts->neighbors,
                  "Neighbours per row (lowered to n_samples - 1 with a warning, as scikit-learn)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--contamination", opts->contamination,
                  "Expected share of outliers in (0, 0.5], or auto (offset -1.5)")
      ->capture_default_str();
  cmd->add_flag("--distinct-rows", opts->distinct_rows,
                "Fit on the distinct rows, each row scored as its first copy (a group of identical "
                "rows is one point of ordinary density; without it, scikit-learn's LOF)");
  add_backend_options(cmd, &opts->backend);
  cmd->add_option("--scores", opts->scores_out,
                  "Write negative_outlier_factor here (.npy float64 [n_samples]; lower is more "
                  "abnormal)");
  cmd->add_option("--labels", opts->labels_out, "Write labels here (.npy int32: -1 outlier, 1 inlier)");
  cmd->add_flag("--json", opts->json,
                "Print one JSON object (n_outliers, offset, n_neighbors, seconds = the fit alone, "
                "backend)");
  cmd->callback([opts] { run_lof(*opts); });
}

}  // namespace stray::cli
