// Horizontal bar charts (see html_charts.hpp): a finding's differences from
// its peers either side of zero, and cluster sizes from zero.
//
// Labels sit in a column of their own on the left, values in one on the
// right, so neither collides with a bar however long; the sign is written
// as well as coloured, so colour is never the only cue.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "report/html_charts.hpp"
#include "report/html_svg.hpp"

namespace stray::internal {
namespace {

constexpr double kWidth = 760;
constexpr double kRow = 24, kBarHeight = 15;
constexpr double kHead = 30, kFoot = 28;  // room for captions and the axis

// Columns: labels end at label_right (anchor end), bars between bar_left
// and bar_right, values start at value_left.
struct Columns {
  double label_right, bar_left, bar_right, value_left;
};
// Feature names are long, differences short ("+1.000").
constexpr Columns kDiverging{292, 300, 660, 668};
// "cluster 12" is short, "12,345 (1,234 findings)" long.
constexpr Columns kPlain{112, 120, 540, 548};

// A row's label, with the whole name as a tooltip when it was cut.
void row_label(SvgWriter& svg, const Bar& b, double x, double y) {
  svg.raw("<g>");
  if (!b.tooltip_html.empty()) svg.raw("<title>" + b.tooltip_html + "</title>");
  svg.text(x, y, b.label_html, "end", "font-size=\"13\"");
  svg.raw("</g>");
}

double finite_or_zero(double v) { return std::isfinite(v) ? v : 0.0; }

}  // namespace

std::string diverging_bars_svg(const ChartText& text, const std::vector<Bar>& bars,
                               const std::string& left_caption_html,
                               const std::string& right_caption_html) {
  double m = 1.0;
  for (const Bar& b : bars) m = std::max(m, std::fabs(finite_or_zero(b.value)));
  const double height = kHead + kRow * static_cast<double>(bars.size()) + kFoot;
  const Columns& col = kDiverging;
  const double zero = (col.bar_left + col.bar_right) / 2, half = (col.bar_right - col.bar_left) / 2;
  const auto px = [&](double v) { return zero + v / m * half; };
  SvgWriter svg(kWidth, height, text.id, text.title_html, text.desc_html);
  svg.text(zero - 6, 16, "\u2190 " + left_caption_html, "end", "font-size=\"12\" fill=\"#444\"");
  svg.text(zero + 6, 16, right_caption_html + " \u2192", "start", "font-size=\"12\" fill=\"#444\"");
  const double axis_y = kHead + kRow * static_cast<double>(bars.size());
  for (double t : {-m, -m / 2, 0.0, m / 2, m}) {
    svg.line(px(t), kHead - 4, px(t), axis_y, t == 0.0 ? "#555" : kGrid, t == 0.0 ? 1.0 : 0.5);
    svg.text(px(t), axis_y + 16, tick_label(t, m / 2), "middle", "font-size=\"12\"");
  }
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double v = finite_or_zero(b.value);
    const double top = kHead + kRow * static_cast<double>(i) + (kRow - kBarHeight) / 2;
    const double baseline = top + kBarHeight - 3;
    row_label(svg, b, col.label_right, baseline);
    svg.rect(std::min(px(v), zero), top, std::fabs(px(v) - zero), kBarHeight,
             v < 0 ? kNegative : kPositive);
    svg.text(col.value_left, baseline, b.value_html, "start", "font-size=\"13\"");
  }
  return svg.finish();
}

std::string plain_bars_svg(const ChartText& text, const std::vector<Bar>& bars,
                           const std::string& axis_html) {
  double m = 0.0;
  for (const Bar& b : bars) m = std::max(m, finite_or_zero(b.value));
  if (m <= 0.0) m = 1.0;
  const double height = kHead + kRow * static_cast<double>(bars.size()) + kFoot;
  const Columns& col = kPlain;
  const auto px = [&](double v) {
    return col.bar_left + std::max(0.0, v) / m * (col.bar_right - col.bar_left);
  };
  SvgWriter svg(kWidth, height, text.id, text.title_html, text.desc_html);
  svg.text(col.bar_left, 16, axis_html, "start", "font-size=\"12\" fill=\"#444\"");
  const double axis_y = kHead + kRow * static_cast<double>(bars.size());
  svg.line(col.bar_left, kHead - 4, col.bar_left, axis_y, "#555", 1.0);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double top = kHead + kRow * static_cast<double>(i) + (kRow - kBarHeight) / 2;
    const double baseline = top + kBarHeight - 3;
    row_label(svg, b, col.label_right, baseline);
    svg.rect(col.bar_left, top, px(finite_or_zero(b.value)) - col.bar_left, kBarHeight,
             b.colour.empty() ? kInk : b.colour, "stroke=\"#555\" stroke-width=\"0.5\"");
    svg.text(col.value_left, baseline, b.value_html, "start", "font-size=\"13\"");
  }
  return svg.finish();
}

}  // namespace stray::internal
