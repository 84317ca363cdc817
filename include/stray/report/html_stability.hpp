// stray — a stability report (stray/fleet/stability.hpp) as one
// self-contained HTML page, made like the fleet report's
// (stray/report/html_report.hpp: no script, no URL, names escaped, text
// alternatives, Okabe–Ito colours): a summary with the agreement scores, the
// day-one × day-two cluster table as a heat map with the matched pairs
// outlined and their Jaccard index, the pairs' table, the entities that
// changed cluster, and the drifted entities with a bar chart each of the
// features that changed. docs/report.md shows it.
//
// Thread safety: both functions keep no state and only read the report;
// concurrent calls are safe, the file written atomically (the last rename
// to a path wins).
#pragma once

#include <string>

#include "stray/fleet/stability.hpp"
#include "stray/report/html_report.hpp"

namespace stray {

/// The page as a string (UTF-8). Of `options`: title ("" = "stray
/// stability report"), subtitle, backend; max_finding_details caps the
/// drifted entities shown with a chart (the report's own top_drift caps
/// them first) and the entities listed as having changed cluster.
///
/// Throws ErrorCode::invalid_argument for options out of range and
/// ErrorCode::shape_mismatch for a report whose parts disagree (labels that
/// do not fit its entities or clusters, a pair or partner outside them).
///
/// Time O(kept + k² + what is shown); the page grows with k² and the
/// entities shown, not with the fleet.
std::string stability_html_report(const StabilityReport& report,
                                  const HtmlReportOptions& options = {});

/// The same page written to `path` atomically. Throws ErrorCode::io_error
/// when it cannot be written.
void write_stability_html_report(const std::string& path, const StabilityReport& report,
                                 const HtmlReportOptions& options = {});

}  // namespace stray
