// Shared by the CSV, JSON Lines and JSON log fuzz targets: the block reader must read
// what one block reads. The input is read again in blocks of a few bytes
// (told by its first byte) on two threads, so block boundaries fall inside
// quoted fields, between '\r' and '\n' and on every kind of line; any
// difference from reading it as one block — events, statistics, the error
// and its line — is a finding. So is any difference between a
// FeatureBuilder fed those small blocks whole (its block sink, names
// interned per block) and one fed the events one at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "io/events/decompress.hpp"
#include "io/events/event_blocks.hpp"
#include "stray/core/error.hpp"
#include "stray/features/features.hpp"
#include "stray/io/events.hpp"

namespace stray::fuzz {

struct BlockRead {
  std::vector<EventRecord> events;
  ReadStats stats;
  std::string error;  // what(), with its code's name

  bool operator==(const BlockRead& o) const {
    return events == o.events && stats.lines == o.stats.lines &&
           stats.records == o.stats.records && stats.events == o.stats.events &&
           stats.skipped == o.stats.skipped && stats.without_entity == o.stats.without_entity &&
           stats.unmatched == o.stats.unmatched && error == o.error;
  }
};

/// Everything a feature matrix holds, as text (values as hex floats, so
/// equal text is equal to the bit).
inline std::string matrix_text(const FeatureMatrix& m) {
  std::ostringstream os;
  os << std::hexfloat << "X " << m.X.rows << "x" << m.X.cols << "\nindptr";
  for (const int64_t p : m.X.indptr) os << ' ' << p;
  os << "\nentries";
  for (std::size_t k = 0; k < m.X.indices.size(); ++k) {
    os << ' ' << m.X.indices[k] << '=' << m.X.values[k];
  }
  os << "\nentities";
  for (const auto& e : m.entity_names) os << " [" << e << ']';
  os << "\nfeatures";
  for (std::size_t j = 0; j < m.feature_names.size(); ++j) {
    os << " [" << m.feature_names[j] << '|' << m.feature_groups[j] << '|'
       << m.document_frequency[j] << ']';
  }
  os << "\ndropped";
  for (const auto& d : m.dropped) {
    os << " [" << d.name << '|' << d.document_frequency << '|' << to_string(d.reason) << ']';
  }
  os << "\nunseen";
  for (const auto& u : m.unseen) {
    os << " [" << u.entity << '|' << u.name << '|' << u.value << '|' << u.normalized << ']';
  }
  const FeatureVocabulary& v = m.vocabulary;
  os << "\nvocabulary " << v.n_entities << ' ' << to_string(v.params.normalization);
  for (const auto& [g, n] : v.params.group_normalization) os << ' ' << g << '=' << to_string(n);
  for (std::size_t j = 0; j < v.feature_names.size(); ++j) {
    os << " [" << v.feature_names[j] << '|'
       << (j < v.document_frequency.size() ? v.document_frequency[j] : -1) << ']';
  }
  for (const auto& d : v.dropped_names) os << " -" << d;
  os << "\nevents " << m.n_events << '\n';
  return os.str();
}

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

/// The input read into a FeatureBuilder, through its block sink or (a
/// lambda hiding the blocks) one event at a time: the error, then the
/// matrix built from what the builder got. With an empty default group, a
/// record without a group is the builder's own error.
template <typename Read>
std::string build_in_blocks_of(const std::string& text, std::size_t block_bytes, int threads,
                               bool blocks, const std::string& default_group, Read&& read) {
  EventReadOptions options;
  options.max_line_bytes = 1 << 8;
  options.threads = threads;
  options.default_group = default_group;
  std::istringstream in(text);
  FeatureBuilder builder;
  const EventSink sink = blocks ? builder.sink() : EventSink([&](const Event& e) { builder.add(e); });
  std::string out;
  try {
    read(in, sink, options, block_bytes);
  } catch (const Error& e) {
    out = std::string(error_code_name(e.code())) + ": " + e.what() + "\n";
  }
  return out + matrix_text(builder.build());
}

/// Whether the input (its first byte choosing the block size, and whether
/// the builders' default group is empty) reads alike in one block and in
/// small blocks on two threads, and builds alike into a FeatureBuilder one
/// event at a time and in those blocks whole. The corpus replay
/// (tests/test_hostile_corpus.cpp) asks it too. Compressed
/// input is decoded on the calling thread and parsed a block behind: when
/// it is corrupt and its text is broken too, which error comes first (and
/// how many events went out before it) depends on where blocks end
/// (docs/fleet-data.md), so there both readings must fail, not fail alike.
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
  const std::string default_group = (data[0] & 0x40) != 0 ? "" : "feature";
  return whole == blocks &&
         build_in_blocks_of(text, text.size() + 1, 1, false, default_group, read) ==
             build_in_blocks_of(text, block_bytes, 2, true, default_group, read);
}

template <typename Read>
void fuzz_blocks(const uint8_t* data, std::size_t size, Read&& read) {
  if (!blocks_read_alike(data, size, read)) __builtin_trap();
}

}  // namespace stray::fuzz
