// .npz files built to exhaust the reader: deflate streams that expand far
// past what the zip or the .npy header declares, and arrays whose size
// disagrees with the matrix's structure. Each must be refused after
// inflating no more than the members' declared sizes, and the large member
// not at all when its header already gives it away.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "stray/core/error.hpp"
#include "stray/io/npz.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using stray::testing::expect_error;
using stray::testing::TempDir;
using stray::testing::write_bytes;

// A raw deflate stream in one fixed-Huffman block: `prefix` as literals,
// then `zeros` zero bytes (a literal 0 and matches of length 258 at
// distance 1: 13 bits per 258 bytes, so megabytes of zeros cost kilobytes).
class FixedDeflate {
 public:
  std::string stream(const std::string& prefix, uint64_t zeros) {
    bits(1, 1);  // BFINAL
    bits(1, 2);  // BTYPE = 01, fixed Huffman
    for (const char c : prefix) literal(static_cast<unsigned char>(c));
    if (zeros > 0) {
      literal(0);
      uint64_t left = zeros - 1;
      for (; left >= 258; left -= 258) {
        code(0xC5, 8);  // length 258: symbol 285
        code(0, 5);     // distance 1
      }
      for (; left > 0; --left) literal(0);
    }
    code(0, 7);  // end of block: symbol 256
    if (nbits_ > 0) out_.push_back(static_cast<char>(acc_));
    return out_;
  }

 private:
  void bits(uint32_t value, int n) {  // LSB first
    for (int i = 0; i < n; ++i) push((value >> i) & 1u);
  }
  void code(uint32_t value, int n) {  // Huffman codes go MSB first
    for (int i = n - 1; i >= 0; --i) push((value >> i) & 1u);
  }
  void literal(unsigned v) {
    if (v < 144) {
      code(0x30 + v, 8);
    } else {
      code(0x190 + (v - 144), 9);
    }
  }
  void push(uint32_t bit) {
    acc_ |= bit << nbits_;
    if (++nbits_ == 8) {
      out_.push_back(static_cast<char>(acc_));
      acc_ = 0;
      nbits_ = 0;
    }
  }
  std::string out_;
  uint32_t acc_ = 0;
  int nbits_ = 0;
};

void put(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t crc32(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (const unsigned char c : bytes) {
    crc ^= c;
    for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

struct ZipMember {
  std::string name;
  std::string stored;      // the bytes in the file
  uint64_t declared_size;  // the uncompressed size the zip claims
  bool deflated;
  uint32_t crc;
};

ZipMember stored_member(const std::string& name, const std::string& bytes) {
  return {name, bytes, bytes.size(), false, crc32(bytes)};
}

std::string zip_of(const std::vector<ZipMember>& members) {
  std::string file, dir;
  for (const ZipMember& m : members) {
    const uint64_t offset = file.size();
    for (std::string* s : {&file, &dir}) {
      const bool central = s == &dir;
      put(*s, central ? 0x02014b50 : 0x04034b50, 4);
      if (central) put(*s, 20, 2);  // made by
      put(*s, 20, 2);               // version needed
      put(*s, 0, 2);                // flags
      put(*s, m.deflated ? 8 : 0, 2);
      put(*s, 0, 4);  // time, date
      put(*s, m.crc, 4);
      put(*s, m.stored.size(), 4);
      put(*s, m.declared_size, 4);
      put(*s, m.name.size(), 2);
      put(*s, 0, 2);  // extra
      if (central) {
        put(*s, 0, 2);  // comment
        put(*s, 0, 2);  // disk
        put(*s, 0, 2);  // internal attributes
        put(*s, 0, 4);  // external attributes
        put(*s, offset, 4);
      }
      *s += m.name;
    }
    file += m.stored;
  }
  const uint64_t dir_offset = file.size();
  file += dir;
  put(file, 0x06054b50, 4);
  put(file, 0, 4);
  put(file, members.size(), 2);
  put(file, members.size(), 2);
  put(file, dir.size(), 4);
  put(file, dir_offset, 4);
  put(file, 0, 2);
  return file;
}

// A version 1.0 .npy header for a 1-D array.
std::string npy_header(const std::string& descr, uint64_t count) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" +
                     std::to_string(count) + ",), }";
  dict.append(63 - (10 + dict.size()) % 64, ' ');
  dict += "\n";
  std::string h = "\x93NUMPY";
  h += '\x01';
  h += '\0';
  put(h, dict.size(), 2);
  return h + dict;
}

std::string npy(const std::string& descr, const std::string& data, uint64_t count) {
  return npy_header(descr, count) + data;
}

std::string i8(std::initializer_list<int64_t> v) {
  std::string s;
  for (const int64_t x : v) put(s, static_cast<uint64_t>(x), 8);
  return s;
}

// A 2 x 3 CSR with entries (0, 0) and (1, 1); `data` replaces data.npy.
std::vector<ZipMember> small_csr_with(const ZipMember& data) {
  std::string indices;
  put(indices, 0, 4);
  put(indices, 1, 4);
  return {stored_member("format.npy", npy("|S3", "csr", 1)),
          stored_member("shape.npy", npy("<i8", i8({2, 3}), 2)),
          stored_member("indptr.npy", npy("<i8", i8({0, 1, 2}), 3)),
          stored_member("indices.npy", npy("<i4", indices, 2)), data};
}

std::string two_floats() {
  std::string s;
  put(s, 0x3f800000u, 4);  // 1.0f
  put(s, 0x40000000u, 4);  // 2.0f
  return s;
}

TEST(HostileNpz, TheHandMadeZipReadsWhenHonest) {
  TempDir dir;
  const std::string data = npy("<f4", two_floats(), 2);
  write_bytes(dir.file("ok.npz"), zip_of(small_csr_with(stored_member("data.npy", data))));
  const CsrMatrix m = read_npz_csr(dir.file("ok.npz"));
  EXPECT_EQ(m.values, (std::vector<float>{1.0f, 2.0f}));
  // Deflated by FixedDeflate, too.
  const std::string zeros_data = npy("<f4", std::string(8, '\0'), 2);
  const std::string packed = FixedDeflate().stream(npy_header("<f4", 2), 8);
  write_bytes(dir.file("deflated.npz"), zip_of(small_csr_with(
                                             {"data.npy", packed, zeros_data.size(), true,
                                              crc32(zeros_data)})));
  EXPECT_EQ(read_npz_csr(dir.file("deflated.npz")).values, (std::vector<float>{0.0f, 0.0f}));
}

// data.npy's header claims 50 million floats (200 MB inflated, ~1.2 MB in
// the file) for a matrix with 2 entries: refused from the header, before
// the data are inflated or allocated.
TEST(HostileNpz, AnArrayLargerThanTheStructureIsRefusedFromItsHeader) {
  TempDir dir;
  const uint64_t count = 50'000'000;
  const std::string header = npy_header("<f4", count);
  const std::string packed = FixedDeflate().stream(header, count * 4);
  write_bytes(dir.file("bomb.npz"),
              zip_of(small_csr_with({"data.npy", packed, header.size() + count * 4, true, 0})));
  expect_error([&] { read_npz_csr(dir.file("bomb.npz")); }, ErrorCode::parse_error,
               {"bomb.npz", "data has 50000000 entries but indices has 2"});
}

// The zip declares a small member, the deflate stream goes on for 40 MB:
// inflation stops one byte past the declared size.
TEST(HostileNpz, InflationStopsAtTheDeclaredSize) {
  TempDir dir;
  const std::string header = npy_header("<f4", 2);
  const std::string packed = FixedDeflate().stream(header, 40u << 20);
  write_bytes(dir.file("long.npz"),
              zip_of(small_csr_with({"data.npy", packed, header.size() + 8, true, 0})));
  expect_error([&] { read_npz_csr(dir.file("long.npz")); }, ErrorCode::parse_error,
               {"long.npz[data.npy]", "more data than the", "bytes the zip declares"});
}

TEST(HostileNpz, DeclaredAndArraySizesMustAgree) {
  TempDir dir;
  // The zip declares 16 more bytes than the array holds (a stored member).
  const std::string data = npy("<f4", two_floats() + std::string(16, '\0'), 2);
  write_bytes(dir.file("extra.npz"), zip_of(small_csr_with(stored_member("data.npy", data))));
  expect_error([&] { read_npz_csr(dir.file("extra.npz")); }, ErrorCode::parse_error,
               {"extra.npz[data.npy]", "8 bytes of data do not match the zip member's 24"});
  // A deflate stream shorter than declared.
  const std::string header = npy_header("<f4", 2);
  const std::string packed = FixedDeflate().stream(header, 4);
  write_bytes(dir.file("short.npz"),
              zip_of(small_csr_with({"data.npy", packed, header.size() + 8, true, 0})));
  expect_error([&] { read_npz_csr(dir.file("short.npz")); }, ErrorCode::parse_error,
               {"short.npz[data.npy]", "ends before"});
  // shape.npy holding a huge array instead of two extents.
  std::vector<ZipMember> members =
      small_csr_with(stored_member("data.npy", npy("<f4", two_floats(), 2)));
  const std::string shape_header = npy_header("<i8", 10'000'000);
  members[1] = {"shape.npy", FixedDeflate().stream(shape_header, 80'000'000),
                shape_header.size() + 80'000'000, true, 0};
  write_bytes(dir.file("shape.npz"), zip_of(members));
  expect_error([&] { read_npz_csr(dir.file("shape.npz")); }, ErrorCode::parse_error,
               {"'shape' must hold two non-negative extents"});
}

}  // namespace
}  // namespace stray
