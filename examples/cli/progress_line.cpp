#include "progress_line.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli_util.hpp"

namespace stray::cli {

ProgressLine::ProgressLine() : enabled_(stderr_is_terminal()) {}

ProgressLine::~ProgressLine() { finish(); }

ProgressCallback ProgressLine::callback() {
  if (!enabled_) return {};
  return [this](std::string_view step, double fraction) {
    const int percent = static_cast<int>(std::floor(100.0 * std::clamp(fraction, 0.0, 1.0)));
    if (step == step_ && percent == percent_) return;
    step_ = std::string(step);
    percent_ = percent;
    std::fprintf(stderr, "\r\033[Kstray: %s %d%%", step_.c_str(), percent);
    std::fflush(stderr);
    drawn_ = true;
  };
}

void ProgressLine::finish() {
  if (drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace stray::cli
