// Event formats: names, dispatch, the collecting sink and block sinks.
#include <algorithm>
#include <istream>
#include <string>

#include "core/check.hpp"
#include "io/events/event_io.hpp"
#include "stray/io/events.hpp"

namespace stray {

EventSink collect_events(std::vector<EventRecord>& out) {
  return [&out](const Event& e) { out.emplace_back(e); };
}

namespace {

// What block_sink() puts in the EventSink: a type of its own, so that
// block_sink_target() can tell it from any other callable.
struct BlockSinkCall {
  EventBlockSink* target;
  void operator()(const Event& e) const { target->add(e); }
};

}  // namespace

EventSink block_sink(EventBlockSink& target) { return BlockSinkCall{&target}; }

EventBlockSink* block_sink_target(const EventSink& sink) {
  const BlockSinkCall* call = sink.target<BlockSinkCall>();
  return call != nullptr ? call->target : nullptr;
}

const char* to_string(EventFormat format) {
  switch (format) {
    case EventFormat::csv: return "csv";
    case EventFormat::jsonl: return "jsonl";
    case EventFormat::osquery: return "osquery";
    case EventFormat::osquery_snapshot: return "osquery-snapshot";
    case EventFormat::sbom: return "sbom";
    case EventFormat::json_log: return "json-log";
  }
  return "?";
}

EventFormat parse_event_format(const std::string& name) {
  if (name == "csv") return EventFormat::csv;
  if (name == "jsonl" || name == "ndjson") return EventFormat::jsonl;
  if (name == "osquery") return EventFormat::osquery;
  if (name == "osquery-snapshot") return EventFormat::osquery_snapshot;
  if (name == "sbom") return EventFormat::sbom;
  if (name == "json-log") return EventFormat::json_log;
  internal::fail(ErrorCode::invalid_argument, "parse_event_format", "unknown format '", name,
                 "' (expected csv, jsonl, osquery, osquery-snapshot, sbom or json-log)");
}

namespace {

std::string lower_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return ext;
}

}  // namespace

EventFormat event_format_from_path(const std::filesystem::path& path) {
  if (path == "-") {
    internal::fail(ErrorCode::invalid_argument, "event_format_from_path",
                   "standard input has no name to tell its event format by; name the format");
  }
  // A compression suffix says how the bytes are stored, the one before it
  // what they hold (the readers tell compression by the bytes themselves).
  std::filesystem::path name = path.filename();
  std::string ext = lower_extension(name);
  if (ext == ".gz" || ext == ".zst" || ext == ".zstd") {
    name = name.stem();
    ext = lower_extension(name);
  }
  if (ext == ".csv") return EventFormat::csv;
  if (ext == ".jsonl" || ext == ".ndjson") return EventFormat::jsonl;
  if (ext == ".log") return EventFormat::osquery;
  // A bare .json may hold anything; the SBOM tools' own suffixes say what.
  if (ext == ".json") {
    const std::string tool = lower_extension(name.stem());
    if (tool == ".spdx" || tool == ".cdx" || tool == ".cyclonedx" || tool == ".syft")
      return EventFormat::sbom;
  }
  internal::fail(ErrorCode::invalid_argument, "event_format_from_path",
                 "cannot tell the event format of '", path.string(),
                 "' (expected .csv, .jsonl, .ndjson, .log, .spdx.json, .cdx.json or .syft.json, "
                 "optionally followed by .gz or .zst); name it explicitly");
}

void ReadStats::merge(const ReadStats& other) {
  lines += other.lines;
  records += other.records;
  events += other.events;
  skipped += other.skipped;
  without_entity += other.without_entity;
  unmatched += other.unmatched;
  for (const std::string& name : other.unmapped_queries) {
    if (unmapped_queries.size() < kMaxUnmappedQueries &&
        std::find(unmapped_queries.begin(), unmapped_queries.end(), name) ==
            unmapped_queries.end()) {
      unmapped_queries.push_back(name);
    }
  }
}

std::string no_events_reason(const ReadStats& stats) {
  if (stats.events > 0) return "";
  if (stats.records == 0) return "no records (an empty input, or a CSV header alone)";
  std::string reason = std::to_string(stats.records) + " records, none of them an event";
  if (stats.without_entity > 0 || stats.unmatched > 0) {
    return reason + ": " + std::to_string(stats.without_entity) +
           " without any of the JSON log mapping's entity members, " +
           std::to_string(stats.unmatched) + " that no rule of it matched";
  }
  if (stats.unmapped_queries.empty()) {
    return reason + " (every row removed, or every value ignored)";
  }
  reason += ": no osquery mapping rule knows their queries (";
  for (std::size_t i = 0; i < stats.unmapped_queries.size(); ++i) {
    reason += (i ? ", " : "") + internal::printable(stats.unmapped_queries[i], 80);
  }
  return reason + ")";
}

ReadStats read_events(std::istream& in, EventFormat format, const EventSink& sink,
                      const EventReadOptions& options) {
  switch (format) {
    case EventFormat::csv: return read_events_csv(in, sink, options);
    case EventFormat::jsonl: return read_events_jsonl(in, sink, options);
    case EventFormat::osquery:
    case EventFormat::osquery_snapshot: return read_events_osquery(in, sink, options);
    case EventFormat::sbom: return read_events_sbom(in, sink, options);
    case EventFormat::json_log: return read_events_json_log(in, sink, options);
  }
  internal::fail(ErrorCode::invalid_argument, "read_events", "unknown format");
}

ReadStats read_events(const std::filesystem::path& path, EventFormat format,
                      const EventSink& sink, const EventReadOptions& options) {
  switch (format) {
    case EventFormat::csv: return read_events_csv(path, sink, options);
    case EventFormat::jsonl: return read_events_jsonl(path, sink, options);
    case EventFormat::osquery:
    case EventFormat::osquery_snapshot: return read_events_osquery(path, sink, options);
    case EventFormat::sbom: return read_events_sbom(path, sink, options);
    case EventFormat::json_log: return read_events_json_log(path, sink, options);
  }
  internal::fail(ErrorCode::invalid_argument, "read_events", "unknown format");
}

}  // namespace stray
