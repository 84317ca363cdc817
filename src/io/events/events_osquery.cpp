// osquery result logs: differential ("action" + "columns"), batched
// ("diffResults") and snapshot ("snapshot") lines, mapped to events by an
// OsqueryMapping.
#include <algorithm>
#include <cstdio>
#include <istream>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/name_table.hpp"
#include "io/events/event_io.hpp"
#include "io/events/json_scan.hpp"
#include "io/events/ip_network.hpp"
#include "io/events/osquery_util.hpp"
#include "stray/io/events.hpp"

namespace stray {

OsqueryMapping OsqueryMapping::defaults() {
  OsqueryMapping m;
  m.rules = {
      {"deb_packages", "name", "package", 0, {}},
      {"rpm_packages", "name", "package", 0, {}},
      {"python_packages", "name", "package.python", 0, {}},
      {"npm_packages", "name", "package.npm", 0, {}},
      {"processes", "name", "process", 0, {}},
      {"listening_ports", "port", "net.port", 0, {"0", "-1"}},
      {"process_open_sockets", "remote_port", "net.remote", 0, {"0", "-1"}},
      {"process_open_sockets", "remote_address", "net.remote_net", 24, {"", "0"}, 64},
      // The evented tables (audit, and BPF since osquery 5): connections as
      // they happen, even those closed before a snapshot would see them.
      {"socket_events", "remote_port", "net.remote", 0, {"0", "-1"}},
      {"socket_events", "remote_address", "net.remote_net", 24, {"", "0"}, 64},
      {"bpf_socket_events", "remote_port", "net.remote", 0, {"0", "-1"}},
      {"bpf_socket_events", "remote_address", "net.remote_net", 24, {"", "0"}, 64},
      {"kernel_modules", "name", "kernel_module", 0, {}},
      {"users", "username", "user", 0, {}},
  };
  return m;
}

namespace fleet {

std::string_view query_of(std::string_view logged_name) {
  const std::size_t slash = logged_name.rfind('/');
  return slash == std::string_view::npos ? logged_name : logged_name.substr(slash + 1);
}

}  // namespace fleet

namespace {

constexpr const char* kWhere = "read_events_osquery";

using Rules = std::vector<const OsqueryColumnRule*>;

class RuleIndex {
 public:
  explicit RuleIndex(const OsqueryMapping& mapping) {
    for (const auto& r : mapping.rules) by_query_[r.query].push_back(&r);
  }

  // Rules for a logged query name: its last '/'-component, or for packs
  // logged with the "_" delimiter ("pack_linux_deb_packages"), a query the
  // name ends with. Resolutions are cached per name.
  const Rules* find(const std::string& logged_name) {
    const auto cached = cache_.find(logged_name);
    if (cached != cache_.end()) return cached->second;
    const Rules* found = nullptr;
    const std::string query(fleet::query_of(logged_name));
    const auto exact = by_query_.find(query);
    if (exact != by_query_.end()) {
      found = &exact->second;
    } else if (query.rfind("pack_", 0) == 0) {
      std::size_t best = 0;
      for (const auto& [q, rules] : by_query_) {
        if (q.size() + 1 < query.size() && q.size() > best &&
            query.compare(query.size() - q.size(), q.size(), q) == 0 &&
            query[query.size() - q.size() - 1] == '_') {
          found = &rules;
          best = q.size();
        }
      }
    }
    cache_.emplace(logged_name, found);
    return found;
  }

 private:
  std::unordered_map<std::string, Rules> by_query_;  // the mapping's own queries
  // Every logged name seen (the log's, so hashed with the process's seed).
  std::unordered_map<std::string, const Rules*, internal::SeededNameHash, std::equal_to<>> cache_;
};

// Turns one result row into events, one per rule whose column it carries.
class RowMapper {
 public:
  RowMapper(const EventSink& sink, const EventReadOptions& options, ReadStats& stats)
      : sink_(sink), options_(options), stats_(stats) {}

  void map(const fleet::JsonValue& row, const Rules& rules, std::string_view entity, double value,
           int64_t line_no) {
    if (row.type != fleet::JsonType::object) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options_, line_no,
                          "a result row is not a JSON object: ", fleet::quoted(row.text));
    }
    cells_.assign(rules.size(), fleet::JsonValue{});
    fleet::JsonScanner scan(row.text, &escaped_);
    const bool ok = scan.object([&](std::string_view key, const fleet::JsonValue& v) {
      for (std::size_t r = 0; r < rules.size(); ++r) {
        if (rules[r]->column == key) cells_[r] = v;
      }
      return true;
    });
    if (!ok) {  // the line scan validated it already; kept for safety
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options_, line_no, "invalid JSON (",
                          scan.error(), ")");
    }
    for (std::size_t r = 0; r < rules.size(); ++r) {
      const OsqueryColumnRule* rule = rules[r];
      const fleet::JsonValue& cell = cells_[r];
      if (cell.type == fleet::JsonType::null) {  // missing or null
        ++stats_.skipped;
        continue;
      }
      if (cell.type == fleet::JsonType::object || cell.type == fleet::JsonType::array) {
        fleet::fail_at_line(ErrorCode::parse_error, kWhere, options_, line_no, "column '",
                            rule->column, "' is neither a string nor a number");
      }
      std::string_view text = cell.text;  // strings decoded; numbers ("numerics": true) as spelt
      bool ignored = text.empty();
      for (const auto& v : rule->ignore_values) ignored = ignored || text == v;
      if (ignored) {
        ++stats_.skipped;
        continue;
      }
      if (rule->ipv4_prefix > 0 || rule->ipv6_prefix > 0) {
        const fleet::AddressFeature kind =
            fleet::address_feature(text, rule->ipv4_prefix, rule->ipv6_prefix, &network_);
        if (kind == fleet::AddressFeature::unspecified) {
          ++stats_.skipped;
          continue;
        }
        if (kind == fleet::AddressFeature::network) text = network_;
      }
      sink_(Event{entity, rule->group, text, value});
      ++stats_.events;
    }
  }

  void new_line() { escaped_.clear(); }

 private:
  const EventSink& sink_;
  const EventReadOptions& options_;
  ReadStats& stats_;
  std::vector<fleet::JsonValue> cells_;
  std::deque<std::string> escaped_;
  std::string network_;
};

void check_rules(const OsqueryMapping& mapping) {
  for (const auto& r : mapping.rules) {
    internal::require(!r.query.empty() && !r.column.empty() && !r.group.empty(),
                      ErrorCode::invalid_argument, kWhere,
                      "an osquery rule has an empty query, column or group");
    internal::require(r.group.find(':') == std::string::npos, ErrorCode::invalid_argument, kWhere,
                      "osquery rule group '", r.group, "' contains ':'");
    internal::require(r.ipv4_prefix >= 0 && r.ipv4_prefix <= 32 && r.ipv6_prefix >= 0 &&
                          r.ipv6_prefix <= 128,
                      ErrorCode::invalid_argument, kWhere, "osquery rule ", r.query, ".", r.column,
                      ": ipv4_prefix=", r.ipv4_prefix, ", ipv6_prefix=", r.ipv6_prefix,
                      " (0-32 and 0-128)");
  }
}

// The members of one result line that the reader looks at.
struct ResultLine {
  fleet::JsonValue name, host, decorations, snapshot, diff, columns, action;
};

// Maps the result lines of one log, a line at a time, to events.
class ResultLines {
 public:
  ResultLines(const EventSink& sink, const EventReadOptions& options, ReadStats& stats)
      : options_(options), stats_(stats), index_(options.osquery), mapper_(sink, options, stats) {}

  void read(std::string_view text, int64_t line_no) {
    line_no_ = line_no;
    ++stats_.records;
    escaped_.clear();
    mapper_.new_line();
    ResultLine line = members(text);
    entity_ = entity(line);
    name_key_.assign(line.name.text);
    rules_ = index_.find(name_key_);
    if (rules_ == nullptr) note_unmapped();
    map_results(line);
  }

 private:
  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    fleet::fail_at_line(ErrorCode::parse_error, kWhere, options_, line_no_, parts...);
  }

  ResultLine members(std::string_view text) {
    using fleet::JsonType;
    fleet::JsonScanner scan(text, &escaped_);
    if (scan.first() != '{') fail("expected a JSON object");
    ResultLine l;
    const std::pair<std::string_view, fleet::JsonValue*> wanted[] = {
        {"name", &l.name},         {"hostIdentifier", &l.host},    {"columns", &l.columns},
        {"action", &l.action},     {"snapshot", &l.snapshot},      {"diffResults", &l.diff},
        {"decorations", &l.decorations}};
    const bool ok = scan.object([&](std::string_view key, const fleet::JsonValue& v) {
      for (const auto& [k, member] : wanted) {
        if (key == k) *member = v;
      }
      return true;
    });
    if (!ok) fail("invalid JSON (", scan.error(), ")");
    if (l.name.text.empty() && l.name.type == JsonType::null) fail("no 'name' member");
    if (l.name.type != JsonType::string) fail("'name' is not a string");
    return l;
  }

  // The host identifier, or the decoration that names the entity.
  std::string_view entity(const ResultLine& l) {
    using fleet::JsonType;
    fleet::JsonValue host = l.host;
    const std::string& decoration = options_.osquery_entity_decoration;
    if (!decoration.empty()) {
      if (l.decorations.type != JsonType::object) fail("no 'decorations' object");
      fleet::JsonValue found;
      fleet::JsonScanner dec(l.decorations.text, &escaped_);
      dec.object([&](std::string_view key, const fleet::JsonValue& v) {
        if (key == decoration) found = v;
        return true;
      });
      if (found.type == JsonType::null) fail("no decoration ", fleet::quoted(decoration));
      host = found;
    } else if (host.type == JsonType::null) {
      fail("no 'hostIdentifier' member");
    }
    if (host.type != JsonType::string || host.text.empty()) {
      fail("the host identifier is empty or not a string");
    }
    return host.text;
  }

  // Kept for a message: a few names, each cut short (a hostile log may
  // log names of megabytes).
  void note_unmapped() {
    std::vector<std::string>& names = stats_.unmapped_queries;
    if (names.size() >= kMaxUnmappedQueries) return;
    const std::string_view name = std::string_view(name_key_).substr(0, 200);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
  }

  // One row: an event per rule of its query, unless the query has none or
  // the row counts 0 (a removal, unless removals count as -1).
  void row(const fleet::JsonValue& r, double value) {
    if (rules_ == nullptr || value == 0.0) {
      ++stats_.skipped;
    } else {
      mapper_.map(r, *rules_, entity_, value, line_no_);
    }
  }

  void rows_of(const fleet::JsonValue& arr, const char* what, double value) {
    if (arr.type != fleet::JsonType::array) fail("'", what, "' is not an array");
    fleet::JsonScanner rows(arr.text, &escaped_);
    rows.array([&](const fleet::JsonValue& r) {
      row(r, value);
      return true;
    });
  }

  // Snapshot, batched (diffResults) or differential (action + columns).
  void map_results(const ResultLine& l) {
    using fleet::JsonType;
    const double removed_value = options_.osquery_removed_as_negative ? -1.0 : 0.0;
    if (l.snapshot.type != JsonType::null) {
      rows_of(l.snapshot, "snapshot", 1.0);
    } else if (l.diff.type != JsonType::null) {
      if (l.diff.type != JsonType::object) fail("'diffResults' is not an object");
      fleet::JsonValue added, removed;
      fleet::JsonScanner d(l.diff.text, &escaped_);
      d.object([&](std::string_view key, const fleet::JsonValue& v) {
        if (key == "added") added = v;
        if (key == "removed") removed = v;
        return true;
      });
      if (added.type != JsonType::null) rows_of(added, "added", 1.0);
      if (removed.type != JsonType::null) rows_of(removed, "removed", removed_value);
    } else if (l.columns.type != JsonType::null) {
      const fleet::JsonValue& action = l.action;
      if (action.type != JsonType::string || (action.text != "added" && action.text != "removed")) {
        fail("'action' must be \"added\" or \"removed\" next to 'columns', got ",
             action.type == JsonType::null && action.text.empty() ? std::string("nothing")
                                                                 : fleet::quoted(action.text));
      }
      row(l.columns, action.text == "added" ? 1.0 : removed_value);
    } else {
      fail("neither 'columns', 'snapshot' nor 'diffResults': not an osquery result line");
    }
  }

  const EventReadOptions& options_;
  ReadStats& stats_;
  RuleIndex index_;
  RowMapper mapper_;
  std::deque<std::string> escaped_;  // unescaped strings the line's values point into
  int64_t line_no_ = 0;
  std::string_view entity_;
  std::string name_key_;  // the logged query name, for the rule cache
  const Rules* rules_ = nullptr;
};

}  // namespace

ReadStats read_events_osquery(std::istream& raw, const EventSink& sink,
                              const EventReadOptions& options) {
  // gzip or zstd input is decoded (told by its first bytes).
  fleet::DecodedInput decoded(raw, options.source_name, kWhere);
  std::istream& in = decoded.stream();
  check_rules(options.osquery);
  ReadStats stats;
  ResultLines results(sink, options, stats);
  const std::size_t max_bytes = fleet::max_line_bytes(options, kDefaultMaxOsqueryLineBytes);
  fleet::LineReader lines(in, max_bytes);
  std::string_view line;
  while (fleet::next_line(lines, &line, options, max_bytes, kWhere)) {
    const int64_t line_no = lines.line_number();
    const std::string_view text = fleet::clean_line(line, line_no);
    if (!fleet::is_blank(text)) results.read(text, line_no);
  }
  if (in.bad()) {
    internal::fail(ErrorCode::io_error, kWhere, "read failed after line ", lines.line_number());
  }
  stats.lines = lines.line_number();
  return stats;
}

ReadStats read_events_osquery(const std::filesystem::path& path, const EventSink& sink,
                              const EventReadOptions& options) {
  return fleet::read_from_path(path, sink, options, kWhere,
                                [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
                                  return read_events_osquery(in, s, o);
                                });
}

}  // namespace stray
