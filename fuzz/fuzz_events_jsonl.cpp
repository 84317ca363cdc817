// Fuzz target: JSON Lines events, from memory. Each event's views are
// read in the sink, so a view into freed or reused memory is caught there.
#include <sstream>
#include <string>

#include "fuzz_common.hpp"
#include "stray/io/events.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  stray::EventReadOptions options;
  options.max_line_bytes = 1 << 16;  // small, so the limit's paths are reached
  std::size_t bytes = 0;
  stray::fuzz::expect_accept_or_error([&] {
    stray::read_events_jsonl(
        in,
        [&](const stray::Event& e) {
          bytes += e.entity.size() + e.group.size() + e.feature.size();
          for (const char c : e.entity) bytes += static_cast<unsigned char>(c) & 1u;
          for (const char c : e.feature) bytes += static_cast<unsigned char>(c) & 1u;
        },
        options);
  });
  return bytes == static_cast<std::size_t>(-1);  // keeps the reads
}
