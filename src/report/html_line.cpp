// A small line chart (see line_svg in html_charts.hpp): the silhouette of
// each k tried when the pipeline chose the number of clusters.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "report/html_charts.hpp"
#include "report/html_svg.hpp"

namespace stray::internal {
namespace {

constexpr double kWidth = 760, kHeight = 260;
constexpr double kLeft = 64, kRight = 16, kTop = 24, kBottom = 48;

void bounds(const std::vector<double>& v, double& lo, double& hi) {
  lo = std::numeric_limits<double>::infinity();
  hi = -lo;
  for (double x : v) {
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  }
  if (lo > hi) lo = 0.0, hi = 1.0;
  if (lo == hi) lo -= 0.5, hi += 0.5;
  const double pad = 0.06 * (hi - lo);
  lo -= pad, hi += pad;
}

}  // namespace

std::string line_svg(const ChartText& text, const std::vector<double>& x,
                     const std::vector<double>& y, int64_t highlight,
                     const std::string& highlight_html, const std::string& x_label_html,
                     const std::string& y_label_html) {
  double x0, x1, y0, y1;
  bounds(x, x0, x1);
  bounds(y, y0, y1);
  const double left = kLeft, right = kWidth - kRight, top = kTop, bottom = kHeight - kBottom;
  const auto px = [&](double v) { return left + (v - x0) / (x1 - x0) * (right - left); };
  const auto py = [&](double v) { return bottom - (v - y0) / (y1 - y0) * (bottom - top); };
  SvgWriter svg(kWidth, kHeight, text.id, text.title_html, text.desc_html);
  svg.rect(left, top, right - left, bottom - top, "#fff", "stroke=\"#999\"");
  const std::vector<double> xt = nice_ticks(x0, x1, 8), yt = nice_ticks(y0, y1, 4);
  for (double t : xt) {
    svg.line(px(t), top, px(t), bottom, kGrid, 0.5);
    svg.text(px(t), bottom + 16, tick_label(t, step_of(xt)), "middle", "font-size=\"12\"");
  }
  for (double t : yt) {
    svg.line(left, py(t), right, py(t), kGrid, 0.5);
    svg.text(left - 6, py(t) + 4, tick_label(t, step_of(yt)), "end", "font-size=\"12\"");
  }
  svg.text((left + right) / 2, kHeight - 10, x_label_html, "middle", "font-size=\"13\"");
  svg.text(16, (top + bottom) / 2, y_label_html, "middle",
           "font-size=\"13\" transform=\"rotate(-90 16 " + svg_number((top + bottom) / 2) + ")\"");
  std::string d;
  const std::size_t n = std::min(x.size(), y.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    d += d.empty() ? 'M' : 'L';
    d += svg_number(px(x[i])) + " " + svg_number(py(y[i]));
  }
  if (!d.empty()) {
    svg.raw("<path fill=\"none\" stroke=\"" + std::string(kPalette[4]) +
            "\" stroke-width=\"2\" d=\"" + d + "\"/>");
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    const bool chosen = static_cast<int64_t>(i) == highlight;
    svg.raw("<circle cx=\"" + svg_number(px(x[i])) + "\" cy=\"" + svg_number(py(y[i])) +
            "\" r=\"" + (chosen ? "6" : "3") + "\" fill=\"" + (chosen ? kPositive : kPalette[4]) +
            "\" stroke=\"" + kInk + "\" stroke-width=\"" + (chosen ? "1.5" : "0") + "\"/>");
    if (chosen) {
      svg.text(px(x[i]), py(y[i]) - 10, highlight_html, px(x[i]) > (left + right) / 2 ? "end" : "start",
               "font-size=\"13\" font-weight=\"bold\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\"");
    }
  }
  return svg.finish();
}

}  // namespace stray::internal
