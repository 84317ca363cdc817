// Helpers shared by the subcommands: JSON printing, wall-clock timing,
// backend selection (atomic output files come from stray/files.hpp).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stray/backend.hpp"
#include "stray/files.hpp"  // write_file_atomic

namespace stray::cli {

/// Refuses, before any work is done, output paths that cannot be written:
/// a missing or unwritable directory, or a path that names a directory.
/// Commands with several outputs check them all first, so a bad path never
/// leaves some outputs replaced and others not.
void check_output_paths(const std::vector<std::string>& paths);

/// Prints one JSON object on stdout (one line, for scripts).
void print_json(const nlohmann::json& j);

/// Makes the backend named on the command line, logging nothing.
std::unique_ptr<Backend> open_backend(const std::string& name);

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
