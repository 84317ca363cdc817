#include "io/events/mapping_file.hpp"

#include <fstream>

#include "core/check.hpp"

namespace stray::fleet {

std::string read_mapping_text(const std::filesystem::path& path, std::size_t limit,
                              const char* where) {
  std::ifstream in(path, std::ios::binary);
  internal::require(static_cast<bool>(in), ErrorCode::io_error, where, "cannot open ",
                    path.string());
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  internal::require(!in.bad(), ErrorCode::io_error, where, "cannot read ", path.string());
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

nlohmann::json parse_mapping_json(std::string_view text, std::size_t limit, const char* where,
                                  const std::string& source) {
  internal::require(text.size() <= limit, ErrorCode::parse_error, where, source,
                    "the mapping has ", text.size(), " bytes, more than ", limit);
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    internal::fail(ErrorCode::parse_error, where, source, "not valid JSON: ",
                   internal::printable(e.what()));
  }
}

std::optional<std::string> unknown_member(const nlohmann::json& object,
                                          std::initializer_list<const char*> known) {
  for (const auto& [key, value] : object.items()) {
    bool is_known = false;
    for (const char* k : known) is_known = is_known || key == k;
    if (!is_known) return key;
  }
  return std::nullopt;
}

}  // namespace stray::fleet
