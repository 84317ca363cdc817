// A heat map (see heatmap_svg in html_charts.hpp): the day-one × day-two
// cluster table of the stability report.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "report/html_charts.hpp"
#include "report/html_svg.hpp"

namespace stray::internal {
namespace {

constexpr double kLeft = 150, kTop = 64, kMaxGrid = 600, kMaxCell = 40;

// White to Okabe–Ito blue (#0072B2), by linear interpolation in sRGB.
std::string shade_colour(double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0);
  const auto mix = [&](int to) { return static_cast<int>(std::lround(255.0 + (to - 255.0) * t)); };
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", mix(0x00), mix(0x72), mix(0xb2));
  return buf;
}

}  // namespace

std::string heatmap_svg(const HeatMapSpec& s) {
  const auto rows = static_cast<int64_t>(s.row_labels_html.size());
  const auto cols = static_cast<int64_t>(s.column_labels_html.size());
  const double cell = std::clamp(kMaxGrid / static_cast<double>(std::max<int64_t>({rows, cols, 1})),
                                 4.0, kMaxCell);
  const double width = kLeft + cell * static_cast<double>(cols) + 16;
  const double height = kTop + cell * static_cast<double>(rows) + 16;
  const bool numbers = cell >= 22;  // room for a count in the cell
  const bool every_label = cell >= 12;
  int64_t largest = 1;
  for (int64_t c : s.counts) largest = std::max(largest, c);

  SvgWriter svg(width, height, s.text.id, s.text.title_html, s.text.desc_html);
  svg.text(kLeft, 16, s.column_title_html + " \u2192", "start", "font-size=\"13\"");
  svg.text(8, kTop - 8, s.row_title_html + " \u2193", "start", "font-size=\"13\"");
  for (int64_t j = 0; j < cols; ++j) {
    if (!every_label && j % 5 != 0) continue;
    svg.text(kLeft + cell * (static_cast<double>(j) + 0.5), kTop - 8,
             s.column_labels_html[static_cast<std::size_t>(j)], "middle", "font-size=\"12\"");
  }
  for (int64_t i = 0; i < rows; ++i) {
    const double y = kTop + cell * static_cast<double>(i);
    if (every_label || i % 5 == 0) {
      svg.text(kLeft - 8, y + cell / 2 + 4, s.row_labels_html[static_cast<std::size_t>(i)], "end",
               "font-size=\"12\"");
    }
    for (int64_t j = 0; j < cols; ++j) {
      const auto at = static_cast<std::size_t>(i * cols + j);
      const int64_t count = at < s.counts.size() ? s.counts[at] : 0;
      const double t = at < s.shade.size() ? s.shade[at]
                                            : static_cast<double>(count) / static_cast<double>(largest);
      const double x = kLeft + cell * static_cast<double>(j);
      svg.raw("<g><title>" + s.row_labels_html[static_cast<std::size_t>(i)] + " \u2192 " +
              s.column_labels_html[static_cast<std::size_t>(j)] + ": " + grouped(count) + "</title>");
      svg.rect(x, y, cell, cell, shade_colour(t), "stroke=\"#ddd\" stroke-width=\"0.5\"");
      if (numbers && count > 0) {
        svg.text(x + cell / 2, y + cell / 2 + 4, grouped(count), "middle",
                 std::string("font-size=\"") + (cell >= 34 ? "12" : "10") + "\" fill=\"" +
                     (t > 0.55 ? "#fff" : kInk) + "\"");
      }
      svg.raw("</g>");
    }
  }
  // Outlines last, over every cell.
  for (int64_t at : s.outlined) {
    if (at < 0 || at >= rows * cols) continue;
    svg.rect(kLeft + cell * static_cast<double>(at % cols), kTop + cell * static_cast<double>(at / cols),
             cell, cell, "none", std::string("stroke=\"") + kInk + "\" stroke-width=\"2\"");
  }
  return svg.finish();
}

}  // namespace stray::internal
