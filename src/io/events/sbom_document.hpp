// One SBOM document being turned into events: typed access to its JSON that
// names the JSON path of what is wrong, and the packages it yields, once
// each, for its entity.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/check.hpp"
#include "stray/io/events.hpp"

namespace stray::fleet {

using Json = nlohmann::json;

/// A JSON path for messages: "$", "$.packages[3].name".
std::string json_path(std::string_view parent, std::string_view key);
std::string json_path(std::string_view parent, std::size_t index);

class SbomDocument {
 public:
  /// `source` names the input in messages; `fallback_entity` is the
  /// entity when the document names none (empty: there is none).
  SbomDocument(const EventSink& sink, const EventReadOptions& options, std::string source,
               std::string fallback_entity);

  /// "read_events_sbom: SOURCE: PATH: message", a parse_error.
  template <typename... Parts>
  [[noreturn]] void fail(std::string_view path, const Parts&... parts) const;

  /// Members of an object: absent or null is nullopt / nullptr; another
  /// JSON type than asked for is an error naming parent.key.
  std::optional<std::string_view> string_at(const Json& object, std::string_view parent,
                                            std::string_view key) const;
  const Json* array_at(const Json& object, std::string_view parent, std::string_view key) const;
  const Json* object_at(const Json& object, std::string_view parent, std::string_view key) const;
  /// A member that must be a non-empty string.
  std::string_view required_string(const Json& object, std::string_view parent,
                                   std::string_view key) const;
  /// `value` itself must be an object (an element of an array at `path`).
  void expect_object(const Json& value, std::string_view path) const;

  /// The entity: `named` when given (and not overridden by
  /// sbom_entity_from_file_name), else the file's name; an error at
  /// `path` when neither is there. Call once, before package().
  void set_entity(std::optional<std::string_view> named, std::string_view path);

  /// A package of the entity: (package.<type>, name) — "package" alone
  /// for an unknown (empty) type — and, with sbom_versions, (version,
  /// name@version). A package seen before in this document is counted
  /// as skipped.
  void package(std::string_view type, std::string_view name,
               std::optional<std::string_view> version);
  /// Counts an entry that is no package of the entity (the image itself, a
  /// file).
  void skip() {
    ++stats_.records;
    ++stats_.skipped;
  }

  ReadStats& stats() { return stats_; }

 private:
  void emit(std::string_view group, std::string_view feature);

  const EventSink& sink_;
  const EventReadOptions& options_;
  std::string source_;
  std::string fallback_entity_;
  std::string entity_;
  std::set<std::pair<std::string, std::string>> seen_;  // (group, feature)
  ReadStats stats_;
};

template <typename... Parts>
void SbomDocument::fail(std::string_view path, const Parts&... parts) const {
  internal::fail(ErrorCode::parse_error, "read_events_sbom", source_, ": ", path, ": ", parts...);
}

}  // namespace stray::fleet
