// JSON Lines events: {"entity": .., "group": .., "feature": .., "value": ..}.
#include <istream>
#include <nlohmann/json.hpp>
#include <string>

#include "fleet/event_io.hpp"
#include "stray/events.hpp"

namespace stray {
namespace {

constexpr const char* kWhere = "read_events_jsonl";

}  // namespace

ReadStats read_events_jsonl(std::istream& in, const EventSink& sink,
                            const EventReadOptions& options) {
  ReadStats stats;
  std::string line;
  std::string feature_text;  // a numeric feature (port) spelt as text
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
    Event e;
    const auto entity = obj.find("entity");
    if (entity == obj.end() || !entity->is_string() || entity->get_ref<const std::string&>().empty()) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                          "'entity' is missing, empty or not a string");
    }
    e.entity = entity->get_ref<const std::string&>();

    const auto feature = obj.find("feature");
    if (feature != obj.end() && feature->is_string()) {
      e.feature = feature->get_ref<const std::string&>();
    } else if (feature != obj.end() && feature->is_number_integer()) {
      feature_text = feature->dump();  // ports and ids written as numbers
      e.feature = feature_text;
    }
    if (e.feature.empty()) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                          "'feature' is missing, empty or neither a string nor an integer");
    }

    const auto group = obj.find("group");
    if (group != obj.end() && !group->is_null()) {
      if (!group->is_string()) {
        fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                            "'group' is not a string");
      }
      e.group = group->get_ref<const std::string&>();
    }
    if (e.group.empty()) e.group = options.default_group;
    if (e.group.find(':') != std::string_view::npos) {
      fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no, "group ",
                          fleet::quoted(e.group), " contains ':'");
    }

    const auto value = obj.find("value");
    if (value != obj.end() && !value->is_null()) {
      if (!value->is_number()) {
        fleet::fail_at_line(ErrorCode::parse_error, kWhere, options, line_no,
                            "'value' is not a number: ", value->dump());
      }
      e.value = value->get<double>();
      if (!std::isfinite(e.value)) {
        fleet::fail_at_line(ErrorCode::non_finite_input, kWhere, options, line_no,
                            "'value' is not finite");
      }
    }
    sink(e);
    ++stats.events;
  }
  if (in.bad()) internal::fail(ErrorCode::io_error, kWhere, "read failed after line ", line_no);
  stats.lines = line_no;
  return stats;
}

ReadStats read_events_jsonl(const std::filesystem::path& path, const EventSink& sink,
                            const EventReadOptions& options) {
  std::ifstream in = fleet::open_for_reading(path, kWhere);
  EventReadOptions named = options;
  if (named.source_name.empty()) named.source_name = path.string();
  return read_events_jsonl(in, sink, named);
}

}  // namespace stray
