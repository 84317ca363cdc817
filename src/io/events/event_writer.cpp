// EventWriter: events out in the readers' formats.
#include <charconv>
#include <cmath>
#include <ctime>
#include <optional>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/check.hpp"
#include "io/events/ip_network.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

constexpr const char* kWhere = "EventWriter";

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void append_number(std::string& out, double v) {
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? ptr : buf);
}

// RFC 4180: quote fields holding separators, quotes, line breaks, or blanks
// at either end (the reader trims unquoted blanks).
void append_csv_field(std::string& out, std::string_view s) {
  bool quote = !s.empty() && (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' ||
                              s.back() == '\t');
  for (const char c : s) quote = quote || c == ',' || c == '"' || c == '\n' || c == '\r';
  if (!quote) {
    out.append(s);
    return;
  }
  out.push_back('"');
  for (const char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string calendar_time(int64_t unix_time) {
  const std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%a %b %d %H:%M:%S %Y UTC", &tm);
  return std::string(buf, n);
}

}  // namespace

struct EventWriter::Impl {
  std::ostream& out;
  EventFormat format;
  EventWriteOptions options;
  std::string line;           // the line write() is composing
  std::string snapshot_line;  // a flushed snapshot line (flushes happen inside write())
  int64_t written = 0;
  bool finished = false;

  // osquery: group -> rule, and the fixed tail of every line.
  std::unordered_map<std::string, const OsqueryColumnRule*> rule_of_group;
  std::string time_fields;  // "calendarTime":..,"unixTime":..,"epoch":0,"counter":0,"numerics":false

  // osquery-snapshot: the current entity's rows per query.
  std::string current_entity;
  std::vector<std::string> query_order;
  std::unordered_map<std::string, std::string> rows_of_query;  // query -> "{..},{..}"

  Impl(std::ostream& o, EventFormat f, const EventWriteOptions& opt)
      : out(o), format(f), options(opt) {
    // SBOMs are a source of events only: what they are made of (a
    // document per host, packages with purls) cannot be rebuilt from events.
    internal::require(format != EventFormat::sbom && format != EventFormat::json_log,
                      ErrorCode::invalid_argument, kWhere, to_string(format),
                      " is a format stray reads, not one it writes");
    for (const auto& r : options.osquery.rules) rule_of_group.emplace(r.group, &r);
    time_fields = "\"calendarTime\":";
    append_json_string(time_fields, calendar_time(options.osquery_unix_time));
    time_fields += ",\"unixTime\":" + std::to_string(options.osquery_unix_time) +
                   ",\"epoch\":0,\"counter\":0,\"numerics\":false";
    if (format == EventFormat::csv) out << "entity,group,feature,value\n";
  }

  const OsqueryColumnRule& rule_for(std::string_view group) {
    const auto it = rule_of_group.find(std::string(group));
    if (it == rule_of_group.end()) {
      internal::fail(ErrorCode::invalid_argument, kWhere, "no osquery mapping rule produces group '",
                     group, "', so its events cannot be written as an osquery log");
    }
    return *it->second;
  }

  // The column value that reads back as `feature` (a network is written as
  // its network address, which the reader turns back into the network).
  static std::string_view column_value(const OsqueryColumnRule& rule, std::string_view feature) {
    const std::size_t slash = feature.rfind('/');
    if (slash == std::string_view::npos || (rule.ipv4_prefix <= 0 && rule.ipv6_prefix <= 0)) {
      return feature;
    }
    const std::string_view address = feature.substr(0, slash);
    const std::optional<fleet::IpAddress> parsed = fleet::parse_ip_address(address);
    if (!parsed) return feature;
    const int prefix = parsed->ipv6 ? rule.ipv6_prefix : rule.ipv4_prefix;
    return prefix > 0 && fleet::ip_network_text(*parsed, prefix) == feature ? address : feature;
  }

  static int64_t row_count(double value) {
    const double r = std::round(value);
    return r < 1.0 ? 1 : static_cast<int64_t>(r);
  }

  void flush_snapshot() {
    for (const auto& query : query_order) {
      std::string& snap = snapshot_line;
      snap.clear();
      snap += "{\"snapshot\":[";
      snap += rows_of_query[query];
      snap += "],\"action\":\"snapshot\",\"name\":";
      append_json_string(snap, query);
      snap += ",\"hostIdentifier\":";
      append_json_string(snap, current_entity);
      snap += ',';
      snap += time_fields;
      snap += "}\n";
      out.write(snap.data(), static_cast<std::streamsize>(snap.size()));
    }
    query_order.clear();
    rows_of_query.clear();
  }

  void write(const Event& e) {
    internal::require(!finished, ErrorCode::invalid_argument, kWhere, "write after finish()");
    internal::require(std::isfinite(e.value), ErrorCode::non_finite_input, kWhere, "value of ",
                      e.entity, " ", e.group, ":", e.feature, " is not finite");
    line.clear();
    switch (format) {
      case EventFormat::csv:
        append_csv_field(line, e.entity);
        line.push_back(',');
        append_csv_field(line, e.group);
        line.push_back(',');
        append_csv_field(line, e.feature);
        line.push_back(',');
        append_number(line, e.value);
        line.push_back('\n');
        break;
      case EventFormat::jsonl:
        line += "{\"entity\":";
        append_json_string(line, e.entity);
        line += ",\"group\":";
        append_json_string(line, e.group);
        line += ",\"feature\":";
        append_json_string(line, e.feature);
        line += ",\"value\":";
        append_number(line, e.value);
        line += "}\n";
        break;
      case EventFormat::osquery: {
        const OsqueryColumnRule& rule = rule_for(e.group);
        std::string one;
        one += "{\"name\":";
        append_json_string(one, rule.query);
        one += ",\"hostIdentifier\":";
        append_json_string(one, e.entity);
        one += ',';
        one += time_fields;
        one += ",\"columns\":{";
        append_json_string(one, rule.column);
        one += ':';
        append_json_string(one, column_value(rule, e.feature));
        one += "},\"action\":\"added\"}\n";
        for (int64_t k = row_count(e.value); k > 0; --k) line += one;
        break;
      }
      case EventFormat::osquery_snapshot: {
        const OsqueryColumnRule& rule = rule_for(e.group);
        if (e.entity != current_entity) {
          flush_snapshot();
          current_entity.assign(e.entity);
        }
        auto [it, inserted] = rows_of_query.try_emplace(rule.query);
        if (inserted) query_order.push_back(rule.query);
        std::string row = "{";
        append_json_string(row, rule.column);
        row += ':';
        append_json_string(row, column_value(rule, e.feature));
        row += '}';
        for (int64_t k = row_count(e.value); k > 0; --k) {
          if (!it->second.empty()) it->second += ',';
          it->second += row;
        }
        break;
      }
      case EventFormat::sbom:
      case EventFormat::json_log: break;  // refused by the constructor
    }
    if (!line.empty()) out.write(line.data(), static_cast<std::streamsize>(line.size()));
    ++written;
  }

  void finish() {
    if (finished) return;
    finished = true;
    if (format == EventFormat::osquery_snapshot) flush_snapshot();
    out.flush();
    internal::require(static_cast<bool>(out), ErrorCode::io_error, kWhere,
                      "writing events failed");
  }
};

EventWriter::EventWriter(std::ostream& out, EventFormat format, const EventWriteOptions& options)
    : impl_(std::make_unique<Impl>(out, format, options)) {}

EventWriter::~EventWriter() {
  try {
    if (impl_) impl_->finish();
  } catch (...) {  // NOLINT(bugprone-empty-catch): destructors must not throw
  }
}

void EventWriter::write(const Event& event) { impl_->write(event); }
void EventWriter::finish() { impl_->finish(); }
EventSink EventWriter::sink() {
  return [this](const Event& e) { impl_->write(e); };
}
int64_t EventWriter::events_written() const { return impl_->written; }

}  // namespace stray
