// osquery helpers shared by the reader and the writer.
#pragma once

#include <string>
#include <string_view>

namespace stray::fleet {

/// The query part of a logged name: its last '/'-separated component.
std::string_view query_of(std::string_view logged_name);

}  // namespace stray::fleet
