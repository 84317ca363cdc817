// stray — a fleet result as one self-contained HTML page, for an analyst to
// look at rather than read: a summary, the entities on the first two
// principal components coloured by cluster with the findings outlined and
// named, the clusters' sizes and profiles, and per finding a bar chart of
// the features that set it apart from its peers. docs/report.md shows it.
//
// The page loads nothing: inline CSS and SVG, no script, no font, no image,
// no URL, so it opens offline and leaks nothing when opened. Each chart has
// a <title> and <desc> as its text alternative; colours are Okabe–Ito's
// (distinguishable with the common colour-vision deficiencies), and what a
// colour says is also written (signs, cluster numbers).
//
// Entity and feature names are bytes from whoever wrote the events: each
// goes through display_text (stray/report/fleet_report.hpp) — control
// characters, invalid UTF-8 and bidirectional overrides become visible
// escapes — and then has & < > " ' escaped, so no name can add markup or a
// script to the page.
//
// Size: the background of the scatter is sampled (max_background_points),
// every finding is drawn at about 30 bytes, and only the highest
// max_finding_details findings get a chart, so the page grows with the
// findings, not the fleet; bench/RESULTS.md has the size for a
// 1,000,000-entity fleet.
//
// Thread safety: both functions keep no state and only read the result;
// concurrent calls are safe, the file written atomically (the last rename
// to a path wins).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stray/fleet/pipeline.hpp"

namespace stray {

struct HtmlReportOptions {
  /// The page's title and heading ("" = "stray fleet report", or the
  /// stability report's own).
  std::string title;
  /// A line under the title ("fitted on these events"); "" = none.
  std::string subtitle;
  /// The backend that computed the result, shown in the summary ("" = not shown).
  std::string backend;
  /// Entities that are not findings drawn on the scatter at most; above
  /// this many, a uniform sample of exactly this many (the page says so).
  /// Every finding is always drawn. >= 0.
  int64_t max_background_points = 20000;
  /// Seed of that sample (the same result and seed give the same page).
  uint64_t sample_seed = 1;
  /// Findings, highest scores first, that get a section with a bar chart
  /// (and a tooltip on the scatter). >= 0.
  int64_t max_finding_details = 200;
  /// Findings, highest scores first, named beside their mark on the
  /// scatter where there is room. >= 0.
  int64_t max_labels = 20;
  /// Features per cluster profile. >= 1.
  int64_t profile_features = 5;
  /// [n] or empty: each entity's Local Outlier Factor (LOF(i), that is
  /// LofResult::negative_outlier_factor negated; stray/neighbors/lof.hpp),
  /// fitted on the same rows. Given, every point of the scatter is drawn at
  /// one of four sizes: LOF below 1.5 (scikit-learn's default outlier
  /// threshold), 1.5 to 2, 2 to 3, 3 and above; the summary counts the
  /// entities above 1.5. Finite and >= 0.
  std::vector<double> lof;
};

/// The page as a string (UTF-8). Uses the result's reduced rows (its first
/// two columns are the scatter's axes), labels, findings, model (cluster
/// centres in the features, for the profiles), k curve and step times.
///
/// Throws ErrorCode::invalid_argument for options out of range and
/// ErrorCode::shape_mismatch for a result whose parts disagree (labels,
/// reduced rows or a finding's row that do not fit the entities; a label
/// outside the model's clusters) or options.lof of another length.
///
/// Time O(n + k·d + findings shown); memory O(n) for the sample and the
/// cluster centres, plus the page (about 2.5 MB for 1,000,000 entities with
/// 50,000 findings).
std::string fleet_html_report(const FleetResult& result, const HtmlReportOptions& options = {});

/// The same page written to `path` atomically (write_file_atomic): readers
/// never see half a page. Throws ErrorCode::io_error when it cannot be written.
void write_fleet_html_report(const std::string& path, const FleetResult& result,
                             const HtmlReportOptions& options = {});

}  // namespace stray
