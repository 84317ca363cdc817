// stray — fleet events and their file formats.
//
// The fleet is described by events: entity `web-0042` has, in group
// `package`, feature `lua5.3`, value 1 (the default). Groups stray's own
// mappings and synthetic fleet use:
//
//   package         installed package name            (value 1)
//   process         process name launched / running   (value = launches)
//   net.port        listening port number             (value 1)
//   net.remote      outbound connection's remote port (value = connections)
//   net.remote_net  outbound connection's remote network, IPv4 /24
//                   ("10.20.1.0/24", value = connections)
//   syscall, file, user, ...  anything else a collector reports
//
// Readers stream: each record becomes one `Event` handed to a sink and is
// gone afterwards, so a file of any size is never held in memory. Every
// parse error names the line (1-based, physical lines of the file) — for a
// CSV record spanning lines inside quotes, the line it starts on.
//
// Parallel reading: the CSV and JSON Lines readers read the input in
// blocks of 256 KiB cut at record boundaries (line breaks outside CSV
// quotes) and parse the blocks on EventReadOptions::threads threads; the
// sink still receives every event on the calling thread, in the order of
// the input, and the first error in the input is the one thrown, so
// nothing a reader returns or throws depends on the thread count. A sink
// made by block_sink() (FeatureBuilder::sink() is one) receives each block
// whole instead, its names interned by the thread that parsed it
// (EventBlock), so that the sink's own work per event is small. Memory
// is a few blocks per thread, not the input: threads + 2 blocks with
// their parsed events (under 1 MiB each for real records; 4 MiB for the
// shortest CSV records, twice that with a block sink's names) at most.
// Compressed input and standard input are decoded and read on the calling
// thread and parsed on all of them. JSON logs are read the same way. The
// osquery and SBOM readers use the calling thread alone.
//
// Compressed input: every reader decodes gzip (.gz) and zstd (.zst) on the
// fly, told by the input's first bytes rather than its name, in fixed
// memory (see EventInput); lines are those of the decoded text. A path of
// "-" is standard input.
//
// Formats:
//   csv                   header naming the columns `entity`, `feature`, and
//                         optionally `group` and `value`, in any order
//                         (other columns are ignored); RFC 4180 quoting
//                         ("a,b", "say ""hi""", line breaks inside quotes).
//   jsonl                 one object per line: {"entity": .., "group": ..,
//                         "feature": .., "value": ..}; group and value optional.
//   osquery               osquery result log, one JSON object per line, in
//                         the differential event format ("action": "added" /
//                         "removed", "columns": {...}), the batched format
//                         ("diffResults": {"added": [...], "removed": [...]})
//                         or the snapshot format ("snapshot": [{...}, ...]).
//                         An OsqueryMapping turns (query, column) into
//                         (group, feature); `hostIdentifier` is the entity.
//   osquery-snapshot      the same reader; as an output format, snapshot lines.
//   json-log              a collector's own JSON log, one object per line
//                         (Sysmon through NXLog, Falco, Tetragon, Elastic's
//                         agents, ...), read through a JsonLogMapping
//                         (json_log_mapping.hpp) that says where the entity
//                         is and which members are features. Reading only.
//   sbom                  one SBOM per input, read whole: SPDX 2.x JSON,
//                         CycloneDX JSON or syft's own JSON (told by the
//                         document). The document names one entity; each
//                         package is the event (package.<type>, name, 1).
//                         Reading only; docs/sbom.md has the mapping.
//
// Empty lines are skipped in every format. A missing value is 1; values
// must be finite. Group names must not contain ':' (features are shown as
// `group:feature`, split at the first ':').
//
// Thread safety: the readers and the format functions keep no shared state
// and may run concurrently on different streams (a stream, a sink and an
// EventWriter are each used by one thread at a time). Sinks are called on
// the reading thread (the one that called the reader), one event at a
// time — or, for a sink made by block_sink(), one block at a time —
// whatever EventReadOptions::threads says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stray/io/json_log_mapping.hpp"

namespace stray {

/// One observation. The views are valid only during the sink call that
/// receives the event (readers reuse their buffers); copy what you keep.
struct Event {
  std::string_view entity;
  std::string_view group;
  std::string_view feature;
  double value = 1.0;
};

/// An event that owns its strings (tests, small collections).
struct EventRecord {
  std::string entity;
  std::string group;
  std::string feature;
  double value = 1.0;

  EventRecord() = default;
  EventRecord(std::string entity_, std::string group_, std::string feature_, double value_ = 1.0)
      : entity(std::move(entity_)),
        group(std::move(group_)),
        feature(std::move(feature_)),
        value(value_) {}
  explicit EventRecord(const Event& e)
      : entity(e.entity), group(e.group), feature(e.feature), value(e.value) {}
  Event view() const { return Event{entity, group, feature, value}; }
  bool operator==(const EventRecord&) const = default;
};

/// Receives events one at a time.
using EventSink = std::function<void(const Event&)>;

/// A sink that appends copies of the events to `out` (which must outlive it).
EventSink collect_events(std::vector<EventRecord>& out);

/// A (group, feature) pair of an EventBlock.
struct EventBlockFeature {
  std::string_view group;
  std::string_view feature;
};

/// Consecutive events of an input as a CSV or JSON Lines reader parsed
/// them, one block at a time, with their names interned on the thread that
/// parsed the block: each distinct entity and each distinct (group,
/// feature) pair of the block once, numbered in order of first appearance.
/// A sink that keys state by name then looks each name up once a block
/// (a block holds thousands of events but a few hundred distinct names in
/// a fleet's telemetry) instead of once an event. All views are valid
/// during the call that receives the block only.
struct EventBlock {
  std::span<const Event> events;
  std::span<const uint32_t> entity_of;   // [events] each event's entity, an index into `entities`
  std::span<const uint32_t> feature_of;  // [events] its (group, feature), an index into `features`
  std::span<const std::string_view> entities;
  std::span<const EventBlockFeature> features;
};

/// A sink that can take a whole block of events at once (FeatureBuilder's
/// is one). Wrapped by block_sink(), it is an EventSink like any other:
/// the CSV and JSON Lines readers call add_block(), everything else add().
/// Both are called on the reading thread, in the order of the input, and
/// add_block(b) must do exactly what add() on each of b.events in turn
/// would (also throw the same error at the same event).
class EventBlockSink {
 public:
  virtual ~EventBlockSink() = default;
  virtual void add(const Event& event) = 0;
  virtual void add_block(const EventBlock& block) = 0;
};

/// An EventSink calling `target.add()` for each event (`target` must
/// outlive it); the CSV and JSON Lines readers recognise it and call
/// `target.add_block()` instead. A sink wrapping it (a lambda calling it)
/// hides the blocks: the events then arrive one at a time, with the same
/// result.
EventSink block_sink(EventBlockSink& target);
/// The target of a sink made by block_sink() (or a copy of one), else
/// nullptr.
EventBlockSink* block_sink_target(const EventSink& sink);

enum class EventFormat {
  csv,
  jsonl,
  osquery,           // reading: any osquery format; writing: differential "added" lines
  osquery_snapshot,  // reading: same as osquery; writing: one snapshot line per host and query
  sbom,              // reading only: an SPDX 2.x, CycloneDX or syft JSON document
  json_log,          // reading only: a collector's JSON log, through a JsonLogMapping
};

/// "csv" | "jsonl" | "osquery" | "osquery-snapshot" | "sbom" | "json-log".
const char* to_string(EventFormat format);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
EventFormat parse_event_format(const std::string& name);
/// Guesses the format from a file name: *.csv, *.jsonl / *.ndjson, *.log
/// (osquery), *.spdx.json / *.cdx.json / *.cyclonedx.json / *.syft.json
/// (sbom), also before a compression suffix (*.csv.gz, *.jsonl.zst,
/// *.log.zstd); throws ErrorCode::invalid_argument when it cannot tell (as
/// for "-", standard input).
EventFormat event_format_from_path(const std::filesystem::path& path);
/// Tells the format from the first line of an input's (decoded) bytes: a
/// JSON object with "entity" and "feature" keys is jsonl, one with
/// "columns", "diffResults" or "snapshot" osquery, and a CSV header naming
/// `entity` and `feature` columns csv. An input that starts with '{' and
/// has an "spdxVersion", "bomFormat" or "artifacts" key in `head` (not
/// only its first line: SBOMs are usually indented) is sbom. A guess (the
/// reader still checks everything); nullopt when it cannot tell.
std::optional<EventFormat> sniff_event_format(std::string_view head);

/// An input opened for the readers: a file, or standard input for "-",
/// decoded on the fly when its first bytes are gzip's (1f 8b; members one
/// after another, as gzip -d reads them) or zstd's (28 b5 2f fd, or a
/// skippable frame; any number of frames), whatever its name.
///
/// Memory is fixed whatever the decoded size: two 64 KiB buffers plus the
/// decoder's window (32 KiB for gzip; for zstd what the frame declares,
/// refused past 128 MiB, zstd's default limit). So a decompression bomb
/// costs reading time only, and the readers' line limit
/// (EventReadOptions::max_line_bytes) bounds what they hold of it.
/// Truncated or corrupt compressed data throw ErrorCode::parse_error
/// naming the input, from the reads of stream().
class EventInput {
 public:
  /// Opens `path` ("-": standard input); ErrorCode::io_error naming it when
  /// it cannot be opened. `where` names the caller in error messages.
  explicit EventInput(const std::filesystem::path& path, const char* where = "EventInput");
  ~EventInput();
  EventInput(const EventInput&) = delete;
  EventInput& operator=(const EventInput&) = delete;

  /// The decoded bytes, for read_events(std::istream&, ...).
  std::istream& stream();
  /// The path, or "standard input".
  const std::string& name() const;
  /// "gzip", "zstd", or "" for plain text.
  const char* compression() const;
  /// Bytes taken from the file so far (compressed bytes when compressed),
  /// for progress against size(); size() is 0 where unknown (a pipe).
  uint64_t bytes_read() const;
  uint64_t size() const;
  /// The format from the name (event_format_from_path), else from the first
  /// line of the decoded bytes (sniff_event_format, read without consuming
  /// it: call before reading stream()); nullopt when neither tells.
  std::optional<EventFormat> guess_format();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// How osquery columns become events: a row of query `query` yields, for
/// each rule of that query, the event (group, value of `column`).
struct OsqueryColumnRule {
  std::string query;   // table or query name; matched against the last '/'-separated
                       // component of the logged name ("pack/linux/deb_packages")
  std::string column;  // column whose value becomes the feature
  std::string group;   // group of the event
  /// When > 0, IPv4 addresses become their network: "10.1.2.3" -> "10.1.2.0/24"
  /// for 24. IPv4-mapped IPv6 addresses (::ffff:10.1.2.3, what dual-stack
  /// sockets report) count as IPv4. At most 32.
  int ipv4_prefix = 0;
  /// Column values that carry no information ("", "0"): skipped.
  std::vector<std::string> ignore_values;
  /// When > 0, IPv6 addresses become their network in RFC 5952's text:
  /// "2001:DB8::1:2:3:4" -> "2001:db8::/64" for 64. At most 128. (Last, so
  /// rules written positionally before it keep their meaning.)
  /// With either prefix set the column holds addresses: an unspecified one
  /// (0.0.0.0, :: in any spelling) is skipped, and a value that is not an
  /// address, or one of a family whose prefix is 0, is kept verbatim.
  int ipv6_prefix = 0;
};

struct OsqueryMapping {
  std::vector<OsqueryColumnRule> rules;

  /// stray's defaults:
  ///   deb_packages.name, rpm_packages.name        -> package
  ///   python_packages.name                        -> package.python
  ///   npm_packages.name                           -> package.npm
  ///   processes.name                              -> process
  ///   listening_ports.port                        -> net.port      (ignoring "0")
  ///   process_open_sockets.remote_port            -> net.remote    (ignoring "0")
  ///   process_open_sockets.remote_address         -> net.remote_net, IPv4 /24,
  ///                                                  IPv6 /64 (ignoring unspecified
  ///                                                  addresses)
  ///   socket_events, bpf_socket_events            the same two rules as
  ///                                                  process_open_sockets
  ///   kernel_modules.name                         -> kernel_module
  ///   users.username                              -> user
  static OsqueryMapping defaults();
};

/// An osquery mapping written as JSON (docs/fleet-data.md, "osquery
/// mappings"), for fleets whose packs name their queries otherwise or log
/// tables stray's defaults do not map:
///
///   {"defaults": true,
///    "rules": [{"query": "socket_events", "column": "remote_address",
///               "group": "net.remote_net", "ipv4_prefix": 24, "ipv6_prefix": 64,
///               "ignore": ["", "0"]}]}
///
/// "defaults" (false when absent) puts OsqueryMapping::defaults()'s rules
/// first; "query", "column" and "group" are required, the rest optional.
/// Unknown keys, wrong types, empty names, a group with ':' and prefixes out
/// of range are ErrorCode::parse_error naming the member ("rules[2].group").
/// At most kMaxOsqueryMappingBytes of text and kMaxOsqueryRules rules.
OsqueryMapping parse_osquery_mapping(std::string_view json, const std::string& source_name = {});
OsqueryMapping read_osquery_mapping(const std::filesystem::path& path);

inline constexpr std::size_t kMaxOsqueryMappingBytes = std::size_t{1} << 20;  // 1 MiB
inline constexpr std::size_t kMaxOsqueryRules = 10000;

struct EventReadOptions {
  /// Group of CSV / JSON Lines records without one.
  std::string default_group = "feature";
  /// Name shown in error messages (the path overloads set it to the path).
  std::string source_name;
  /// osquery only.
  OsqueryMapping osquery = OsqueryMapping::defaults();
  /// osquery only: "removed" rows become events of value -1 (so summing a
  /// differential log gives the current state) instead of being skipped.
  bool osquery_removed_as_negative = false;
  /// osquery only: take the entity from this decoration (e.g. "hostname")
  /// instead of `hostIdentifier`.
  std::string osquery_entity_decoration;
  /// Longest line (and CSV record, quoted line breaks included) read, in
  /// bytes; a longer one is a parse_error naming its line, found before more
  /// than a few times this much is held (at most 4 × it plus a block for CSV
  /// and JSON Lines, whose blocks hold records whole), so an input without
  /// line breaks cannot take all the memory. 0 means the format's default:
  /// kDefaultMaxLineBytes for CSV and JSON Lines, kDefaultMaxOsqueryLineBytes
  /// for osquery logs (a snapshot line carries a host's whole table).
  std::size_t max_line_bytes = 0;
  /// CSV and JSON Lines: threads parsing blocks of the input (the calling
  /// thread among them); 1 parses on the calling thread alone. 0 means
  /// OpenMP's default, as for the backends: OMP_NUM_THREADS, else the
  /// cores. At most 256 are used; negative is an
  /// ErrorCode::invalid_argument.
  int threads = 0;
  /// json-log only: where a line's entity is and which members become
  /// features. Reading the format without one is an
  /// ErrorCode::invalid_argument.
  JsonLogMapping json_log;
  /// sbom only: also emit (version, "name@version") for every package with
  /// a version, so the same package at another version sets a host apart.
  bool sbom_versions = false;
  /// sbom only: name the entity after the file (its name without
  /// directory, compression, ".json" and ".spdx"/".cdx"/".syft"-style
  /// suffixes) even where the document names one — for fleets whose SBOMs
  /// all carry the same name (a directory scan of "/" on every host).
  bool sbom_entity_from_file_name = false;
  /// sbom only: largest document read, in (decoded) bytes; a larger one is
  /// a parse_error before more than about this much is held. 0 means
  /// kDefaultMaxSbomBytes.
  std::size_t max_sbom_bytes = 0;
};

inline constexpr std::size_t kDefaultMaxLineBytes = std::size_t{1} << 20;          // 1 MiB
inline constexpr std::size_t kDefaultMaxOsqueryLineBytes = std::size_t{64} << 20;  // 64 MiB
/// An SBOM is parsed whole. What is kept of it is mostly packages' names,
/// versions and types; a document of nothing but tiny packages takes about
/// 20 times its size in memory (measured), real ones far less.
inline constexpr std::size_t kDefaultMaxSbomBytes = std::size_t{64} << 20;  // 64 MiB

struct ReadStats {
  int64_t lines = 0;    // physical lines read
  int64_t records = 0;  // non-empty records / log lines
  int64_t events = 0;   // events handed to the sink
  int64_t skipped = 0;  // osquery: rows of unmapped queries, ignored values, skipped "removed"
                        // rows; json-log: ignored values
  /// osquery: logged names of queries no rule maps, the first
  /// kMaxUnmappedQueries of them, for a message when nothing was read.
  std::vector<std::string> unmapped_queries;
  /// json-log: lines with none of the mapping's entity members (they give
  /// no events), and lines with an entity for which no rule's conditions
  /// held.
  int64_t without_entity = 0;
  int64_t unmatched = 0;

  /// Adds another read's figures (for a snapshot of several files).
  void merge(const ReadStats& other);
};
inline constexpr std::size_t kMaxUnmappedQueries = 8;

/// Why a read handed no events, in words for a message ("its 3 osquery
/// result lines name no query the mapping knows: pack/sec/my_sockets"),
/// or "" when it handed some.
std::string no_events_reason(const ReadStats& stats);

/// Readers. Throw ErrorCode::parse_error (with the line number) on malformed
/// input and on a line longer than EventReadOptions::max_line_bytes, ErrorCode::non_finite_input on NaN/Inf values, ErrorCode::io_error
/// when a file cannot be opened or read. Exceptions thrown by the sink pass
/// through unchanged. gzip or zstd input (streams and files alike, told by
/// the first bytes) is decoded; truncated or corrupt compressed data are a
/// parse_error naming the source. The path overloads read standard input
/// for "-".
ReadStats read_events_csv(std::istream& in, const EventSink& sink,
                          const EventReadOptions& options = {});
ReadStats read_events_csv(const std::filesystem::path& path, const EventSink& sink,
                          const EventReadOptions& options = {});
ReadStats read_events_jsonl(std::istream& in, const EventSink& sink,
                            const EventReadOptions& options = {});
ReadStats read_events_jsonl(const std::filesystem::path& path, const EventSink& sink,
                            const EventReadOptions& options = {});
ReadStats read_events_osquery(std::istream& in, const EventSink& sink,
                              const EventReadOptions& options = {});
ReadStats read_events_osquery(const std::filesystem::path& path, const EventSink& sink,
                              const EventReadOptions& options = {});
/// A collector's JSON log through options.json_log: each line's events are
/// those of the rules whose conditions hold for it, in the mapping's order.
/// Lines must be JSON objects (parse_error otherwise); values the mapping
/// ignores count as ReadStats::skipped.
ReadStats read_events_json_log(std::istream& in, const EventSink& sink,
                               const EventReadOptions& options);
ReadStats read_events_json_log(const std::filesystem::path& path, const EventSink& sink,
                               const EventReadOptions& options);
/// One SBOM document (the whole input): SPDX 2.x JSON, CycloneDX JSON or
/// syft JSON. Errors name the source and the JSON path
/// ("a.spdx.json: $.packages[3].name: expected a string"); nesting deeper
/// than kMaxSbomDepth, invalid UTF-8 and documents over max_sbom_bytes are
/// parse_errors. ReadStats::records counts packages, skipped those that
/// are no package of the entity (the image itself, files, duplicates).
ReadStats read_events_sbom(std::istream& in, const EventSink& sink,
                           const EventReadOptions& options = {});
ReadStats read_events_sbom(const std::filesystem::path& path, const EventSink& sink,
                           const EventReadOptions& options = {});
/// The SBOM files of a directory, sorted: its regular files (not those of
/// subdirectories) named *.json, optionally compressed (*.json.gz,
/// *.json.zst). ErrorCode::io_error when `dir` cannot be listed.
std::vector<std::filesystem::path> list_sbom_files(const std::filesystem::path& dir);

/// Objects and arrays nested deeper than this in an SBOM are refused
/// (real documents nest a few levels; CycloneDX components a few more).
inline constexpr int kMaxSbomDepth = 64;
/// Dispatches on `format`.
ReadStats read_events(std::istream& in, EventFormat format, const EventSink& sink,
                      const EventReadOptions& options = {});
ReadStats read_events(const std::filesystem::path& path, EventFormat format,
                      const EventSink& sink, const EventReadOptions& options = {});

struct EventWriteOptions {
  /// osquery formats: the rules used in reverse (the first rule naming a
  /// group gives its query and column), so what is written reads back.
  OsqueryMapping osquery = OsqueryMapping::defaults();
  /// osquery formats: the logged unixTime (fixed, so output is reproducible).
  int64_t osquery_unix_time = 1700000000;
};

/// Writes events in any reader format but sbom (invalid_argument). CSV and JSON Lines keep every event
/// as it is; the osquery formats write round(value) rows per event (at least
/// one; osquery logs carry no values, only rows) and throw
/// ErrorCode::invalid_argument for a group no mapping rule produces.
/// osquery-snapshot buffers one entity's rows and writes them when the
/// entity changes or on finish(), so write events grouped by entity.
class EventWriter {
 public:
  EventWriter(std::ostream& out, EventFormat format, const EventWriteOptions& options = {});
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void write(const Event& event);
  /// Flushes buffered rows (osquery-snapshot); throws ErrorCode::io_error if
  /// the stream failed. Called by the destructor too, which swallows errors.
  void finish();
  /// A sink writing to this writer (which must outlive it).
  EventSink sink();
  int64_t events_written() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stray
