// Shared by `stray fleet` and `stray demo`: the findings as a table, as
// JSON and as a per-entity CSV, and a progress line on a terminal.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "stray/fleet/pipeline.hpp"

namespace stray::cli {

/// "+1.000" / "−0.981" (with a real minus sign).
std::string signed_difference(double difference);

/// "package:lua5.3 +1.000, net.port:22 −0.981" — the first `max_features`.
std::string features_text(const Finding& f, std::size_t max_features, bool mark_unseen = true);

/// One line describing what ran: sizes, PCA, k, score space, rule.
std::string pipeline_summary(const FleetResult& r);

/// Prints the findings table on stdout: the first `limit` findings (0 = all).
void print_findings_table(const FleetResult& r, int64_t limit);

/// "read 0.21 s, features 0.05 s, ..."
std::string steps_text(const FleetResult& r);

/// The whole result as JSON (findings with their features, sizes, steps).
nlohmann::ordered_json findings_json(const FleetResult& r, const std::string& backend);

/// Every entity's row: "entity,cluster,score,outlier\n..." (RFC 4180 quoting).
std::string scores_csv(const FleetResult& r);

/// A progress callback that redraws one line on stderr when it is a
/// terminal (and does nothing otherwise); call finish() to clear the line.
class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine();
  ProgressCallback callback();
  void finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string step_;
  int percent_ = -1;
};

}  // namespace stray::cli
