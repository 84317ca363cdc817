// Physical lines of a block held in memory, with the line limit of
// LineReader: a line longer than the limit is an error naming it, whether
// or not its line break is in the block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "io/events/event_blocks.hpp"

namespace stray::fleet {

class BlockLines {
 public:
  BlockLines(const Block& block, std::size_t max_line)
      : text_(block.text), max_(max_line), last_(block.last) {}

  /// The next line, without its '\n' (a '\r' before it is kept): a view of
  /// the block. False at the block's end; BlockError for a line longer than
  /// the limit.
  bool next(std::string_view* line) {
    const std::size_t n = text_.size();
    if (pos_ == n) return false;
    ++line_no_;
    const void* nl = std::memchr(text_.data() + pos_, '\n', n - pos_);
    const std::size_t end =
        nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - text_.data()) : n;
    if (end - pos_ > max_) too_long();
    // Only the input's last line may lack a line break: other blocks end
    // at one, or hold a record already known to be too long (read_block).
    if (nl == nullptr && !last_) throw std::logic_error("BlockLines: a block cut inside a line");
    *line = text_.substr(pos_, end - pos_);
    pos_ = nl != nullptr ? end + 1 : end;
    return true;
  }

  /// 1-based number, within the block, of the line last returned.
  int64_t line_number() const { return line_no_; }

 private:
  [[noreturn]] void too_long() const {
    fail_in_block(ErrorCode::parse_error, line_no_, "line longer than ", max_,
                  " bytes (EventReadOptions::max_line_bytes; is this a text file of the format?)");
  }

  std::string_view text_;
  std::size_t max_;
  bool last_;
  std::size_t pos_ = 0;
  int64_t line_no_ = 0;
};

}  // namespace stray::fleet
