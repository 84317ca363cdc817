// Text, numbers and SVG elements for the HTML report (see html_svg.hpp).
#include "report/html_svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "stray/report/fleet_report.hpp"

namespace stray::internal {
namespace {

bool continuation(unsigned char b) { return (b & 0xc0) == 0x80; }

void append_escaped(std::string& out, char c) {
  switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
  }
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) append_escaped(out, c);
  return out;
}

std::string html_text(std::string_view s, std::size_t max_code_points) {
  const std::string shown = display_text(s);
  std::string out;
  out.reserve(shown.size() + 8);
  std::size_t code_points = 0;
  for (std::size_t i = 0; i < shown.size();) {
    // display_text leaves valid UTF-8: the sequence's length is its lead byte's.
    const auto b = static_cast<unsigned char>(shown[i]);
    std::size_t len = 1;
    while (i + len < shown.size() && continuation(static_cast<unsigned char>(shown[i + len]))) ++len;
    if (max_code_points > 0 && code_points == max_code_points) {
      out += "\u2026";
      break;
    }
    ++code_points;
    // U+FFFE and U+FFFF are valid UTF-8 but not XML characters.
    if (len == 3 && b == 0xef && static_cast<unsigned char>(shown[i + 1]) == 0xbf &&
        static_cast<unsigned char>(shown[i + 2]) >= 0xbe) {
      out += static_cast<unsigned char>(shown[i + 2]) == 0xbe ? "\\u{fffe}" : "\\u{ffff}";
    } else if (len == 1) {
      append_escaped(out, shown[i]);
    } else {
      out.append(shown, i, len);
    }
    i += len;
  }
  return out;
}

std::string svg_number(double x, int decimals) {
  if (!std::isfinite(x)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::string grouped(int64_t n) {
  const uint64_t magnitude = n < 0 ? uint64_t{0} - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  const std::string digits = std::to_string(magnitude);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string readable(double x, int digits) {
  if (std::isnan(x)) return "n/a";
  if (std::isinf(x)) return x > 0 ? "\u221e" : "\u2212\u221e";
  char buf[64];
  if (std::fabs(x) >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, x);
  } else {
    // Enough decimals for `digits` significant digits, at most 6.
    const double mag = std::fabs(x) > 0 ? std::floor(std::log10(std::fabs(x))) : 0.0;
    const int decimals = std::max(0, std::min(6, digits - 1 - static_cast<int>(mag)));
    std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  }
  std::string s = buf;
  if (s[0] == '-') s = "\u2212" + s.substr(1);
  return s;
}

std::string fixed(double x, int decimals) {
  if (!std::isfinite(x)) return readable(x);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  std::string s = buf;
  // No "-0.00": a value that rounds to zero has no sign.
  if (s[0] == '-') s = s.find_first_not_of("-0.") == std::string::npos ? s.substr(1) : "\u2212" + s.substr(1);
  return s;
}

const char* cluster_colour(int64_t cluster) {
  const auto c = static_cast<std::size_t>(cluster < 0 ? -cluster : cluster);
  return kPalette[c % kPaletteSize];
}

SvgWriter::SvgWriter(double width, double height, std::string_view id,
                     std::string_view title_html, std::string_view desc_html) {
  const std::string w = svg_number(width), h = svg_number(height), i(id);
  // No xmlns: the HTML parser puts <svg> in the SVG namespace itself, and the
  // page keeps to one rule, no URL anywhere.
  out_ += "<svg role=\"img\" viewBox=\"0 0 " + w + " " + h +
          "\" width=\"" + w + "\" height=\"" + h + "\" style=\"max-width:100%;height:auto\"" +
          " aria-labelledby=\"" + i + "-t " + i + "-d\">";
  out_ += "<title id=\"" + i + "-t\">";
  out_ += title_html;
  out_ += "</title><desc id=\"" + i + "-d\">";
  out_ += desc_html;
  out_ += "</desc>";
}

void SvgWriter::rect(double x, double y, double w, double h, std::string_view fill,
                     std::string_view extra) {
  out_ += "<rect x=\"" + svg_number(x) + "\" y=\"" + svg_number(y) + "\" width=\"" +
          svg_number(w) + "\" height=\"" + svg_number(h) + "\" fill=\"";
  out_ += fill;
  out_ += '"';
  if (!extra.empty()) (out_ += ' ') += extra;
  out_ += "/>";
}

void SvgWriter::line(double x1, double y1, double x2, double y2, std::string_view stroke,
                     double width) {
  out_ += "<line x1=\"" + svg_number(x1) + "\" y1=\"" + svg_number(y1) + "\" x2=\"" +
          svg_number(x2) + "\" y2=\"" + svg_number(y2) + "\" stroke=\"";
  out_ += stroke;
  out_ += "\" stroke-width=\"" + svg_number(width) + "\"/>";
}

void SvgWriter::text(double x, double y, std::string_view text_html, std::string_view anchor,
                     std::string_view extra) {
  out_ += "<text x=\"" + svg_number(x) + "\" y=\"" + svg_number(y) + "\"";
  if (anchor != "start") (out_ += " text-anchor=\"") += anchor, out_ += '"';
  if (!extra.empty()) (out_ += ' ') += extra;
  out_ += '>';
  out_ += text_html;
  out_ += "</text>";
}

std::string SvgWriter::finish() {
  out_ += "</svg>";
  return std::move(out_);
}

}  // namespace stray::internal
