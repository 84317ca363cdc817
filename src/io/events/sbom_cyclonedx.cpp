// CycloneDX JSON documents (cyclonedx.org/specification/overview).
#include <string>

#include "io/events/event_io.hpp"
#include "io/events/sbom_formats.hpp"
#include "io/events/sbom_package_type.hpp"

namespace stray::fleet {

namespace {

void read_components(const Json& parent, const std::string& path, SbomDocument& doc);

void read_component(const Json& component, const std::string& path, SbomDocument& doc) {
  doc.expect_object(component, path);
  const std::string_view name = doc.required_string(component, path, "name");
  const auto version = doc.string_at(component, path, "version");
  const auto type = doc.string_at(component, path, "type");  // CycloneDX's classification
  const std::string_view purl_kind =
      purl_type(doc.string_at(component, path, "purl").value_or(std::string_view{}));
  const Json* nested = doc.array_at(component, path, "components");
  if (type == "file" || type == "container" || is_image_purl_type(purl_kind)) {
    doc.skip();
  } else if (type == "operating-system") {
    doc.package("os", name, version);
  } else if (purl_kind.empty() && nested != nullptr && !nested->empty()) {
    doc.skip();  // a grouping of packages (a lock file), not one
  } else {
    doc.package(package_type(purl_kind), name, version);
  }
  read_components(component, path, doc);
}

// Recursion is bounded by the parser's depth limit (kMaxSbomDepth).
void read_components(const Json& parent, const std::string& path, SbomDocument& doc) {
  const Json* list = doc.array_at(parent, path, "components");
  if (list == nullptr) return;
  const std::string list_path = json_path(path, "components");
  for (std::size_t i = 0; i < list->size(); ++i) {
    read_component((*list)[i], json_path(list_path, i), doc);
  }
}

}  // namespace

void read_cyclonedx(const Json& document, SbomDocument& doc) {
  const std::string_view format = doc.required_string(document, "$", "bomFormat");
  if (format != "CycloneDX") doc.fail("$.bomFormat", quoted(format), " is not \"CycloneDX\"");
  doc.string_at(document, "$", "specVersion");  // any 1.x: the fields read are in all
  std::optional<std::string_view> name;
  if (const Json* metadata = doc.object_at(document, "$", "metadata")) {
    if (const Json* component = doc.object_at(*metadata, "$.metadata", "component")) {
      name = doc.string_at(*component, "$.metadata.component", "name");
    }
  }
  doc.set_entity(name, "$.metadata.component.name");
  read_components(document, "$", doc);
}

}  // namespace stray::fleet
