// stray — how the lines of a collector's JSON log become fleet events.
//
// Collectors log one JSON object a line in shapes of their own: Sysmon
// through NXLog ({"Hostname": .., "EventID": 1, "Image": "C:\\...\\cmd.exe"}),
// Falco ({"hostname": .., "rule": .., "output_fields": {"proc.name": ..}}),
// Tetragon ({"process_exec": {"process": {"binary": .., "pod": {..}}}}),
// Elastic's agents ({"host": {"name": ..}, "event": {"code": "1"}}). A
// JsonLogMapping says where in a line the entity is and which members become
// features, so stray reads such logs as they are (format "json-log"),
// without a converter in between. docs/fleet-data.md, "JSON logs", has the
// file format and examples/mappings/ a mapping for each of the collectors
// above, for Linux audit events through Auditbeat and for Kubernetes audit
// logs.
//
// Members are named by JSON Pointers (RFC 6901): "/output_fields/proc.name"
// is the member "proc.name" of the object "output_fields"; "/args/0/daddr"
// the member "daddr" of the first element of the array "args"; "~1" stands
// for '/' in a name and "~0" for '~'. (RFC 6901's "" names the whole line,
// an object, which is never a feature: stray refuses it.)
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace stray {

/// The part of a value that becomes the feature.
enum class JsonValuePart {
  whole,
  /// After the last '/' or '\\': "C:\\Windows\\System32\\cmd.exe" -> "cmd.exe".
  basename,
  /// The basename's last '.' and what follows, as Python's os.path.splitext
  /// takes it: "report.tar.gz" -> ".gz"; none for ".bashrc" or "Makefile"
  /// (no event).
  extension,
};

/// "whole" | "basename" | "extension".
const char* to_string(JsonValuePart part);

/// A test on a line: the member at `pointer` is present and its text is one
/// of `values`, or it is an array and an element's text is. A member's text
/// is a string's decoded text, or a number, true or false as written ("1"
/// matches both 1 and "1"); null and objects match nothing.
struct JsonLogCondition {
  std::string pointer;
  std::vector<std::string> values;
};

/// One feature a line may give: where every condition of `when` holds, the
/// member at `field` becomes a feature of `group`: a string's decoded text,
/// or a number, true or false as written (null gives none). An array there
/// gives a feature for each such element. With several fields, their texts
/// joined by ':' are the feature (a line lacking any of them gives none);
/// arrays are then not taken apart.
struct JsonLogRule {
  std::vector<JsonLogCondition> when;
  std::vector<std::string> fields;  // pointers: one, or several joined by ':'
  std::string group;
  JsonValuePart part = JsonValuePart::whole;
  bool lowercase = false;  // ASCII letters only (Windows paths' case carries nothing)
  /// Features that carry no information ("-", "0"): skipped. Compared after
  /// `part` and `lowercase`, before the network below.
  std::vector<std::string> ignore_values;
  /// As OsqueryColumnRule's: > 0 turns addresses into their networks (IPv4
  /// at most 32, IPv6 at most 128); unspecified addresses are skipped.
  int ipv4_prefix = 0;
  int ipv6_prefix = 0;
  /// A pointer to a number that is the event's value (a count an exporter
  /// summed already); "" or a line without the member: 1.
  std::string value;
};

struct JsonLogMapping {
  /// Where the entity is: alternatives tried in order, each one pointer or
  /// several whose texts are joined by ':' — {{"/hostname",
  /// "/output_fields/container.name"}, {"/hostname"}} names a container
  /// "node-1:nginx" (container names repeat across nodes) and an alert on
  /// the node itself "node-1". The first alternative whose members are all
  /// present as non-empty strings or integers, none of them one of
  /// entity_ignore, is the line's entity; a line with none gives no events.
  std::vector<std::vector<std::string>> entity;
  /// Values that name no entity, so the next alternative is tried: Falco
  /// names the host itself "host" in container.name.
  std::vector<std::string> entity_ignore;
  std::vector<JsonLogRule> rules;

  bool empty() const { return entity.empty() && rules.empty(); }
};

/// Checks a mapping built in code as the file reader checks a file: an
/// entity pointer and a rule at least; pointers that are not RFC 6901 or
/// name the whole line (not starting with '/'; a '~' not followed by 0 or
/// 1) or nest deeper than kMaxJsonPointerDepth; an entity alternative or a
/// rule without pointers, a condition without values, an empty group or
/// one with ':', prefixes out of range. ErrorCode::invalid_argument naming
/// `where` and the member.
void validate_json_log_mapping(const JsonLogMapping& mapping, const char* where);

/// A mapping written as JSON (docs/fleet-data.md, "JSON logs"):
///
///   {"about": "Sysmon through NXLog's to_json()",
///    "entity": ["/Hostname"], "entity_ignore": ["-"],
///    "rules": [
///      {"when": {"/EventID": 1}, "field": "/Image", "group": "process",
///       "part": "basename", "lowercase": true},
///      {"when": {"/EventID": 3}, "field": "/DestinationIp", "group": "net.remote_net",
///       "ipv4_prefix": 24, "ipv6_prefix": 64},
///      {"field": ["/SourceName", "/EventID"], "group": "event"}]}
///
/// "entity" is a pointer or an array of alternatives, each a pointer or an
/// array of pointers to join ([["/hostname", "/output_fields/container.name"],
/// "/hostname"]); "entity_ignore" an array of strings; a rule's "field" a
/// pointer or an array of pointers to join; "when" maps pointers to a value
/// or an array of values (strings, integers, true or false). "about" is for
/// the reader of the file and ignored. Unknown members, wrong types and
/// everything validate_json_log_mapping refuses are ErrorCode::parse_error
/// naming the member ("rules[2].when./EventID"). At most
/// kMaxJsonLogMappingBytes of text and kMaxJsonLogRules rules.
JsonLogMapping parse_json_log_mapping(std::string_view json, const std::string& source_name = {});
JsonLogMapping read_json_log_mapping(const std::filesystem::path& path);

inline constexpr std::size_t kMaxJsonLogMappingBytes = std::size_t{1} << 20;  // 1 MiB
inline constexpr std::size_t kMaxJsonLogRules = 10000;
/// Reference tokens of a pointer at most: deeper members are beyond the
/// readers' nesting limit anyway.
inline constexpr std::size_t kMaxJsonPointerDepth = 64;

}  // namespace stray
