// `stray kmeans`: k-means on a dense .npy matrix or a CSR .npz
// (scipy.sparse.save_npz; never densified), or on built-in synthetic blobs;
// with --batch-rows, over batches of rows (a .npy read a block at a time).
#include <cstdio>
#include <optional>
#include <string>

#include "cli_util.hpp"
#include "commands.hpp"
#include "run_outputs.hpp"
#include "stray/synthetic/datasets.hpp"
#include "stray/cluster/kmeans.hpp"
#include "stray/cluster/kmeans_batches.hpp"
#include "stray/metrics/metrics.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npy_rows.hpp"
#include "stray/io/npz.hpp"

namespace stray::cli {
namespace {

struct KMeansOptions {
  std::string input, init = "k-means++", init_centers, weights;
  BackendChoice backend;
  std::string labels_out, centers_out;
  int64_t k = 0;
  int64_t batch_rows = 0, init_sample = 0;
  int n_init = 0, max_iter = 300;
  double tol = 1e-4;
  uint64_t seed = 0;
  bool json = false, no_bounds = false;
  BlobsParams blobs;
};

// The rows to cluster: the -i matrix (dense, or CSR from a .npz), or
// synthetic blobs with their truth.
struct KMeansInput {
  Matrix<float> X;
  CsrMatrix S;
  bool sparse = false;
  std::vector<int32_t> truth;  // empty with -i
  int64_t rows() const { return sparse ? S.rows : X.rows(); }
  int64_t cols() const { return sparse ? S.cols : X.cols(); }
};

KMeansInput kmeans_input(const KMeansOptions& o) {
  KMeansInput in;
  if (!o.input.empty()) {
    in.sparse = ends_with(o.input, ".npz");
    if (in.sparse) {
      in.S = read_npz_csr(o.input);
    } else {
      in.X = read_npy_float(o.input);
    }
    return in;
  }
  BlobsParams blobs = o.blobs;
  blobs.seed = o.seed;
  Blobs generated = make_blobs(blobs);
  in.X = std::move(generated.X);
  in.truth = std::move(generated.labels);
  return in;
}

KMeansParams kmeans_params(const KMeansOptions& o) {
  KMeansParams params;
  params.n_clusters = o.k > 0 ? o.k : (o.input.empty() ? o.blobs.n_centers : 0);
  if (params.n_clusters <= 0) throw Error(ErrorCode::invalid_argument, "kmeans: -k is required with -i");
  params.init = parse_kmeans_init(o.init);
  if (!o.init_centers.empty()) {
    params.init = KMeansInit::explicit_centers;
    params.initial_centers = read_npy_float(o.init_centers);
  }
  params.n_init = o.n_init;
  params.max_iter = o.max_iter;
  params.tol = o.tol;
  params.seed = o.seed;
  return params;
}

// What the report says of a fit, whole or over batches.
struct FitReport {
  int64_t rows = 0, cols = 0;
  bool sparse = false;
  double seconds = 0.0;
  std::optional<double> ari;     // against the synthetic blobs' truth
  nlohmann::ordered_json batches;  // over batches: how (null otherwise)
};

void print_kmeans(const KMeansOptions& o, const FitReport& f, const KMeansParams& params,
                  const KMeansModel& r, const Backend& backend) {
  if (o.json) {
    nlohmann::ordered_json j = {{"backend", backend.name()},
                                {"device", backend.device_description()},
                                {"input", f.sparse ? "csr" : "dense"},
                                {"n_samples", f.rows},
                                {"n_features", f.cols},
                                {"n_clusters", params.n_clusters},
                                {"init", to_string(params.init)},
                                {"inertia", r.inertia},
                                {"n_iter", r.n_iter},
                                {"converged", r.converged},
                                {"seconds", f.seconds},
                                {"cluster_sizes", r.cluster_sizes}};
    if (f.ari) j["adjusted_rand_index"] = *f.ari;
    if (!f.batches.is_null()) j["batches"] = f.batches;
    print_json(j);
    return;
  }
  std::printf("k-means on %lld x %lld %s%s, k = %lld, init %s, backend %s (%s)\n",
              static_cast<long long>(f.rows), static_cast<long long>(f.cols),
              f.sparse ? "CSR " : "", o.input.empty() ? "synthetic blobs" : o.input.c_str(),
              static_cast<long long>(params.n_clusters), to_string(params.init),
              backend.name().c_str(), backend.device_description().c_str());
  if (!f.batches.is_null()) {
    const auto sampled = f.batches["sample_rows"].get<int64_t>();
    std::printf("  over batches of %lld rows, %d passes over the rows; ",
                static_cast<long long>(o.batch_rows), f.batches["passes"].get<int>());
    if (sampled > 0) {
      std::printf("initial centres fitted on %lld sampled rows (%d iterations)\n",
                  static_cast<long long>(sampled), f.batches["sample_iter"].get<int>());
    } else {
      std::printf("from the given initial centres\n");
    }
  }
  std::printf("  %d iterations, %s, inertia %.6g, %.3f s\n", r.n_iter,
              r.converged ? "converged" : "not converged (max_iter reached)", r.inertia, f.seconds);
  std::printf("  cluster sizes:");
  for (double s : r.cluster_sizes) std::printf(" %.0f", s);
  std::printf("\n");
  if (f.ari) std::printf("  adjusted Rand index against the true blobs: %.4f\n", *f.ari);
}

std::vector<float> read_weights(const KMeansOptions& o) {
  if (o.weights.empty()) return {};
  const Matrix<float> w = read_npy_float(o.weights);
  return std::vector<float>(w.storage().begin(), w.storage().end());
}

// --batch-rows: a .npy read a block of rows at a time, or the blobs cut
// into batches; labels come from one more pass with the fitted centres.
void run_kmeans_batches(const KMeansOptions& o, RunOutputs& out) {
  if (ends_with(o.input, ".npz")) {
    throw Error(ErrorCode::invalid_argument,
                "kmeans: --batch-rows reads a .npy a block of rows at a time; a .npz is read "
                "whole (leave --batch-rows out)");
  }
  BatchKMeansParams params;
  params.kmeans = kmeans_params(o);
  params.init_sample_rows = o.init_sample;
  params.keep_bounds = !o.no_bounds;
  const std::vector<float> weights = read_weights(o);
  const std::vector<float>* w = o.weights.empty() ? nullptr : &weights;
  KMeansInput blobs;
  std::unique_ptr<RowBatches> batches;
  if (o.input.empty()) {
    blobs = kmeans_input(o);
    batches = std::make_unique<MatrixRowBatches>(blobs.X.view(), o.batch_rows, w);
  } else {
    batches = std::make_unique<NpyRowBatches>(o.input, o.batch_rows, w);
  }
  auto backend = open_backend(o.backend);
  const BatchKMeansResult r = kmeans_fit_batches(*backend, params, *batches);
  std::vector<int32_t> labels;
  if (!o.labels_out.empty() || !blobs.truth.empty()) {
    batches->for_each([&](const RowBatch& b) {
      const NearestCenters nearest = kmeans_predict(*backend, r.centers.view(), b.dense);
      labels.insert(labels.end(), nearest.labels.begin(), nearest.labels.end());
    });
  }
  if (!o.labels_out.empty()) out.write(o.labels_out, [&](const std::string& p) { write_npy(p, labels); });
  if (!o.centers_out.empty()) {
    out.write(o.centers_out, [&](const std::string& p) { write_npy(p, r.centers.view()); });
  }
  out.commit();
  if (out.uses_stdout()) return;
  FitReport f{r.n_samples, r.centers.cols(), false, r.seconds, std::nullopt,
              {{"batch_rows", o.batch_rows},
               {"sample_rows", r.sample_rows},
               {"sample_iter", r.sample_iter},
               {"passes", r.passes}}};
  if (!blobs.truth.empty()) f.ari = adjusted_rand_score(blobs.truth, labels);
  print_kmeans(o, f, params.kmeans, r, *backend);
}

void run_kmeans(const KMeansOptions& o) {
  RunOutputs out("kmeans", {{"--labels", o.labels_out}, {"--centers", o.centers_out}},
                 {o.input, o.init_centers, o.weights});
  out.refuse_stdout_with(o.json, "--json");
  if (o.batch_rows > 0) {
    run_kmeans_batches(o, out);
    return;
  }
  const KMeansInput in = kmeans_input(o);
  const KMeansParams params = kmeans_params(o);
  const std::vector<float> weights = read_weights(o);
  auto backend = open_backend(o.backend);
  const std::vector<float>* w = o.weights.empty() ? nullptr : &weights;
  const KMeansResult r = in.sparse ? kmeans_fit(*backend, params, in.S.view(), w)
                                   : kmeans_fit(*backend, params, in.X.view(), w);
  // Outputs are written only after the fit succeeded, all or none.
  if (!o.labels_out.empty()) out.write(o.labels_out, [&](const std::string& p) { write_npy(p, r.labels); });
  if (!o.centers_out.empty()) {
    out.write(o.centers_out, [&](const std::string& p) { write_npy(p, r.centers.view()); });
  }
  out.commit();
  if (out.uses_stdout()) return;  // standard output carries the file
  FitReport f{in.rows(), in.cols(), in.sparse, r.seconds, std::nullopt, nullptr};
  if (!in.truth.empty()) f.ari = adjusted_rand_score(in.truth, r.labels);
  print_kmeans(o, f, params, r, *backend);
}

}  // namespace

void register_kmeans_command(CLI::App& app) {
  auto opts = std::make_shared<KMeansOptions>();
  CLI::App* cmd = app.add_subcommand(
      "kmeans",
      "Cluster the rows of a matrix with k-means (Lloyd): a dense .npy or a CSR .npz written by "
      "scipy.sparse.save_npz (never densified). Without -i, clusters built-in synthetic "
      "Gaussian blobs and reports the adjusted Rand index against the truth.");
  cmd->add_option("-i,--input", opts->input,
                  "Input matrix [n_samples x n_features]: .npy (dense) or .npz (scipy CSR)")
      ->check(CLI::ExistingFile);
  cmd->add_option("-k,--clusters", opts->k, "Number of clusters (default with blobs: --centers)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--init", opts->init,
                  "Initialisation: k-means++, random or k-means|| (k-means||: dense input only)")
      ->capture_default_str();
  cmd->add_option("--init-centers", opts->init_centers,
                  "Explicit initial centres, .npy [k x n_features] (overrides --init)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--weights", opts->weights, "Sample weights, .npy [n_samples]")
      ->check(CLI::ExistingFile);
  cmd->add_option("--n-init", opts->n_init,
                  "Initialisations to run, best inertia kept (0 = auto: 10 for random, else 1; "
                  "at most 1000)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--max-iter", opts->max_iter, "Maximum Lloyd iterations")->capture_default_str();
  cmd->add_option("--tol", opts->tol,
                  "Stop when the squared centre shift <= tol x mean feature variance; 0 stops "
                  "only when no label changes")
      ->capture_default_str();
  cmd->add_option("--seed", opts->seed, "Random seed (init, and synthetic blobs)")->capture_default_str();
  cmd->add_option("--batch-rows", opts->batch_rows,
                  "Cluster over batches of this many rows: a .npy is read a block at a time, "
                  "never whole (exact Lloyd iterations, one pass over the file each)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--init-sample", opts->init_sample,
                  "With --batch-rows: rows sampled for the initial centres (0 = 100 a cluster, "
                  "at least 10,000)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-bounds", opts->no_bounds,
                "With --batch-rows: keep nothing of a row between passes (saves 16 bytes a row; "
                "every pass then assigns every row)");
  add_backend_options(cmd, &opts->backend);
  cmd->add_option("--labels", opts->labels_out, "Write labels here (.npy int32; - for standard output)");
  cmd->add_option("--centers", opts->centers_out, "Write centres here (.npy float32; - for standard output)");
  cmd->add_flag("--json", opts->json,
                "Print one JSON object (inertia, n_iter, converged, seconds = the fit alone, backend)");
  cmd->add_option("--samples", opts->blobs.n_samples, "Synthetic blobs: rows")->capture_default_str();
  cmd->add_option("--features", opts->blobs.n_features, "Synthetic blobs: columns")->capture_default_str();
  cmd->add_option("--blob-centers", opts->blobs.n_centers, "Synthetic blobs: number of blobs")
      ->capture_default_str();
  cmd->callback([opts] { run_kmeans(*opts); });
}

}  // namespace stray::cli
