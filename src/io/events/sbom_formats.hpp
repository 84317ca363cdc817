// The SBOM formats stray reads, each a walk over its parsed document that
// hands the entity and the packages to an SbomDocument.
#pragma once

#include <optional>

#include "io/events/sbom_document.hpp"

namespace stray::fleet {

enum class SbomKind { spdx, cyclonedx, syft };

/// Told by the top-level keys: "spdxVersion" SPDX, "bomFormat" CycloneDX,
/// "artifacts" syft; nullopt for none (or a document that is no object).
std::optional<SbomKind> sbom_kind(const Json& document);

/// SPDX 2.x JSON: entity `name`; `packages`, typed by their purl
/// (externalRefs of referenceType "purl"); relationships and files are not
/// read. Packages of primaryPackagePurpose CONTAINER or FILE, or with an
/// oci/docker purl, are skipped (the image itself); OPERATING-SYSTEM is
/// package.os.
void read_spdx(const Json& document, SbomDocument& doc);

/// CycloneDX JSON: entity `metadata.component.name`; `components`, nested
/// ones included, typed by their purl. "file" and "container" components
/// and oci/docker purls are skipped, "operating-system" is package.os, and a
/// component without a purl that holds components is a grouping (trivy's
/// lock files), skipped while its components are read.
void read_cyclonedx(const Json& document, SbomDocument& doc);

/// syft JSON: entity from `source` (the user's input, its target, its
/// path or name); `artifacts`, typed by syft's `type` (else their purl);
/// `distro.id` is package.os.
void read_syft(const Json& document, SbomDocument& doc);

}  // namespace stray::fleet
