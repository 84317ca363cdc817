// Package types: purl types and SBOM tools' type fields, in one vocabulary.
#include "io/events/sbom_package_type.hpp"

#include <array>
#include <utility>

namespace stray::fleet {

namespace {

// purl types (github.com/package-url/purl-spec) whose syft name differs.
constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kRenamed{{
    {"pypi", "python"},
    {"golang", "go-module"},
    {"maven", "java-archive"},
    {"cargo", "rust-crate"},
    {"composer", "php-composer"},
    {"nuget", "dotnet"},
    {"pub", "dart-pub"},
    {"cocoapods", "pod"},
    {"cran", "r-package"},
}};

constexpr std::size_t kMaxTypeBytes = 64;

bool is_name_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-' ||
         c == '_';
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string_view purl_type(std::string_view purl) {
  if (purl.size() < 4) return {};
  for (std::size_t i = 0; i < 4; ++i) {
    if (lower(purl[i]) != "pkg:"[i]) return {};
  }
  purl.remove_prefix(4);
  while (!purl.empty() && purl.front() == '/') purl.remove_prefix(1);
  const std::size_t slash = purl.find('/');
  if (slash == std::string_view::npos) return {};  // a type needs a name after it
  return purl.substr(0, slash);
}

bool is_image_purl_type(std::string_view type) {
  const std::string t = package_type(type);
  return t == "oci" || t == "docker";
}

std::string package_type(std::string_view type) {
  if (type.empty() || type.size() > kMaxTypeBytes) return {};
  std::string out;
  out.reserve(type.size());
  for (const char c : type) {
    const char l = lower(c);
    if (!is_name_byte(l)) return {};
    out.push_back(l);
  }
  for (const auto& [from, to] : kRenamed) {
    if (out == from) return std::string(to);
  }
  return out;
}

}  // namespace stray::fleet
