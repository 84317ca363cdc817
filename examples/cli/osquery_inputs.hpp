// --osquery-map and --osquery-entity: how a command reads osquery logs.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace stray {
struct EventReadOptions;
}

namespace stray::cli {

/// The osquery options of a command that reads events.
struct OsqueryChoice {
  std::string map_path;  // --osquery-map: a JSON mapping (stray::read_osquery_mapping)
  std::string entity;    // --osquery-entity: a decoration naming the entity
};

/// Adds --osquery-map and --osquery-entity to `cmd`.
void add_osquery_options(CLI::App* cmd, OsqueryChoice* choice);

/// The readers' osquery options as chosen; reads the mapping file (a bad
/// one is a stray::Error naming it and the member at fault).
void apply_osquery_options(const OsqueryChoice& choice, EventReadOptions& options);

}  // namespace stray::cli
