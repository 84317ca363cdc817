#include "cli_util.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
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

EventSource file_source(const std::vector<std::string>& paths, const std::string& format,
                        const ProgressCallback& progress) {
  return [paths, format, progress](const EventSink& sink) {
    uint64_t total = 0, done = 0;
    for (const auto& p : paths) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(p, ec);
      if (!ec) total += size;
    }
    for (const auto& p : paths) {
      const EventFormat f = format.empty() ? event_format_from_path(p) : parse_event_format(format);
      std::ifstream in(p, std::ios::binary);
      if (!in) throw Error(ErrorCode::io_error, "cannot open '" + p + "'");
      EventReadOptions options;
      options.source_name = p;
      int64_t count = 0;
      const EventSink counted = [&](const Event& e) {
        sink(e);
        if (progress && (++count & 0xffff) == 0 && total > 0) {
          const auto pos = static_cast<int64_t>(in.tellg());
          if (pos >= 0) {
            progress("read", static_cast<double>(done + static_cast<uint64_t>(pos)) /
                                 static_cast<double>(total));
          }
        }
      };
      read_events(in, f, progress ? counted : sink, options);
      std::error_code ec;
      const auto size = std::filesystem::file_size(p, ec);
      if (!ec) done += size;
    }
  };
}

void check_event_formats(const std::vector<std::string>& paths, const std::string& format) {
  for (const auto& p : paths) {
    if (!format.empty()) {
      parse_event_format(format);
    } else {
      event_format_from_path(p);
    }
  }
}

void parse_normalize(const std::vector<std::string>& specs, FeatureParams& fp,
                     const char* command) {
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      throw Error(ErrorCode::invalid_argument, std::string(command) +
                                                   ": --normalize expects GROUP=MODE (or *=MODE), got '" +
                                                   spec + "'");
    }
    const std::string group = spec.substr(0, eq);
    const Normalization mode = parse_normalization(spec.substr(eq + 1));
    if (group == "*") {
      fp.normalization = mode;
    } else {
      fp.group_normalization[group] = mode;
    }
  }
}

void set_pca_option(double pca, PcaParams& params, const char* command) {
  if (pca > 0.0 && pca < 1.0) {
    params.n_components = 0;
    params.variance_fraction = pca;
  } else if (pca == 0.0 || (pca >= 1.0 && pca <= 1e15 &&
                            pca == static_cast<double>(static_cast<int64_t>(pca)))) {
    params.n_components = static_cast<int64_t>(pca);
    params.variance_fraction = 0.0;
  } else {
    throw Error(ErrorCode::invalid_argument,
                std::string(command) +
                    ": --pca must be a whole count >= 1, a variance fraction in (0, 1) or 0");
  }
}

}  // namespace stray::cli
