// stray — NumPy .npy files (format 1.0/2.0/3.0, C order, little-endian).
//
// The lingua franca with numpy users and peer scripts: float32, float64,
// int32 and int64 arrays of one or two dimensions. A 1-D array reads as
// [n x 1].
//
// Also read: big-endian files ('>f8', swapped on load), int8/int16/uint8/
// uint16/bool (widened to int32) and uint32/uint64 (to int64; a uint64 above
// INT64_MAX is a parse_error). Fortran order is a parse_error unless the
// array has one row or one column (then both orders are the same bytes).
// Headers are parsed as the Python literal they are: any spacing, keys in
// any order, single or double quotes, Python 2 'L' suffixes.
//
// Every failure is a stray::Error: io_error when a file cannot be opened,
// read, written or renamed; parse_error for malformed content (bad magic,
// unknown version, malformed header, unsupported dtype, 0-d or >2-d arrays,
// truncated data). Messages name the function and the path.
//
// Thread safety: every function may run concurrently with any other on
// different paths (no shared state); a write replaces its file atomically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stray/core/matrix.hpp"

namespace stray {

enum class NpyType { float32, float64, int32, int64 };

struct NpyArray {
  NpyType type = NpyType::float32;
  std::vector<int64_t> shape;  // as stored (1 or 2 dimensions)
  std::vector<unsigned char> bytes;  // little-endian, C order, of `type`
  int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
  int64_t cols() const { return shape.size() < 2 ? 1 : shape[1]; }
};

/// Reads any supported .npy file. Throws ErrorCode::io_error / parse_error.
/// `type` is the stored dtype's, or the widened one for narrow integers.
NpyArray read_npy(const std::string& path);
/// Reads a .npy holding numbers of any supported type, converted to float32.
/// Non-finite values are kept (callers validate).
Matrix<float> read_npy_float(const std::string& path);
/// Reads a .npy holding integers (any integer type or bool, or floats with
/// integral values) as int64, flattened in C order. A non-integral or
/// out-of-range value is a parse_error naming its index.
std::vector<int64_t> read_npy_int(const std::string& path);

/// Writes a 2-D float32 / float64 / int32 / int64 array (a view may be
/// strided; rows are packed), or a vector as a 1-D array, in format 1.0
/// (2.0 only if the header needs it) with numpy's own header text. The file
/// is written to `path + ".tmp-XXXXXX"` and renamed, so a failure never
/// leaves a half-written file (nor the temporary) behind.
void write_npy(const std::string& path, MatrixView<const float> m);
void write_npy(const std::string& path, MatrixView<const double> m);
void write_npy(const std::string& path, MatrixView<const int32_t> m);
void write_npy(const std::string& path, MatrixView<const int64_t> m);
void write_npy(const std::string& path, const std::vector<int32_t>& v);
void write_npy(const std::string& path, const std::vector<int64_t>& v);
void write_npy(const std::string& path, const std::vector<float>& v);
void write_npy(const std::string& path, const std::vector<double>& v);
/// Writes an NpyArray as read by read_npy (1 or 2 dimensions; `bytes` must
/// hold exactly the shape's elements, else ErrorCode::shape_mismatch).
void write_npy(const std::string& path, const NpyArray& a);

}  // namespace stray
