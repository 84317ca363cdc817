// The subcommands of `stray`. Each registers its options and its callback on
// the CLI11 app; main.cpp turns any exception into one line on stderr.
#pragma once

#include <CLI/CLI.hpp>

namespace stray::cli {

void register_kmeans_command(CLI::App& app);
void register_make_blobs_command(CLI::App& app);
void register_backends_command(CLI::App& app);
void register_pca_command(CLI::App& app);
void register_fleet_command(CLI::App& app);
void register_synth_command(CLI::App& app);
void register_events_command(CLI::App& app);
void register_demo_command(CLI::App& app);
void register_stability_command(CLI::App& app);
void register_compare_command(CLI::App& app);
void register_match_command(CLI::App& app);
void register_agglomerative_command(CLI::App& app);
void register_lof_command(CLI::App& app);

}  // namespace stray::cli
