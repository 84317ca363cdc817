#include "cli_util.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "stray/core/error.hpp"

namespace stray::cli {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

void print_json(const nlohmann::ordered_json& j) { std::cout << j.dump() << std::endl; }

void add_backend_options(CLI::App* cmd, BackendChoice* choice) {
  cmd->add_option("--backend", choice->name, "auto, cpu or cuda")->capture_default_str();
  cmd->add_flag("--no-tile-unit", choice->no_tile_unit,
                "CPU backend: keep every product in float32 instead of using the AMX tile unit "
                "of recent Intel CPUs (slower there; the same bits on every x86 CPU; the process "
                "never asks Linux for the tile state)");
}

std::unique_ptr<Backend> open_backend(const BackendChoice& choice) {
  BackendOptions options;
  // The tool owns its process, so it takes the library's opt-in
  // (backend_options.hpp) unless told not to.
  options.cpu.tile_unit = !choice.no_tile_unit;
  return make_backend(choice.name, options);
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

EventFormat input_format(EventInput& input, const std::string& format, const char* command) {
  if (!format.empty()) return parse_event_format(format);
  if (const auto f = input.guess_format()) return *f;
  throw Error(ErrorCode::invalid_argument,
              std::string(command) + ": cannot tell the event format of " + input.name() +
                  " from its name or its first line; give --format csv, jsonl, osquery or sbom "
                  "(or --json-map FILE for a collector's JSON log)");
}

namespace {

// Passes events on to `sink` and calls `report` after every 65536th. It
// takes blocks and hands them on whole to a sink that takes blocks (a
// FeatureBuilder's), so the progress line costs reading nothing.
class ProgressSink final : public EventBlockSink {
 public:
  ProgressSink(const EventSink& sink, std::function<void()> report)
      : sink_(sink), target_(block_sink_target(sink)), report_(std::move(report)) {}

  void add(const Event& e) override {
    sink_(e);
    count(1);
  }

  void add_block(const EventBlock& block) override {
    if (target_ != nullptr) {
      target_->add_block(block);
    } else {
      for (const Event& e : block.events) sink_(e);
    }
    count(block.events.size());
  }

 private:
  void count(std::size_t events) {
    const uint64_t before = events_;
    events_ += events;
    if (before >> 16 != events_ >> 16) report_();
  }

  const EventSink& sink_;
  EventBlockSink* const target_;
  std::function<void()> report_;
  uint64_t events_ = 0;
};

}  // namespace

ReadStats read_event_files(const std::vector<std::string>& paths, const std::string& format,
                           const ProgressCallback& progress, const char* command,
                           const EventReadOptions& read, const EventSink& sink) {
  uint64_t total = 0, done = 0;
  for (const auto& p : paths) {
    std::error_code ec;
    const auto size = p == "-" ? 0 : std::filesystem::file_size(p, ec);
    if (!ec) total += size;
  }
  ReadStats stats;
  for (const auto& p : paths) {
    EventInput input(p, command);
    const EventFormat f = input_format(input, format, command);
    EventReadOptions options = read;
    options.source_name = input.name();
    ProgressSink counted(sink, [&] {
      if (total > 0) {
        progress("read",
                 static_cast<double>(done + input.bytes_read()) / static_cast<double>(total));
      }
    });
    stats.merge(read_events(input.stream(), f, progress ? block_sink(counted) : sink, options));
    done += input.size();
  }
  return stats;
}

void require_events(const ReadStats& stats, const std::vector<std::string>& paths,
                    const char* command) {
  if (stats.events > 0) return;
  const std::string where = paths.size() != 1   ? std::to_string(paths.size()) + " files"
                            : paths[0] == "-" ? "standard input"
                                              : paths[0];
  throw Error(ErrorCode::invalid_argument,
              std::string(command) + ": no events in " + where + ": " + no_events_reason(stats) +
                  (stats.unmapped_queries.empty() ? "" : "; --osquery-map FILE maps them"));
}

EventSource file_source(const std::vector<std::string>& paths, const std::string& format,
                        const ProgressCallback& progress, const char* command,
                        const EventReadOptions& read) {
  return [paths, format, progress, command, read](const EventSink& sink) {
    // Said here, with its reason, rather than as a fleet of 0 entities.
    require_events(read_event_files(paths, format, progress, command, read, sink), paths,
                   command);
  };
}

CLI::Validator file_or_stdin() {
  return CLI::Validator(
      [](const std::string& p) { return p == "-" ? std::string() : CLI::ExistingFile(p); },
      "FILE or - (standard input)");
}

void check_event_formats(const std::vector<std::string>& paths, const std::string& format,
                         const char* command) {
  if (!format.empty()) parse_event_format(format);
  int stdin_uses = 0;
  for (const auto& p : paths) {
    if (p == "-") {
      ++stdin_uses;  // read once: its format is told when it is read
    } else if (format.empty()) {
      EventInput input(p, command);
      input_format(input, format, command);
    }
  }
  if (stdin_uses > 1) {
    throw Error(ErrorCode::invalid_argument,
                std::string(command) + ": standard input (-) can be read only once");
  }
}

CLI::Option* add_ephemeral_ports_option(CLI::App* cmd, int32_t* min) {
  return cmd
      ->add_option("--ephemeral-ports", *min,
                   "Ports from this one up in net.port and net.remote are the one feature "
                   "'ephemeral' (the client side of connections, drawn at random); 0 keeps "
                   "every port")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
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
