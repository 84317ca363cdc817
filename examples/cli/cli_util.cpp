#include "cli_util.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

#include "stray/core/error.hpp"

namespace stray::cli {

void check_output_paths(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  for (const std::string& path : paths) {
    if (path.empty()) continue;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      throw Error(ErrorCode::io_error, "'" + path + "' is a directory, not an output file");
    }
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
    if (!fs::is_directory(dir, ec) || ::access(dir.c_str(), W_OK) != 0) {
      throw Error(ErrorCode::io_error, "cannot write '" + path + "': directory '" + dir.string() +
                                           "' does not exist or is not writable");
    }
  }
}

void print_json(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

void add_backend_options(CLI::App* cmd, BackendChoice* choice) {
  cmd->add_option("--backend", choice->name, "auto, cpu or cuda")->capture_default_str();
  cmd->add_flag("--no-tile-unit", choice->no_tile_unit,
                "CPU backend: keep every product in float32 instead of using the AMX tile unit "
                "of recent Intel CPUs (slower there; the same bits on every x86 CPU)");
}

std::unique_ptr<Backend> open_backend(const BackendChoice& choice) {
  BackendOptions options;
  options.cpu.tile_unit = !choice.no_tile_unit;
  return make_backend(choice.name, options);
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace stray::cli
