// SbomDocument: typed JSON access with path-naming errors, and events.
#include "io/events/sbom_document.hpp"

#include <string>

#include "io/events/event_io.hpp"

namespace stray::fleet {

std::string json_path(std::string_view parent, std::string_view key) {
  std::string out(parent);
  out += '.';
  out += key;
  return out;
}

std::string json_path(std::string_view parent, std::size_t index) {
  std::string out(parent);
  out += '[';
  out += std::to_string(index);
  out += ']';
  return out;
}

namespace {

const char* type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::binary: return "binary data";
    case Json::value_t::discarded: return "nothing";
    default: return "a number";
  }
}

// The member `key` of `object` (an object), or nullptr when absent or null.
const Json* member(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

SbomDocument::SbomDocument(const EventSink& sink, const EventReadOptions& options,
                           std::string source, std::string fallback_entity)
    : sink_(sink),
      options_(options),
      source_(std::move(source)),
      fallback_entity_(std::move(fallback_entity)) {}

std::optional<std::string_view> SbomDocument::string_at(const Json& object,
                                                        std::string_view parent,
                                                        std::string_view key) const {
  const Json* v = member(object, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) fail(json_path(parent, key), "expected a string, got ", type_name(*v));
  return std::string_view(v->get_ref<const std::string&>());
}

const Json* SbomDocument::array_at(const Json& object, std::string_view parent,
                                   std::string_view key) const {
  const Json* v = member(object, key);
  if (v != nullptr && !v->is_array())
    fail(json_path(parent, key), "expected an array, got ", type_name(*v));
  return v;
}

const Json* SbomDocument::object_at(const Json& object, std::string_view parent,
                                    std::string_view key) const {
  const Json* v = member(object, key);
  if (v != nullptr && !v->is_object())
    fail(json_path(parent, key), "expected an object, got ", type_name(*v));
  return v;
}

std::string_view SbomDocument::required_string(const Json& object, std::string_view parent,
                                               std::string_view key) const {
  const auto v = string_at(object, parent, key);
  if (!v) fail(json_path(parent, key), "missing (expected a string)");
  if (v->empty()) fail(json_path(parent, key), "empty string");
  return *v;
}

void SbomDocument::expect_object(const Json& value, std::string_view path) const {
  if (!value.is_object()) fail(path, "expected an object, got ", type_name(value));
}

void SbomDocument::set_entity(std::optional<std::string_view> named, std::string_view path) {
  if (named && !named->empty() && !options_.sbom_entity_from_file_name) {
    entity_.assign(*named);
  } else if (!fallback_entity_.empty()) {
    entity_ = fallback_entity_;
  } else {
    fail(path, "the document names no entity and the input has no file name to name it by");
  }
}

void SbomDocument::package(std::string_view type, std::string_view name,
                           std::optional<std::string_view> version) {
  ++stats_.records;
  std::string group = "package";
  if (!type.empty()) {
    group += '.';
    group += type;
  }
  if (!seen_.emplace(group, std::string(name)).second) {
    ++stats_.skipped;  // listed twice (syft: one package found at two paths)
  } else {
    emit(group, name);
  }
  if (options_.sbom_versions && version && !version->empty()) {
    std::string feature(name);
    feature += '@';
    feature += *version;
    if (seen_.emplace("version", feature).second) emit("version", feature);
  }
}

void SbomDocument::emit(std::string_view group, std::string_view feature) {
  Event e;
  e.entity = entity_;
  e.group = group;
  e.feature = feature;
  sink_(e);
  ++stats_.events;
}

}  // namespace stray::fleet
