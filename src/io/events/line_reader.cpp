#include "io/events/line_reader.hpp"

#include <algorithm>
#include <cstring>

namespace stray::fleet {

namespace {
constexpr std::size_t kChunk = std::size_t{64} << 10;
}  // namespace

LineReader::LineReader(std::istream& in, std::size_t max_line)
    : in_(in), max_(max_line), buf_(kChunk) {}

bool LineReader::fill() {
  if (eof_) return false;
  // Keep only the unfinished line, at the front.
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    scan_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) {
    // The line fills the buffer: grow it, but never far past the limit
    // (next() stops once the line is known to be longer than max_).
    buf_.resize(std::max(buf_.size() * 2, buf_.size() + kChunk));
  }
  const std::size_t want = buf_.size() - end_;
  in_.read(buf_.data() + end_, static_cast<std::streamsize>(want));
  const auto got = static_cast<std::size_t>(in_.gcount());
  end_ += got;
  if (got < want) eof_ = true;
  return got > 0;
}

LineReader::Status LineReader::next(std::string_view* line) {
  while (true) {
    const char* base = buf_.data();
    const void* nl = scan_ < end_ ? std::memchr(base + scan_, '\n', end_ - scan_) : nullptr;
    if (nl != nullptr) {
      const auto pos = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
      ++line_no_;
      if (pos - begin_ > max_) return Status::too_long;
      *line = std::string_view(base + begin_, pos - begin_);
      begin_ = scan_ = pos + 1;
      return Status::line;
    }
    scan_ = end_;
    if (end_ - begin_ > max_) {
      ++line_no_;
      return Status::too_long;
    }
    if (!fill()) {
      if (begin_ == end_) return Status::end;
      ++line_no_;  // a last line without '\n'
      *line = std::string_view(buf_.data() + begin_, end_ - begin_);
      begin_ = scan_ = end_;
      return Status::line;
    }
  }
}

}  // namespace stray::fleet
