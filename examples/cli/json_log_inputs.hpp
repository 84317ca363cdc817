// --json-map: how a command reads collectors' JSON logs.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace stray {
struct EventReadOptions;
}

namespace stray::cli {

/// The JSON log option of a command that reads events.
struct JsonLogChoice {
  std::string map_path;  // --json-map: a JSON log mapping (stray::read_json_log_mapping)
};

/// Adds --json-map to `cmd`.
void add_json_log_options(CLI::App* cmd, JsonLogChoice* choice);

/// The format the inputs are read in: a mapping makes it json-log where
/// --format named none; json-log without a mapping, or a mapping with
/// another format, is a stray::Error.
void resolve_json_log_format(const JsonLogChoice& choice, std::string& format,
                             const char* command);

/// Reads the mapping into the readers' options (a bad one is a stray::Error
/// naming the file and the member at fault).
void apply_json_log_options(const JsonLogChoice& choice, EventReadOptions& options);

}  // namespace stray::cli
