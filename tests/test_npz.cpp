// scipy.sparse CSR .npz files: files written by scipy.sparse.save_npz
// (deflated and stored; tests/fixtures/npz, made by make_fixtures.py), round
// trips through write_npz_csr (plain and zip64), malformed files and failed
// writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "io/npz_detail.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npz.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using stray::testing::expect_error;
using stray::testing::read_bytes;
using stray::testing::TempDir;
using stray::testing::write_bytes;

std::string fixture(const std::string& name) { return std::string(STRAY_FIXTURES_DIR) + "/npz/" + name; }


// CSR_DENSE in make_fixtures.py.
Matrix<float> expected_dense() {
  Matrix<float> m(4, 6, 0.0f);
  m(0, 1) = 1.5f;
  m(0, 5) = -2.0f;
  m(2, 0) = 3.25f;
  m(2, 3) = 4.0f;
  m(3, 4) = 0.125f;
  return m;
}

CsrMatrix random_csr(int64_t rows, int64_t cols, double density, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<float> normal(0.0f, 10.0f);
  CsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      if (u(gen) < density) {
        m.indices.push_back(static_cast<int32_t>(j));
        m.values.push_back(normal(gen));
      }
    }
    m.indptr.push_back(static_cast<int64_t>(m.indices.size()));
  }
  return m;
}

void expect_same(const CsrMatrix& a, const CsrMatrix& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.cols, b.cols);
  EXPECT_EQ(a.indptr, b.indptr);
  EXPECT_EQ(a.indices, b.indices);
  ASSERT_EQ(a.values.size(), b.values.size());
  // Bit for bit (NaN payloads too); not through memcmp, which must not see
  // the null data of an empty vector.
  for (std::size_t p = 0; p < a.values.size(); ++p) {
    EXPECT_EQ(std::bit_cast<uint32_t>(a.values[p]), std::bit_cast<uint32_t>(b.values[p])) << p;
  }
}

// Replaces every occurrence of `from` by `to` (same length) in a file's bytes.
std::vector<unsigned char> patched(std::vector<unsigned char> bytes, const std::string& from,
                                   const std::string& to) {
  int hits = 0;
  for (std::size_t i = 0; i + from.size() <= bytes.size(); ++i) {
    if (std::memcmp(&bytes[i], from.data(), from.size()) == 0) {
      std::memcpy(&bytes[i], to.data(), to.size());
      ++hits;
    }
  }
  EXPECT_GT(hits, 0) << from;
  return bytes;
}

TEST(Npz, ReadsScipySaveNpzDeflatedAndStored) {
  for (const char* name : {"csr_4x6_deflate.npz", "csr_4x6_stored.npz", "csr_4x6_f4_i8.npz",
                           "csr_4x6_unicode_format.npz"}) {
    SCOPED_TRACE(name);
    const CsrMatrix m = read_npz_csr(fixture(name));
    EXPECT_EQ(m.rows, 4);
    EXPECT_EQ(m.cols, 6);
    EXPECT_EQ(m.nnz(), 5);
    EXPECT_EQ(m.indptr, (std::vector<int64_t>{0, 2, 2, 4, 5}));
    EXPECT_EQ(m.indices, (std::vector<int32_t>{1, 5, 0, 3, 4}));
    const Matrix<float> dense = csr_to_dense(m);
    EXPECT_EQ(dense.storage(), expected_dense().storage());
  }
}

TEST(Npz, ReadsAnEmptyMatrix) {
  const CsrMatrix m = read_npz_csr(fixture("csr_3x0_empty.npz"));
  EXPECT_EQ(m.rows, 3);
  EXPECT_EQ(m.cols, 0);
  EXPECT_EQ(m.nnz(), 0);
  EXPECT_EQ(m.indptr, (std::vector<int64_t>{0, 0, 0, 0}));
}

// A valid matrix with no stored entries: its empty members once reached
// memcpy with a null destination (undefined behaviour; the sanitizer build
// of this test fails on it).
TEST(Npz, ReadsAnAllZeroMatrix) {
  TempDir dir;
  const CsrMatrix zero = random_csr(3, 4, 0.0, 1);
  ASSERT_EQ(zero.nnz(), 0);
  write_npz_csr(dir.file("zero.npz"), zero);
  const CsrMatrix m = read_npz_csr(dir.file("zero.npz"));
  EXPECT_EQ(m.rows, 3);
  EXPECT_EQ(m.cols, 4);
  EXPECT_EQ(m.nnz(), 0);
  EXPECT_TRUE(m.indices.empty());
  EXPECT_TRUE(m.values.empty());
  EXPECT_EQ(m.indptr, (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(Npz, OtherSparseFormatsAreRejected) {
  expect_error([] { read_npz_csr(fixture("csc_4x6.npz")); }, ErrorCode::parse_error,
               {"read_npz_csr", "csc_4x6.npz", "'csc'"});
}

TEST(Npz, ColumnIndicesBeyondInt32AreRejected) {
  expect_error([] { read_npz_csr(fixture("csr_wide_cols.npz")); }, ErrorCode::parse_error,
               {"read_npz_csr", "csr_wide_cols.npz[indices.npy]", "2147483649", "int32"});
}

TEST(Npz, RoundTrip) {
  TempDir dir;
  const CsrMatrix m = random_csr(57, 40, 0.1, 3);
  write_npz_csr(dir.file("m.npz"), m);
  expect_same(read_npz_csr(dir.file("m.npz")), m);
  // The same matrix gives the same bytes (fixed timestamps).
  write_npz_csr(dir.file("m2.npz"), m);
  EXPECT_EQ(read_bytes(dir.file("m.npz")), read_bytes(dir.file("m2.npz")));
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"m.npz", "m2.npz"}));
}

TEST(Npz, RoundTripOfEdgeShapes) {
  TempDir dir;
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {0, 5}, {4, 0}, {1, 1}}) {
    const CsrMatrix m = random_csr(rows, cols, 1.0, 4);
    write_npz_csr(dir.file("e.npz"), m);
    expect_same(read_npz_csr(dir.file("e.npz")), m);
  }
}

TEST(Npz, Zip64RecordsRoundTrip) {
  // Forces zip64 sizes, offsets and end records on a tiny file, as files
  // over 4 GiB get them.
  TempDir dir;
  const CsrMatrix m = random_csr(20, 30, 0.3, 5);
  internal::write_npz_csr_impl(dir.file("z.npz"), m, 0);
  expect_same(read_npz_csr(dir.file("z.npz")), m);
  EXPECT_NE(read_bytes(dir.file("z.npz")).size(), 0u);
}

TEST(Npz, WriteChecksTheStructure) {
  TempDir dir;
  CsrMatrix m = random_csr(5, 5, 0.5, 6);
  m.indices[0] = 7;
  expect_error([&] { write_npz_csr(dir.file("bad.npz"), m); }, ErrorCode::invalid_argument,
               {"write_npz_csr", "bad.npz", "column index 7"});
  m = random_csr(5, 5, 0.5, 6);
  m.indptr[2] = m.indptr[3] + 1;
  expect_error([&] { write_npz_csr(dir.file("bad.npz"), m); }, ErrorCode::invalid_argument,
               {"indptr decreases"});
  EXPECT_TRUE(dir.entries().empty());
}

// validate_csr scans a large matrix on all cores and then, only when it
// finds something wrong, names the first bad entry in order.
TEST(Npz, ValidationNamesTheFirstBadEntryOfALargeMatrix) {
  CsrMatrix m = random_csr(4000, 200, 0.5, 9);  // ~400,000 entries
  ASSERT_GT(m.nnz(), 300000);
  EXPECT_NO_THROW(validate_csr(m, "test"));
  m.values[280000] = std::nanf("");
  m.indices[250000] = 200;
  m.indices[290000] = -1;
  expect_error([&] { validate_csr(m, "test"); }, ErrorCode::invalid_argument,
               {"column index 200 at entry 250000"});
  m.indices[250000] = 3;
  expect_error([&] { validate_csr(m, "test"); }, ErrorCode::non_finite_input,
               {"CSR value at entry 280000"});
  m.values[280000] = 1.0f;
  expect_error([&] { validate_csr(m, "test"); }, ErrorCode::invalid_argument,
               {"column index -1 at entry 290000"});
}

TEST(Npz, FailedWritesLeaveNothingBehind) {
  TempDir dir;
  const CsrMatrix m = random_csr(5, 5, 0.5, 7);
  expect_error([&] { write_npz_csr(dir.file("missing/dir/m.npz"), m); }, ErrorCode::io_error,
               {"write_npz_csr", "missing/dir/m.npz"});
  std::filesystem::create_directory(dir.path() / "taken.npz");
  expect_error([&] { write_npz_csr(dir.file("taken.npz"), m); }, ErrorCode::io_error,
               {"write_npz_csr", "taken.npz", "is a directory"});
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"taken.npz"}));
}

TEST(Npz, MissingAndUnreadableFilesAreIoErrors) {
  TempDir dir;
  expect_error([&] { read_npz_csr(dir.file("absent.npz")); }, ErrorCode::io_error,
               {"read_npz_csr", "absent.npz", "cannot open"});
  expect_error([&] { read_npz_csr(dir.path().string()); }, ErrorCode::io_error, {"directory"});
}

TEST(Npz, MalformedFilesAreParseErrors) {
  TempDir dir;
  const std::vector<unsigned char> good = read_bytes(fixture("csr_4x6_deflate.npz"));

  // An .npy is not a zip.
  write_npy(dir.file("plain.npz"), std::vector<float>{1, 2, 3});
  expect_error([&] { read_npz_csr(dir.file("plain.npz")); }, ErrorCode::parse_error,
               {"read_npz_csr", "plain.npz", "not a zip"});
  write_bytes(dir.file("short.npz"), std::string("PK"));
  expect_error([&] { read_npz_csr(dir.file("short.npz")); }, ErrorCode::parse_error, {"short.npz"});

  // Cut in half: the central directory is gone.
  auto half = good;
  half.resize(good.size() / 2);
  write_bytes(dir.file("half.npz"), half);
  expect_error([&] { read_npz_csr(dir.file("half.npz")); }, ErrorCode::parse_error, {"half.npz"});

  // A member renamed: indptr.npy is missing.
  write_bytes(dir.file("renamed.npz"), patched(good, "indptr.npy", "indptX.npy"));
  expect_error([&] { read_npz_csr(dir.file("renamed.npz")); }, ErrorCode::parse_error,
               {"missing member 'indptr.npy'"});

  // Corrupt payload bytes: deflate or CRC catches it.
  const CsrMatrix m = random_csr(30, 30, 0.3, 8);
  write_npz_csr(dir.file("stored.npz"), m);
  auto stored = read_bytes(dir.file("stored.npz"));
  auto flipped = stored;
  flipped[stored.size() / 2] ^= 0x5A;
  write_bytes(dir.file("flipped.npz"), flipped);
  expect_error([&] { read_npz_csr(dir.file("flipped.npz")); }, ErrorCode::parse_error,
               {"read_npz_csr", "flipped.npz"});
  // Inside the deflated payloads of indices.npy, indptr.npy and shape.npy.
  for (std::size_t pos : {std::size_t{75}, std::size_t{250}, std::size_t{493}}) {
    auto bad = good;
    bad[pos] ^= 0xFF;
    write_bytes(dir.file("bad.npz"), bad);
    expect_error([&] { read_npz_csr(dir.file("bad.npz")); }, ErrorCode::parse_error, {"bad.npz"});
  }

  // Well-formed zips with inconsistent CSR structure (np.savez by hand).
  expect_error([] { read_npz_csr(fixture("csr_bad_indptr.npz")); }, ErrorCode::parse_error,
               {"read_npz_csr", "csr_bad_indptr.npz", "indptr decreases at row 1"});
  expect_error([] { read_npz_csr(fixture("csr_bad_index.npz")); }, ErrorCode::parse_error,
               {"column index 6 at entry 1 outside [0, 6)"});
  expect_error([] { read_npz_csr(fixture("csr_short_data.npz")); }, ErrorCode::parse_error,
               {"data has 4 entries but indices has 5"});
  expect_error([] { read_npz_csr(fixture("csr_nan_value.npz")); }, ErrorCode::parse_error,
               {"value at entry 2 is not finite"});
}

}  // namespace
}  // namespace stray
