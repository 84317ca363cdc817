// Fuzz target: fleet model files. A random file almost never passes the
// header's CRC, so an input whose first byte is odd is taken as a payload
// and given a valid header here: the fuzzer then reaches the JSON model
// reader, where a crafted model with a good CRC must still be refused
// cleanly. An even first byte: the input is the whole file.
#include <zlib.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "fuzz_common.hpp"
#include "stray/fleet/pipeline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1u) {
    const auto crc = static_cast<unsigned>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()),
              static_cast<uInt>(bytes.size())));
    char head[96];
    std::snprintf(head, sizeof head, "stray-fleet-model 1 %zu %08x\n", bytes.size(), crc);
    bytes.insert(0, head);
  }
  std::istringstream in(bytes);
  stray::fuzz::expect_accept_or_error([&] { (void)stray::read_fleet_model(in, "fuzz"); });
  return 0;
}
