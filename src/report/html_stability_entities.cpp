// The stability report's entities: those that changed cluster (a table) and
// those that drifted most beyond their cluster's own shift, each with a bar
// chart of the features that changed — gained (right, vermillion) or lost
// (left, blue).
#include <algorithm>
#include <string>
#include <vector>

#include "report/html_charts.hpp"
#include "report/html_stability_sections.hpp"
#include "report/html_svg.hpp"
#include "stray/report/fleet_report.hpp"

namespace stray::internal {
namespace {

std::string drift_facts(const EntityDrift& d) {
  std::string s = "cluster " + std::to_string(d.day1) + " \u2192 " + std::to_string(d.day2) +
                  (d.changed_cluster ? " (changed cluster)" : "") + " \u00b7 drift " +
                  readable(d.drift, 4) + " beyond its cluster's shift (moved " +
                  readable(d.moved, 4) + ") \u00b7 " + grouped(d.n_new) + " new, " +
                  grouped(d.n_lost) + " lost, " + grouped(d.n_changed) + " changed feature";
  return s + (d.n_new + d.n_lost + d.n_changed == 1 ? "" : "s");
}

std::string drift_chart(const EntityDrift& d, std::size_t index) {
  std::vector<Bar> bars;
  std::string desc = "Features of " + html_text(d.entity, 80) + " that changed between the days:";
  for (const FeatureChange& f : d.features) {
    const double change = f.day2 - f.day1;
    const std::string full = html_text(f.name, 300);
    const std::string detail = fixed(f.day1, 3) + " \u2192 " + fixed(f.day2, 3);
    bars.push_back({html_text(f.name, 40), full + ": " + detail, change, signed_difference(change), ""});
    desc += " " + full + " " + detail + ";";
  }
  return diverging_bars_svg({"drift-chart-" + std::to_string(index + 1),
                             "What changed on " + html_text(d.entity, 80), desc},
                            bars, "lost or lower on day two", "new or higher on day two");
}

}  // namespace

void stability_moved_section(HtmlPage& page, const StabilityReport& r, const HtmlReportOptions& o) {
  page.begin_section("moved", "Entities that changed cluster");
  const auto total = static_cast<int64_t>(r.moved.size());
  if (total == 0) {
    page.note("Every entity on both days is in its day-one cluster's partner on day two.");
    page.end_section();
    return;
  }
  const int64_t shown = std::min(total, o.max_finding_details);
  if (shown < total) {
    page.note("The first " + grouped(shown) + " of " + grouped(total) +
              " (the CSV output lists them all).");
  }
  std::string t = "<table>\n<thead><tr><th>Entity</th><th class=\"num\">Day one</th>"
                  "<th class=\"num\">Day two</th><th>Day two's cluster is the partner of</th>"
                  "</tr></thead>\n<tbody>\n";
  for (int64_t i = 0; i < shown; ++i) {
    const MovedEntity& m = r.moved[static_cast<std::size_t>(i)];
    t += "<tr><td class=\"name\">" + html_text(m.entity, 120) + "</td><td class=\"num\">" +
         std::to_string(m.day1) + "</td><td class=\"num\">" + std::to_string(m.day2) + "</td><td>" +
         (m.day2_partner >= 0 ? "day-one cluster " + std::to_string(m.day2_partner)
                              : std::string("no day-one cluster")) +
         "</td></tr>\n";
  }
  t += "</tbody>\n</table>\n";
  page.add(t);
  page.end_section();
}

void stability_drift_section(HtmlPage& page, const StabilityReport& r, const HtmlReportOptions& o) {
  page.begin_section("drift", "Drifted entities");
  const int64_t shown = std::min({static_cast<int64_t>(r.drift.size()), r.top_drift, o.max_finding_details});
  if (shown <= 0) {
    page.note("No drifted entity is listed in this report.");
    page.end_section();
    return;
  }
  page.note("The " + grouped(shown) + " entities that moved most beyond their cluster's own "
            "shift, highest first. Bars: a feature's value on day two minus day one; right "
            "(vermillion): new or higher, left (blue): lost or lower.");
  for (int64_t i = 0; i < shown; ++i) {
    const EntityDrift& d = r.drift[static_cast<std::size_t>(i)];
    std::string html = "<article class=\"finding\" id=\"drift-" + std::to_string(i + 1) +
                       "\">\n<h3>#" + std::to_string(i + 1) + " <span class=\"name\">" +
                       html_text(d.entity, 200) + "</span></h3>\n<p class=\"facts\">" +
                       drift_facts(d) + "</p>\n";
    html += d.features.empty() ? "<p class=\"note\">No feature listed.</p>\n"
                               : "<figure>" + drift_chart(d, static_cast<std::size_t>(i)) + "</figure>\n";
    html += "</article>\n";
    page.add(html);
  }
  page.end_section();
}

}  // namespace stray::internal
