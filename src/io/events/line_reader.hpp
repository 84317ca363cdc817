// Physical lines of a stream, each bounded in length, for the event readers.
//
// std::getline grows its string until it finds a newline, so an input with
// none (/dev/zero, a binary file, a hostile upload) takes all the memory
// there is. This reader holds at most about `max_line` bytes plus one read
// chunk, and says a line is too long as soon as it knows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string_view>
#include <vector>

namespace stray::fleet {

class LineReader {
 public:
  enum class Status { line, end, too_long };

  LineReader(std::istream& in, std::size_t max_line);

  /// The next line, without its '\n' (a '\r' before it is kept): a view
  /// valid until the next call. `too_long` when the line has more than
  /// `max_line` bytes (line_number() is then that line's); `end` at the end
  /// of the input or after a read error (the stream's badbit tells which).
  Status next(std::string_view* line);

  /// 1-based number of the line last returned (0 before the first).
  int64_t line_number() const { return line_no_; }

 private:
  bool fill();  // reads more; false when nothing more comes

  std::istream& in_;
  std::size_t max_;
  std::vector<char> buf_;
  std::size_t begin_ = 0;  // start of the current line in buf_
  std::size_t scan_ = 0;   // bytes before this have no '\n' (from begin_)
  std::size_t end_ = 0;    // bytes held
  bool eof_ = false;
  int64_t line_no_ = 0;
};

}  // namespace stray::fleet
