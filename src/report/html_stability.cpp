// The stability report as one HTML page (stray/report/html_stability.hpp):
// the checks, the summary, the day-one × day-two heat map and the pairs;
// the entities that changed cluster and the drifted ones are in
// html_stability_entities.cpp.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/check.hpp"
#include "report/html_charts.hpp"
#include "report/html_fleet.hpp"
#include "report/html_page.hpp"
#include "report/html_stability_sections.hpp"
#include "report/html_svg.hpp"
#include "stray/io/files.hpp"
#include "stray/report/html_stability.hpp"

namespace stray {
namespace {

using internal::fixed;
using internal::grouped;
using internal::html_text;
using internal::require;

constexpr const char* kWhere = "stability_html_report";

void check_labels(const std::vector<int32_t>& labels, int64_t k, const char* day) {
  for (int32_t l : labels) {
    require(l >= 0 && l < k, ErrorCode::shape_mismatch, kWhere, day, " label ", l, " outside the ",
            k, " clusters");
  }
}

// The parts of the report the page reads must agree with one another.
void check_report(const StabilityReport& r) {
  const auto kept = r.entities.size();
  const int64_t k = r.n_clusters;
  require(k >= 0, ErrorCode::shape_mismatch, kWhere, "n_clusters=", k);
  require(r.day1_labels.size() == kept && r.day2_labels.size() == kept, ErrorCode::shape_mismatch,
          kWhere, r.day1_labels.size(), " day-one and ", r.day2_labels.size(),
          " day-two labels for ", kept, " entities");
  check_labels(r.day1_labels, k, "a day-one");
  check_labels(r.day2_labels, k, "a day-two");
  require(r.partner.empty() || static_cast<int64_t>(r.partner.size()) == k,
          ErrorCode::shape_mismatch, kWhere, r.partner.size(), " partners for ", k, " clusters");
  for (int32_t p : r.partner) {
    require(p >= -1 && p < k, ErrorCode::shape_mismatch, kWhere, "partner ", p, " outside the ", k,
            " clusters");
  }
  for (const ClusterPair& p : r.pairs) {
    require(p.day1 >= 0 && p.day1 < k && p.day2 >= 0 && p.day2 < k, ErrorCode::shape_mismatch,
            kWhere, "pair ", p.day1, " -> ", p.day2, " outside the ", k, " clusters");
  }
  for (const MovedEntity& m : r.moved) {
    require(m.day1 >= 0 && m.day1 < k && m.day2 >= 0 && m.day2 < k, ErrorCode::shape_mismatch,
            kWhere, "a moved entity's clusters outside the ", k);
  }
  for (const EntityDrift& d : r.drift) {
    require(d.day1 >= 0 && d.day1 < k && d.day2 >= 0 && d.day2 < k, ErrorCode::shape_mismatch,
            kWhere, "a drifted entity's clusters outside the ", k);
  }
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
}

void row(std::string& dl, const char* term, const std::string& html) {
  dl += "<dt>";
  dl += term;
  dl += "</dt><dd>" + html + "</dd>\n";
}

void summary_section(internal::HtmlPage& page, const StabilityReport& r,
                     const HtmlReportOptions& o) {
  const DayOverlap& ov = r.overlap;
  const auto kept = static_cast<int64_t>(r.entities.size());
  page.begin_section("summary", "Summary");
  std::string dl = "<dl class=\"summary\">\n";
  row(dl, "Day one", grouped(ov.day1_entities) + " entities");
  row(dl, "Day two", grouped(ov.day2_entities) + " entities");
  row(dl, "On both days",
      grouped(kept) + " (" + percent(ov.kept_share_day1()) + " of day one, " +
          percent(ov.kept_share_day2()) + " of day two); " +
          grouped(static_cast<int64_t>(ov.only_day1.size())) + " gone by day two, " +
          grouped(static_cast<int64_t>(ov.only_day2.size())) + " new on day two");
  row(dl, "Features", grouped(r.n_features) + " (one vocabulary over both days)");
  row(dl, "PCA",
      r.n_components > 0
          ? std::to_string(r.n_components) + " components, fitted on " +
                (r.space == StabilitySpace::union_of_days ? "both days' kept entities"
                                                          : "day one's kept entities")
          : std::string("none: k-means ran on the features themselves"));
  std::string k = "k = " + std::to_string(r.n_clusters);
  if (r.k_chosen && !r.cluster_choice.empty()) {
    k += ", chosen on day one from k = " + std::to_string(r.cluster_choice.front().k) + "\u2013" +
         std::to_string(r.cluster_choice.back().k) +
         " by the mean silhouette of k-means fits on a sample";
  } else {
    k += ", as given";
  }
  row(dl, "Clusters", k);
  row(dl, "Agreement",
      "Rand " + fixed(r.rand, 3) + " \u00b7 adjusted Rand " + fixed(r.adjusted_rand, 3) +
          " \u00b7 adjusted mutual information " + fixed(r.adjusted_mutual_info, 3) +
          " (1: the same clusters on both days)");
  const auto moved = static_cast<int64_t>(r.moved.size());
  row(dl, "Changed cluster",
      grouped(moved) + (kept > 0 ? " (" + percent(static_cast<double>(moved) / static_cast<double>(kept)) +
                                       " of the entities on both days)"
                                 : std::string()));
  row(dl, "Drift measured in",
      r.drift_space == DriftSpace::features ? "the normalised features" : "the shared reduced space");
  if (!o.backend.empty()) row(dl, "Backend", html_text(o.backend, 80));
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f s", r.seconds);
  row(dl, "Time", seconds);
  dl += "</dl>\n";
  page.add(dl);
  if (!ov.warning.empty()) page.note("<strong>Warning:</strong> " + html_text(ov.warning, 400));
  page.end_section();
}

// Row labels "3 → 5 · J 0.97": the cluster, its partner and their Jaccard.
std::vector<std::string> row_labels(const StabilityReport& r) {
  std::vector<std::string> labels;
  for (int64_t c = 0; c < r.n_clusters; ++c) labels.push_back(std::to_string(c) + " (no partner)");
  for (const ClusterPair& p : r.pairs) {
    labels[static_cast<std::size_t>(p.day1)] = std::to_string(p.day1) + " \u2192 " +
                                               std::to_string(p.day2) + " \u00b7 J " +
                                               fixed(p.jaccard, 2);
  }
  return labels;
}

void heatmap_section(internal::HtmlPage& page, const StabilityReport& r) {
  page.begin_section("clusters", "Clusters on day one and day two");
  const int64_t k = r.n_clusters;
  if (k == 0) {
    page.note("No clusters: the report has no entities on both days.");
    page.end_section();
    return;
  }
  internal::HeatMapSpec s;
  s.counts.assign(static_cast<std::size_t>(k * k), 0);
  std::vector<int64_t> row_total(static_cast<std::size_t>(k), 0);
  for (std::size_t i = 0; i < r.entities.size(); ++i) {
    ++s.counts[static_cast<std::size_t>(r.day1_labels[i] * k + r.day2_labels[i])];
    ++row_total[static_cast<std::size_t>(r.day1_labels[i])];
  }
  // Shaded by the share of the day-one cluster, so small clusters read too.
  for (std::size_t at = 0; at < s.counts.size(); ++at) {
    const int64_t total = row_total[at / static_cast<std::size_t>(k)];
    s.shade.push_back(total > 0 ? static_cast<double>(s.counts[at]) / static_cast<double>(total) : 0.0);
  }
  std::string desc = "Rows: the " + std::to_string(k) + " day-one clusters; columns: the day-two "
                     "clusters; each cell counts the entities in both. Matched pairs:";
  for (const ClusterPair& p : r.pairs) {
    s.outlined.push_back(int64_t{p.day1} * k + p.day2);
    desc += ' ';
    desc += std::to_string(p.day1) + " to " + std::to_string(p.day2) + " (Jaccard " +
            fixed(p.jaccard, 2) + ", " + grouped(p.common) + " in common);";
  }
  s.text = {"stability-heatmap", "Day-one clusters against day-two clusters", desc};
  s.row_title_html = "day one";
  s.column_title_html = "day two";
  s.row_labels_html = row_labels(r);
  for (int64_t c = 0; c < k; ++c) s.column_labels_html.push_back(std::to_string(c));
  page.figure(internal::heatmap_svg(s),
              "Each row is a day-one cluster and each column a day-two cluster; a cell counts the "
              "entities in both, shaded by its share of the row (white: none, dark blue: all). "
              "Outlined: the pairs the assignment matched, with their Jaccard index J in the row's "
              "label (1: the same members on both days).");
  page.end_section();
}

void pairs_section(internal::HtmlPage& page, const StabilityReport& r) {
  if (r.pairs.empty()) return;
  page.begin_section("pairs", "Matched pairs");
  std::string t = "<table>\n<thead><tr><th>Day one \u2192 day two</th><th class=\"num\">Day one</th>"
                  "<th class=\"num\">Day two</th><th class=\"num\">Common</th>"
                  "<th class=\"num\">Jaccard</th><th class=\"num\">Shift (reduced)</th>"
                  "<th class=\"num\">Shift (features)</th><th>Features whose mean changed most: "
                  "day one \u2192 day two</th></tr></thead>\n<tbody>\n";
  for (const ClusterPair& p : r.pairs) {
    std::string features;
    for (const FeatureChange& f : p.features) {
      if (!features.empty()) features += "<br/>";
      features += "<span class=\"name\">" + html_text(f.name, 60) + "</span> <span class=\"num\">" +
                  fixed(f.day1, 2) + " \u2192 " + fixed(f.day2, 2) + "</span>";
    }
    t += "<tr><td>" + std::to_string(p.day1) + " \u2192 " + std::to_string(p.day2) +
         "</td><td class=\"num\">" + grouped(p.day1_size) + "</td><td class=\"num\">" +
         grouped(p.day2_size) + "</td><td class=\"num\">" + grouped(p.common) +
         "</td><td class=\"num\">" + fixed(p.jaccard, 3) + "</td><td class=\"num\">" +
         internal::readable(p.shift, 3) + "</td><td class=\"num\">" +
         internal::readable(p.feature_shift, 3) + "</td><td>" + features + "</td></tr>\n";
  }
  t += "</tbody>\n</table>\n";
  page.add(t);
  page.end_section();
}

}  // namespace

std::string stability_html_report(const StabilityReport& report, const HtmlReportOptions& options) {
  internal::check_report_options(options, kWhere);
  check_report(report);
  internal::HtmlPage page(
      html_text(options.title.empty() ? "stray stability report" : options.title, 200),
      html_text(options.subtitle, 400));
  summary_section(page, report, options);
  if (report.k_chosen && !report.cluster_choice.empty()) {
    std::vector<double> ks, sil;
    std::string desc = "Mean silhouette on day one for each k tried:";
    int64_t at = -1;
    for (const KCandidate& c : report.cluster_choice) {
      if (c.k == report.n_clusters) at = static_cast<int64_t>(ks.size());
      ks.push_back(static_cast<double>(c.k));
      sil.push_back(c.silhouette);
      desc += " k=" + std::to_string(c.k) + " " + fixed(c.silhouette, 3) + ";";
    }
    page.figure(internal::line_svg({"k-choice", "How k was chosen", desc}, ks, sil, at,
                                   "k = " + std::to_string(report.n_clusters), "k (clusters)",
                                   "silhouette"),
                "How k was chosen on day one: the mean silhouette of a k-means fit on a sample, "
                "for each k tried. The k kept is marked.");
  }
  heatmap_section(page, report);
  pairs_section(page, report);
  internal::stability_moved_section(page, report, options);
  internal::stability_drift_section(page, report, options);
  return page.finish();
}

void write_stability_html_report(const std::string& path, const StabilityReport& report,
                                 const HtmlReportOptions& options) {
  write_file_atomic(path, stability_html_report(report, options));
}

}  // namespace stray
