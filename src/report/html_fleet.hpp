// The fleet report's sections (internal): html_fleet.cpp checks the result
// and writes the summary, then calls these, one file each. The options
// check is shared with the stability report.
#pragma once

#include <cstdint>
#include <vector>

#include "report/html_page.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/report/html_report.hpp"

namespace stray::internal {

/// What the sections share, worked out once from a checked result.
struct FleetFacts {
  int64_t n = 0;                       // entities
  int64_t k = 0;                       // clusters
  std::vector<int64_t> sizes;          // [k] members in this snapshot
  std::vector<int64_t> findings_in;    // [k] findings per cluster
  int64_t details = 0;                 // findings with a section of their own
};

/// LOF values where the scatter's size classes start (options.lof): below
/// 1.5 (scikit-learn's default outlier threshold) class 0, then 1, 2, 3.
inline constexpr double kLofEdges[] = {1.5, 2.0, 3.0};
/// The size class of a LOF value.
inline uint8_t lof_size_class(double lof) {
  uint8_t c = 0;
  for (double edge : kLofEdges) c += lof >= edge;
  return c;
}

/// Throws ErrorCode::invalid_argument, naming `where`, for options out of
/// range (every report checks them the same way).
void check_report_options(const HtmlReportOptions& options, const char* where);

/// Entities on the first two columns of result.reduced, findings outlined.
void fleet_scatter_section(HtmlPage& page, const FleetResult& result,
                           const HtmlReportOptions& options, const FleetFacts& facts);
/// Cluster sizes (a bar chart) and each cluster's profile (a table).
void fleet_clusters_section(HtmlPage& page, const FleetResult& result,
                            const HtmlReportOptions& options, const FleetFacts& facts);
/// One part per finding shown: what it is, and a chart of its differences.
void fleet_findings_section(HtmlPage& page, const FleetResult& result,
                            const HtmlReportOptions& options, const FleetFacts& facts);

}  // namespace stray::internal
