// SPDX 2.x JSON documents (spdx.github.io/spdx-spec/v2.3).
#include <string>

#include "io/events/event_io.hpp"
#include "io/events/sbom_formats.hpp"
#include "io/events/sbom_package_type.hpp"

namespace stray::fleet {

namespace {

// The package URL among a package's external references, or "".
std::string_view spdx_purl(const Json& package, const std::string& path, SbomDocument& doc) {
  const Json* refs = doc.array_at(package, path, "externalRefs");
  if (refs == nullptr) return {};
  const std::string refs_path = json_path(path, "externalRefs");
  for (std::size_t i = 0; i < refs->size(); ++i) {
    const std::string ref_path = json_path(refs_path, i);
    const Json& ref = (*refs)[i];
    doc.expect_object(ref, ref_path);
    if (doc.string_at(ref, ref_path, "referenceType") != "purl") continue;
    return doc.string_at(ref, ref_path, "referenceLocator").value_or(std::string_view{});
  }
  return {};
}

void read_spdx_package(const Json& package, const std::string& path, SbomDocument& doc) {
  doc.expect_object(package, path);
  const std::string_view name = doc.required_string(package, path, "name");
  const auto version = doc.string_at(package, path, "versionInfo");
  const auto purpose = doc.string_at(package, path, "primaryPackagePurpose");
  const std::string_view purl_kind = purl_type(spdx_purl(package, path, doc));
  if (purpose == "CONTAINER" || purpose == "FILE" || is_image_purl_type(purl_kind)) {
    doc.skip();
  } else if (purpose == "OPERATING-SYSTEM") {
    doc.package("os", name, version);
  } else {
    doc.package(package_type(purl_kind), name, version);
  }
}

}  // namespace

void read_spdx(const Json& document, SbomDocument& doc) {
  const std::string_view version = doc.required_string(document, "$", "spdxVersion");
  if (version.substr(0, 7) != "SPDX-2.") {
    doc.fail("$.spdxVersion", quoted(version), " is not SPDX 2.x (stray reads SPDX 2.x JSON)");
  }
  doc.set_entity(doc.string_at(document, "$", "name"), "$.name");
  const Json* packages = doc.array_at(document, "$", "packages");
  if (packages == nullptr) return;
  for (std::size_t i = 0; i < packages->size(); ++i) {
    read_spdx_package((*packages)[i], json_path("$.packages", i), doc);
  }
}

}  // namespace stray::fleet
