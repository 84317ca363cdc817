// Round tick values for the HTML report's axes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "report/html_charts.hpp"

namespace stray::internal {

std::vector<double> nice_ticks(double lo, double hi, int count) {
  std::vector<double> ticks;
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi) || count < 1) return ticks;
  const double raw = (hi - lo) / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (step >= raw) break;
  }
  // Indices rather than repeated addition: no drift, no endless loop.
  const double first = std::ceil(lo / step), last = std::floor(hi / step);
  for (double i = first; i <= last && ticks.size() < 64; i += 1.0) {
    const double t = i * step;
    ticks.push_back(t == 0.0 ? 0.0 : t);  // no -0
  }
  return ticks;
}

std::string tick_label(double t, double step) {
  // As many decimals as the step has: 0.5 steps read "1.5", 2 steps "4".
  const int decimals =
      step > 0 && std::isfinite(step) ? std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 6) : 2;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(t) < step * 1e-9 ? 0.0 : std::fabs(t));
  return (t < 0 && std::fabs(t) >= step * 1e-9 ? "\u2212" : "") + std::string(buf);
}

}  // namespace stray::internal
