// --osquery-map and --osquery-entity.
#include "osquery_inputs.hpp"

#include <CLI/CLI.hpp>

#include "stray/io/events.hpp"

namespace stray::cli {

void add_osquery_options(CLI::App* cmd, OsqueryChoice* choice) {
  cmd->add_option("--osquery-map", choice->map_path,
                  "osquery logs: a JSON file of (query, column) -> group rules, with "
                  "\"defaults\": true to keep stray's own (docs/fleet-data.md)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--osquery-entity", choice->entity,
                  "osquery logs: take the entity from this decoration (e.g. hostname) "
                  "instead of hostIdentifier");
}

void apply_osquery_options(const OsqueryChoice& choice, EventReadOptions& options) {
  if (!choice.map_path.empty()) options.osquery = read_osquery_mapping(choice.map_path);
  options.osquery_entity_decoration = choice.entity;
}

}  // namespace stray::cli
