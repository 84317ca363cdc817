// A feature matrix's entries (column, value) as a FeatureBuilder flushes
// its rows while events are read, kept in chunks until build().
//
// A vector that doubles copies everything it holds at each step, into
// memory the kernel has to fault in afresh: the entries (8 bytes each,
// 150 MB for 100,000 hosts) were faulted in twice over and copied once
// on the reading thread, about a tenth of reading a CSV into a builder
// (bench/RESULTS.md, "Whole blocks into a FeatureBuilder"). Chunks are
// written once. build() gathers them into arrays of the exact size — it
// copied the doubled vectors into exact ones too, whenever a quarter of
// them was spare — and frees each chunk once copied, so the peak stays
// the matrix and a chunk.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace stray::internal {

class EntryChunks {
 public:
  int64_t size() const { return size_; }

  /// Appends a row's entries; values are stored as float.
  void append(std::span<const int32_t> cols, std::span<const double> vals) {
    std::size_t done = 0;
    while (done < cols.size()) {
      if (chunks_.empty() || chunks_.back().cols.size() == chunks_.back().cols.capacity()) {
        add_chunk();
      }
      Chunk& c = chunks_.back();
      const std::size_t n = std::min(cols.size() - done, c.cols.capacity() - c.cols.size());
      c.cols.insert(c.cols.end(), cols.begin() + done, cols.begin() + done + n);
      c.vals.insert(c.vals.end(), vals.begin() + done, vals.begin() + done + n);  // to float
      done += n;
    }
    size_ += static_cast<int64_t>(cols.size());
  }

  /// Moves every entry, in order, into `cols` and `vals` (emptied first,
  /// then exactly as large), and empties this.
  void move_to(std::vector<int32_t>& cols, std::vector<float>& vals) {
    std::vector<int32_t>().swap(cols);
    std::vector<float>().swap(vals);
    cols.reserve(static_cast<std::size_t>(size_));
    vals.reserve(static_cast<std::size_t>(size_));
    for (Chunk& c : chunks_) {
      cols.insert(cols.end(), c.cols.begin(), c.cols.end());
      vals.insert(vals.end(), c.vals.begin(), c.vals.end());
      c = Chunk();
    }
    chunks_.clear();
    size_ = 0;
  }

 private:
  struct Chunk {
    std::vector<int32_t> cols;
    std::vector<float> vals;
  };

  // Each chunk as large as all before it: few chunks, little unused room.
  static constexpr std::size_t kMinChunk = std::size_t{1} << 12;
  static constexpr std::size_t kMaxChunk = std::size_t{1} << 20;

  void add_chunk() {
    const std::size_t n = std::clamp(static_cast<std::size_t>(size_), kMinChunk, kMaxChunk);
    Chunk c;
    c.cols.reserve(n);
    c.vals.reserve(n);
    chunks_.push_back(std::move(c));
  }

  std::vector<Chunk> chunks_;
  int64_t size_ = 0;
};

}  // namespace stray::internal
