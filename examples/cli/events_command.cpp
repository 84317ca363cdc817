// `stray events`: reads event files in any input format, through the same
// mappings `stray fleet` takes, and writes the events in stray's own
// formats — to see what a mapping makes of a log before fitting on it, or to
// convert a collector's log once.
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "json_log_inputs.hpp"
#include "osquery_inputs.hpp"
#include "run_outputs.hpp"
#include "stray/core/error.hpp"
#include "stray/io/events.hpp"

namespace stray::cli {
namespace {

struct EventsOptions {
  std::vector<std::string> events;
  std::string format, out = "-", out_format;
  int64_t head = 0;
  OsqueryChoice osquery;
  JsonLogChoice json_log;
};

// Thrown by the sink once --head events are written: ends the read early.
struct HeadReached {};

// What was written, for the summary line.
struct Written {
  int64_t events = 0;
  std::set<std::string> groups;
  std::unordered_set<std::string> entities;
};

EventFormat output_format(const EventsOptions& o) {
  if (!o.out_format.empty()) return parse_event_format(o.out_format);
  if (o.out == "-") return EventFormat::csv;
  try {
    return event_format_from_path(o.out);
  } catch (const Error&) {
    throw Error(ErrorCode::invalid_argument, "events: cannot tell the format of --out '" + o.out +
                                                 "' from its name; give --out-format csv or jsonl");
  }
}

// The summary line; no statistics when --head ended the read.
std::string summary(const std::optional<ReadStats>& stats, const Written& w) {
  std::ostringstream os;
  if (!stats) {
    os << "events: the first " << w.events << " events (--head)";
  } else {
    os << "events: " << stats->records << " records -> " << w.events << " events";
  }
  os << " of " << w.groups.size() << " groups and " << w.entities.size() << " entities";
  if (stats && stats->skipped > 0) os << "; " << stats->skipped << " values ignored";
  if (stats && stats->without_entity > 0) {
    os << "; " << stats->without_entity << " records without an entity";
  }
  if (stats && stats->unmatched > 0) {
    os << "; " << stats->unmatched << " records no rule matched";
  }
  return os.str();
}

void run_events(EventsOptions o) {
  resolve_json_log_format(o.json_log, o.format, "events");
  if (o.head < 0) {
    throw Error(ErrorCode::invalid_argument,
                "events: --head " + std::to_string(o.head) + " is negative (0: every event)");
  }
  const EventFormat out_format = output_format(o);
  RunOutputs out("events", {{"--out", o.out}}, o.events);
  check_event_formats(o.events, o.format, "events");
  EventReadOptions reading;
  apply_osquery_options(o.osquery, reading);
  apply_json_log_options(o.json_log, reading);

  std::ofstream file(out.stage(o.out), std::ios::binary | std::ios::trunc);
  EventWriter writer(file, out_format);
  Written w;
  const EventSink write = writer.sink();
  const EventSink sink = [&](const Event& e) {
    if (o.head > 0 && w.events == o.head) throw HeadReached{};
    write(e);
    ++w.events;
    w.groups.emplace(e.group);
    w.entities.emplace(e.entity);
  };
  std::optional<ReadStats> stats;
  try {
    stats = read_event_files(o.events, o.format, nullptr, "events", reading, sink);
    require_events(*stats, o.events, "events");
  } catch (const HeadReached&) {
  }
  writer.finish();
  file.close();
  if (!file) throw Error(ErrorCode::io_error, "events: cannot write --out " + o.out);
  out.commit();
  std::fprintf(stderr, "%s\n", summary(stats, w).c_str());
}

}  // namespace

void register_events_command(CLI::App& app) {
  auto o = std::make_shared<EventsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "events",
      "Read event files (CSV, JSON Lines, osquery logs, SBOMs or collectors' JSON logs through "
      "--json-map) and write the events they hold as CSV or JSON Lines: what a mapping makes "
      "of a log, before fitting on it. A summary line goes to stderr.");
  cmd->add_option("--events", o->events, "Event files (gzip or zstd or not; - reads standard input)")
      ->required()
      ->check(file_or_stdin());
  cmd->add_option("--format", o->format,
                  "csv, jsonl, osquery, sbom or json-log (default: from each file's name, else "
                  "its first bytes)");
  add_osquery_options(cmd, &o->osquery);
  add_json_log_options(cmd, &o->json_log);
  cmd->add_option("--out", o->out, "Where the events go (- : standard output)")
      ->capture_default_str();
  cmd->add_option("--out-format", o->out_format,
                  "csv, jsonl, osquery or osquery-snapshot (default: from --out's name; csv on "
                  "standard output)");
  cmd->add_option("--head", o->head, "Only the first N events (0: all)")->capture_default_str();
  cmd->callback([o] { run_events(*o); });
}

}  // namespace stray::cli
