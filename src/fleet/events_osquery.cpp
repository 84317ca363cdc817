// osquery result logs: differential ("action" + "columns"), batched
// ("diffResults") and snapshot ("snapshot") lines, mapped to events by an
// OsqueryMapping.
#include <cstdio>
#include <istream>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "fleet/event_io.hpp"
#include "fleet/osquery_util.hpp"
#include "stray/events.hpp"

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
      {"process_open_sockets", "remote_address", "net.remote_net", 24,
       {"", "0", "0.0.0.0", "::", "::0", "0:0:0:0:0:0:0:0"}},
      {"kernel_modules", "name", "kernel_module", 0, {}},
      {"users", "username", "user", 0, {}},
  };
  return m;
}

namespace fleet {

bool ipv4_network(std::string_view text, int prefix, std::string* out) {
  unsigned parts[4];
  std::size_t pos = 0;
  for (int k = 0; k < 4; ++k) {
    if (pos >= text.size()) return false;
    unsigned v = 0;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && digits < 4) {
      v = v * 10 + static_cast<unsigned>(text[pos] - '0');
      ++pos;
      ++digits;
    }
    if (digits == 0 || digits > 3 || v > 255) return false;
    parts[k] = v;
    if (k < 3) {
      if (pos >= text.size() || text[pos] != '.') return false;
      ++pos;
    }
  }
  if (pos != text.size()) return false;
  const uint32_t addr = (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3];
  const int p = prefix < 0 ? 0 : (prefix > 32 ? 32 : prefix);
  const uint32_t mask = p == 0 ? 0u : (~0u << (32 - p));
  const uint32_t net = addr & mask;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u/%d", net >> 24, (net >> 16) & 255u,
                (net >> 8) & 255u, net & 255u, p);
  *out = buf;
  return true;
}

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
  std::unordered_map<std::string, Rules> by_query_;
  std::unordered_map<std::string, const Rules*> cache_;
};

// Turns one result row into events, one per rule whose column it carries.
class RowMapper {
 public:
  RowMapper(const EventSink& sink, const EventReadOptions& options, ReadStats& stats)
      : sink_(sink), options_(options), stats_(stats) {}

  void map(const nlohmann::json& row, const Rules& rules, std::string_view entity, double value,
           int64_t line_no) {
    if (!row.is_object()) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options_, line_no,
                          "a result row is not a JSON object: ", fleet::quoted(row.dump()));
    }
    for (const OsqueryColumnRule* rule : rules) {
      const auto cell = row.find(rule->column);
      if (cell == row.end() || cell->is_null()) {
        ++stats_.skipped;
        continue;
      }
      std::string_view text;
      if (cell->is_string()) {
        text = cell->get_ref<const std::string&>();
      } else if (cell->is_number() || cell->is_boolean()) {
        number_ = cell->dump();  // "numerics": true logs
        text = number_;
      } else {
        fleet::fail_at_line(ErrorCode::parse_error, kWhere, options_, line_no, "column '",
                            rule->column, "' is neither a string nor a number");
      }
      bool ignored = false;
      for (const auto& v : rule->ignore_values) ignored = ignored || text == v;
      if (ignored || text.empty()) {
        ++stats_.skipped;
        continue;
      }
      if (rule->ipv4_prefix > 0 && fleet::ipv4_network(text, rule->ipv4_prefix, &network_)) {
        text = network_;
      }
      sink_(Event{entity, rule->group, text, value});
      ++stats_.events;
    }
  }

 private:
  const EventSink& sink_;
  const EventReadOptions& options_;
  ReadStats& stats_;
  std::string number_;
  std::string network_;
};

const nlohmann::json& member(const nlohmann::json& obj, const char* key,
                             const EventReadOptions& options, int64_t line_no) {
  const auto it = obj.find(key);
  if (it == obj.end()) {
    fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no, "no '", key,
                        "' member");
  }
  return *it;
}

}  // namespace

ReadStats read_events_osquery(std::istream& in, const EventSink& sink,
                              const EventReadOptions& options) {
  for (const auto& r : options.osquery.rules) {
    internal::require(!r.query.empty() && !r.column.empty() && !r.group.empty(),
                      ErrorCode::invalid_argument, kWhere,
                      "an osquery rule has an empty query, column or group");
    internal::require(r.group.find(':') == std::string::npos, ErrorCode::invalid_argument, kWhere,
                      "osquery rule group '", r.group, "' contains ':'");
  }
  ReadStats stats;
  RuleIndex index(options.osquery);
  RowMapper mapper(sink, options, stats);
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string_view text = fleet::clean_line(line, line_no);
    if (fleet::is_blank(text)) continue;
    ++stats.records;
    nlohmann::json obj;
    try {
      obj = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& ex) {  // parse_error, out_of_range (1e999)
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no, "invalid JSON (",
                          ex.what(), ")");
    }
    if (!obj.is_object()) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                          "expected a JSON object, got ", obj.type_name());
    }
    const nlohmann::json& name = member(obj, "name", options, line_no);
    if (!name.is_string()) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                          "'name' is not a string");
    }
    const nlohmann::json* host = nullptr;
    if (!options.osquery_entity_decoration.empty()) {
      const nlohmann::json& decorations = member(obj, "decorations", options, line_no);
      const auto it = decorations.is_object() ? decorations.find(options.osquery_entity_decoration)
                                              : decorations.end();
      if (!decorations.is_object() || it == decorations.end()) {
        fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no, "no decoration '",
                            options.osquery_entity_decoration, "'");
      }
      host = &*it;
    } else {
      host = &member(obj, "hostIdentifier", options, line_no);
    }
    if (!host->is_string() || host->get_ref<const std::string&>().empty()) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                          "the host identifier is empty or not a string");
    }
    const std::string& entity = host->get_ref<const std::string&>();
    const Rules* rules = index.find(name.get_ref<const std::string&>());

    const auto snapshot = obj.find("snapshot");
    const auto diff = obj.find("diffResults");
    const auto columns = obj.find("columns");
    auto rows_of = [&](const nlohmann::json& arr, const char* what, double value) {
      if (!arr.is_array()) {
        fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no, "'", what,
                            "' is not an array");
      }
      if (rules == nullptr) {
        stats.skipped += static_cast<int64_t>(arr.size());
        return;
      }
      for (const auto& row : arr) mapper.map(row, *rules, entity, value, line_no);
    };
    const double removed_value = options.osquery_removed_as_negative ? -1.0 : 0.0;

    if (snapshot != obj.end()) {
      rows_of(*snapshot, "snapshot", 1.0);
    } else if (diff != obj.end()) {
      if (!diff->is_object()) {
        fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                            "'diffResults' is not an object");
      }
      const auto added = diff->find("added");
      const auto removed = diff->find("removed");
      if (added != diff->end()) rows_of(*added, "added", 1.0);
      if (removed != diff->end()) {
        if (removed_value != 0.0) {
          rows_of(*removed, "removed", removed_value);
        } else if (removed->is_array()) {
          stats.skipped += static_cast<int64_t>(removed->size());
        }
      }
    } else if (columns != obj.end()) {
      const nlohmann::json& action = member(obj, "action", options, line_no);
      const std::string* act = action.is_string() ? &action.get_ref<const std::string&>() : nullptr;
      if (act == nullptr || (*act != "added" && *act != "removed")) {
        fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                            "'action' must be \"added\" or \"removed\" next to 'columns', got ",
                            action.dump());
      }
      if (rules == nullptr || (*act == "removed" && removed_value == 0.0)) {
        ++stats.skipped;
      } else {
        mapper.map(*columns, *rules, entity, *act == "added" ? 1.0 : removed_value, line_no);
      }
    } else {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                          "neither 'columns', 'snapshot' nor 'diffResults': not an osquery "
                          "result line");
    }
  }
  if (in.bad()) internal::fail(ErrorCode::io_error, kWhere, "read failed after line ", line_no);
  stats.lines = line_no;
  return stats;
}

ReadStats read_events_osquery(const std::filesystem::path& path, const EventSink& sink,
                              const EventReadOptions& options) {
  std::ifstream in = fleet::open_for_reading(path, kWhere);
  EventReadOptions named = options;
  if (named.source_name.empty()) named.source_name = path.string();
  return read_events_osquery(in, sink, named);
}

}  // namespace stray
