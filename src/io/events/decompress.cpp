#include "io/events/decompress.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "core/check.hpp"

namespace stray::fleet {

namespace {

constexpr std::size_t kBufferBytes = std::size_t{64} << 10;
// zstd's default limit on the window a frame may ask for (2^27 bytes): the
// most memory a hostile frame can make the decoder take.
constexpr int kZstdWindowLogMax = 27;

bool is_gzip(std::string_view h) {
  return h.size() >= 2 && static_cast<unsigned char>(h[0]) == 0x1f &&
         static_cast<unsigned char>(h[1]) == 0x8b;
}

bool is_zstd(std::string_view h) {
  if (h.size() < 4) return false;
  const auto b = [&](int i) { return static_cast<unsigned char>(h[i]); };
  const bool frame = b(0) == 0x28 && b(1) == 0xb5 && b(2) == 0x2f && b(3) == 0xfd;
  const bool skippable = (b(0) & 0xf0) == 0x50 && b(1) == 0x2a && b(2) == 0x4d && b(3) == 0x18;
  return frame || skippable;
}

}  // namespace

const char* to_string(Compression c) {
  switch (c) {
    case Compression::none: return "";
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
  }
  return "";
}

Compression compression_of(std::string_view head) {
  if (is_gzip(head)) return Compression::gzip;
  if (is_zstd(head)) return Compression::zstd;
  return Compression::none;
}

// The decoder state of one kind; `member_done` (gzip) and `frame_done`
// (zstd) say the input so far ends where a stream may end.
struct DecompressingBuf::Decoder {
  z_stream z{};
  bool z_ready = false;
  bool member_done = false;
  ZSTD_DStream* zstd = nullptr;
  bool frame_done = true;  // no frame started yet: an empty input is fine

  ~Decoder() {
    if (z_ready) inflateEnd(&z);
    if (zstd != nullptr) ZSTD_freeDStream(zstd);
  }
};

DecompressingBuf::DecompressingBuf(std::streambuf& source, Compression kind, std::string prefix,
                                   std::string name, const char* where)
    : source_(source),
      kind_(kind),
      name_(name.empty() ? "input" : std::move(name)),
      where_(where),
      in_(std::max(kBufferBytes, prefix.size())),
      out_(kBufferBytes),
      decoder_(std::make_unique<Decoder>()) {
  std::memcpy(in_.data(), prefix.data(), prefix.size());
  in_end_ = prefix.size();
  raw_bytes_ = prefix.size();
  if (kind_ == Compression::gzip) {
    // 16 + 15: a gzip wrapper, the largest (32 KiB) window.
    const int rc = inflateInit2(&decoder_->z, 16 + MAX_WBITS);
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    if (rc != Z_OK) fail("cannot start the gzip decoder");
    decoder_->z_ready = true;
  } else if (kind_ == Compression::zstd) {
    decoder_->zstd = ZSTD_createDStream();
    if (decoder_->zstd == nullptr) throw std::bad_alloc();
    ZSTD_DCtx_setParameter(decoder_->zstd, ZSTD_d_windowLogMax, kZstdWindowLogMax);
  }
  setg(out_.data(), out_.data(), out_.data());
}

DecompressingBuf::~DecompressingBuf() = default;

void DecompressingBuf::fail(const std::string& what) const {
  internal::fail(ErrorCode::parse_error, where_, name_, ": ", what);
}

bool DecompressingBuf::refill() {
  if (source_end_) return false;
  if (in_pos_ > 0) {  // keep what is left, at the front
    std::memmove(in_.data(), in_.data() + in_pos_, in_end_ - in_pos_);
    in_end_ -= in_pos_;
    in_pos_ = 0;
  }
  const std::streamsize want = static_cast<std::streamsize>(in_.size() - in_end_);
  const std::streamsize got = want > 0 ? source_.sgetn(in_.data() + in_end_, want) : 0;
  in_end_ += static_cast<std::size_t>(std::max<std::streamsize>(got, 0));
  raw_bytes_ += static_cast<uint64_t>(std::max<std::streamsize>(got, 0));
  if (got < want) source_end_ = true;
  return got > 0;
}

// Decodes into out [n]: at least one byte, or 0 at the end of a complete
// stream. A stream that stops short, or is corrupt, is an error.
std::size_t DecompressingBuf::decode(char* out, std::size_t n) {
  Decoder& d = *decoder_;
  while (true) {
    if (in_pos_ == in_end_ && !refill()) {
      if (kind_ == Compression::none) return 0;
      const bool complete = kind_ == Compression::gzip ? d.member_done : d.frame_done;
      if (!complete) fail(std::string("the ") + to_string(kind_) + " stream is truncated");
      return 0;
    }
    char* in = in_.data() + in_pos_;
    const std::size_t avail = in_end_ - in_pos_;
    if (kind_ == Compression::none) {
      const std::size_t take = std::min(avail, n);
      std::memcpy(out, in, take);
      in_pos_ += take;
      return take;
    }
    if (kind_ == Compression::gzip) {
      if (d.member_done) {
        // gzip -d reads members one after another; anything else after a
        // member is not gzip data.
        if (avail < 2 && !source_end_ && refill()) continue;
        if (!is_gzip(std::string_view(in, avail)))
          fail("bytes after the end of the gzip stream that are not another gzip member");
        inflateReset(&d.z);
        d.member_done = false;
      }
      d.z.next_in = reinterpret_cast<Bytef*>(in);
      d.z.avail_in = static_cast<uInt>(std::min<std::size_t>(avail, UINT32_MAX));
      d.z.next_out = reinterpret_cast<Bytef*>(out);
      d.z.avail_out = static_cast<uInt>(std::min<std::size_t>(n, UINT32_MAX));
      const int rc = inflate(&d.z, Z_NO_FLUSH);
      in_pos_ += avail - d.z.avail_in;
      const std::size_t produced = n - d.z.avail_out;
      if (rc == Z_STREAM_END) {
        d.member_done = true;
      } else if (rc == Z_MEM_ERROR) {
        throw std::bad_alloc();
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        fail(std::string("corrupt gzip data (") + (d.z.msg != nullptr ? d.z.msg : "inflate failed") +
             ")");
      }
      if (produced > 0) return produced;
      if (avail == d.z.avail_in && rc != Z_STREAM_END) fail("corrupt gzip data (no progress)");
      continue;
    }
    ZSTD_inBuffer src{in, avail, 0};
    ZSTD_outBuffer dst{out, n, 0};
    const std::size_t rc = ZSTD_decompressStream(d.zstd, &dst, &src);
    if (ZSTD_isError(rc)) {
      const std::string why = ZSTD_getErrorName(rc);
      if (why.find("too much memory") != std::string::npos)
        fail("the zstd frame asks for a window over 128 MiB, past the decoder's limit (" + why + ")");
      fail("corrupt zstd data (" + why + ")");
    }
    in_pos_ += src.pos;
    d.frame_done = rc == 0;
    if (dst.pos > 0) return dst.pos;
    if (src.pos == 0 && rc != 0) fail("corrupt zstd data (no progress)");
  }
}

DecompressingBuf::int_type DecompressingBuf::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  const std::size_t got = decode(out_.data(), out_.size());
  setg(out_.data(), out_.data(), out_.data() + got);
  return got == 0 ? traits_type::eof() : traits_type::to_int_type(*gptr());
}

std::string_view DecompressingBuf::peek(std::size_t bytes) {
  bytes = std::min(bytes, out_.size());
  // Move what is held to the front, then decode after it until enough is
  // held, a line break shows, or the input ends.
  const std::size_t held = static_cast<std::size_t>(egptr() - gptr());
  std::memmove(out_.data(), gptr(), held);
  std::size_t end = held;
  while (end < bytes && std::memchr(out_.data(), '\n', end) == nullptr) {
    const std::size_t got = decode(out_.data() + end, out_.size() - end);
    if (got == 0) break;
    end += got;
  }
  setg(out_.data(), out_.data(), out_.data() + end);
  return std::string_view(out_.data(), std::min(end, bytes));
}

DecodedInput::DecodedInput(std::istream& raw, const std::string& name, const char* where)
    : raw_(raw) {
  std::streambuf* sb = raw.rdbuf();
  if (sb == nullptr || !raw.good()) return;
  // One byte looked at without taking it: most inputs stop here.
  const auto first = sb->sgetc();
  if (first == std::char_traits<char>::eof()) return;
  const auto c = static_cast<unsigned char>(first);
  if (c != 0x1f && c != 0x28 && (c & 0xf0) != 0x50) return;
  std::string head(4, '\0');
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(sb->sgetn(head.data(), 4), 0)));
  // The bytes taken are handed back through the buffer (passed through when
  // they announce nothing after all).
  buf_ = std::make_unique<DecompressingBuf>(*sb, compression_of(head), std::move(head), name,
                                            where);
  decoded_ = std::make_unique<std::istream>(buf_.get());
  decoded_->exceptions(std::ios::badbit);
}

DecodedInput::~DecodedInput() = default;

}  // namespace stray::fleet
