// Names made safe to show on a terminal (see display_text in
// stray/report/fleet_report.hpp): a host or package name is whatever the
// event source wrote, and a raw escape sequence in it would be obeyed by the
// terminal instead of shown.
#include <cstdio>
#include <string>
#include <string_view>

#include "stray/report/fleet_report.hpp"

namespace stray {
namespace {

bool continuation(unsigned char b) { return (b & 0xc0) == 0x80; }

// Length of the valid UTF-8 sequence at s[i] and its code point, or 0 when
// s[i] does not start one (RFC 3629: no overlong forms, no surrogates,
// nothing beyond U+10FFFF).
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char b = at(0);
  if (b < 0x80) {
    cp = b;
    return 1;
  }
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (b >= 0xc2 && b <= 0xdf) {
    len = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    len = 3;
    if (b == 0xe0) lo = 0xa0;  // overlong below U+0800
    if (b == 0xed) hi = 0x9f;  // surrogates U+D800-U+DFFF
  } else if (b >= 0xf0 && b <= 0xf4) {
    len = 4;
    if (b == 0xf0) lo = 0x90;  // overlong below U+10000
    if (b == 0xf4) hi = 0x8f;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size() || at(1) < lo || at(1) > hi) return 0;
  char32_t value = b & (0xff >> (len + 1));
  for (std::size_t k = 1; k < len; ++k) {
    if (!continuation(at(k))) return 0;
    value = (value << 6) | (at(k) & 0x3f);
  }
  cp = value;
  return len;
}

// Code points a terminal may act on rather than show: C1 controls, and the
// bidirectional embeddings, overrides and isolates that reorder the text
// after them.
bool invisible_control(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

void append_byte_escape(std::string& out, unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", b);
  out += buf;
}

void append_code_point_escape(std::string& out, char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u{%04x}", static_cast<unsigned>(cp));
  out += buf;
}

}  // namespace

std::string display_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t len = decode_utf8(s, i, cp);
    if (len == 0 || cp < 0x20 || cp == 0x7f) {
      append_byte_escape(out, static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    if (invisible_control(cp)) {
      append_code_point_escape(out, cp);
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::size_t display_width(std::string_view s) {
  // display_text's output is ASCII escapes and valid UTF-8: count the bytes
  // that start a code point.
  std::size_t n = 0;
  for (char c : display_text(s)) n += !continuation(static_cast<unsigned char>(c));
  return n;
}

}  // namespace stray
