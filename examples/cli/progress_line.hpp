// The progress of `stray fleet` and `stray demo`: one line on stderr,
// redrawn in place, only when stderr is a terminal.
#pragma once

#include <string>

#include "stray/fleet/pipeline.hpp"

namespace stray::cli {

/// A progress callback that redraws one line on stderr when it is a
/// terminal (and does nothing otherwise); call finish() to clear the line.
class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ProgressCallback callback();
  void finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string step_;
  int percent_ = -1;
};

}  // namespace stray::cli
