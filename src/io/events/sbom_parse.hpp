// Parsing an SBOM document into a DOM of only what events come from.
#pragma once

#include <string>

#include "io/events/sbom_document.hpp"

namespace stray::fleet {

/// Parses `text` (strict JSON, UTF-8), keeping the top-level keys the
/// formats read and dropping bulky keys below (syft's per-package metadata
/// and file lists, licenses, hashes, properties) as they are read.
/// parse_error naming `source` for invalid JSON and for objects and
/// arrays nested deeper than kMaxSbomDepth. Time and memory are linear in
/// the text (nlohmann's own filtering parser rescans an array after each
/// element it ends: quadratic on a long package list).
Json parse_sbom_json(const std::string& text, const std::string& source);

}  // namespace stray::fleet
