// --json-map.
#include "json_log_inputs.hpp"

#include <CLI/CLI.hpp>

#include "stray/core/error.hpp"
#include "stray/io/events.hpp"

namespace stray::cli {

void add_json_log_options(CLI::App* cmd, JsonLogChoice* choice) {
  cmd->add_option("--json-map", choice->map_path,
                  "Read the inputs as a collector's JSON log (--format json-log) through this "
                  "mapping of JSON Pointers to the entity and features; examples/mappings/ has "
                  "Sysmon (NXLog), Falco, Tetragon, ECS, Auditbeat and Kubernetes audit logs "
                  "(docs/fleet-data.md)")
      ->check(CLI::ExistingFile);
}

void resolve_json_log_format(const JsonLogChoice& choice, std::string& format,
                             const char* command) {
  const std::string json_log = to_string(EventFormat::json_log);
  if (choice.map_path.empty()) {
    if (format == json_log) {
      throw Error(ErrorCode::invalid_argument,
                  std::string(command) + ": --format json-log needs --json-map FILE");
    }
    return;
  }
  if (!format.empty() && format != json_log) {
    throw Error(ErrorCode::invalid_argument, std::string(command) +
                                                 ": --json-map reads JSON logs; --format " +
                                                 format + " does not apply");
  }
  format = json_log;
}

void apply_json_log_options(const JsonLogChoice& choice, EventReadOptions& options) {
  if (!choice.map_path.empty()) options.json_log = read_json_log_mapping(choice.map_path);
}

}  // namespace stray::cli
