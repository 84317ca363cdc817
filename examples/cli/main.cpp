// stray — find the workloads that stray from their peers.
#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "stray/core/error.hpp"
#include "stray/core/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "stray clusters fleets of containers and servers on what they run and do, and finds the "
      "ones that stray from their peers."};
  app.set_version_flag("--version", stray::version_string);
  app.require_subcommand(1);
  stray::cli::register_kmeans_command(app);
  stray::cli::register_make_blobs_command(app);
  stray::cli::register_backends_command(app);
  stray::cli::register_pca_command(app);
  stray::cli::register_fleet_command(app);
  stray::cli::register_synth_command(app);
  stray::cli::register_events_command(app);
  stray::cli::register_demo_command(app);
  stray::cli::register_stability_command(app);
  stray::cli::register_compare_command(app);
  stray::cli::register_match_command(app);
  stray::cli::register_agglomerative_command(app);
  stray::cli::register_lof_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "stray: %s (see --help)\n", e.what());
    return 2;
  } catch (const stray::Error& e) {
    // What went wrong with the input or the flags, not which library
    // function found it (e.where() is for logs and bug reports).
    std::fprintf(stderr, "stray: error: %s\n", e.detail().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stray: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
