// The HTML report's building blocks (internal): text made safe for HTML and
// SVG, a small SVG writer, number formatting and the palette. The charts
// (html_charts.hpp) and the page (html_page.cpp) are written with these.
//
// Every name that reaches the page comes from the events, so every string
// goes through html_text: first display_text (control bytes, invalid UTF-8,
// C1 controls and bidirectional overrides become visible escapes), then the
// five characters XML gives meaning to (& < > " ') become entities. What
// comes out is valid UTF-8 of XML 1.0 characters only and can be placed in
// an element or a quoted attribute alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stray::internal {

/// `s` through display_text, cut to at most `max_code_points` shown code
/// points (then "…"; 0 = no limit), with & < > " ' as entities.
std::string html_text(std::string_view s, std::size_t max_code_points = 0);

/// Escapes & < > " ' in text that is already valid UTF-8 and free of
/// control characters (the page's own words).
std::string xml_escape(std::string_view s);

/// A number for an SVG coordinate: at most `decimals` decimals, trailing
/// zeros and a lone "-0" dropped ("12.5", "3", "-0.25"). Non-finite: "0".
std::string svg_number(double x, int decimals = 1);

/// A count with thousands separators: 1000000 -> "1,000,000".
std::string grouped(int64_t n);

/// A number for people: `digits` significant digits, no exponent below
/// 1e9 ("1021.4", "0.0031").
std::string readable(double x, int digits = 4);

/// `x` with exactly `decimals` decimals and a real minus sign ("0.02", "1.00").
std::string fixed(double x, int decimals);

/// The Okabe–Ito palette (safe for the common colour-vision deficiencies),
/// without its black, which marks findings. Cluster c gets colour c mod 7.
inline constexpr const char* kPalette[] = {"#E69F00", "#56B4E9", "#009E73", "#F0E442",
                                           "#0072B2", "#D55E00", "#CC79A7"};
inline constexpr std::size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
const char* cluster_colour(int64_t cluster);
/// Bars of a difference: above its peers (vermillion) and below (blue).
inline constexpr const char* kPositive = "#D55E00";
inline constexpr const char* kNegative = "#0072B2";
inline constexpr const char* kInk = "#1a1a1a";
inline constexpr const char* kGrid = "#d0d0d0";

/// An <svg> element built in order. Text arguments are the page's own words
/// or already through html_text; the writer escapes nothing itself, so a
/// caller passes names through html_text exactly once.
class SvgWriter {
 public:
  /// Opens <svg> of `width` x `height` user units, scaling to the page's
  /// width (max-width: its natural size), with role="img" and <title> and
  /// <desc> as its text alternative; `id` makes their ids unique on the page.
  SvgWriter(double width, double height, std::string_view id, std::string_view title_html,
            std::string_view desc_html);

  /// Raw markup (an element the helpers below do not cover).
  void raw(std::string_view markup) { out_ += markup; }
  void rect(double x, double y, double w, double h, std::string_view fill,
            std::string_view extra = {});
  void line(double x1, double y1, double x2, double y2, std::string_view stroke,
            double width = 1.0);
  /// <text> at (x, y); anchor "start" | "middle" | "end"; `extra` more attributes.
  void text(double x, double y, std::string_view text_html, std::string_view anchor = "start",
            std::string_view extra = {});
  /// Closes the element and returns it.
  std::string finish();

 private:
  std::string out_;
};

}  // namespace stray::internal
