// The fleet report's scatter: every entity on the first two columns of the
// clustering space (the first two principal components), coloured by
// cluster; every finding outlined, the highest named. Above
// max_background_points the other entities are a uniform sample, in row
// order, drawn with a fixed seed: the same result gives the same page.
#include <algorithm>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "report/html_charts.hpp"
#include "report/html_fleet.hpp"
#include "report/html_svg.hpp"

namespace stray::internal {
namespace {

// Rows of the entities that are not findings, all of them or exactly
// `limit` chosen uniformly (selection sampling, Knuth's algorithm S).
std::vector<int64_t> background_rows(const std::vector<uint8_t>& is_finding, int64_t limit,
                                     uint64_t seed, int64_t& total) {
  std::vector<int64_t> background;
  for (std::size_t i = 0; i < is_finding.size(); ++i) {
    if (!is_finding[i]) background.push_back(static_cast<int64_t>(i));
  }
  total = static_cast<int64_t>(background.size());
  if (limit >= total) return background;
  Rng rng(seed);
  std::vector<int64_t> rows = rng.sample_in_order(total, limit);
  for (int64_t& r : rows) r = background[static_cast<std::size_t>(r)];
  return rows;
}

std::string axis_label(const FleetResult& r, int64_t column) {
  const FleetModel& m = r.model;
  if (m.use_pca) {
    const auto c = static_cast<std::size_t>(column);
    std::string s = "principal component " + std::to_string(column + 1);
    if (c < m.pca.explained_variance_ratio.size()) {
      s += " (" + readable(100.0 * m.pca.explained_variance_ratio[c], 3) + "% of the variance)";
    }
    return s;
  }
  const auto c = static_cast<std::size_t>(column);
  return "feature " + (c < r.features.feature_names.size()
                           ? html_text(r.features.feature_names[c], 48)
                           : std::to_string(column + 1));
}

// Each cluster's mean position over all its members (not the sample).
std::vector<ScatterCentre> centres(const FleetResult& r, const FleetFacts& f) {
  std::vector<double> sx(static_cast<std::size_t>(f.k)), sy(sx.size());
  const bool two = r.reduced.cols() >= 2;
  for (int64_t i = 0; i < f.n; ++i) {
    const auto c = static_cast<std::size_t>(r.labels[static_cast<std::size_t>(i)]);
    sx[c] += r.reduced(i, 0);
    if (two) sy[c] += r.reduced(i, 1);
  }
  std::vector<ScatterCentre> out;
  for (int64_t c = 0; c < f.k; ++c) {
    const auto s = static_cast<std::size_t>(c);
    if (f.sizes[s] == 0) continue;
    const double size = static_cast<double>(f.sizes[s]);
    out.push_back({static_cast<float>(sx[s] / size), static_cast<float>(sy[s] / size),
                   static_cast<int32_t>(c)});
  }
  return out;
}

std::string finding_tooltip(const Finding& x, std::size_t rank, const HtmlReportOptions& o) {
  std::string s = "#";
  s += std::to_string(rank + 1);
  s += ' ';
  s += html_text(x.entity_name, 120) + " \u2014 cluster " + std::to_string(x.cluster) +
       ", score " + readable(x.score, 5);
  if (!o.lof.empty()) s += ", LOF " + readable(o.lof[static_cast<std::size_t>(x.entity)], 3);
  return s;
}

}  // namespace

void fleet_scatter_section(HtmlPage& page, const FleetResult& r, const HtmlReportOptions& o,
                           const FleetFacts& f) {
  page.begin_section("map", "The fleet at a glance");
  if (f.n == 0 || r.reduced.rows() == 0 || r.reduced.cols() == 0) {
    page.note("No coordinates to draw: this result has no reduced rows.");
    page.end_section();
    return;
  }
  const bool two = r.reduced.cols() >= 2;
  const auto at = [&](int64_t i, int64_t j) { return j < r.reduced.cols() ? r.reduced(i, j) : 0.0f; };
  std::vector<uint8_t> is_finding(static_cast<std::size_t>(f.n), 0);
  for (const Finding& x : r.findings) is_finding[static_cast<std::size_t>(x.entity)] = 1;

  ScatterSpec s;
  int64_t others = 0;
  for (int64_t i : background_rows(is_finding, o.max_background_points, o.sample_seed, others)) {
    s.x.push_back(at(i, 0));
    s.y.push_back(at(i, 1));
    s.cluster.push_back(r.labels[static_cast<std::size_t>(i)]);
    if (!o.lof.empty()) s.size.push_back(lof_size_class(o.lof[static_cast<std::size_t>(i)]));
  }
  // Lowest scores first: the highest are drawn last, on top, and named first.
  for (std::size_t q = r.findings.size(); q-- > 0;) {
    const Finding& x = r.findings[q];
    ScatterMark m{at(x.entity, 0), at(x.entity, 1), x.cluster, {}, {}, 0};
    if (!o.lof.empty()) m.size = lof_size_class(o.lof[static_cast<std::size_t>(x.entity)]);
    if (static_cast<int64_t>(q) < f.details) m.tooltip_html = finding_tooltip(x, q, o);
    if (static_cast<int64_t>(q) < o.max_labels) m.label_html = html_text(x.entity_name, 24);
    s.marks.push_back(std::move(m));
  }
  s.centres = centres(r, f);
  s.x_label_html = axis_label(r, 0);
  s.y_label_html = two ? axis_label(r, 1) : "(one component only: every entity at 0)";

  const auto drawn = static_cast<int64_t>(s.x.size());
  const auto n_findings = static_cast<int64_t>(r.findings.size());
  std::string sample;
  if (drawn < others) {
    sample = "The " + grouped(others) + " entities that are not findings are shown by a uniform sample of " +
             grouped(drawn) + " (seed " + std::to_string(o.sample_seed) + "); ";
  } else {
    sample = "Every entity is drawn; ";
  }
  sample += "all " + grouped(n_findings) + " findings are drawn (those on the same spot share a mark).";
  if (!o.lof.empty()) {
    sample += " Point size is the local outlier factor (LOF): below 1.5, 1.5 to 2, 2 to 3, 3 and "
              "above, smallest to largest.";
  }
  std::string desc = "Scatter of " + grouped(f.n) + " entities in " + std::to_string(f.k) +
                     " clusters on " + (r.model.use_pca ? "the first two principal components" : "the first two features") +
                     ", coloured by cluster; findings outlined in black. " + sample;
  const int64_t named = std::min<int64_t>(5, n_findings);
  if (named > 0) {
    desc += " Highest scores:";
    for (int64_t q = 0; q < named; ++q) {
      desc += (q ? "; " : " ") + html_text(r.findings[static_cast<std::size_t>(q)].entity_name, 60) +
              " (cluster " + std::to_string(r.findings[static_cast<std::size_t>(q)].cluster) + ")";
    }
    desc += ".";
  }
  s.text = {"scatter", "Entities by cluster, findings outlined", desc};
  page.figure(scatter_svg(s),
              "Each dot is an entity, coloured by its cluster (colours repeat after " +
                  std::to_string(kPaletteSize) +
                  " clusters; the bold numbers mark each cluster's centre). Findings are outlined "
                  "in black; the highest " + std::to_string(std::min<int64_t>(o.max_labels, n_findings)) +
                  " are named where there is room, and the detailed ones show their name on hover. " +
                  sample);
  page.end_section();
}

}  // namespace stray::internal
