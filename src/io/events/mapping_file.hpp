// What the osquery and JSON log mapping files share: a bounded read, JSON
// parsed with its limit checked, and members a mapping does not know.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace stray::fleet {

/// The file's text, at most `limit` + 1 bytes: one byte past the limit
/// tells a file too large without reading all of it. ErrorCode::io_error
/// naming `where` and the file when it cannot be opened or read.
std::string read_mapping_text(const std::filesystem::path& path, std::size_t limit,
                              const char* where);

/// `text` parsed; ErrorCode::parse_error naming `where` and `source` ("" or
/// "path: ") when it is longer than `limit` or not JSON.
nlohmann::json parse_mapping_json(std::string_view text, std::size_t limit, const char* where,
                                  const std::string& source);

/// The first member of `object` whose name is not one of `known`, if any.
std::optional<std::string> unknown_member(const nlohmann::json& object,
                                          std::initializer_list<const char*> known);

}  // namespace stray::fleet
