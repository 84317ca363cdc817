// IP addresses as collectors log them, turned into the networks they lie in
// (docs/fleet-data.md, "Remote networks").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stray::fleet {

/// One address: IPv4 in bytes[0..3], IPv6 in all 16 (network order).
struct IpAddress {
  bool ipv6 = false;
  std::array<uint8_t, 16> bytes{};
};

/// The address `text` spells, or nothing when it is not one. The spellings
/// accepted are those of Python's `ipaddress` (the tests' reference):
/// IPv4 as four decimal octets without leading zeros ("010.1.2.3" is not an
/// address: some readers take it for octal); IPv6 as in RFC 4291 (1–4 hex
/// digits a group, "::" at most once, a dotted IPv4 as the last 32 bits)
/// with an optional "%zone" suffix, dropped. An IPv4-mapped IPv6 address
/// (::ffff:a.b.c.d, what dual-stack sockets report) is its IPv4 address.
std::optional<IpAddress> parse_ip_address(std::string_view text);

/// True for 0.0.0.0 and :: — an address that names no peer.
bool is_unspecified(const IpAddress& address);

/// The network of `address` with `prefix` bits, as "a.b.c.d/p" or, for
/// IPv6, RFC 5952's text ("2001:db8:0:1::/64"). `prefix` is clamped to the
/// family's width.
std::string ip_network_text(const IpAddress& address, int prefix);

/// What an address column's value becomes.
enum class AddressFeature {
  verbatim,     // not an address, or no prefix for its family: the text as it is
  network,      // `*network` holds the network's text
  unspecified,  // an unspecified address: no feature
};

/// Applies a rule's prefixes (0: that family is kept verbatim) to `text`.
AddressFeature address_feature(std::string_view text, int ipv4_prefix, int ipv6_prefix,
                               std::string* network);

}  // namespace stray::fleet
