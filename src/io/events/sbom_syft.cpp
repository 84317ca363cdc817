// syft's own JSON (github.com/anchore/syft, schema/json): what `syft -o
// json` writes.
#include <string>

#include "io/events/event_io.hpp"
#include "io/events/sbom_formats.hpp"
#include "io/events/sbom_package_type.hpp"

namespace stray::fleet {

namespace {

// What the user scanned, as syft recorded it: schema 7+ keeps it in
// source.metadata (userInput for images, path for directories), older
// schemas in source.target (an object with userInput, or the path).
std::optional<std::string_view> syft_entity(const Json& document, SbomDocument& doc) {
  const Json* source = doc.object_at(document, "$", "source");
  if (source == nullptr) return std::nullopt;
  if (const Json* meta = doc.object_at(*source, "$.source", "metadata")) {
    for (const char* key : {"userInput", "path"}) {
      const auto v = doc.string_at(*meta, "$.source.metadata", key);
      if (v && !v->empty()) return v;
    }
  }
  const auto target = source->find("target");
  if (target != source->end() && target->is_string()) {
    const std::string_view v = target->get_ref<const std::string&>();
    if (!v.empty()) return v;
  } else if (target != source->end() && target->is_object()) {
    const auto v = doc.string_at(*target, "$.source.target", "userInput");
    if (v && !v->empty()) return v;
  } else if (target != source->end() && !target->is_null()) {
    doc.fail("$.source.target", "expected a string or an object");
  }
  return doc.string_at(*source, "$.source", "name");
}

void read_artifact(const Json& artifact, const std::string& path, SbomDocument& doc) {
  doc.expect_object(artifact, path);
  const std::string_view name = doc.required_string(artifact, path, "name");
  const auto version = doc.string_at(artifact, path, "version");
  const std::string_view purl_kind =
      purl_type(doc.string_at(artifact, path, "purl").value_or(std::string_view{}));
  if (is_image_purl_type(purl_kind)) {
    doc.skip();
    return;
  }
  std::string type = package_type(doc.string_at(artifact, path, "type").value_or(""));
  if (type.empty()) type = package_type(purl_kind);
  doc.package(type, name, version);
}

}  // namespace

void read_syft(const Json& document, SbomDocument& doc) {
  doc.set_entity(syft_entity(document, doc), "$.source");
  if (const Json* distro = doc.object_at(document, "$", "distro")) {
    const auto id = doc.string_at(*distro, "$.distro", "id");
    if (id && !id->empty()) doc.package("os", *id, doc.string_at(*distro, "$.distro", "versionID"));
  }
  const Json* artifacts = doc.array_at(document, "$", "artifacts");
  if (artifacts == nullptr) return;
  for (std::size_t i = 0; i < artifacts->size(); ++i) {
    read_artifact((*artifacts)[i], json_path("$.artifacts", i), doc);
  }
}

}  // namespace stray::fleet
