#include "cli_util.hpp"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "stray/error.hpp"

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

std::unique_ptr<Backend> open_backend(const std::string& name) { return make_backend(name); }

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace stray::cli
