#include "io/npy_format.hpp"

#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/check.hpp"

namespace stray::internal {

static_assert(std::endian::native == std::endian::little,
              "the .npy reader assumes a little-endian host");

namespace {

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
// numpy itself refuses headers over 10 kB unless told otherwise; a bigger
// limit still catches a corrupt length before a huge allocation.
constexpr std::size_t kMaxHeaderBytes = std::size_t{1} << 20;

// ---- a tiny parser for the Python literal in the header -------------------

struct PyValue {
  enum class Kind { string, integer, boolean, none, sequence, dict } kind = Kind::none;
  std::string str;
  int64_t integer = 0;
  bool boolean = false;
  // A tuple or list: its items. A dict: its values, keyed by `keys` (kept
  // apart: a pair holding the type being defined does not compile with
  // every standard library and compiler).
  std::vector<PyValue> items;
  std::vector<std::string> keys;
};

class LiteralParser {
 public:
  LiteralParser(std::string_view text, const char* where, const std::string& name)
      : text_(text), where_(where), name_(name) {}

  PyValue parse_document() {
    PyValue v = parse_value(0);
    skip_space();
    while (pos_ < text_.size() && text_[pos_] == '\0') ++pos_;  // old writers padded with NULs
    skip_space();
    if (pos_ != text_.size()) error("unexpected text after the header dictionary");
    return v;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail(ErrorCode::parse_error, where_, name_, ": malformed .npy header: ", what, " at offset ",
         pos_, " in \"", printable(text_, 200), "\"");
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  PyValue parse_value(int depth) {
    if (depth > 8) error("nesting too deep");
    skip_space();
    if (pos_ >= text_.size()) error("unexpected end");
    const char c = text_[pos_];
    if (c == '\'' || c == '"') return parse_string();
    if (c == '{') return parse_dict(depth);
    if (c == '(' || c == '[') return parse_sequence(depth, c == '(' ? ')' : ']');
    if (c == '-' || c == '+' || (c >= '0' && c <= '9')) return parse_integer();
    for (const char* word : {"True", "False", "None"}) {
      const std::size_t len = std::strlen(word);
      if (text_.substr(pos_, len) == word) {
        pos_ += len;
        PyValue v;
        if (word[0] == 'N') return v;
        v.kind = PyValue::Kind::boolean;
        v.boolean = word[0] == 'T';
        return v;
      }
    }
    error("unexpected character '" + printable(std::string_view(&c, 1)) + "'");
  }

  PyValue parse_string() {
    const char quote = text_[pos_++];
    PyValue v;
    v.kind = PyValue::Kind::string;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      v.str.push_back(text_[pos_++]);
    }
    if (pos_ >= text_.size()) error("unterminated string");
    ++pos_;
    return v;
  }

  PyValue parse_integer() {
    PyValue v;
    v.kind = PyValue::Kind::integer;
    bool negative = false;
    if (text_[pos_] == '-' || text_[pos_] == '+') negative = text_[pos_++] == '-';
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') error("bad integer");
    int64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const int digit = text_[pos_++] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) error("integer overflows int64");
      value = value * 10 + digit;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'L' || text_[pos_] == 'l')) ++pos_;  // Python 2
    v.integer = negative ? -value : value;
    return v;
  }

  PyValue parse_sequence(int depth, char close) {
    ++pos_;
    PyValue v;
    v.kind = PyValue::Kind::sequence;
    while (true) {
      if (consume(close)) return v;
      v.items.push_back(parse_value(depth + 1));
      if (consume(close)) return v;
      if (!consume(',')) error("expected ',' in a tuple or list");
    }
  }

  PyValue parse_dict(int depth) {
    ++pos_;
    PyValue v;
    v.kind = PyValue::Kind::dict;
    while (true) {
      if (consume('}')) return v;
      skip_space();
      if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
        error("expected a quoted key");
      }
      std::string key = parse_string().str;
      if (!consume(':')) error("expected ':' after key '" + printable(key, 40) + "'");
      v.items.push_back(parse_value(depth + 1));
      v.keys.push_back(std::move(key));
      if (consume('}')) return v;
      if (!consume(',')) error("expected ',' between dictionary entries");
    }
  }

  std::string_view text_;
  const char* where_;
  const std::string& name_;
  std::size_t pos_ = 0;
};

NpyDtype parse_descr(const std::string& descr, const char* where, const std::string& name) {
  NpyDtype dt;
  dt.descr = descr;
  std::size_t pos = 0;
  char order = '=';
  if (!descr.empty() && (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=')) {
    order = descr[0];
    pos = 1;
  }
  const bool ok = pos + 1 < descr.size() && std::isalpha(static_cast<unsigned char>(descr[pos]));
  std::size_t end = pos + 1;
  int64_t size = 0;
  while (ok && end < descr.size() && std::isdigit(static_cast<unsigned char>(descr[end])) &&
         size < 1000000) {
    size = size * 10 + (descr[end++] - '0');
  }
  if (!ok || end != descr.size() || size <= 0) {
    fail(ErrorCode::parse_error, where, name, ": unsupported dtype '", printable(descr, 40),
         "' (stray reads float32/float64, signed and unsigned integers and bool)");
  }
  dt.kind = descr[pos];
  // A unicode dtype counts characters of 4 bytes each ('<U3' is 12 bytes).
  dt.itemsize = static_cast<int>(dt.kind == 'U' ? 4 * size : size);
  // '=' and '|' mean the host's order, which is little-endian here.
  dt.byteorder = order == '>' ? '>' : '<';
  if (order == '|' || dt.itemsize == 1) dt.byteorder = '|';
  return dt;
}

template <typename S>
S load(const unsigned char* p, bool swap) {
  S v;
  if (swap) {
    unsigned char b[sizeof(S)];
    for (std::size_t k = 0; k < sizeof(S); ++k) b[k] = p[sizeof(S) - 1 - k];
    std::memcpy(&v, b, sizeof(S));
  } else {
    std::memcpy(&v, p, sizeof(S));
  }
  return v;
}

template <typename S, typename D>
void convert_from(const unsigned char* src, int64_t count, bool swap, bool as_bool, D* dst,
                  const char* where, const std::string& name, const char* what) {
  // An empty array's buffers may be null, and memcpy must not see a null
  // pointer even for zero bytes.
  if (count <= 0) return;
  if constexpr (std::is_same_v<S, D>) {
    if (!swap && !as_bool) {
      std::memcpy(dst, src, static_cast<std::size_t>(count) * sizeof(D));
      return;
    }
  }
  for (int64_t i = 0; i < count; ++i) {
    S v = load<S>(src + static_cast<std::size_t>(i) * sizeof(S), swap);
    if constexpr (std::is_integral_v<S>) {
      if (as_bool) v = static_cast<S>(v != 0);
    }
    if constexpr (std::is_floating_point_v<D>) {
      dst[i] = static_cast<D>(v);
    } else if constexpr (std::is_floating_point_v<S>) {
      const double x = static_cast<double>(v);
      const double limit = std::ldexp(1.0, std::numeric_limits<D>::digits);
      if (!(std::isfinite(x) && x == std::trunc(x) && x >= -limit && x < limit)) {
        fail(ErrorCode::parse_error, where, name, ": ", what, " ", x, " at element ", i,
             " is not an integer that fits ", sizeof(D) == 4 ? "int32" : "int64");
      }
      dst[i] = static_cast<D>(x);
    } else {
      if (!std::in_range<D>(v)) {
        fail(ErrorCode::parse_error, where, name, ": ", what, " ", v, " at element ", i,
             " does not fit ", sizeof(D) == 4 ? "int32" : "int64");
      }
      dst[i] = static_cast<D>(v);
    }
  }
}

[[noreturn]] void unsupported_dtype(const NpyDtype& dt, const char* where, const std::string& name) {
  fail(ErrorCode::parse_error, where, name, ": unsupported dtype '", printable(dt.descr, 40),
       "' (stray reads float32/float64, signed and unsigned integers and bool)");
}

}  // namespace

std::size_t npy_header_size(const unsigned char* p, std::size_t n, const char* where,
                            const std::string& name) {
  if (n < kNpyPrefixMin || std::memcmp(p, kMagic, sizeof(kMagic)) != 0) {
    fail(ErrorCode::parse_error, where, name, ": not a .npy file (bad magic string)");
  }
  const int major = p[6];
  std::size_t len = 0;
  std::size_t prefix = 0;
  if (major == 1) {
    len = static_cast<std::size_t>(p[8]) | (static_cast<std::size_t>(p[9]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (n < kNpyPrefixMax) fail(ErrorCode::parse_error, where, name, ": truncated .npy header");
    len = static_cast<std::size_t>(p[8]) | (static_cast<std::size_t>(p[9]) << 8) |
          (static_cast<std::size_t>(p[10]) << 16) | (static_cast<std::size_t>(p[11]) << 24);
    prefix = 12;
  } else {
    fail(ErrorCode::parse_error, where, name, ": unsupported .npy format version ", major, ".",
         static_cast<int>(p[7]), " (stray reads 1.0, 2.0 and 3.0)");
  }
  if (len > kMaxHeaderBytes) {
    fail(ErrorCode::parse_error, where, name, ": implausible .npy header length ", len);
  }
  return prefix + len;
}

NpyHeader parse_npy_header(const unsigned char* p, std::size_t n, const char* where,
                           const std::string& name) {
  NpyHeader h;
  h.data_offset = npy_header_size(p, n, where, name);
  if (n < h.data_offset) fail(ErrorCode::parse_error, where, name, ": truncated .npy header");
  h.major = p[6];
  h.minor = p[7];
  const std::size_t prefix = h.major == 1 ? 10 : 12;
  const std::string_view text(reinterpret_cast<const char*>(p + prefix), h.data_offset - prefix);
  const PyValue dict = LiteralParser(text, where, name).parse_document();
  if (dict.kind != PyValue::Kind::dict) {
    fail(ErrorCode::parse_error, where, name, ": malformed .npy header: not a dictionary");
  }
  const PyValue* descr = nullptr;
  const PyValue* fortran = nullptr;
  const PyValue* shape = nullptr;
  for (std::size_t e = 0; e < dict.keys.size(); ++e) {
    const std::string& key = dict.keys[e];
    const PyValue& value = dict.items[e];
    if (key == "descr") descr = &value;
    if (key == "fortran_order") fortran = &value;
    if (key == "shape") shape = &value;
  }
  if (descr == nullptr || fortran == nullptr || shape == nullptr) {
    fail(ErrorCode::parse_error, where, name,
         ": malformed .npy header: needs the keys 'descr', 'fortran_order' and 'shape'");
  }
  if (descr->kind != PyValue::Kind::string) {
    fail(ErrorCode::parse_error, where, name,
         ": unsupported dtype: structured arrays are not supported (use a plain numeric array)");
  }
  h.dtype = parse_descr(descr->str, where, name);
  if (fortran->kind != PyValue::Kind::boolean) {
    fail(ErrorCode::parse_error, where, name, ": malformed .npy header: 'fortran_order' is not a bool");
  }
  h.fortran_order = fortran->boolean;
  if (shape->kind != PyValue::Kind::sequence) {
    fail(ErrorCode::parse_error, where, name, ": malformed .npy header: 'shape' is not a tuple");
  }
  h.count = 1;
  for (const PyValue& dim : shape->items) {
    if (dim.kind != PyValue::Kind::integer || dim.integer < 0) {
      fail(ErrorCode::parse_error, where, name, ": malformed .npy header: bad dimension in 'shape'");
    }
    h.shape.push_back(dim.integer);
    if (dim.integer != 0 && h.count > std::numeric_limits<int64_t>::max() / dim.integer) {
      fail(ErrorCode::parse_error, where, name, ": shape overflows int64");
    }
    h.count *= dim.integer;
  }
  if (h.count > std::numeric_limits<int64_t>::max() / h.dtype.itemsize) {
    fail(ErrorCode::parse_error, where, name, ": data size overflows int64");
  }
  h.data_bytes = static_cast<std::size_t>(h.count) * static_cast<std::size_t>(h.dtype.itemsize);
  return h;
}

void require_supported_matrix(const NpyHeader& h, const char* where, const std::string& name) {
  if (!h.dtype.numeric()) unsupported_dtype(h.dtype, where, name);
  natural_type(h.dtype, where, name);
  if (h.shape.empty() || h.shape.size() > 2) {
    fail(ErrorCode::parse_error, where, name, ": ", h.shape.size(),
         "-dimensional array; stray reads 1-D and 2-D arrays");
  }
  // With one row or one column, Fortran and C order are the same bytes.
  if (h.fortran_order && h.shape.size() == 2 && h.shape[0] > 1 && h.shape[1] > 1) {
    fail(ErrorCode::parse_error, where, name,
         ": Fortran-order (column-major) arrays are not supported; save "
         "np.ascontiguousarray(a) instead");
  }
}

NpyType natural_type(const NpyDtype& dt, const char* where, const std::string& name) {
  switch (dt.kind) {
    case 'f':
      if (dt.itemsize == 4) return NpyType::float32;
      if (dt.itemsize == 8) return NpyType::float64;
      break;
    case 'i':
      if (dt.itemsize == 1 || dt.itemsize == 2 || dt.itemsize == 4) return NpyType::int32;
      if (dt.itemsize == 8) return NpyType::int64;
      break;
    case 'u':
      if (dt.itemsize == 1 || dt.itemsize == 2) return NpyType::int32;
      if (dt.itemsize == 4 || dt.itemsize == 8) return NpyType::int64;
      break;
    case 'b':
      if (dt.itemsize == 1) return NpyType::int32;
      break;
    default:
      break;
  }
  unsupported_dtype(dt, where, name);
}

template <typename D>
void convert_elements(const NpyDtype& dt, const unsigned char* src, int64_t count, D* dst,
                      const char* where, const std::string& name, const char* what) {
  const bool swap = dt.swapped();
  const auto go = [&]<typename S>(S /*tag*/, bool as_bool = false) {
    convert_from<S, D>(src, count, swap, as_bool, dst, where, name, what);
  };
  switch (dt.kind) {
    case 'f':
      if (dt.itemsize == 4) return go(float{});
      if (dt.itemsize == 8) return go(double{});
      break;
    case 'i':
      if (dt.itemsize == 1) return go(int8_t{});
      if (dt.itemsize == 2) return go(int16_t{});
      if (dt.itemsize == 4) return go(int32_t{});
      if (dt.itemsize == 8) return go(int64_t{});
      break;
    case 'u':
      if (dt.itemsize == 1) return go(uint8_t{});
      if (dt.itemsize == 2) return go(uint16_t{});
      if (dt.itemsize == 4) return go(uint32_t{});
      if (dt.itemsize == 8) return go(uint64_t{});
      break;
    case 'b':
      if (dt.itemsize == 1) return go(uint8_t{}, true);
      break;
    default:
      break;
  }
  unsupported_dtype(dt, where, name);
}

template <typename D>
bool is_exact_layout(const NpyDtype& dt) {
  if (dt.swapped() || dt.itemsize != static_cast<int>(sizeof(D))) return false;
  if constexpr (std::is_floating_point_v<D>) return dt.kind == 'f';
  return dt.kind == 'i';
}

template <typename T>
const char* npy_descr() {
  if constexpr (std::is_same_v<T, float>) return "<f4";
  if constexpr (std::is_same_v<T, double>) return "<f8";
  if constexpr (std::is_same_v<T, int32_t>) return "<i4";
  if constexpr (std::is_same_v<T, int64_t>) return "<i8";
}

#define STRAY_NPY_INSTANTIATE(T)                                                               \
  template void convert_elements<T>(const NpyDtype&, const unsigned char*, int64_t, T*,        \
                                    const char*, const std::string&, const char*);             \
  template bool is_exact_layout<T>(const NpyDtype&);                                           \
  template const char* npy_descr<T>();
STRAY_NPY_INSTANTIATE(float)
STRAY_NPY_INSTANTIATE(double)
STRAY_NPY_INSTANTIATE(int32_t)
STRAY_NPY_INSTANTIATE(int64_t)
#undef STRAY_NPY_INSTANTIATE

std::string encode_npy_header(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) dims += ", ";
    dims += std::to_string(shape[i]);
  }
  if (shape.size() == 1) dims += ",";
  // The exact text numpy writes, so files diff cleanly against numpy's own.
  const std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  std::size_t prefix = 10;
  std::size_t total = prefix + dict.size() + 1;
  total += (64 - total % 64) % 64;
  if (total - prefix > 0xFFFF) {
    prefix = 12;
    total = prefix + dict.size() + 1;
    total += (64 - total % 64) % 64;
  }
  const std::size_t len = total - prefix;
  std::string out;
  out.reserve(total);
  out.append(reinterpret_cast<const char*>(kMagic), sizeof(kMagic));
  out.push_back(static_cast<char>(prefix == 10 ? 1 : 2));
  out.push_back(0);
  out.push_back(static_cast<char>(len & 0xFF));
  out.push_back(static_cast<char>((len >> 8) & 0xFF));
  if (prefix == 12) {
    out.push_back(static_cast<char>((len >> 16) & 0xFF));
    out.push_back(static_cast<char>((len >> 24) & 0xFF));
  }
  out += dict;
  out.append(total - out.size() - 1, ' ');
  out.push_back('\n');
  return out;
}

}  // namespace stray::internal
