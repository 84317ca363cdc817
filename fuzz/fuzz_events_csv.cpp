// Fuzz target: CSV events (RFC 4180 quoting, header-named columns), from
// memory; and the same input read in blocks of a few bytes on two threads
// must read alike (fuzz_blocks.hpp).
#include "fuzz_blocks.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  stray::fuzz::fuzz_blocks(data, size, stray::fleet::read_events_csv_blocks);
  return stray::fuzz::fuzz_event_reader(
      data, size, [](std::istream& in, const stray::EventSink& sink,
                     const stray::EventReadOptions& options) {
        return stray::read_events_csv(in, sink, options);
      });
}
