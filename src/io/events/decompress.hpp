// Compressed event inputs: gzip and zstd decoded on the fly, told by the
// first bytes of the input (not its name), in fixed memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <memory>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

namespace stray::fleet {

enum class Compression { none, gzip, zstd };

/// "", "gzip" or "zstd".
const char* to_string(Compression c);

/// What the first bytes of an input announce: gzip (1f 8b), zstd (a frame,
/// 28 b5 2f fd, or a skippable frame, 5? 2a 4d 18), or nothing.
Compression compression_of(std::string_view head);

/// The bytes of `source` decoded: gzip (any number of members, as gzip -d
/// reads them) or zstd (any number of frames); kind `none` passes them
/// through. `prefix` holds bytes already taken from `source`, read first.
///
/// Memory is fixed, whatever the decoded size: a 64 KiB input and a 64 KiB
/// output buffer, zlib's 32 KiB window, or zstd's window as the frame
/// declares it, refused past 2^27 bytes (zstd's own default limit). A
/// decompression bomb therefore costs time, not memory: the readers' line
/// limit (EventReadOptions::max_line_bytes) bounds what they hold of it.
///
/// A truncated or corrupt stream, or bytes after the last gzip member that
/// are not another member, throw stray::Error (parse_error) as
/// "<where>: <name>: ...". Errors surface from underflow(): a stream reading
/// this buffer must let them through (exceptions(std::ios::badbit)).
class DecompressingBuf final : public std::streambuf {
 public:
  DecompressingBuf(std::streambuf& source, Compression kind, std::string prefix, std::string name,
                   const char* where);
  ~DecompressingBuf() override;
  DecompressingBuf(const DecompressingBuf&) = delete;
  DecompressingBuf& operator=(const DecompressingBuf&) = delete;

  /// Up to `bytes` (≤ 64 KiB) decoded bytes from the current position, or
  /// fewer at the end of the input, without consuming them (for telling a
  /// format from the first line). Stops early once a line break is held.
  std::string_view peek(std::size_t bytes);
  /// Bytes taken from `source` so far (`prefix` included).
  uint64_t raw_bytes() const { return raw_bytes_; }

 protected:
  int_type underflow() override;

 private:
  struct Decoder;
  bool refill();                                // more raw input; false at its end
  std::size_t decode(char* out, std::size_t n);  // ≥ 1 byte, or 0 at the end
  [[noreturn]] void fail(const std::string& what) const;

  std::streambuf& source_;
  Compression kind_;
  std::string name_;
  const char* where_;
  std::vector<char> in_, out_;
  std::size_t in_pos_ = 0, in_end_ = 0;
  bool source_end_ = false;
  uint64_t raw_bytes_ = 0;
  std::unique_ptr<Decoder> decoder_;
};

/// `raw` as the event readers take it: `raw` itself when its first bytes
/// announce no compression (nothing is consumed), else a stream decoding it.
class DecodedInput {
 public:
  DecodedInput(std::istream& raw, const std::string& name, const char* where);
  ~DecodedInput();
  std::istream& stream() { return decoded_ ? *decoded_ : raw_; }

 private:
  std::istream& raw_;
  std::unique_ptr<DecompressingBuf> buf_;
  std::unique_ptr<std::istream> decoded_;
};

}  // namespace stray::fleet
