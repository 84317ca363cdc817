// `stray pca`: principal components of a dense .npy matrix or a CSR .npz
// (scipy.sparse.save_npz), with the transformed data and components
// optionally written as .npy; with --batch-rows, a .npy read a block of
// rows at a time.
#include <cstdio>
#include <string>

#include "cli_util.hpp"
#include "commands.hpp"
#include "run_outputs.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npy_rows.hpp"
#include "stray/io/npz.hpp"
#include "stray/decomposition/pca.hpp"

namespace stray::cli {
namespace {

struct PcaOptions {
  std::string input, solver = "auto", transform_out, components_out;
  BackendChoice backend;
  double components = 0.0;
  bool whiten = false, json = false;
  uint64_t seed = 0;
  int64_t oversamples = 10, batch_rows = 0;
  int power_iterations = -1;
};

// -c: a count (1, 2, ...) or a fraction of variance in (0, 1).
PcaParams pca_params(const PcaOptions& o) {
  PcaParams params;
  if (o.components > 0.0 && o.components < 1.0) {
    params.variance_fraction = o.components;
  } else if (o.components >= 1.0 && o.components == static_cast<double>(static_cast<int64_t>(o.components))) {
    params.n_components = static_cast<int64_t>(o.components);
  } else {
    throw Error(ErrorCode::invalid_argument,
                "pca: -c must be a whole count >= 1 or a variance fraction in (0, 1), got " +
                    std::to_string(o.components));
  }
  params.solver = parse_pca_solver(o.solver);
  params.whiten = o.whiten;
  params.seed = o.seed;
  params.oversamples = o.oversamples;
  params.power_iterations = o.power_iterations;
  return params;
}

// The input: a dense .npy, or a CSR .npz (never densified).
struct PcaInput {
  bool sparse = false;
  Matrix<float> X;
  CsrMatrix S;
  int64_t rows() const { return sparse ? S.rows : X.rows(); }
  int64_t cols() const { return sparse ? S.cols : X.cols(); }
};

PcaInput read_pca_input(const std::string& path) {
  PcaInput in;
  in.sparse = ends_with(path, ".npz");
  if (in.sparse) {
    in.S = read_npz_csr(path);
  } else {
    in.X = read_npy_float(path);
  }
  return in;
}

// What the report says of the input: its shape and form.
struct PcaShape {
  int64_t rows = 0, cols = 0, nnz = 0;
  bool sparse = false;
};

void print_pca(const PcaOptions& o, const PcaShape& in, const PcaModel& m, const Backend& backend) {
  const int64_t n = in.rows, d = in.cols;
  double kept = 0.0;
  for (double r : m.explained_variance_ratio) kept += r;
  if (o.json) {
    print_json({{"backend", backend.name()},
                {"device", backend.device_description()},
                {"input", in.sparse ? "csr" : "dense"},
                {"n_samples", n},
                {"n_features", d},
                {"nnz", in.nnz},
                {"n_components", m.n_components},
                {"solver", to_string(m.solver)},
                {"whiten", m.whiten},
                {"explained_variance_ratio", m.explained_variance_ratio},
                {"explained_variance", m.explained_variance},
                {"singular_values", m.singular_values},
                {"explained_variance_ratio_sum", kept},
                {"noise_variance", m.noise_variance},
                {"total_variance", m.total_variance},
                {"seconds", m.seconds},
                {"batch_rows", o.batch_rows}});
    return;
  }
  std::printf("PCA of %lld x %lld %s (%s), backend %s (%s)\n", static_cast<long long>(n),
              static_cast<long long>(d), in.sparse ? "CSR" : "dense", o.input.c_str(),
              backend.name().c_str(), backend.device_description().c_str());
  std::printf("  solver %s, %lld components keep %.4f of the variance, %.3f s\n",
              to_string(m.solver), static_cast<long long>(m.n_components), kept, m.seconds);
  std::printf("  explained variance ratio:");
  for (int64_t c = 0; c < m.n_components && c < 10; ++c)
    std::printf(" %.4f", m.explained_variance_ratio[c]);
  if (m.n_components > 10) std::printf(" ...");
  std::printf("\n");
}

// --batch-rows: the .npy read a block of rows at a time for the fit, and
// again for --transform (the projected rows, n x components, are kept).
void run_pca_batches(const PcaOptions& o, const PcaParams& params, RunOutputs& out) {
  if (ends_with(o.input, ".npz")) {
    throw Error(ErrorCode::invalid_argument,
                "pca: --batch-rows reads a .npy a block of rows at a time; a .npz is read whole "
                "(leave --batch-rows out)");
  }
  NpyRowBatches batches(o.input, o.batch_rows);
  auto backend = open_backend(o.backend);
  const PcaModel m = pca_fit_batches(*backend, params, batches);
  if (!o.transform_out.empty()) {
    Matrix<float> T(batches.rows(), m.n_components);
    int64_t row = 0;
    batches.for_each([&](const RowBatch& b) {
      const Matrix<float> part = pca_transform(*backend, m, b.dense);
      std::copy(part.data(), part.data() + part.size(), T.row(row));
      row += part.rows();
    });
    out.write(o.transform_out, [&](const std::string& p) { write_npy(p, T.view()); });
  }
  if (!o.components_out.empty()) {
    out.write(o.components_out, [&](const std::string& p) { write_npy(p, m.components.view()); });
  }
  out.commit();
  if (out.uses_stdout()) return;
  print_pca(o, {batches.rows(), batches.cols(), batches.rows() * batches.cols(), false}, m,
            *backend);
}

void run_pca(const PcaOptions& o) {
  RunOutputs out("pca", {{"--transform", o.transform_out}, {"--components", o.components_out}},
                 {o.input});
  out.refuse_stdout_with(o.json, "--json");
  const PcaParams params = pca_params(o);
  if (o.batch_rows > 0) {
    run_pca_batches(o, params, out);
    return;
  }
  const PcaInput in = read_pca_input(o.input);
  auto backend = open_backend(o.backend);
  // `seconds` is the fit alone: file reading and writing are outside it.
  const PcaModel m = in.sparse ? pca_fit(*backend, params, in.S.view())
                               : pca_fit(*backend, params, in.X.view());
  if (!o.transform_out.empty()) {
    const Matrix<float> T = in.sparse ? pca_transform(*backend, m, in.S.view())
                                      : pca_transform(*backend, m, in.X.view());
    out.write(o.transform_out, [&](const std::string& p) { write_npy(p, T.view()); });
  }
  if (!o.components_out.empty()) {
    out.write(o.components_out, [&](const std::string& p) { write_npy(p, m.components.view()); });
  }
  out.commit();
  if (out.uses_stdout()) return;  // standard output carries the file
  print_pca(o, {in.rows(), in.cols(), in.sparse ? in.S.nnz() : in.rows() * in.cols(), in.sparse},
            m, *backend);
}

}  // namespace

void register_pca_command(CLI::App& app) {
  auto opts = std::make_shared<PcaOptions>();
  CLI::App* cmd = app.add_subcommand(
      "pca",
      "Principal components of a matrix: a dense .npy [n_samples x n_features] or a CSR "
      ".npz written by scipy.sparse.save_npz (never densified).");
  cmd->add_option("-i,--input", opts->input, "Input: .npy (dense) or .npz (scipy CSR)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-c,--n-components", opts->components,
                  "Components to keep: a count (e.g. 32) or a fraction of variance (e.g. 0.95)")
      ->required();
  cmd->add_option("--solver", opts->solver,
                  "auto, covariance (exact: scatter matrix + eigensolver), gram (exact, for "
                  "n < d: the n x n Gram of the centred rows + eigensolver) or randomized "
                  "(randomized SVD); auto: an exact solver (gram when n < d, else covariance) "
                  "when the full spectrum is needed (a variance fraction, or more than half of "
                  "min(n, d) components), for dense data with min(n, d) <= 1000 and for sparse "
                  "data with n < d and n <= 2000; randomized otherwise")
      ->capture_default_str();
  cmd->add_flag("--whiten", opts->whiten, "Scale projected coordinates to unit variance");
  cmd->add_option("--seed", opts->seed, "Seed of the randomized solver")->capture_default_str();
  cmd->add_option("--oversamples", opts->oversamples, "Randomized: extra test vectors")
      ->capture_default_str();
  cmd->add_option("--power-iterations", opts->power_iterations,
                  "Randomized: power iterations (-1 = auto: 4; at most 100)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 100));
  cmd->add_option("--batch-rows", opts->batch_rows,
                  "Read the .npy this many rows at a time, never whole (covariance solver; "
                  "--transform reads it once more)")
      ->check(CLI::PositiveNumber);
  add_backend_options(cmd, &opts->backend);
  cmd->add_option("--transform", opts->transform_out,
                  "Write the projected data here (.npy float32 [n_samples x n_components])");
  cmd->add_option("--components", opts->components_out,
                  "Write the components here (.npy float64 [n_components x n_features])");
  cmd->add_flag("--json", opts->json, "Print one JSON object instead of text");
  cmd->callback([opts] { run_pca(*opts); });
}

}  // namespace stray::cli
