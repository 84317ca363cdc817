// Helpers shared by the subcommands: JSON printing, wall-clock timing,
// backend selection (output files: run_outputs.hpp).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stray/core/backend.hpp"
#include "stray/features/features.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/io/files.hpp"  // write_file_atomic

namespace CLI {
class App;
class Option;
class Validator;
}

namespace stray::cli {

/// Prints one JSON object on stdout (one line, for scripts), its members in
/// the object's own order (the order the --out files keep).
void print_json(const nlohmann::ordered_json& j);

/// Whether `s` ends with `tail` (a file's extension: .npz is CSR input).
bool ends_with(const std::string& s, const std::string& tail);

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

/// The format of an input: `format` (--format), else its name, else its
/// first line; an error naming --format when none tells. `command` names
/// the subcommand in errors.
EventFormat input_format(EventInput& input, const std::string& format, const char* command);

/// Reads every event file of `paths` ("-": standard input; gzip and zstd
/// decoded) into `sink`, in order, each in input_format's format; progress
/// ("read") by the bytes taken from the files when a callback is given.
/// `read` carries the readers' options (mappings, SBOM ones); its
/// source_name is set per file. Returns the files' statistics summed.
ReadStats read_event_files(const std::vector<std::string>& paths, const std::string& format,
                           const ProgressCallback& progress, const char* command,
                           const EventReadOptions& read, const EventSink& sink);

/// Throws "<command>: no events in <file>: <why>" (no_events_reason) when
/// `stats` counts no event.
void require_events(const ReadStats& stats, const std::vector<std::string>& paths,
                    const char* command);

/// read_event_files as an EventSource, refusing input without events
/// (require_events).
EventSource file_source(const std::vector<std::string>& paths, const std::string& format,
                        const ProgressCallback& progress, const char* command,
                        const EventReadOptions& read = {});

/// A check for event file options (--events, --baseline): an existing
/// file, or "-" for standard input.
CLI::Validator file_or_stdin();

/// Checks, before any work, that each file's format is known (standard
/// input is told when it is read) and that "-" appears at most once.
void check_event_formats(const std::vector<std::string>& paths, const std::string& format,
                         const char* command);

/// --normalize GROUP=MODE (or *=MODE) specs into `fp`; `command` names the
/// subcommand in errors.
void parse_normalize(const std::vector<std::string>& specs, FeatureParams& fp,
                     const char* command);

/// Adds --ephemeral-ports MIN (FeatureParams::ephemeral_port_min) to `cmd`.
CLI::Option* add_ephemeral_ports_option(CLI::App* cmd, int32_t* min);

/// --pca: a whole count ≥ 1, a variance fraction in (0, 1), or 0 for none.
void set_pca_option(double pca, PcaParams& params, const char* command);

class Stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace stray::cli
