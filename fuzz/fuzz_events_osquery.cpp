// Fuzz target: osquery result logs (differential, batched and snapshot lines), from memory.
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return stray::fuzz::fuzz_event_reader(
      data, size, [](std::istream& in, const stray::EventSink& sink,
                     const stray::EventReadOptions& options) {
        return stray::read_events_osquery(in, sink, options);
      });
}
