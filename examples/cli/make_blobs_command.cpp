// `stray make-blobs`: write synthetic Gaussian blobs as .npy (for benchmarks
// and for comparing with other tools on identical data).
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <string>

#include "cli_util.hpp"
#include "commands.hpp"
#include "run_outputs.hpp"
#include "stray/synthetic/datasets.hpp"
#include "stray/io/npy.hpp"

namespace stray::cli {

namespace {

// The blobs are made in memory: a size past the machine's memory is an
// error before it is attempted, not a std::bad_alloc after.
void check_blobs_fit_in_memory(const BlobsParams& p) {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  const uint64_t memory =
      pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
  const auto n = static_cast<uint64_t>(p.n_samples), d = static_cast<uint64_t>(p.n_features);
  // float32 values and an int32 label per row.
  const bool overflow = n != 0 && d + 1 > std::numeric_limits<uint64_t>::max() / 4 / n;
  if (memory == 0 || (!overflow && n * (d + 1) * 4 <= memory)) return;
  throw Error(ErrorCode::out_of_memory,
              "make-blobs: --samples " + std::to_string(p.n_samples) + " x --features " +
                  std::to_string(p.n_features) + " needs " +
                  (overflow ? std::string("more than 2^64") : std::to_string(n * (d + 1) * 4)) +
                  " bytes, more than this machine's memory (" + std::to_string(memory >> 30) +
                  " GiB)");
}

}  // namespace

void register_make_blobs_command(CLI::App& app) {
  struct Options {
    BlobsParams blobs;
    std::string out, labels_out;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("make-blobs", "Write isotropic Gaussian blobs as .npy");
  cmd->add_option("--samples", o->blobs.n_samples, "Rows (as many as fit in memory)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--features", o->blobs.n_features, "Columns")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--blob-centers", o->blobs.n_centers, "Number of blobs")->capture_default_str();
  cmd->add_option("--std", o->blobs.cluster_std, "Standard deviation of each blob")->capture_default_str();
  cmd->add_option("--seed", o->blobs.seed, "Random seed")->capture_default_str();
  cmd->add_option("-o,--out", o->out, "Output matrix (.npy float32; - for standard output)")->required();
  cmd->add_option("--labels", o->labels_out, "Also write the true blob of each row (.npy int32)");
  cmd->callback([o] {
    RunOutputs out("make-blobs", {{"--out", o->out}, {"--labels", o->labels_out}}, {});
    check_blobs_fit_in_memory(o->blobs);
    const Blobs b = make_blobs(o->blobs);
    out.write(o->out, [&](const std::string& p) { write_npy(p, b.X.view()); });
    if (!o->labels_out.empty()) out.write(o->labels_out, [&](const std::string& p) { write_npy(p, b.labels); });
    out.commit();
  });
}

}  // namespace stray::cli
