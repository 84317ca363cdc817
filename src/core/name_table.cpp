// The seed of the name tables' hash.
#include "core/name_table.hpp"

#include <chrono>

namespace stray::internal {

uint64_t name_hash_seed() {
  static const uint64_t seed = [] {
    const auto now = static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    const auto here = static_cast<uint64_t>(reinterpret_cast<std::uintptr_t>(&now));
    const auto code = static_cast<uint64_t>(reinterpret_cast<std::uintptr_t>(&name_hash_seed));
    return hash_name(std::string_view(), now ^ (here << 17) ^ (code << 29));
  }();
  return seed;
}

}  // namespace stray::internal
