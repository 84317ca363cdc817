// Shared by the CSV and JSON Lines fuzz targets: the block reader must read
// what one block reads. The input is read again in blocks of a few bytes
// (told by its first byte) on two threads, so block boundaries fall inside
// quoted fields, between '\r' and '\n' and on every kind of line; any
// difference from reading it as one block — events, statistics, the error
// and its line — is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "io/events/decompress.hpp"
#include "io/events/event_blocks.hpp"
#include "stray/core/error.hpp"
#include "stray/io/events.hpp"

namespace stray::fuzz {

struct BlockRead {
  std::vector<EventRecord> events;
  ReadStats stats;
  std::string error;  // what(), with its code's name

  bool operator==(const BlockRead& o) const {
    return events == o.events && stats.lines == o.stats.lines &&
           stats.records == o.stats.records && stats.events == o.stats.events &&
           error == o.error;
  }
};

/// `read`: (stream, sink, options, block_bytes) -> ReadStats.
template <typename Read>
BlockRead read_in_blocks_of(const std::string& text, std::size_t block_bytes, int threads,
                            Read&& read) {
  EventReadOptions options;
  options.max_line_bytes = 1 << 8;  // small, so records cross the limit and blocks
  options.threads = threads;
  std::istringstream in(text);
  BlockRead r;
  try {
    r.stats = read(in, collect_events(r.events), options, block_bytes);
  } catch (const Error& e) {
    r.error = std::string(error_code_name(e.code())) + ": " + e.what();
  }
  return r;
}

/// Whether the input (its first byte choosing the block size) reads alike
/// in one block and in small blocks on two threads. The corpus replay
/// (tests/test_hostile_corpus.cpp) asks it too. Compressed input is decoded
/// on the calling thread and parsed a block behind: when it is corrupt and
/// its text is broken too, which error comes first (and how many events
/// went out before it) depends on where blocks end (docs/fleet-data.md),
/// so there both readings must fail, not fail alike.
template <typename Read>
bool blocks_read_alike(const uint8_t* data, std::size_t size, Read&& read) {
  if (size == 0) return true;
  const std::size_t block_bytes = 1 + data[0] % 64;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const BlockRead whole = read_in_blocks_of(text, text.size() + 1, 1, read);
  const BlockRead blocks = read_in_blocks_of(text, block_bytes, 2, read);
  if (fleet::compression_of(text) != fleet::Compression::none && !whole.error.empty() &&
      !blocks.error.empty()) {
    return true;
  }
  return whole == blocks;
}

template <typename Read>
void fuzz_blocks(const uint8_t* data, std::size_t size, Read&& read) {
  if (!blocks_read_alike(data, size, read)) __builtin_trap();
}

}  // namespace stray::fuzz
