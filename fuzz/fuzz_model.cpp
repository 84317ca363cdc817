// Fuzz target: fleet model files. A random file almost never passes the
// header's CRC, so an input whose first byte is odd is taken as a payload
// and given a valid header here — of the version the payload names, so
// every version's reader (grains, LOF, calibration) is reached: the fuzzer
// then reaches the JSON model reader, where a crafted model with a good
// CRC must still be refused cleanly. An even first byte: the input is the
// whole file.
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "fuzz_common.hpp"
#include "stray/fleet/pipeline.hpp"

namespace {

// The number after the payload's first "version": (1 where there is none
// or it is out of range): the header must agree with it.
int payload_version(const std::string& payload) {
  const std::string key = "\"version\":";
  const auto at = payload.find(key);
  if (at == std::string::npos) return 1;
  const long v = std::strtol(payload.c_str() + at + key.size(), nullptr, 10);
  return v >= 1 && v <= stray::kFleetModelVersion ? static_cast<int>(v) : 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1u) {
    const auto crc = static_cast<unsigned>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()),
              static_cast<uInt>(bytes.size())));
    char head[96];
    std::snprintf(head, sizeof head, "stray-fleet-model %d %zu %08x\n", payload_version(bytes),
                  bytes.size(), crc);
    bytes.insert(0, head);
  }
  std::istringstream in(bytes);
  stray::fuzz::expect_accept_or_error([&] { (void)stray::read_fleet_model(in, "fuzz"); });
  return 0;
}
