#include "stray/io/npy.hpp"

#include <cstring>

#include "io/atomic_file.hpp"
#include "core/check.hpp"
#include "io/input_file.hpp"
#include "io/npy_format.hpp"

namespace stray {

namespace internal {

NpyHeader read_npy_header(const InputFile& f, const char* where, const std::string& path) {
  unsigned char prefix[kNpyPrefixMax];
  const std::size_t n = f.read_at(0, prefix, sizeof(prefix));
  if (n < kNpyPrefixMin) {
    fail(ErrorCode::parse_error, where, path, ": not a .npy file (", n, " bytes, too short)");
  }
  const std::size_t size = npy_header_size(prefix, n, where, path);
  std::vector<unsigned char> header(size);
  const std::size_t got = f.read_at(0, header.data(), size);
  if (got < size) {
    fail(ErrorCode::parse_error, where, path, ": truncated .npy header (", got, " of ", size,
         " bytes)");
  }
  NpyHeader h = parse_npy_header(header.data(), size, where, path);
  require_supported_matrix(h, where, path);
  // Checked before allocating: a corrupt shape must not cost a huge buffer.
  if (h.data_bytes > f.size() - h.data_offset) {
    fail(ErrorCode::parse_error, where, path, ": truncated data: expected ", h.data_bytes,
         " bytes for ", h.count, " elements of '", h.dtype.descr, "', found ",
         f.size() - h.data_offset);
  }
  return h;
}

}  // namespace internal

namespace {

using internal::fail;
using internal::NpyHeader;

struct OpenNpy {
  internal::InputFile file;
  NpyHeader header;
};

// Reads the data section into dst [h.count], converting when the stored
// dtype is not D's own little-endian layout.
template <typename D>
void read_data(const internal::InputFile& f, const NpyHeader& h, D* dst, const char* where,
               const std::string& path) {
  const auto check_size = [&](std::size_t got) {
    if (got < h.data_bytes) {
      fail(ErrorCode::parse_error, where, path, ": truncated data: expected ", h.data_bytes,
           " bytes, found ", got, " (file shrank while reading?)");
    }
  };
  if (internal::is_exact_layout<D>(h.dtype)) {
    check_size(f.read_at(h.data_offset, dst, h.data_bytes));
    return;
  }
  std::vector<unsigned char> raw(h.data_bytes);
  check_size(f.read_at(h.data_offset, raw.data(), raw.size()));
  internal::convert_elements<D>(h.dtype, raw.data(), h.count, dst, where, path);
}

template <typename T>
void write_array(const std::string& path, const std::vector<int64_t>& shape, MatrixView<const T> m) {
  internal::AtomicFile out(path, "write_npy");
  const std::string header = internal::encode_npy_header(internal::npy_descr<T>(), shape);
  out.write(header.data(), header.size());
  if (m.contiguous()) {
    out.write(m.data(), static_cast<std::size_t>(m.size()) * sizeof(T));
  } else {
    for (int64_t i = 0; i < m.rows(); ++i) {
      out.write(m.row(i), static_cast<std::size_t>(m.cols()) * sizeof(T));
    }
  }
  out.commit();
}

template <typename T>
void write_vector(const std::string& path, const std::vector<T>& v) {
  const auto n = static_cast<int64_t>(v.size());
  write_array<T>(path, {n}, MatrixView<const T>(v.data(), n, 1));
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  constexpr const char* where = "read_npy";
  internal::InputFile f(path, where);
  const NpyHeader h = internal::read_npy_header(f, where, path);
  NpyArray out;
  out.type = internal::natural_type(h.dtype, where, path);
  out.shape = h.shape;
  switch (out.type) {
    case NpyType::float32:
      out.bytes.resize(static_cast<std::size_t>(h.count) * sizeof(float));
      read_data(f, h, reinterpret_cast<float*>(out.bytes.data()), where, path);
      break;
    case NpyType::float64:
      out.bytes.resize(static_cast<std::size_t>(h.count) * sizeof(double));
      read_data(f, h, reinterpret_cast<double*>(out.bytes.data()), where, path);
      break;
    case NpyType::int32:
      out.bytes.resize(static_cast<std::size_t>(h.count) * sizeof(int32_t));
      read_data(f, h, reinterpret_cast<int32_t*>(out.bytes.data()), where, path);
      break;
    case NpyType::int64:
      out.bytes.resize(static_cast<std::size_t>(h.count) * sizeof(int64_t));
      read_data(f, h, reinterpret_cast<int64_t*>(out.bytes.data()), where, path);
      break;
  }
  return out;
}

Matrix<float> read_npy_float(const std::string& path) {
  constexpr const char* where = "read_npy_float";
  internal::InputFile f(path, where);
  const NpyHeader h = internal::read_npy_header(f, where, path);
  const int64_t rows = h.shape[0];
  const int64_t cols = h.shape.size() == 2 ? h.shape[1] : 1;
  Matrix<float> out(rows, cols);
  read_data(f, h, out.data(), where, path);
  return out;
}

std::vector<int64_t> read_npy_int(const std::string& path) {
  constexpr const char* where = "read_npy_int";
  internal::InputFile f(path, where);
  const NpyHeader h = internal::read_npy_header(f, where, path);
  std::vector<int64_t> out(static_cast<std::size_t>(h.count));
  read_data(f, h, out.data(), where, path);
  return out;
}

void write_npy(const std::string& path, MatrixView<const float> m) {
  write_array<float>(path, {m.rows(), m.cols()}, m);
}
void write_npy(const std::string& path, MatrixView<const double> m) {
  write_array<double>(path, {m.rows(), m.cols()}, m);
}
void write_npy(const std::string& path, MatrixView<const int32_t> m) {
  write_array<int32_t>(path, {m.rows(), m.cols()}, m);
}
void write_npy(const std::string& path, MatrixView<const int64_t> m) {
  write_array<int64_t>(path, {m.rows(), m.cols()}, m);
}
void write_npy(const std::string& path, const std::vector<int32_t>& v) { write_vector(path, v); }
void write_npy(const std::string& path, const std::vector<int64_t>& v) { write_vector(path, v); }
void write_npy(const std::string& path, const std::vector<float>& v) { write_vector(path, v); }
void write_npy(const std::string& path, const std::vector<double>& v) { write_vector(path, v); }

void write_npy(const std::string& path, const NpyArray& a) {
  constexpr const char* where = "write_npy";
  internal::require(a.shape.size() == 1 || a.shape.size() == 2, ErrorCode::invalid_argument, where,
                    path, ": shape has ", a.shape.size(), " dimensions; expected 1 or 2");
  int64_t count = 1;
  for (int64_t d : a.shape) count = checked_mul(count, d, where);
  std::size_t item = 4;
  const char* descr = "<f4";
  switch (a.type) {
    case NpyType::float32: item = 4; descr = "<f4"; break;
    case NpyType::float64: item = 8; descr = "<f8"; break;
    case NpyType::int32: item = 4; descr = "<i4"; break;
    case NpyType::int64: item = 8; descr = "<i8"; break;
  }
  internal::require(a.bytes.size() == static_cast<std::size_t>(count) * item,
                    ErrorCode::shape_mismatch, where, path, ": ", a.bytes.size(),
                    " bytes for ", count, " elements of ", descr);
  internal::AtomicFile out(path, where);
  const std::string header = internal::encode_npy_header(descr, a.shape);
  out.write(header.data(), header.size());
  out.write(a.bytes.data(), a.bytes.size());
  out.commit();
}

}  // namespace stray
