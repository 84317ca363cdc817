// The scatter of entities on two axes (see scatter_svg in html_charts.hpp).
//
// A fleet can have a million entities; the caller samples the background,
// and here every point costs about 13 bytes: the points of a cluster form
// one <path> of zero-length segments ("M12.3 45.6h0"), which round line caps
// draw as dots. Only the findings a reader may want to point at are
// elements of their own, with a tooltip; the others are drawn once per
// half-pixel spot (see draw_marks).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "report/html_charts.hpp"
#include "report/html_svg.hpp"

namespace stray::internal {
namespace {

constexpr double kWidth = 760, kHeight = 520;
constexpr double kLeft = 64, kRight = 16, kTop = 16, kBottom = 52;
constexpr double kLabelFont = 12, kCharWidth = 6.8;  // a generous average for 12px sans-serif
// Per size class: a background dot's diameter, a plain mark's outline and
// fill diameters, a mark's circle radius. The area roughly doubles a class.
constexpr double kDot[kSizeClasses] = {4, 6, 8.5, 12};
constexpr double kOutline[kSizeClasses] = {9, 11, 14, 18};
constexpr double kFill[kSizeClasses] = {6, 8, 11, 15};
constexpr double kRadius[kSizeClasses] = {4.5, 5.5, 7, 9};

int size_class(uint8_t size) { return std::min<int>(size, kSizeClasses - 1); }

// Data bounds and the map from data to the plot area.
struct Frame {
  double x0 = -1, x1 = 1, y0 = -1, y1 = 1;
  double px(double x) const { return kLeft + (x - x0) / (x1 - x0) * (kWidth - kLeft - kRight); }
  double py(double y) const { return kHeight - kBottom - (y - y0) / (y1 - y0) * (kHeight - kTop - kBottom); }
};

bool finite(float x, float y) { return std::isfinite(x) && std::isfinite(y); }

void widen(double& lo, double& hi) {
  if (lo > hi) {  // nothing finite to draw
    lo = -1.0;
    hi = 1.0;
  } else if (lo == hi) {
    const double d = std::max(1.0, std::fabs(lo) * 0.1);
    lo -= d;
    hi += d;
  }
  const double pad = 0.04 * (hi - lo);
  lo -= pad;
  hi += pad;
}

Frame frame_of(const ScatterSpec& s) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  const auto take = [&](float x, float y) {
    if (!finite(x, y)) return;
    x0 = std::min<double>(x0, x), x1 = std::max<double>(x1, x);
    y0 = std::min<double>(y0, y), y1 = std::max<double>(y1, y);
  };
  for (std::size_t i = 0; i < s.x.size(); ++i) take(s.x[i], s.y[i]);
  for (const ScatterMark& m : s.marks) take(m.x, m.y);
  for (const ScatterCentre& c : s.centres) take(c.x, c.y);
  Frame f;
  widen(x0, x1);
  widen(y0, y1);
  f.x0 = x0, f.x1 = x1, f.y0 = y0, f.y1 = y1;
  return f;
}

void draw_axes(SvgWriter& svg, const Frame& f, const ScatterSpec& s) {
  const double left = kLeft, right = kWidth - kRight, top = kTop, bottom = kHeight - kBottom;
  svg.rect(left, top, right - left, bottom - top, "#fff", "stroke=\"#999\"");
  const std::vector<double> xt = nice_ticks(f.x0, f.x1), yt = nice_ticks(f.y0, f.y1);
  for (double t : xt) {
    const double x = f.px(t);
    svg.line(x, top, x, bottom, kGrid, 0.5);
    svg.text(x, bottom + 16, tick_label(t, step_of(xt)), "middle", "font-size=\"12\"");
  }
  for (double t : yt) {
    const double y = f.py(t);
    svg.line(left, y, right, y, kGrid, 0.5);
    svg.text(left - 6, y + 4, tick_label(t, step_of(yt)), "end", "font-size=\"12\"");
  }
  svg.text((left + right) / 2, kHeight - 10, s.x_label_html, "middle", "font-size=\"13\"");
  svg.text(16, (top + bottom) / 2, s.y_label_html, "middle",
           "font-size=\"13\" transform=\"rotate(-90 16 " + svg_number((top + bottom) / 2) + ")\"");
}

// One path of dots: "M x y h0" per point.
void dots(SvgWriter& svg, const Frame& f, const std::vector<std::pair<float, float>>& points,
          const char* colour, double diameter, double opacity) {
  if (points.empty()) return;
  std::string d;
  d.reserve(points.size() * 14);
  for (const auto& [x, y] : points) {
    d += 'M';
    d += svg_number(f.px(x));
    d += ' ';
    d += svg_number(f.py(y));
    d += "h0";
  }
  svg.raw("<path fill=\"none\" stroke=\"" + std::string(colour) + "\" stroke-width=\"" +
          svg_number(diameter) + "\" stroke-linecap=\"round\"" +
          (opacity < 1 ? " stroke-opacity=\"" + svg_number(opacity, 2) + "\"" : std::string()) +
          " d=\"" + d + "\"/>");
}

// One path per cluster and size class.
void draw_background(SvgWriter& svg, const Frame& f, const ScatterSpec& s) {
  std::map<std::pair<int32_t, int>, std::vector<std::pair<float, float>>> groups;
  for (std::size_t i = 0; i < s.x.size(); ++i) {
    const int size = i < s.size.size() ? size_class(s.size[i]) : 0;
    if (finite(s.x[i], s.y[i])) groups[{s.cluster[i], size}].emplace_back(s.x[i], s.y[i]);
  }
  for (const auto& [key, points] : groups) {
    dots(svg, f, points, cluster_colour(key.first), kDot[key.second], 0.6);
  }
}

void draw_centres(SvgWriter& svg, const Frame& f, const ScatterSpec& s) {
  for (const ScatterCentre& c : s.centres) {
    if (!finite(c.x, c.y)) continue;
    svg.text(f.px(c.x), f.py(c.y) + 5, std::to_string(c.cluster), "middle",
             "font-size=\"15\" font-weight=\"bold\" fill=\"" + std::string(kInk) +
                 "\" stroke=\"#fff\" stroke-width=\"4\" paint-order=\"stroke\"");
  }
}

// Positions in half pixels: marks closer than that look the same, so each
// is drawn once. A tight cluster's findings pile up on a few spots (of a
// million-entity fleet's 50,000 findings, about 3,000 spots), and a browser
// strokes each dot of a path, covered or not.
using HalfPixels = std::set<std::pair<long, long>>;

std::pair<long, long> half_pixels(const Frame& f, float x, float y) {
  return {std::lround(2.0 * f.px(x)), std::lround(2.0 * f.py(y))};
}

void dots_at(SvgWriter& svg, const HalfPixels& spots, const char* colour, double diameter) {
  if (spots.empty()) return;
  std::string d;
  d.reserve(spots.size() * 14);
  for (const auto& [x, y] : spots) {
    d += 'M';
    d += svg_number(0.5 * static_cast<double>(x));
    d += ' ';
    d += svg_number(0.5 * static_cast<double>(y));
    d += "h0";
  }
  svg.raw("<path fill=\"none\" stroke=\"" + std::string(colour) + "\" stroke-width=\"" +
          svg_number(diameter) + "\" stroke-linecap=\"round\" d=\"" + d + "\"/>");
}

// Plain marks: a black path under a coloured one, so each is outlined.
// Marks with a tooltip: a circle each, in order, with its <title>.
// (Cluster numbers are drawn after the marks: a tight cluster's findings
// would hide them otherwise.)
void draw_marks(SvgWriter& svg, const Frame& f, const ScatterSpec& s) {
  std::map<int, HalfPixels> outline;                        // by size class
  std::map<std::pair<int, int32_t>, HalfPixels> fill;       // by size class, cluster
  for (const ScatterMark& m : s.marks) {
    if (!m.tooltip_html.empty() || !finite(m.x, m.y)) continue;
    outline[size_class(m.size)].insert(half_pixels(f, m.x, m.y));
    fill[{size_class(m.size), m.cluster}].insert(half_pixels(f, m.x, m.y));
  }
  for (const auto& [size, spots] : outline) dots_at(svg, spots, kInk, kOutline[size]);
  for (const auto& [key, spots] : fill) dots_at(svg, spots, cluster_colour(key.second), kFill[key.first]);
  for (const ScatterMark& m : s.marks) {
    if (m.tooltip_html.empty() || !finite(m.x, m.y)) continue;
    svg.raw("<circle cx=\"" + svg_number(f.px(m.x)) + "\" cy=\"" + svg_number(f.py(m.y)) +
            "\" r=\"" + svg_number(kRadius[size_class(m.size)]) + "\" fill=\"" +
            cluster_colour(m.cluster) + "\" stroke=\"" + kInk +
            "\" stroke-width=\"1.5\"><title>" + m.tooltip_html + "</title></circle>");
  }
}

// Code points a label shows (an entity such as "&amp;" is one).
std::size_t shown_length(const std::string& html) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < html.size(); ++i) {
    const auto b = static_cast<unsigned char>(html[i]);
    if (b == '&') {
      const auto semi = html.find(';', i);
      if (semi != std::string::npos) i = semi;
    }
    n += (b & 0xc0) != 0x80;
  }
  return n;
}

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

// Labels beside their marks, the last mark first (the caller puts the most
// important last); each takes the first of eight places that stays inside
// the plot and clear of the labels placed, the labelled marks and the
// cluster numbers.
void draw_labels(SvgWriter& svg, const Frame& f, const ScatterSpec& s) {
  std::vector<Box> taken;
  for (const ScatterCentre& c : s.centres) {
    if (!finite(c.x, c.y)) continue;
    const double w = 9.0 * static_cast<double>(std::to_string(c.cluster).size());
    taken.push_back({f.px(c.x) - w / 2, f.py(c.y) - 9, f.px(c.x) + w / 2, f.py(c.y) + 7});
  }
  for (const ScatterMark& m : s.marks) {
    if (!m.label_html.empty() && finite(m.x, m.y)) {
      const double r = kRadius[size_class(m.size)] + 0.5;
      taken.push_back({f.px(m.x) - r, f.py(m.y) - r, f.px(m.x) + r, f.py(m.y) + r});
    }
  }
  struct Place {
    double dx, dy;  // baseline position relative to the mark
    const char* anchor;
  };
  static constexpr Place kPlaces[] = {{8, 4, "start"},  {-8, 4, "end"},    {0, -9, "middle"},
                                      {0, 18, "middle"}, {6, -7, "start"},  {6, 16, "start"},
                                      {-6, -7, "end"},   {-6, 16, "end"}};
  for (auto it = s.marks.rbegin(); it != s.marks.rend(); ++it) {
    if (it->label_html.empty() || !finite(it->x, it->y)) continue;
    const double w = kCharWidth * static_cast<double>(shown_length(it->label_html));
    const double mx = f.px(it->x), my = f.py(it->y);
    const double grow = kRadius[size_class(it->size)] - kRadius[0];  // a larger mark pushes out
    for (const Place& p : kPlaces) {
      const double bx = mx + p.dx + (p.dx > 0 ? grow : p.dx < 0 ? -grow : 0.0);
      const double by = my + p.dy + (p.dy > 0 ? grow : p.dy < 0 ? -grow : 0.0);
      const double left = p.anchor[0] == 's' ? bx : p.anchor[0] == 'e' ? bx - w : bx - w / 2;
      const Box box{left, by - kLabelFont + 1, left + w, by + 3};
      const bool inside = box.x0 >= kLeft && box.x1 <= kWidth - kRight && box.y0 >= kTop &&
                          box.y1 <= kHeight - kBottom;
      if (!inside || std::any_of(taken.begin(), taken.end(),
                                 [&](const Box& o) { return o.overlaps(box); })) {
        continue;
      }
      taken.push_back(box);
      svg.text(bx, by, it->label_html, p.anchor,
               "font-size=\"12\" fill=\"" + std::string(kInk) +
                   "\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\"");
      break;
    }
  }
}

}  // namespace

std::string scatter_svg(const ScatterSpec& spec) {
  const Frame f = frame_of(spec);
  SvgWriter svg(kWidth, kHeight, spec.text.id, spec.text.title_html, spec.text.desc_html);
  draw_axes(svg, f, spec);
  draw_background(svg, f, spec);
  draw_marks(svg, f, spec);
  draw_centres(svg, f, spec);
  draw_labels(svg, f, spec);
  return svg.finish();
}

}  // namespace stray::internal
