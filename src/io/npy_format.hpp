// The .npy container shared by read_npy/write_npy and the .npz reader and
// writer: header parsing (format 1.0/2.0/3.0), dtype decoding and element
// conversion. Errors name `where` (the public function) and `name` (the
// path, or "file.npz[member.npy]").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "stray/io/npy.hpp"

namespace stray::internal {

/// A scalar dtype as written in the header's 'descr', e.g. '<f4'.
struct NpyDtype {
  std::string descr;
  char byteorder = '<';  // '<', '>' or '|' ('=' is read as the host's, little)
  char kind = 'f';       // 'f' float, 'i' signed, 'u' unsigned, 'b' bool, 'S' bytes, 'U' UCS-4
  int itemsize = 4;      // bytes per element

  bool numeric() const { return kind == 'f' || kind == 'i' || kind == 'u' || kind == 'b'; }
  /// Whether the stored bytes need swapping on this (little-endian) host.
  bool swapped() const { return byteorder == '>' && itemsize > 1; }
};

struct NpyHeader {
  int major = 1;
  int minor = 0;
  NpyDtype dtype;
  bool fortran_order = false;
  std::vector<int64_t> shape;  // any number of dimensions (0 for a scalar)
  std::size_t data_offset = 0;  // bytes from the start of the file to the data
  int64_t count = 0;            // elements (product of shape; 1 for a scalar)
  std::size_t data_bytes = 0;   // count * itemsize
};

/// Bytes of the fixed prefix that tell the header length: magic (6),
/// version (2), length (2 for 1.0, 4 for 2.0/3.0).
constexpr std::size_t kNpyPrefixMin = 10;
constexpr std::size_t kNpyPrefixMax = 12;

/// From the first `n` bytes of a file (n >= kNpyPrefixMin; kNpyPrefixMax
/// when available), the total size of magic + length + header dictionary,
/// i.e. the data offset. Checks the magic and version.
std::size_t npy_header_size(const unsigned char* p, std::size_t n, const char* where,
                            const std::string& name);

/// Parses a complete header (`n` >= npy_header_size). Any dimensionality and
/// any dtype descr string are accepted here; callers restrict them.
NpyHeader parse_npy_header(const unsigned char* p, std::size_t n, const char* where,
                           const std::string& name);

class InputFile;

/// Reads and checks the header of the .npy file `f`: magic, version, a
/// matrix the public readers support, and data not cut short (checked
/// before anything is allocated for them).
NpyHeader read_npy_header(const InputFile& f, const char* where, const std::string& path);

/// Rejects what the public readers do not support: non-numeric dtypes,
/// 0-d or >2-d arrays, Fortran order (unless C and Fortran order coincide).
void require_supported_matrix(const NpyHeader& h, const char* where, const std::string& name);

/// The NpyType a numeric dtype reads as: f4→float32, f8→float64, i4→int32,
/// i8→int64; narrower integers and bool widen to int32, u4/u8 to int64.
NpyType natural_type(const NpyDtype& dt, const char* where, const std::string& name);

/// Converts `count` elements stored as `dt` at `src` into `dst`. Integer
/// targets reject values out of their range and non-integral floats
/// (ErrorCode::parse_error naming the element index and `what`).
template <typename D>
void convert_elements(const NpyDtype& dt, const unsigned char* src, int64_t count, D* dst,
                      const char* where, const std::string& name, const char* what = "value");

/// Whether `dt` is byte-for-byte the little-endian layout of D, so data can
/// be read straight into the destination.
template <typename D>
bool is_exact_layout(const NpyDtype& dt);

/// The header (prefix, dictionary, padding to a multiple of 64 bytes) for a
/// C-order little-endian array: version 1.0, or 2.0 when it does not fit.
std::string encode_npy_header(const std::string& descr, const std::vector<int64_t>& shape);

template <typename T>
const char* npy_descr();  // "<f4", "<f8", "<i4", "<i8"

}  // namespace stray::internal
