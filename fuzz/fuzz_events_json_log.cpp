// Fuzz target: a collector's JSON log through a fixed mapping
// (fuzz_json_log_mapping.hpp), from memory; and the same input read in
// blocks of a few bytes on two threads must read alike (fuzz_blocks.hpp).
#include "fuzz_blocks.hpp"
#include "fuzz_common.hpp"
#include "fuzz_json_log_mapping.hpp"

namespace {

stray::ReadStats read_blocks(std::istream& in, const stray::EventSink& sink,
                             const stray::EventReadOptions& options, std::size_t block_bytes) {
  stray::EventReadOptions mapped = options;
  mapped.json_log = stray::fuzz::json_log_fuzz_mapping();
  return stray::fleet::read_events_json_log_blocks(in, sink, mapped, block_bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  stray::fuzz::fuzz_blocks(data, size, read_blocks);
  return stray::fuzz::fuzz_event_reader(
      data, size, [](std::istream& in, const stray::EventSink& sink,
                     const stray::EventReadOptions& options) {
        return read_blocks(in, sink, options, stray::fleet::kBlockBytes);
      });
}
