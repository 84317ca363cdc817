#include "stray/io/npz.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <climits>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/atomic_file.hpp"
#include "core/check.hpp"
#include "io/input_file.hpp"
#include "io/npy_format.hpp"
#include "io/npz_detail.hpp"

namespace stray {

namespace {

using internal::fail;
using internal::require;

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kCentralSize = 46;
constexpr std::size_t kLocalSize = 30;
// Five small entries are all scipy writes; anything near this is corrupt.
constexpr uint64_t kMaxCentralDirectory = uint64_t{64} << 20;

uint16_t get16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t get32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t get64(const unsigned char* p) {
  return static_cast<uint64_t>(get32(p)) | (static_cast<uint64_t>(get32(p + 4)) << 32);
}

struct ZipEntry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;
  uint64_t local_offset = 0;
};

class ZipReader {
 public:
  ZipReader(const std::string& path, const char* where)
      : file_(path, where), path_(path), where_(where) {
    read_directory();
  }

  const ZipEntry* find(const std::string& name) const {
    for (const ZipEntry& e : entries_) {
      if (e.name == name) return &e;
    }
    return nullptr;
  }

  /// Where a member's stored bytes start in the file, after checking its
  /// local header and that the stored bytes are all there.
  uint64_t data_start(const ZipEntry& e) const {
    const std::string what = path_ + "[" + e.name + "]";
    if (e.flags & 1u) fail(ErrorCode::parse_error, where_, what, ": encrypted zip members are not supported");
    if (e.method != 0 && e.method != 8) {
      fail(ErrorCode::parse_error, where_, what, ": zip compression method ", e.method,
           " is not supported (stored and deflate are)");
    }
    unsigned char local[kLocalSize];
    if (file_.read_at(e.local_offset, local, kLocalSize) < kLocalSize || get32(local) != kLocalSig) {
      fail(ErrorCode::parse_error, where_, what, ": bad local zip header at offset ", e.local_offset);
    }
    const uint16_t name_len = get16(local + 26);
    std::string local_name(name_len, '\0');
    file_.read_at(e.local_offset + kLocalSize, local_name.data(), name_len);
    if (local_name != e.name) {
      fail(ErrorCode::parse_error, where_, what, ": local zip header names '",
           internal::printable(local_name, 60), "' (corrupt file)");
    }
    const uint64_t start = e.local_offset + kLocalSize + name_len + get16(local + 28);
    if (start > file_.size() || e.compressed_size > file_.size() - start) {
      fail(ErrorCode::parse_error, where_, what, ": truncated zip member (", e.compressed_size,
           " bytes at offset ", start, " in a file of ", file_.size(), ")");
    }
    if (e.method == 0 && e.compressed_size != e.size) {
      fail(ErrorCode::parse_error, where_, what, ": stored member with compressed size ",
           e.compressed_size, " != size ", e.size);
    }
    // Deflate cannot expand beyond ~1032:1; a bigger claim is corruption.
    if (e.method == 8 && e.size / 1032 > e.compressed_size + 1024) {
      fail(ErrorCode::parse_error, where_, what, ": implausible uncompressed size ", e.size);
    }
    return start;
  }

  const internal::InputFile& file() const { return file_; }
  const char* where() const { return where_; }

  static uint32_t crc32_of(const unsigned char* p, std::size_t n, uLong crc = 0) {
    while (n > 0) {
      const auto chunk = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
      crc = crc32(crc, p, chunk);
      p += chunk;
      n -= chunk;
    }
    return static_cast<uint32_t>(crc);
  }

 private:
  void read_directory() {
    const uint64_t size = file_.size();
    if (size < kEndSize) fail(ErrorCode::parse_error, where_, path_, ": not a zip/.npz file (too short)");
    const std::size_t tail_len = static_cast<std::size_t>(std::min<uint64_t>(size, kEndSize + 0xFFFF));
    std::vector<unsigned char> tail(tail_len);
    file_.read_at(size - tail_len, tail.data(), tail_len);
    std::optional<std::size_t> end;
    for (std::size_t i = tail_len - kEndSize + 1; i-- > 0;) {
      if (get32(&tail[i]) == kEndSig) {
        end = i;
        break;
      }
    }
    if (!end) fail(ErrorCode::parse_error, where_, path_, ": not a zip/.npz file (no end of central directory)");
    const unsigned char* eocd = &tail[*end];
    uint64_t count = get16(eocd + 10);
    uint64_t dir_size = get32(eocd + 12);
    uint64_t dir_offset = get32(eocd + 16);
    const uint64_t end_pos = size - tail_len + *end;
    if (end_pos >= 20) {
      unsigned char loc[20];
      if (file_.read_at(end_pos - 20, loc, 20) == 20 && get32(loc) == kZip64LocatorSig) {
        const uint64_t z64 = get64(loc + 8);
        unsigned char rec[56];
        if (z64 > size || file_.read_at(z64, rec, 56) < 56 || get32(rec) != kZip64EndSig) {
          fail(ErrorCode::parse_error, where_, path_, ": bad zip64 end of central directory");
        }
        count = get64(rec + 32);
        dir_size = get64(rec + 40);
        dir_offset = get64(rec + 48);
      }
    }
    if (dir_offset > size || dir_size > size - dir_offset || dir_size > kMaxCentralDirectory ||
        count > dir_size / kCentralSize) {
      fail(ErrorCode::parse_error, where_, path_, ": corrupt zip central directory (", count,
           " entries, ", dir_size, " bytes at offset ", dir_offset, ")");
    }
    std::vector<unsigned char> dir(static_cast<std::size_t>(dir_size));
    file_.read_at(dir_offset, dir.data(), dir.size());
    std::size_t pos = 0;
    for (uint64_t k = 0; k < count; ++k) {
      if (pos + kCentralSize > dir.size() || get32(&dir[pos]) != kCentralSig) {
        fail(ErrorCode::parse_error, where_, path_, ": corrupt zip central directory entry ", k);
      }
      const unsigned char* h = &dir[pos];
      ZipEntry e;
      e.flags = get16(h + 8);
      e.method = get16(h + 10);
      e.crc = get32(h + 16);
      e.compressed_size = get32(h + 20);
      e.size = get32(h + 24);
      const std::size_t name_len = get16(h + 28);
      const std::size_t extra_len = get16(h + 30);
      const std::size_t comment_len = get16(h + 32);
      e.local_offset = get32(h + 42);
      if (pos + kCentralSize + name_len + extra_len + comment_len > dir.size()) {
        fail(ErrorCode::parse_error, where_, path_, ": corrupt zip central directory entry ", k);
      }
      e.name.assign(reinterpret_cast<const char*>(h + kCentralSize), name_len);
      parse_zip64_extra(h + kCentralSize + name_len, extra_len, e);
      entries_.push_back(std::move(e));
      pos += kCentralSize + name_len + extra_len + comment_len;
    }
  }

  // Zip64 extra field (id 1): 8-byte values for exactly those of size,
  // compressed size and offset whose 4-byte fields hold 0xFFFFFFFF.
  void parse_zip64_extra(const unsigned char* p, std::size_t len, ZipEntry& e) const {
    std::size_t pos = 0;
    while (pos + 4 <= len) {
      const uint16_t id = get16(p + pos);
      const uint16_t n = get16(p + pos + 2);
      if (pos + 4 + n > len) break;
      if (id == 1) {
        const unsigned char* q = p + pos + 4;
        std::size_t left = n;
        for (uint64_t* field : {&e.size, &e.compressed_size, &e.local_offset}) {
          if (*field != 0xFFFFFFFFull) continue;
          if (left < 8) fail(ErrorCode::parse_error, where_, path_, ": truncated zip64 extra field for ", e.name);
          *field = get64(q);
          q += 8;
          left -= 8;
        }
      }
      pos += 4 + n;
    }
  }

  internal::InputFile file_;
  std::string path_;
  const char* where_;
  std::vector<ZipEntry> entries_;
};

// A member's uncompressed bytes, in order, read as they are needed: the
// .npy header first, so its array size is checked against the zip's
// declared size and against the matrix's structure before the data are
// inflated or anything is sized by them. Inflation never goes past the
// declared size (a zip bomb is stopped there, not at the end of its
// output), and the CRC is checked once every byte is read.
class MemberReader {
 public:
  MemberReader(const ZipReader& zip, const ZipEntry& e, std::string name)
      : file_(zip.file()), where_(zip.where()), entry_(e), name_(std::move(name)) {
    start_ = zip.data_start(e);
    if (e.method == 8) {
      if (inflateInit2(&zs_, -MAX_WBITS) != Z_OK) {
        fail(ErrorCode::out_of_memory, where_, name_, ": zlib inflateInit2 failed");
      }
      inflating_ = true;
    }
  }
  ~MemberReader() {
    if (inflating_) inflateEnd(&zs_);
  }
  MemberReader(const MemberReader&) = delete;
  MemberReader& operator=(const MemberReader&) = delete;

  uint64_t size() const { return entry_.size; }
  uint64_t left() const { return entry_.size - out_pos_; }

  /// The next `n` bytes (n <= left()).
  void read(unsigned char* dst, std::size_t n) {
    if (entry_.method == 0) {
      if (file_.read_at(start_ + out_pos_, dst, n) < n) {
        fail(ErrorCode::parse_error, where_, name_, ": truncated (file shrank while reading?)");
      }
    } else {
      inflate_into(dst, n);
    }
    crc_ = ZipReader::crc32_of(dst, n, crc_);
    out_pos_ += n;
  }

  /// After every declared byte is read: the deflate stream ends there and
  /// the CRC matches.
  void finish() {
    if (inflating_ && !ended_) {
      unsigned char extra = 0;
      inflate_into(&extra, 0);
      if (!ended_) {
        fail(ErrorCode::parse_error, where_, name_, ": more data than the ", entry_.size,
             " bytes the zip declares (corrupt file)");
      }
    }
    if (crc_ != entry_.crc) fail(ErrorCode::parse_error, where_, name_, ": CRC mismatch (corrupt file)");
  }

 private:
  // Inflates exactly n bytes into dst; n == 0 only tries to reach the end of
  // the stream (finish).
  void inflate_into(unsigned char* dst, std::size_t n) {
    unsigned char probe = 0;
    std::size_t done = 0;
    while (done < n || (n == 0 && !ended_)) {
      if (ended_) {
        fail(ErrorCode::parse_error, where_, name_, ": the deflate stream ends before the ",
             entry_.size, " bytes the zip declares (corrupt file)");
      }
      if (zs_.avail_in == 0 && in_pos_ < entry_.compressed_size) {
        const auto chunk = static_cast<std::size_t>(
            std::min<uint64_t>(in_buf_.size(), entry_.compressed_size - in_pos_));
        if (file_.read_at(start_ + in_pos_, in_buf_.data(), chunk) < chunk) {
          fail(ErrorCode::parse_error, where_, name_, ": truncated (file shrank while reading?)");
        }
        in_pos_ += chunk;
        zs_.next_in = in_buf_.data();
        zs_.avail_in = static_cast<uInt>(chunk);
      }
      const bool probing = n == 0;
      const auto want = probing ? std::size_t{1}
                                : std::min<std::size_t>(n - done, std::size_t{1} << 30);
      zs_.next_out = probing ? &probe : dst + done;
      zs_.avail_out = static_cast<uInt>(want);
      const uInt in_before = zs_.avail_in;
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      const std::size_t produced = want - zs_.avail_out;
      if (probing && produced > 0) return;  // more output than declared
      done += produced;
      if (rc == Z_STREAM_END) {
        ended_ = true;
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        fail(ErrorCode::parse_error, where_, name_, ": corrupt deflate stream (",
             zs_.msg != nullptr ? zs_.msg : "error", ")");
      }
      if (produced == 0 && zs_.avail_in == in_before) {
        fail(ErrorCode::parse_error, where_, name_, ": corrupt deflate stream (ended early)");
      }
    }
  }

  const internal::InputFile& file_;
  const char* where_;
  const ZipEntry& entry_;
  std::string name_;
  uint64_t start_ = 0;
  uint64_t in_pos_ = 0;   // compressed bytes read
  uint64_t out_pos_ = 0;  // uncompressed bytes handed out
  uLong crc_ = 0;
  z_stream zs_{};
  bool inflating_ = false;
  bool ended_ = false;
  std::vector<unsigned char> in_buf_ = std::vector<unsigned char>(std::size_t{64} << 10);
};

// One .npy member: its header, and its data bytes.
struct Member {
  std::string name;  // "file.npz[data.npy]", for messages
  internal::NpyHeader header;
  std::vector<unsigned char> bytes;  // the data, header.data_bytes of them
  const unsigned char* data() const { return bytes.data(); }
};

// What a member must hold, known before its data are read: `count`
// elements (-1: any), else a parse_error from `mismatch`.
struct Expect {
  int64_t count = -1;
  std::function<void(int64_t found)> mismatch;
};

Member load_member(const ZipReader& zip, const std::string& path, const std::string& member,
                   const char* where, const Expect& expect = {}) {
  const ZipEntry* e = zip.find(member);
  if (e == nullptr) {
    fail(ErrorCode::parse_error, where, path, ": missing member '", member,
         "' (not a scipy.sparse.save_npz file?)");
  }
  Member m;
  m.name = path + "[" + member + "]";
  MemberReader in(zip, *e, m.name);
  // The header: its fixed prefix tells its length.
  std::vector<unsigned char> head(
      static_cast<std::size_t>(std::min<uint64_t>(in.size(), internal::kNpyPrefixMax)));
  in.read(head.data(), head.size());
  const std::size_t header_size = internal::npy_header_size(head.data(), head.size(), where, m.name);
  if (header_size > in.size()) {
    fail(ErrorCode::parse_error, where, m.name, ": truncated .npy header (", in.size(), " of ",
         header_size, " bytes)");
  }
  const std::size_t have = head.size();
  head.resize(header_size);
  if (header_size > have) in.read(head.data() + have, header_size - have);
  m.header = internal::parse_npy_header(head.data(), head.size(), where, m.name);
  // The zip's declared size and the array's must agree, before either
  // sizes anything.
  if (in.left() != m.header.data_bytes) {
    fail(ErrorCode::parse_error, where, m.name, ": the array's ", m.header.data_bytes,
         " bytes of data do not match the zip member's ", in.left(), " (corrupt file)");
  }
  if (expect.count >= 0 && m.header.count != expect.count) expect.mismatch(m.header.count);
  internal::require_memory(where, m.name.c_str(), {m.header.count},
                           static_cast<std::size_t>(m.header.dtype.itemsize),
                           m.header.dtype.descr.c_str());
  m.bytes.resize(m.header.data_bytes);
  in.read(m.bytes.data(), m.bytes.size());
  in.finish();
  return m;
}

template <typename D>
std::vector<D> member_vector(const Member& m, const char* where, const char* what) {
  if (m.header.shape.size() != 1 || !m.header.dtype.numeric()) {
    fail(ErrorCode::parse_error, where, m.name, ": expected a 1-D numeric array, found ",
         m.header.shape.size(), "-D '", internal::printable(m.header.dtype.descr, 40), "'");
  }
  std::vector<D> out(static_cast<std::size_t>(m.header.count));
  internal::convert_elements<D>(m.header.dtype, m.data(), m.header.count, out.data(), where,
                                m.name, what);
  return out;
}

// The 'format' member: a 0-d bytes ('|S3') or str ('<U3') array.
std::string member_string(const Member& m, const char* where) {
  const internal::NpyDtype& dt = m.header.dtype;
  if (m.header.count != 1 || (dt.kind != 'S' && dt.kind != 'U')) {
    fail(ErrorCode::parse_error, where, m.name, ": expected a string, found '",
         internal::printable(dt.descr, 40), "'");
  }
  std::string s;
  if (dt.kind == 'S') {
    s.assign(reinterpret_cast<const char*>(m.data()), static_cast<std::size_t>(dt.itemsize));
  } else {
    for (int i = 0; i + 4 <= dt.itemsize; i += 4) {
      const unsigned char* c = m.data() + i;
      const uint32_t cp = dt.swapped() ? (uint32_t{c[0]} << 24 | uint32_t{c[1]} << 16 |
                                          uint32_t{c[2]} << 8 | c[3])
                                       : get32(c);
      s.push_back(cp < 128 ? static_cast<char>(cp) : '?');
    }
  }
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

}  // namespace

CsrMatrix read_npz_csr(const std::string& path) {
  constexpr const char* where = "read_npz_csr";
  const ZipReader zip(path, where);

  // Small members first, each of a known size, so that a corrupt or
  // hostile one is refused before anything is inflated.
  const Member format = load_member(zip, path, "format.npy", where, {1, [&](int64_t found) {
    fail(ErrorCode::parse_error, where, path, ": 'format' has ", found, " elements, expected 1");
  }});
  const std::string fmt = member_string(format, where);
  if (fmt != "csr") {
    fail(ErrorCode::parse_error, where, path, ": sparse format '", internal::printable(fmt, 40),
         "' is not supported; save a CSR matrix (matrix.tocsr())");
  }
  const std::vector<int64_t> shape =
      member_vector<int64_t>(load_member(zip, path, "shape.npy", where, {2, [&](int64_t) {
        fail(ErrorCode::parse_error, where, path, ": 'shape' must hold two non-negative extents");
      }}), where, "shape");
  if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0) {
    fail(ErrorCode::parse_error, where, path, ": 'shape' must hold two non-negative extents");
  }

  CsrMatrix out;
  out.rows = shape[0];
  out.cols = shape[1];
  // Each member's element count is known from the ones before it (indptr
  // from the shape, indices and data from indptr) and checked from its
  // header, before its data are inflated.
  const auto count_error = [&](const char* what, const std::string& expected) {
    return [=](int64_t found) {
      fail(ErrorCode::parse_error, where, path, ": ", what, " has ", found, " entries", expected);
    };
  };
  const int64_t indptr_count = out.rows == INT64_MAX ? -1 : out.rows + 1;
  out.indptr = member_vector<int64_t>(
      load_member(zip, path, "indptr.npy", where,
                  {indptr_count, count_error("indptr", " for " + std::to_string(out.rows) + " rows")}),
      where, "indptr");
  require(!out.indptr.empty() && static_cast<int64_t>(out.indptr.size()) - 1 == out.rows,
          ErrorCode::parse_error, where, path, ": indptr has ", out.indptr.size(),
          " entries for ", out.rows, " rows");
  require(out.indptr[0] == 0, ErrorCode::parse_error, where, path, ": indptr[0] = ",
          out.indptr[0], ", expected 0");
  for (int64_t i = 0; i < out.rows; ++i) {
    require(out.indptr[i + 1] >= out.indptr[i], ErrorCode::parse_error, where, path,
            ": indptr decreases at row ", i);
  }
  const int64_t nnz = out.indptr[out.rows];
  out.indices = member_vector<int32_t>(
      load_member(zip, path, "indices.npy", where,
                  {nnz, [&](int64_t found) {
                     fail(ErrorCode::parse_error, where, path, ": indptr[", out.rows, "] = ", nnz,
                          " but there are ", found, " entries");
                   }}),
      where, "column index");
  out.values = member_vector<float>(
      load_member(zip, path, "data.npy", where,
                  {nnz, count_error("data", " but indices has " + std::to_string(nnz))}),
      where, "value");
  for (int64_t p = 0; p < nnz; ++p) {
    require(out.indices[p] >= 0 && out.indices[p] < out.cols, ErrorCode::parse_error, where, path,
            ": column index ", out.indices[p], " at entry ", p, " outside [0, ", out.cols, ")");
    require(std::isfinite(out.values[p]), ErrorCode::parse_error, where, path, ": value at entry ",
            p, " is not finite");
  }
  return out;
}

namespace internal {

namespace {

void put16(std::string& s, uint64_t v) {
  for (int i = 0; i < 2; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put32(std::string& s, uint64_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

struct OutMember {
  std::string name;
  std::string header;  // .npy header
  const void* data = nullptr;
  uint64_t data_bytes = 0;
  uint64_t size() const { return header.size() + data_bytes; }
  uint32_t crc = 0;
  uint64_t offset = 0;
};

// Fixed timestamp (1980-01-01 00:00, the DOS epoch): the same matrix gives
// the same bytes.
constexpr uint16_t kDosTime = 0;
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;

}  // namespace

namespace {

void check_csr_for_writing(const std::string& path, const CsrView& m) {
  constexpr const char* where = "write_npz_csr";
  require(m.rows >= 0 && m.cols >= 0, ErrorCode::invalid_argument, where, path,
          ": negative extent ", m.rows, " x ", m.cols);
  require(m.indptr != nullptr, ErrorCode::invalid_argument, where, path, ": indptr is null");
  require(m.indptr[0] == 0, ErrorCode::invalid_argument, where, path, ": indptr[0] = ",
          m.indptr[0], ", expected 0");
  for (int64_t i = 0; i < m.rows; ++i) {
    require(m.indptr[i + 1] >= m.indptr[i], ErrorCode::invalid_argument, where, path,
            ": indptr decreases at row ", i);
  }
  const int64_t nnz = m.indptr[m.rows];
  require(nnz == 0 || (m.indices != nullptr && m.values != nullptr), ErrorCode::invalid_argument,
          where, path, ": indices/values are null with nnz=", nnz);
  for (int64_t p = 0; p < nnz; ++p) {
    require(m.indices[p] >= 0 && m.indices[p] < m.cols, ErrorCode::invalid_argument, where, path,
            ": column index ", m.indices[p], " at entry ", p, " outside [0, ", m.cols, ")");
  }
}

uint32_t member_crc(const OutMember& mb) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(mb.header.data()),
              static_cast<uInt>(mb.header.size()));
  const auto* p = static_cast<const unsigned char*>(mb.data);
  for (uint64_t left = mb.data_bytes; left > 0;) {
    const auto chunk = static_cast<uInt>(std::min<uint64_t>(left, 1u << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    left -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

// A member's local header (stored, no compression), with the zip64 sizes
// where the member reaches the threshold.
std::string local_header(const OutMember& mb, uint64_t zip64_threshold) {
  const bool big = mb.size() >= zip64_threshold;
  std::string h;
  put32(h, kLocalSig);
  put16(h, big ? 45 : 20);  // version needed: 4.5 for zip64
  put16(h, 0);              // flags
  put16(h, 0);              // stored
  put16(h, kDosTime);
  put16(h, kDosDate);
  put32(h, mb.crc);
  put32(h, big ? 0xFFFFFFFFull : mb.size());
  put32(h, big ? 0xFFFFFFFFull : mb.size());
  put16(h, mb.name.size());
  put16(h, big ? 20 : 0);
  h += mb.name;
  if (big) {
    put16(h, 1);
    put16(h, 16);
    put64(h, mb.size());
    put64(h, mb.size());
  }
  return h;
}

// A member's central directory entry, appended to `dir`.
void put_central_entry(std::string& dir, const OutMember& mb, uint64_t zip64_threshold) {
  const bool big_size = mb.size() >= zip64_threshold;
  const bool big_offset = mb.offset >= zip64_threshold;
  std::string extra;
  if (big_size || big_offset) {
    std::string fields;
    if (big_size) {
      put64(fields, mb.size());
      put64(fields, mb.size());
    }
    if (big_offset) put64(fields, mb.offset);
    put16(extra, 1);
    put16(extra, fields.size());
    extra += fields;
  }
  const uint16_t version = (big_size || big_offset) ? 45 : 20;
  put32(dir, kCentralSig);
  put16(dir, (3u << 8) | version);  // made by: Unix
  put16(dir, version);
  put16(dir, 0);
  put16(dir, 0);
  put16(dir, kDosTime);
  put16(dir, kDosDate);
  put32(dir, mb.crc);
  put32(dir, big_size ? 0xFFFFFFFFull : mb.size());
  put32(dir, big_size ? 0xFFFFFFFFull : mb.size());
  put16(dir, mb.name.size());
  put16(dir, extra.size());
  put16(dir, 0);  // comment
  put16(dir, 0);  // disk
  put16(dir, 0);  // internal attributes
  put32(dir, 0100644u << 16);  // regular file, rw-r--r--
  put32(dir, big_offset ? 0xFFFFFFFFull : mb.offset);
  dir += mb.name;
  dir += extra;
}

// The end of central directory record (and the zip64 one and its locator
// where anything passes the threshold), appended to `dir`, which holds the
// central directory written at `dir_offset`.
void put_end_records(std::string& dir, uint64_t dir_offset, uint64_t count,
                     uint64_t zip64_threshold) {
  const uint64_t dir_size = dir.size();
  const bool big_end = dir_offset >= zip64_threshold || dir_size >= zip64_threshold ||
                       count >= 0xFFFF || zip64_threshold == 0;
  if (big_end) {
    const uint64_t z64_offset = dir_offset + dir_size;
    put32(dir, kZip64EndSig);
    put64(dir, 44);
    put16(dir, (3u << 8) | 45);
    put16(dir, 45);
    put32(dir, 0);
    put32(dir, 0);
    put64(dir, count);
    put64(dir, count);
    put64(dir, dir_size);
    put64(dir, dir_offset);
    put32(dir, kZip64LocatorSig);
    put32(dir, 0);
    put64(dir, z64_offset);
    put32(dir, 1);
  }
  put32(dir, kEndSig);
  put16(dir, 0);
  put16(dir, 0);
  put16(dir, big_end ? 0xFFFF : count);
  put16(dir, big_end ? 0xFFFF : count);
  put32(dir, big_end ? 0xFFFFFFFFull : dir_size);
  put32(dir, big_end ? 0xFFFFFFFFull : dir_offset);
  put16(dir, 0);
}

}  // namespace

void write_npz_csr_impl(const std::string& path, const CsrView& m, uint64_t zip64_threshold) {
  check_csr_for_writing(path, m);
  const int64_t nnz = m.indptr[m.rows];
  static const char kFormat[3] = {'c', 's', 'r'};
  const int64_t shape[2] = {m.rows, m.cols};
  // The members and order np.savez uses for scipy.sparse.save_npz.
  std::vector<OutMember> members = {
      {"indices.npy", encode_npy_header("<i4", {nnz}), m.indices, static_cast<uint64_t>(nnz) * 4},
      {"indptr.npy", encode_npy_header("<i8", {m.rows + 1}), m.indptr,
       static_cast<uint64_t>(m.rows + 1) * 8},
      {"format.npy", encode_npy_header("|S3", {}), kFormat, 3},
      {"shape.npy", encode_npy_header("<i8", {2}), shape, 16},
      {"data.npy", encode_npy_header("<f4", {nnz}), m.values, static_cast<uint64_t>(nnz) * 4},
  };
  AtomicFile out(path, "write_npz_csr");
  for (OutMember& mb : members) {
    mb.crc = member_crc(mb);
    mb.offset = out.offset();
    const std::string h = local_header(mb, zip64_threshold);
    out.write(h.data(), h.size());
    out.write(mb.header.data(), mb.header.size());
    if (mb.data_bytes > 0) out.write(mb.data, static_cast<std::size_t>(mb.data_bytes));
  }
  const uint64_t dir_offset = out.offset();
  std::string dir;
  for (const OutMember& mb : members) put_central_entry(dir, mb, zip64_threshold);
  put_end_records(dir, dir_offset, members.size(), zip64_threshold);
  out.write(dir.data(), dir.size());
  out.commit();
}

}  // namespace internal

void write_npz_csr(const std::string& path, const CsrView& m) {
  internal::write_npz_csr_impl(path, m, internal::kZip64Threshold);
}

}  // namespace stray
