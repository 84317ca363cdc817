// --sbom and its options: SBOM files, and directories of them.
#include "sbom_inputs.hpp"

#include <CLI/CLI.hpp>
#include <filesystem>

#include "stray/core/error.hpp"
#include "stray/io/events.hpp"

namespace stray::cli {

void add_sbom_options(CLI::App* cmd, SbomChoice* choice) {
  cmd->add_option("--sbom", choice->paths,
                  "SBOM files (SPDX 2.x, CycloneDX or syft JSON; one image or host each), or "
                  "directories of them (their *.json files, compressed or not); instead of "
                  "--events");
  cmd->add_flag("--sbom-versions", choice->versions,
                "SBOMs: also a feature per package version (version:name@version)");
  cmd->add_option("--sbom-entity", choice->entity,
                  "SBOMs: the entity is the name the document gives (document; the file name "
                  "where it gives none) or always the file name (file)")
      ->check(CLI::IsMember({"document", "file"}))
      ->capture_default_str();
  // An SBOM is parsed whole (docs/sbom.md): the limit bounds the memory a
  // hostile or mistaken file can take; 4 GiB is as far as it goes.
  cmd->add_option("--sbom-max-mib", choice->max_mib,
                  "SBOMs: the largest document read, in MiB of decoded JSON (default " +
                      std::to_string(kDefaultMaxSbomBytes >> 20) + "); a larger one is an error")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
}

std::vector<std::string> sbom_input_files(const std::vector<std::string>& paths,
                                          const char* command) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      const auto files = list_sbom_files(p);
      if (files.empty()) {
        throw Error(ErrorCode::invalid_argument,
                    std::string(command) + ": --sbom " + p + " holds no *.json files");
      }
      for (const auto& f : files) out.push_back(f.string());
    } else if (fs::is_regular_file(p, ec)) {
      out.push_back(p);
    } else {
      throw Error(ErrorCode::invalid_argument,
                  std::string(command) + ": --sbom " + p + " is neither a file nor a directory");
    }
  }
  return out;
}

void apply_sbom_options(const SbomChoice& choice, EventReadOptions& options) {
  options.sbom_versions = choice.versions;
  options.sbom_entity_from_file_name = choice.entity == "file";
  if (choice.max_mib > 0) options.max_sbom_bytes = static_cast<std::size_t>(choice.max_mib) << 20;
}

}  // namespace stray::cli
