// The fleet report's findings: for each of the highest-scoring ones, what
// it is (cluster, score, rules) and a bar chart of the features that set it
// apart from its peers — value minus the peers' mean, positive (it has more
// than its peers) and negative (less) in different colours and sides.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "report/html_charts.hpp"
#include "report/html_fleet.hpp"
#include "report/html_svg.hpp"
#include "stray/report/fleet_report.hpp"

namespace stray::internal {
namespace {

constexpr std::size_t kLabelCodePoints = 40;  // fits the chart's label column at 13px

std::string facts_html(const Finding& x) {
  std::string s = "cluster " + std::to_string(x.cluster) + " (" + grouped(x.cluster_size) +
                  " members)";
  if (x.reference_cluster != x.cluster) {
    s += ", compared with cluster " + std::to_string(x.reference_cluster);
  }
  s += " \u00b7 score " + readable(x.score, 5) + " \u00b7 rank " + std::to_string(x.rank + 1) +
       " in its cluster \u00b7 flagged by: " + xml_escape(outlier_rules_string(x.rules));
  if (x.n_differing > 0) {
    s += "<br/>Differs from its peers' mean in " + grouped(x.n_differing) + " feature" +
         (x.n_differing == 1 ? "" : "s") + ": " + grouped(x.n_unique) + " no peer has, " +
         grouped(x.n_missing) + " every peer has and it lacks; the largest " +
         std::to_string(x.features.size()) + " are drawn.";
  }
  if (!x.rare_features.empty()) {
    s += "<br/>Rarest in the whole fleet:";
    for (std::size_t i = 0; i < x.rare_features.size(); ++i) {
      const RareFeature& v = x.rare_features[i];
      s += std::string(i == 0 ? " " : "; ") + html_text(v.name, 80) + " = " + readable(v.value, 3) +
           " (" + readable(100.0 * v.fleet_share, 2) + "% of the fleet as far out" +
           (v.unseen ? ", a feature the model never saw" : "") + ")";
    }
  }
  return s;
}

std::string chart(const Finding& x, std::size_t index) {
  std::vector<Bar> bars;
  std::string desc = "Features where " + html_text(x.entity_name, 80) +
                     " differs most from its peers (value minus the peers' mean):";
  for (const FindingFeature& ff : x.features) {
    const std::string name = html_text(ff.name, kLabelCodePoints) + (ff.unseen ? " (new)" : "");
    const std::string full = html_text(ff.name, 300);
    const std::string detail = signed_difference(ff.difference) + " (its value " +
                               readable(ff.value, 3) + ", peers' mean " + readable(ff.center, 3) +
                               (ff.unseen ? ", a feature the model never saw" : "") + ")";
    bars.push_back({name, full + ": " + detail, ff.difference, signed_difference(ff.difference), ""});
    desc += " " + full + " " + detail + ";";
  }
  const ChartText text{"finding-chart-" + std::to_string(index + 1),
                       "Why " + html_text(x.entity_name, 80) + " stands out", desc};
  return diverging_bars_svg(text, bars, "less than its peers", "more than its peers");
}

}  // namespace

void fleet_findings_section(HtmlPage& page, const FleetResult& r,
                            const HtmlReportOptions& /*options: f.details holds its limit*/,
                            const FleetFacts& f) {
  page.begin_section("findings", "Findings");
  const auto total = static_cast<int64_t>(r.findings.size());
  if (total == 0) {
    page.note("No entity was flagged.");
    page.end_section();
    return;
  }
  if (f.details < total) {
    page.note("The " + grouped(f.details) + " highest scores of " + grouped(total) +
              " findings are shown here; the map above draws them all, and the JSON and CSV "
              "reports list them all.");
  }
  page.note("Bars: the entity's value minus its peers' mean, per feature. Right (vermillion): "
            "more than its peers, such as a package no peer has; left (blue): less, such as one "
            "every peer has and it lacks. \u201c(new)\u201d marks a feature the model never saw.");
  for (int64_t q = 0; q < f.details; ++q) {
    const Finding& x = r.findings[static_cast<std::size_t>(q)];
    std::string html = "<article class=\"finding\" id=\"finding-" + std::to_string(q + 1) +
                       "\">\n<h3>#" + std::to_string(q + 1) + " <span class=\"name\">" +
                       html_text(x.entity_name, 200) + "</span></h3>\n<p class=\"facts\">" +
                       facts_html(x) + "</p>\n";
    if (x.features.empty()) {
      html += "<p class=\"note\">No feature differs from its peers' mean.</p>\n";
    } else {
      html += "<figure>" + chart(x, static_cast<std::size_t>(q)) + "</figure>\n";
    }
    html += "</article>\n";
    page.add(html);
  }
  page.end_section();
}

}  // namespace stray::internal
