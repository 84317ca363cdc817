// Helpers shared by the subcommands: atomic output files, JSON printing,
// wall-clock timing, backend selection.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "stray/backend.hpp"

namespace stray::cli {

/// Writes `content` to `path` via a temporary file and a rename, so a failure
/// never leaves a half-written file.
void write_file_atomic(const std::string& path, const std::string& content);

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
