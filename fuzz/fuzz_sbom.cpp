// Fuzz target: one SBOM document (SPDX, CycloneDX or syft JSON), from memory.
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return stray::fuzz::fuzz_event_reader(
      data, size, [](std::istream& in, const stray::EventSink& sink,
                     const stray::EventReadOptions& options) {
        stray::EventReadOptions named = options;
        named.source_name = "fuzz.json";  // so documents without a name still yield events
        named.sbom_versions = true;       // and the version events are reached too
        return stray::read_events_sbom(in, sink, named);
      });
}
