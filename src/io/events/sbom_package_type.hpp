// A package's type for its event group, package.<type>: from a purl's type
// or an SBOM tool's own type field, in syft's names (the ones people see
// in syft and grype output), so the same package reads the same whatever
// tool made the SBOM.
#pragma once

#include <string>
#include <string_view>

namespace stray::fleet {

/// The type of a package URL, "pkg:deb/debian/bash@5.2" -> "deb"
/// (lower-cased; the spec allows slashes after "pkg:"); "" when `purl` is
/// no purl or names no type ("pkg:/bash", "pkg:bash").
std::string_view purl_type(std::string_view purl);

/// The purl types whose packages are the container image itself rather
/// than something installed in it ("oci", "docker").
bool is_image_purl_type(std::string_view type);

/// The group suffix for a purl type or a tool's type: purl types mapped to
/// syft's names (pypi -> python, golang -> go-module, maven ->
/// java-archive, cargo -> rust-crate, composer -> php-composer, nuget ->
/// dotnet, gem, npm, deb, apk, rpm kept ...), anything else lower-cased as
/// it is. "" (unknown) for an empty type, or one longer than 64 bytes or with
/// bytes other than letters, digits and ".+-_" (a group must stay a name).
std::string package_type(std::string_view type);

}  // namespace stray::fleet
