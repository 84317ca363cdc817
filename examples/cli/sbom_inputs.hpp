// --sbom: SBOM files and directories of them, as the event files a command
// reads in the sbom format.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace stray {
struct EventReadOptions;
}

namespace stray::cli {

/// The SBOM options of a command that reads events.
struct SbomChoice {
  std::vector<std::string> paths;     // --sbom
  bool versions = false;              // --sbom-versions
  std::string entity = "document";    // --sbom-entity document|file
  int64_t max_mib = 0;                // --sbom-max-mib (0: the library's default)
};

/// Adds --sbom, --sbom-versions, --sbom-entity and --sbom-max-mib to `cmd`.
void add_sbom_options(CLI::App* cmd, SbomChoice* choice);

/// The files of --sbom: files as given, directories as their SBOM files
/// (stray::list_sbom_files, sorted); an error naming a directory that holds
/// none, or a path that is neither.
std::vector<std::string> sbom_input_files(const std::vector<std::string>& paths,
                                          const char* command);

/// The readers' SBOM options as chosen (they apply to --format sbom too).
void apply_sbom_options(const SbomChoice& choice, EventReadOptions& options);

}  // namespace stray::cli
