// osquery helpers shared by the reader and the writer.
#pragma once

#include <string>
#include <string_view>

namespace stray::fleet {

/// "10.1.2.3" with prefix 24 -> "10.1.2.0/24". False when `text` is not a
/// dotted-quad IPv4 address (then `out` is untouched).
bool ipv4_network(std::string_view text, int prefix, std::string* out);

/// The query part of a logged name: its last '/'-separated component.
std::string_view query_of(std::string_view logged_name);

}  // namespace stray::fleet
