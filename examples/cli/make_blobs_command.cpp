// `stray make-blobs`: write synthetic Gaussian blobs as .npy (for benchmarks
// and for comparing with other tools on identical data).
#include <string>

#include "cli_util.hpp"
#include "commands.hpp"
#include "stray/synthetic/datasets.hpp"
#include "stray/io/npy.hpp"

namespace stray::cli {

void register_make_blobs_command(CLI::App& app) {
  struct Options {
    BlobsParams blobs;
    std::string out, labels_out;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("make-blobs", "Write isotropic Gaussian blobs as .npy");
  cmd->add_option("--samples", o->blobs.n_samples, "Rows")->capture_default_str();
  cmd->add_option("--features", o->blobs.n_features, "Columns")->capture_default_str();
  cmd->add_option("--blob-centers", o->blobs.n_centers, "Number of blobs")->capture_default_str();
  cmd->add_option("--std", o->blobs.cluster_std, "Standard deviation of each blob")->capture_default_str();
  cmd->add_option("--seed", o->blobs.seed, "Random seed")->capture_default_str();
  cmd->add_option("-o,--out", o->out, "Output matrix (.npy float32)")->required();
  cmd->add_option("--labels", o->labels_out, "Also write the true blob of each row (.npy int32)");
  cmd->callback([o] {
    const Blobs b = make_blobs(o->blobs);
    write_npy(o->out, b.X.view());
    if (!o->labels_out.empty()) write_npy(o->labels_out, b.labels);
  });
}

}  // namespace stray::cli
