// The hot loops of the CSV and JSON Lines readers: the bytes that end a
// CSV field or a JSON string, found 16 at a time, and small whole numbers.
//
// Event records are short (a few fields of a few bytes each) and the
// readers look at every byte: a byte-at-a-time loop was most of a CSV
// block's parse (bench/RESULTS.md, "Reading events on several threads").
// SSE2 is part of every x86-64 CPU; elsewhere the plain loops run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace stray::fleet {

/// Calls on_comma(k) for each ',' in `text`, in order (k its index).
template <typename OnComma>
inline void for_each_comma(std::string_view text, OnComma&& on_comma) {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t k = 0;
#if defined(__SSE2__)
  const __m128i comma = _mm_set1_epi8(',');
  for (; k + 16 <= n; k += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k));
    auto mask = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, comma)));
    while (mask != 0) {
      on_comma(k + static_cast<std::size_t>(__builtin_ctz(mask)));
      mask &= mask - 1;
    }
  }
#endif
  for (; k < n; ++k) {
    if (p[k] == ',') on_comma(k);
  }
}

/// Bytes from `pos` before the first '"', '\\' or control byte (< 0x20) of
/// `text`: what a JSON string may hold without an escape.
inline std::size_t plain_json_string_bytes(std::string_view text, std::size_t pos) {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t k = pos;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; k + 16 <= n; k += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k));
    // Unsigned bytes below 0x20: min(b, 0x1f) == b.
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(bytes, _mm_set1_epi8(0x1f)), bytes);
    const __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote),
                                                   _mm_cmpeq_epi8(bytes, backslash)),
                                      control);
    const auto mask = static_cast<uint32_t>(_mm_movemask_epi8(stop));
    if (mask != 0) return k + static_cast<std::size_t>(__builtin_ctz(mask)) - pos;
  }
#endif
  for (; k < n; ++k) {
    const auto c = static_cast<unsigned char>(p[k]);
    if (c == '"' || c == '\\' || c < 0x20) break;
  }
  return k - pos;
}

/// `text` as a double when it is 1 to 15 decimal digits (most event
/// values are "1"): exact, as from_chars would give it, for less work.
inline bool parse_digits(std::string_view text, double* out) {
  if (text.empty() || text.size() > 15) return false;
  uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = static_cast<double>(v);
  return true;
}

/// Whether `text` holds `c` (a plain loop: the texts are a few bytes).
inline bool contains_byte(std::string_view text, char c) {
  for (const char b : text) {
    if (b == c) return true;
  }
  return false;
}

}  // namespace stray::fleet
