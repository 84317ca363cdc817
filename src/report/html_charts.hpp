// The HTML report's charts (internal): each function returns one <svg>
// element with a <title> and <desc> for screen readers. Every text field
// is HTML already (through html_text for names, xml_escape for the page's
// own words); the charts add no text of their own but axis numbers.
//
// A new kind of report (stability, for one) adds its chart here as a new
// function in a file of its own and assembles its page with HtmlPage
// (html_page.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stray::internal {

/// What every chart has: a page-unique id and its text alternative.
struct ChartText {
  std::string id;           // [A-Za-z0-9-], unique on the page
  std::string title_html;   // a short name ("Entities on the first two components")
  std::string desc_html;    // what it shows, in words, for someone who cannot see it
};

// ---- scatter (html_scatter.cpp) -----------------------------------------------

/// An entity drawn over the background: a finding, outlined in black.
struct ScatterMark {
  float x = 0.0f, y = 0.0f;
  int32_t cluster = 0;
  /// Non-empty: drawn as its own circle with this tooltip (<title>);
  /// empty: drawn with the other plain marks in one path per cluster, which
  /// keeps tens of thousands of findings cheap to store and draw.
  std::string tooltip_html;
  /// Non-empty: a label shown beside the mark when there is room for it.
  std::string label_html;
  /// Size class, 0 (smallest) to kSizeClasses − 1.
  uint8_t size = 0;
};

/// Sizes a point may be drawn at (a score, such as LOF, binned).
inline constexpr int kSizeClasses = 4;

/// A cluster's number written at its centre in the projection.
struct ScatterCentre {
  float x = 0.0f, y = 0.0f;
  int32_t cluster = 0;
};

struct ScatterSpec {
  ChartText text;
  std::string x_label_html, y_label_html;
  /// The background: entities that are not marks, already sampled.
  std::vector<float> x, y;
  std::vector<int32_t> cluster;
  /// [background] size class of each point, or empty: all 0.
  std::vector<uint8_t> size;
  /// Drawn in order, later ones on top: put the most important last.
  std::vector<ScatterMark> marks;
  std::vector<ScatterCentre> centres;
};

/// Points as one <path> per cluster of zero-length round-capped segments
/// (about 13 bytes a point), marks outlined (plain marks once per
/// half-pixel spot: those that would cover each other exactly are drawn
/// once), labels placed greedily where they overlap no other label; a label
/// with no free place is left out. Axes span every point drawn.
/// Cost O(points + marks · log marks + labels²).
std::string scatter_svg(const ScatterSpec& spec);

// ---- bars (html_bars.cpp) -----------------------------------------------------

struct Bar {
  std::string label_html;    // left of the bar (cut short by the caller)
  std::string tooltip_html;  // the whole label, for a cut one ("" = label)
  double value = 0.0;
  std::string value_html;    // written beside the bar ("+1.000")
  std::string colour;        // plain bars: the bar's colour ("" = ink)
};

/// Horizontal bars either side of zero: positive ones right in kPositive,
/// negative ones left in kNegative; the domain is [-1, 1] when every
/// |value| <= 1, else symmetric about the largest. `left_caption_html` and
/// `right_caption_html` name the two directions above the bars.
std::string diverging_bars_svg(const ChartText& text, const std::vector<Bar>& bars,
                               const std::string& left_caption_html,
                               const std::string& right_caption_html);

/// Horizontal bars from zero (values >= 0), each in its own colour, with
/// the value written at the bar's end; `axis_html` names the quantity.
std::string plain_bars_svg(const ChartText& text, const std::vector<Bar>& bars,
                           const std::string& axis_html);

// ---- line (html_line.cpp) -----------------------------------------------------

/// A line through (x[i], y[i]) with a dot at each; the point at
/// `highlight` (an index, or -1) drawn larger and labelled `highlight_html`.
std::string line_svg(const ChartText& text, const std::vector<double>& x,
                     const std::vector<double>& y, int64_t highlight,
                     const std::string& highlight_html, const std::string& x_label_html,
                     const std::string& y_label_html);

// ---- heat map (html_heatmap.cpp) ---------------------------------------------

struct HeatMapSpec {
  ChartText text;
  std::string row_title_html, column_title_html;  // what rows and columns are
  std::vector<std::string> row_labels_html;       // [rows]
  std::vector<std::string> column_labels_html;    // [columns]
  /// [rows x columns] row by row: the count in each cell (>= 0).
  std::vector<int64_t> counts;
  /// [rows x columns] or empty: the cell's shade in [0, 1] (default: its
  /// count over the largest count).
  std::vector<double> shade;
  /// Cells outlined in black (a matched pair, say): row * columns + column.
  std::vector<int64_t> outlined;
};

/// A grid of cells shaded from white to blue (one hue, so order reads
/// without colour vision), each with its count written when the cells are
/// large enough, dark text on light cells and white on dark. Cells shrink
/// with the grid to keep it under about 640 units wide; a tooltip on each
/// cell gives its row, column and count. Cost O(rows · columns).
std::string heatmap_svg(const HeatMapSpec& spec);

// ---- axes (html_axes.cpp) ------------------------------------------------------

/// About `count` round tick values (1, 2 or 5 times a power of ten) covering
/// [lo, hi]; lo < hi and both finite.
std::vector<double> nice_ticks(double lo, double hi, int count = 5);

/// A tick value written with as many decimals as `step` (the distance
/// between ticks) needs, with a real minus sign: "1.5", "\u22124", "0".
std::string tick_label(double t, double step);
/// The distance between nice_ticks' ticks (1 when there are fewer than two).
inline double step_of(const std::vector<double>& ticks) {
  return ticks.size() >= 2 ? ticks[1] - ticks[0] : 1.0;
}

}  // namespace stray::internal
