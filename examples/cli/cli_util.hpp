// Helpers shared by the subcommands: JSON printing, wall-clock timing,
// backend selection (atomic output files come from stray/io/files.hpp).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stray/core/backend.hpp"
#include "stray/io/files.hpp"  // write_file_atomic

namespace CLI {
class App;
}

namespace stray::cli {

/// Refuses, before any work is done, output paths that cannot be written:
/// a missing or unwritable directory, or a path that names a directory.
/// Commands with several outputs check them all first, so a bad path never
/// leaves some outputs replaced and others not.
void check_output_paths(const std::vector<std::string>& paths);

/// Prints one JSON object on stdout (one line, for scripts).
void print_json(const nlohmann::json& j);

/// The backend options of every subcommand that computes.
struct BackendChoice {
  std::string name = "auto";  // --backend
  bool no_tile_unit = false;  // --no-tile-unit
};

/// Adds --backend and --no-tile-unit to `cmd`.
void add_backend_options(CLI::App* cmd, BackendChoice* choice);

/// Makes the chosen backend, logging nothing.
std::unique_ptr<Backend> open_backend(const BackendChoice& choice);

/// True when stderr is a terminal (progress lines are shown only then).
bool stderr_is_terminal();

class Stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace stray::cli
