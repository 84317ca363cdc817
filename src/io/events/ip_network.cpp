// Parsing IPv4 / IPv6 text and writing networks. The accepted spellings are
// pinned to Python's `ipaddress` by tests/fixtures/network_golden.csv.
#include "io/events/ip_network.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace stray::fleet {
namespace {

constexpr int kGroups = 8;  // 16-bit groups in an IPv6 address

std::optional<uint32_t> parse_ipv4(std::string_view text) {
  uint32_t address = 0;
  std::size_t pos = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    const std::size_t start = pos;
    unsigned value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
      value = value * 10 + static_cast<unsigned>(text[pos] - '0');
      ++pos;
    }
    const std::size_t digits = pos - start;
    if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) return std::nullopt;
    address = (address << 8) | value;
  }
  if (pos != text.size()) return std::nullopt;
  return address;
}

std::optional<uint16_t> parse_group(std::string_view text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  unsigned value = 0;
  for (const char c : text) {
    unsigned digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    value = value * 16 + digit;
  }
  return static_cast<uint16_t>(value);
}

// The ':'-separated parts of `text`, a dotted IPv4 tail replaced by its two
// groups; nothing when the tail is a bad IPv4 or there are too few or too
// many parts for an address.
std::optional<std::vector<std::string_view>> ipv6_parts(std::string_view text,
                                                        uint32_t* tail_ipv4, bool* has_tail) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
    if (parts.size() > kGroups + 2) return std::nullopt;
  }
  if (parts.size() < 3) return std::nullopt;
  *has_tail = parts.back().find('.') != std::string_view::npos;
  if (*has_tail) {
    const std::optional<uint32_t> v4 = parse_ipv4(parts.back());
    if (!v4) return std::nullopt;
    *tail_ipv4 = *v4;
    parts.back() = "tail-high";  // placeholders: the groups come from *tail_ipv4
    parts.push_back("tail-low");
  }
  if (parts.size() > kGroups + 1) return std::nullopt;
  return parts;
}

// Where "::" stands (an index into parts) and how many groups it stands for;
// false when the parts cannot make eight groups.
bool find_gap(const std::vector<std::string_view>& parts, std::size_t* gap, int* skipped) {
  const std::size_t n = parts.size();
  std::optional<std::size_t> empty;
  for (std::size_t i = 1; i + 1 < n; ++i) {
    if (!parts[i].empty()) continue;
    if (empty) return false;  // "::" twice
    empty = i;
  }
  if (!empty) {
    *gap = n;
    *skipped = 0;
    return n == kGroups && !parts.front().empty() && !parts.back().empty();
  }
  int before = static_cast<int>(*empty), after = static_cast<int>(n - *empty - 1);
  // A leading or trailing ':' is only allowed as half of "::".
  if (parts.front().empty() && --before != 0) return false;
  if (parts.back().empty() && --after != 0) return false;
  *gap = *empty;
  *skipped = kGroups - before - after;
  return *skipped >= 1;
}

std::optional<IpAddress> parse_ipv6(std::string_view text) {
  const std::size_t percent = text.find('%');
  if (percent != std::string_view::npos) {
    const std::string_view zone = text.substr(percent + 1);
    if (zone.empty() || zone.find('%') != std::string_view::npos) return std::nullopt;
    text = text.substr(0, percent);
  }
  uint32_t tail = 0;
  bool has_tail = false;
  const auto parts = ipv6_parts(text, &tail, &has_tail);
  std::size_t gap = 0;
  int skipped = 0;
  if (!parts || !find_gap(*parts, &gap, &skipped)) return std::nullopt;
  std::array<uint16_t, kGroups> groups{};
  int g = 0;
  const std::size_t n = parts->size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view part = (*parts)[i];
    if (i == gap) {
      g += skipped;
    } else if (part.empty() && (i == 0 || i + 1 == n)) {
      continue;  // the outer half of a leading or trailing "::"
    } else if (has_tail && i + 2 >= n) {
      groups[static_cast<std::size_t>(g++)] =
          static_cast<uint16_t>(i + 2 == n ? tail >> 16 : tail & 0xffffu);
    } else {
      const std::optional<uint16_t> value = parse_group(part);
      if (!value) return std::nullopt;
      groups[static_cast<std::size_t>(g++)] = *value;
    }
  }
  IpAddress a;
  a.ipv6 = true;
  for (int i = 0; i < kGroups; ++i) {
    a.bytes[static_cast<std::size_t>(2 * i)] = static_cast<uint8_t>(groups[i] >> 8);
    a.bytes[static_cast<std::size_t>(2 * i + 1)] = static_cast<uint8_t>(groups[i] & 0xffu);
  }
  return a;
}

IpAddress ipv4_address(uint32_t v) {
  IpAddress a;
  for (int i = 0; i < 4; ++i) a.bytes[static_cast<std::size_t>(i)] = static_cast<uint8_t>(v >> (24 - 8 * i));
  return a;
}

// ::ffff:a.b.c.d (RFC 4291 2.5.5.2) as a.b.c.d.
std::optional<IpAddress> mapped_ipv4(const IpAddress& a) {
  for (std::size_t i = 0; i < 10; ++i) {
    if (a.bytes[i] != 0) return std::nullopt;
  }
  if (a.bytes[10] != 0xff || a.bytes[11] != 0xff) return std::nullopt;
  IpAddress v4;
  std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.bytes.begin());
  return v4;
}

std::string ipv6_text(const std::array<uint16_t, kGroups>& groups) {
  // RFC 5952 4.2: the longest run of two or more zero groups becomes "::",
  // the first of equal runs.
  int best = -1, best_len = 1;
  for (int i = 0; i < kGroups;) {
    int j = i;
    while (j < kGroups && groups[static_cast<std::size_t>(j)] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j > i ? j : i + 1;
  }
  std::string out;
  char buf[8];
  for (int i = 0; i < kGroups; ++i) {
    if (i == best) {
      out += i == 0 ? "::" : ":";
      i += best_len - 1;
      continue;
    }
    std::snprintf(buf, sizeof buf, "%x", static_cast<unsigned>(groups[static_cast<std::size_t>(i)]));
    out += buf;
    if (i + 1 < kGroups) out += ':';
  }
  return out;
}

}  // namespace

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  if (const std::optional<uint32_t> v4 = parse_ipv4(text)) return ipv4_address(*v4);
  std::optional<IpAddress> v6 = parse_ipv6(text);
  if (v6) {
    if (std::optional<IpAddress> v4 = mapped_ipv4(*v6)) return v4;
  }
  return v6;
}

bool is_unspecified(const IpAddress& address) {
  const std::size_t width = address.ipv6 ? 16 : 4;
  return std::all_of(address.bytes.begin(), address.bytes.begin() + static_cast<std::ptrdiff_t>(width),
                     [](uint8_t b) { return b == 0; });
}

std::string ip_network_text(const IpAddress& address, int prefix) {
  const int width = address.ipv6 ? 128 : 32;
  const int p = std::clamp(prefix, 0, width);
  std::array<uint8_t, 16> net{};
  for (int bit = 0; bit < p; ++bit) {
    const auto byte = static_cast<std::size_t>(bit / 8);
    const auto mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    net[byte] = static_cast<uint8_t>(net[byte] | (address.bytes[byte] & mask));
  }
  char buf[24];
  if (!address.ipv6) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u/%d", net[0], net[1], net[2], net[3], p);
    return buf;
  }
  std::array<uint16_t, kGroups> groups{};
  for (std::size_t i = 0; i < groups.size(); ++i) {
    groups[i] = static_cast<uint16_t>((net[2 * i] << 8) | net[2 * i + 1]);
  }
  std::snprintf(buf, sizeof buf, "/%d", p);
  return ipv6_text(groups) + buf;
}

AddressFeature address_feature(std::string_view text, int ipv4_prefix, int ipv6_prefix,
                               std::string* network) {
  const std::optional<IpAddress> address = parse_ip_address(text);
  if (!address) return AddressFeature::verbatim;
  if (is_unspecified(*address)) return AddressFeature::unspecified;
  const int prefix = address->ipv6 ? ipv6_prefix : ipv4_prefix;
  if (prefix <= 0) return AddressFeature::verbatim;
  *network = ip_network_text(*address, prefix);
  return AddressFeature::network;
}

}  // namespace stray::fleet
