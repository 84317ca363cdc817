// The stability report's sections about entities (internal): those that
// changed cluster and those that drifted (html_stability_entities.cpp).
// html_stability.cpp checks the report and calls these.
#pragma once

#include "report/html_page.hpp"
#include "stray/fleet/stability.hpp"
#include "stray/report/html_report.hpp"

namespace stray::internal {

/// The entities whose day-two cluster is not their day-one cluster's
/// partner: a count and the first options.max_finding_details of them.
void stability_moved_section(HtmlPage& page, const StabilityReport& report,
                             const HtmlReportOptions& options);
/// The entities that drifted most, each with a bar chart of its changed
/// features (day two minus day one).
void stability_drift_section(HtmlPage& page, const StabilityReport& report,
                             const HtmlReportOptions& options);

}  // namespace stray::internal
