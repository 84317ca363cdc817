// .npy reading and writing: round trips of every dtype, strided views, 1-D
// arrays, files written by numpy itself (tests/fixtures/npy, made by
// make_fixtures.py), hand-made headers, malformed files and failed writes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "io/npy_format.hpp"
#include "stray/io/npy.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

// A Matrix's elements as a plain std::vector, to compare with one.
template <class V>
std::vector<typename V::value_type> plain(const V& v) {
  return {v.begin(), v.end()};
}

using stray::testing::expect_error;
using stray::testing::read_bytes;
using stray::testing::TempDir;
using stray::testing::write_bytes;

std::string fixture(const std::string& name) { return std::string(STRAY_FIXTURES_DIR) + "/npy/" + name; }


template <typename T>
std::vector<T> as_vector(const NpyArray& a) {
  std::vector<T> out(a.bytes.size() / sizeof(T));
  std::memcpy(out.data(), a.bytes.data(), a.bytes.size());
  return out;
}

// A .npy file with a hand-written header dictionary (format 1.0).
std::string raw_npy(const std::string& dict, const std::string& data, int major = 1) {
  std::string s = "\x93NUMPY";
  s.push_back(static_cast<char>(major));
  s.push_back(0);
  const std::size_t len = dict.size();
  s.push_back(static_cast<char>(len & 0xFF));
  s.push_back(static_cast<char>(len >> 8));
  if (major >= 2) {
    s.push_back(0);
    s.push_back(0);
  }
  return s + dict + data;
}

template <typename T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

Matrix<float> random_floats(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 100.0f);
  Matrix<float> m(rows, cols);
  for (float& v : m.storage()) v = normal(gen);
  return m;
}

TEST(Npy, Float32MatrixRoundTripIsBitExact) {
  TempDir dir;
  Matrix<float> m = random_floats(37, 5, 1);
  m(0, 0) = std::numeric_limits<float>::quiet_NaN();  // kept: callers validate
  m(1, 1) = -std::numeric_limits<float>::infinity();
  m(2, 2) = std::numeric_limits<float>::denorm_min();
  write_npy(dir.file("m.npy"), m.view());

  const Matrix<float> back = read_npy_float(dir.file("m.npy"));
  ASSERT_EQ(back.rows(), 37);
  ASSERT_EQ(back.cols(), 5);
  EXPECT_EQ(std::memcmp(back.data(), m.data(), sizeof(float) * 37 * 5), 0);

  const NpyArray raw = read_npy(dir.file("m.npy"));
  EXPECT_EQ(raw.type, NpyType::float32);
  EXPECT_EQ(raw.shape, (std::vector<int64_t>{37, 5}));
  EXPECT_EQ(raw.rows(), 37);
  EXPECT_EQ(raw.cols(), 5);
  EXPECT_EQ(std::memcmp(raw.bytes.data(), m.data(), raw.bytes.size()), 0);
}

TEST(Npy, Float64MatrixRoundTrip) {
  TempDir dir;
  Matrix<double> m(4, 3);
  for (int64_t i = 0; i < m.size(); ++i) m.storage()[i] = std::ldexp(1.0 + i / 7.0, static_cast<int>(i) - 6);
  write_npy(dir.file("d.npy"), m.view());
  const NpyArray raw = read_npy(dir.file("d.npy"));
  EXPECT_EQ(raw.type, NpyType::float64);
  EXPECT_EQ(raw.shape, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(as_vector<double>(raw), plain(m.storage()));
  // read_npy_float narrows to float32.
  const Matrix<float> f = read_npy_float(dir.file("d.npy"));
  for (int64_t i = 0; i < m.size(); ++i) EXPECT_EQ(f.storage()[i], static_cast<float>(m.storage()[i]));
}

TEST(Npy, IntegerMatricesRoundTrip) {
  TempDir dir;
  Matrix<int32_t> a(2, 3);
  Matrix<int64_t> b(3, 2);
  for (int64_t i = 0; i < 6; ++i) {
    a.storage()[i] = static_cast<int32_t>(i * 1000003 - 2000000000);
    b.storage()[i] = (int64_t{1} << 40) * (i - 3) + i;
  }
  write_npy(dir.file("a.npy"), a.view());
  write_npy(dir.file("b.npy"), b.view());
  const NpyArray ra = read_npy(dir.file("a.npy"));
  const NpyArray rb = read_npy(dir.file("b.npy"));
  EXPECT_EQ(ra.type, NpyType::int32);
  EXPECT_EQ(rb.type, NpyType::int64);
  EXPECT_EQ(ra.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(rb.shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(as_vector<int32_t>(ra), plain(a.storage()));
  EXPECT_EQ(as_vector<int64_t>(rb), plain(b.storage()));
  EXPECT_EQ(read_npy_int(dir.file("b.npy")), plain(b.storage()));
}

TEST(Npy, VectorsRoundTripAsOneDimensional) {
  TempDir dir;
  const std::vector<int32_t> i32 = {3, -1, std::numeric_limits<int32_t>::max(), 0};
  const std::vector<int64_t> i64 = {std::numeric_limits<int64_t>::min(), 7};
  const std::vector<float> f32 = {0.5f, -1e30f, 3.0f};
  const std::vector<double> f64 = {1e-300, 2.5};
  write_npy(dir.file("i32.npy"), i32);
  write_npy(dir.file("i64.npy"), i64);
  write_npy(dir.file("f32.npy"), f32);
  write_npy(dir.file("f64.npy"), f64);

  const NpyArray a = read_npy(dir.file("i32.npy"));
  EXPECT_EQ(a.type, NpyType::int32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(a.rows(), 4);
  EXPECT_EQ(a.cols(), 1);
  EXPECT_EQ(as_vector<int32_t>(a), i32);
  EXPECT_EQ(as_vector<int64_t>(read_npy(dir.file("i64.npy"))), i64);
  EXPECT_EQ(as_vector<double>(read_npy(dir.file("f64.npy"))), f64);

  const Matrix<float> f = read_npy_float(dir.file("f32.npy"));
  EXPECT_EQ(f.rows(), 3);
  EXPECT_EQ(f.cols(), 1);
  EXPECT_EQ(plain(f.storage()), f32);
  EXPECT_EQ(read_npy_int(dir.file("i32.npy")), (std::vector<int64_t>{3, -1, 2147483647, 0}));
}

TEST(Npy, StridedViewIsWrittenPacked) {
  TempDir dir;
  const Matrix<float> big = random_floats(6, 9, 2);
  // Columns 2..5 of every other row: ld = 18 floats.
  const MatrixView<const float> view(big.data() + 2, 3, 4, 18);
  write_npy(dir.file("v.npy"), view);
  const Matrix<float> back = read_npy_float(dir.file("v.npy"));
  ASSERT_EQ(back.rows(), 3);
  ASSERT_EQ(back.cols(), 4);
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(back(i, j), big(2 * i, 2 + j));
  }
  // A row block of a contiguous matrix is contiguous again.
  write_npy(dir.file("rows.npy"), big.view().row_block(1, 2));
  const Matrix<float> rows = read_npy_float(dir.file("rows.npy"));
  EXPECT_EQ(rows.rows(), 2);
  EXPECT_EQ(rows(1, 8), big(2, 8));
}

TEST(Npy, EmptyArraysRoundTrip) {
  TempDir dir;
  write_npy(dir.file("e.npy"), Matrix<float>(0, 3).view());
  const Matrix<float> back = read_npy_float(dir.file("e.npy"));
  EXPECT_EQ(back.rows(), 0);
  EXPECT_EQ(back.cols(), 3);
  write_npy(dir.file("v.npy"), std::vector<int64_t>{});
  EXPECT_TRUE(read_npy_int(dir.file("v.npy")).empty());
  const Matrix<float> numpy_empty = read_npy_float(fixture("f4_0x3.npy"));
  EXPECT_EQ(numpy_empty.rows(), 0);
  EXPECT_EQ(numpy_empty.cols(), 3);
}

TEST(Npy, WritesTheSameBytesAsNumpy) {
  TempDir dir;
  Matrix<float> m(3, 4);
  for (int64_t i = 0; i < 12; ++i) m.storage()[i] = 0.5f * i - 1.0f;
  write_npy(dir.file("m.npy"), m.view());
  EXPECT_EQ(read_bytes(dir.file("m.npy")), read_bytes(fixture("f4_3x4.npy")));
}

TEST(Npy, ReadsFilesWrittenByNumpy) {
  const Matrix<float> f4 = read_npy_float(fixture("f4_3x4.npy"));
  ASSERT_EQ(f4.rows(), 3);
  ASSERT_EQ(f4.cols(), 4);
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(f4.storage()[i], 0.5f * i - 1.0f);
  for (const char* version : {"f4_3x4_v2.npy", "f4_3x4_v3.npy"}) {
    const Matrix<float> v = read_npy_float(fixture(version));
    EXPECT_EQ(v.storage(), f4.storage()) << version;
  }

  const NpyArray f8 = read_npy(fixture("f8_5.npy"));
  EXPECT_EQ(f8.type, NpyType::float64);
  EXPECT_EQ(as_vector<double>(f8), (std::vector<double>{-0.25, 0.0, 0.25, 0.5, 0.75}));

  const NpyArray i4 = read_npy(fixture("i4_2x3.npy"));
  EXPECT_EQ(i4.type, NpyType::int32);
  EXPECT_EQ(i4.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(as_vector<int32_t>(i4), (std::vector<int32_t>{-2, -1, 0, 1, 2, 3}));

  const int64_t big = int64_t{1} << 40;
  EXPECT_EQ(read_npy_int(fixture("i8_4.npy")), (std::vector<int64_t>{-big, -1, 0, big + 3}));

  // Narrow integers and bool widen to int32.
  const NpyArray u1 = read_npy(fixture("u1_4.npy"));
  EXPECT_EQ(u1.type, NpyType::int32);
  EXPECT_EQ(as_vector<int32_t>(u1), (std::vector<int32_t>{0, 1, 200, 255}));
  EXPECT_EQ(read_npy_int(fixture("b1_3.npy")), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(read_npy_int(fixture("i2_3.npy")), (std::vector<int64_t>{-300, 0, 300}));
  EXPECT_EQ(plain(read_npy_float(fixture("i2_3.npy")).storage()), (std::vector<float>{-300, 0, 300}));

  // Big-endian data are swapped on load.
  const NpyArray be = read_npy(fixture("f8_be_2x2.npy"));
  EXPECT_EQ(be.type, NpyType::float64);
  EXPECT_EQ(as_vector<double>(be), (std::vector<double>{1.5, -2.0, 1e300, 0.1}));
}

TEST(Npy, HeaderParsingToleratesSpacingOrderAndQuotes) {
  TempDir dir;
  const std::vector<int64_t> data = {1, 2, 3, 4, 5, 6};
  const std::vector<std::string> dicts = {
      "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }\n",
      "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<i8\"}",
      "{ 'fortran_order' :False ,\t'shape' : ( 2 , 3 ) ,\n 'descr' : '<i8' }   \n",
      "{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L)}\n",  // Python 2 numpy
      "{'descr': '<i8', 'fortran_order': False, 'shape': [2, 3]}",
  };
  for (const std::string& dict : dicts) {
    write_bytes(dir.file("h.npy"), raw_npy(dict, bytes_of(data)));
    const NpyArray a = read_npy(dir.file("h.npy"));
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3})) << dict;
    EXPECT_EQ(as_vector<int64_t>(a), data) << dict;
  }
  // Format 2.0 with a 4-byte header length.
  write_bytes(dir.file("v2.npy"),
              raw_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (6,), }\n", bytes_of(data), 2));
  EXPECT_EQ(read_npy_int(dir.file("v2.npy")), data);
}

TEST(Npy, FortranOrderIsRejectedUnlessItIsTheSameBytes) {
  expect_error([] { read_npy_float(fixture("f4_fortran_3x2.npy")); }, ErrorCode::parse_error,
               {"read_npy_float", "f4_fortran_3x2.npy", "Fortran"});
  TempDir dir;
  const std::vector<float> v = {1, 2, 3};
  write_bytes(dir.file("col.npy"),
              raw_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 1), }", bytes_of(v)));
  EXPECT_EQ(plain(read_npy_float(dir.file("col.npy")).storage()), v);
}

TEST(Npy, UnsupportedDtypesAndDimensionsAreParseErrors) {
  expect_error([] { read_npy(fixture("c8_2.npy")); }, ErrorCode::parse_error,
               {"read_npy", "c8_2.npy", "unsupported dtype '<c8'"});
  expect_error([] { read_npy_float(fixture("f4_2x2x2.npy")); }, ErrorCode::parse_error,
               {"read_npy_float", "3-dimensional"});
  TempDir dir;
  write_bytes(dir.file("s.npy"), raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': ()}",
                                         bytes_of(std::vector<double>{1.0})));
  expect_error([&] { read_npy(dir.file("s.npy")); }, ErrorCode::parse_error, {"0-dimensional"});
  write_bytes(dir.file("u.npy"), raw_npy("{'descr': '<U3', 'fortran_order': False, 'shape': (1,)}",
                                         std::string(12, 'a')));
  expect_error([&] { read_npy(dir.file("u.npy")); }, ErrorCode::parse_error, {"'<U3'"});
  write_bytes(dir.file("rec.npy"),
              raw_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
                      std::string(4, '\0')));
  expect_error([&] { read_npy(dir.file("rec.npy")); }, ErrorCode::parse_error, {"structured"});
  // uint64 above INT64_MAX cannot be an int64.
  write_bytes(dir.file("u8.npy"),
              raw_npy("{'descr': '<u8', 'fortran_order': False, 'shape': (2,)}",
                      bytes_of(std::vector<uint64_t>{1, uint64_t{1} << 63})));
  expect_error([&] { read_npy(dir.file("u8.npy")); }, ErrorCode::parse_error, {"element 1"});
}

TEST(Npy, MalformedFilesAreParseErrors) {
  TempDir dir;
  const std::vector<unsigned char> good = read_bytes(fixture("f4_3x4.npy"));
  ASSERT_GT(good.size(), 64u);

  auto truncated = good;
  truncated.resize(good.size() - 3);
  write_bytes(dir.file("trunc.npy"), truncated);
  expect_error([&] { read_npy_float(dir.file("trunc.npy")); }, ErrorCode::parse_error,
               {"read_npy_float", "trunc.npy", "truncated data"});

  auto header_only = good;
  header_only.resize(40);
  write_bytes(dir.file("hdr.npy"), header_only);
  expect_error([&] { read_npy(dir.file("hdr.npy")); }, ErrorCode::parse_error, {"truncated"});

  auto bad_magic = good;
  bad_magic[1] = 'X';
  write_bytes(dir.file("magic.npy"), bad_magic);
  expect_error([&] { read_npy(dir.file("magic.npy")); }, ErrorCode::parse_error,
               {"read_npy", "magic.npy", "magic"});

  write_bytes(dir.file("tiny.npy"), std::string("\x93NU"));
  expect_error([&] { read_npy(dir.file("tiny.npy")); }, ErrorCode::parse_error, {"tiny.npy"});
  write_bytes(dir.file("empty.npy"), std::string());
  expect_error([&] { read_npy(dir.file("empty.npy")); }, ErrorCode::parse_error, {"empty.npy"});

  auto version = good;
  version[6] = 4;
  write_bytes(dir.file("v4.npy"), version);
  expect_error([&] { read_npy(dir.file("v4.npy")); }, ErrorCode::parse_error, {"version 4.0"});

  const std::string data = bytes_of(std::vector<float>{1, 2});
  for (const std::string& dict : {
           std::string("{'descr': '<f4', 'shape': (2,)}"),                       // missing key
           std::string("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)"),  // unclosed
           std::string("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}"),    // not a bool
           std::string("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}"),
           std::string("{'descr': 'f', 'fortran_order': False, 'shape': (2,)}"),
           std::string("['descr', '<f4']"),
           std::string("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk"),
           std::string("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"),
       }) {
    write_bytes(dir.file("bad.npy"), raw_npy(dict, data));
    expect_error([&] { read_npy(dir.file("bad.npy")); }, ErrorCode::parse_error,
                 {"read_npy", "bad.npy"});
  }
  // Shapes whose byte count overflows are caught before any allocation.
  write_bytes(dir.file("huge.npy"),
              raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4)}", data));
  expect_error([&] { read_npy(dir.file("huge.npy")); }, ErrorCode::parse_error, {"overflows"});
  // A plausible but absent terabyte is refused from the file size, before
  // allocating it.
  write_bytes(dir.file("tb.npy"),
              raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000)}", data));
  expect_error([&] { read_npy_float(dir.file("tb.npy")); }, ErrorCode::parse_error,
               {"truncated data", "4000000000000 bytes"});
}

TEST(Npy, ReadNpyIntRejectsNonIntegralValues) {
  TempDir dir;
  write_npy(dir.file("ok.npy"), std::vector<double>{0.0, -3.0, 1e15});
  EXPECT_EQ(read_npy_int(dir.file("ok.npy")), (std::vector<int64_t>{0, -3, 1000000000000000}));
  write_npy(dir.file("frac.npy"), std::vector<float>{1.0f, 1.5f});
  expect_error([&] { read_npy_int(dir.file("frac.npy")); }, ErrorCode::parse_error,
               {"read_npy_int", "frac.npy", "element 1"});
  write_npy(dir.file("nan.npy"), std::vector<double>{std::nan("")});
  expect_error([&] { read_npy_int(dir.file("nan.npy")); }, ErrorCode::parse_error, {"element 0"});
}

TEST(Npy, MissingFilesAndDirectoriesAreIoErrors) {
  TempDir dir;
  expect_error([&] { read_npy(dir.file("absent.npy")); }, ErrorCode::io_error,
               {"read_npy", "absent.npy", "cannot open"});
  expect_error([&] { read_npy_float(dir.path().string()); }, ErrorCode::io_error,
               {"read_npy_float", "directory"});
  expect_error([&] { read_npy_int(dir.file("absent.npy")); }, ErrorCode::io_error,
               {"read_npy_int"});
}

TEST(Npy, FailedWritesLeaveNothingBehind) {
  TempDir dir;
  const std::vector<float> v = {1, 2, 3};
  // Into a directory that does not exist: the temporary cannot be created.
  expect_error([&] { write_npy(dir.file("no/such/dir/x.npy"), v); }, ErrorCode::io_error,
               {"write_npy", "no/such/dir/x.npy"});
  // Onto an existing directory: refused before a temporary is made.
  std::filesystem::create_directory(dir.path() / "taken.npy");
  expect_error([&] { write_npy(dir.file("taken.npy"), v); }, ErrorCode::io_error,
               {"write_npy", "taken.npy", "is a directory"});
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"taken.npy"}));
}

TEST(Npy, OverwritingReplacesTheFileWhole) {
  TempDir dir;
  write_npy(dir.file("x.npy"), std::vector<float>(1000, 1.0f));
  write_npy(dir.file("x.npy"), std::vector<float>{2.0f});
  EXPECT_EQ(plain(read_npy_float(dir.file("x.npy")).storage()), std::vector<float>{2.0f});
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"x.npy"}));
}

TEST(Npy, WriteNpyArrayChecksItsSize) {
  TempDir dir;
  NpyArray a;
  a.type = NpyType::int64;
  a.shape = {2, 2};
  a.bytes.resize(3 * 8);
  expect_error([&] { write_npy(dir.file("a.npy"), a); }, ErrorCode::shape_mismatch, {"write_npy"});
  a.bytes.resize(4 * 8);
  write_npy(dir.file("a.npy"), a);
  const NpyArray back = read_npy(dir.file("a.npy"));
  EXPECT_EQ(back.type, NpyType::int64);
  EXPECT_EQ(back.shape, a.shape);
  EXPECT_TRUE(dir.entries() == std::vector<std::string>{"a.npy"});
}

TEST(Npy, LongHeadersUseFormatTwo) {
  const std::string h = internal::encode_npy_header("<f4", {3, 4});
  EXPECT_EQ(h.size() % 64, 0u);
  EXPECT_EQ(h[6], 1);
  EXPECT_EQ(h.back(), '\n');
  // A 2-D header never needs 2.0 in practice; the encoder still switches
  // when the dictionary would not fit a 16-bit length.
  const std::string long_descr(70000, 'x');
  const std::string h2 = internal::encode_npy_header(long_descr, {1});
  EXPECT_EQ(h2[6], 2);
  EXPECT_EQ(h2.size() % 64, 0u);
}

}  // namespace
}  // namespace stray
