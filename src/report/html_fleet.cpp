// The fleet report as one HTML page (stray/report/html_report.hpp): the
// checks on the result, the summary and the k curve; the scatter, the
// clusters and the findings have a file each (html_fleet_*.cpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/check.hpp"
#include "report/html_charts.hpp"
#include "report/html_fleet.hpp"
#include "report/html_page.hpp"
#include "report/html_svg.hpp"
#include "stray/io/files.hpp"
#include "stray/report/fleet_report.hpp"
#include "stray/report/html_report.hpp"

namespace stray {
namespace {

using internal::FleetFacts;
using internal::html_text;
using internal::require;
using internal::xml_escape;

constexpr const char* kWhere = "fleet_html_report";

// The parts of the result the page reads must agree with one another; a
// result put together by hand (or read from elsewhere) may not.
FleetFacts check_result(const FleetResult& r, const HtmlReportOptions& o) {
  FleetFacts f;
  f.n = r.features.n_entities();
  require(static_cast<int64_t>(r.labels.size()) == f.n, ErrorCode::shape_mismatch, kWhere,
          r.labels.size(), " labels for ", f.n, " entities");
  require(r.reduced.rows() == f.n || r.reduced.rows() == 0, ErrorCode::shape_mismatch, kWhere,
          r.reduced.rows(), " reduced rows for ", f.n, " entities");
  int32_t max_label = -1;
  for (int32_t l : r.labels) {
    require(l >= 0, ErrorCode::shape_mismatch, kWhere, "a negative cluster label (", l, ")");
    max_label = std::max(max_label, l);
  }
  f.k = r.model.fitted() ? r.model.n_clusters() : int64_t{max_label} + 1;
  require(max_label < f.k, ErrorCode::shape_mismatch, kWhere, "cluster label ", max_label,
          " for a model of ", f.k, " clusters");
  f.sizes.assign(static_cast<std::size_t>(f.k), 0);
  f.findings_in.assign(static_cast<std::size_t>(f.k), 0);
  for (int32_t l : r.labels) ++f.sizes[static_cast<std::size_t>(l)];
  for (const Finding& x : r.findings) {
    require(x.entity >= 0 && x.entity < f.n, ErrorCode::shape_mismatch, kWhere, "a finding's row ",
            x.entity, " outside the ", f.n, " entities");
    require(x.cluster >= 0 && x.cluster < f.k, ErrorCode::shape_mismatch, kWhere,
            "a finding's cluster ", x.cluster, " outside the ", f.k, " clusters");
    ++f.findings_in[static_cast<std::size_t>(x.cluster)];
  }
  f.details = std::min<int64_t>(o.max_finding_details, static_cast<int64_t>(r.findings.size()));
  require(o.lof.empty() || static_cast<int64_t>(o.lof.size()) == f.n, ErrorCode::shape_mismatch,
          kWhere, o.lof.size(), " LOF scores for ", f.n, " entities");
  for (double x : o.lof) {
    require(std::isfinite(x) && x >= 0.0, ErrorCode::invalid_argument, kWhere,
            "a LOF score that is negative or not finite (", x, ")");
  }
  return f;
}

double kept_variance(const FleetModel& m) {
  double kept = 0.0;
  for (double x : m.pca.explained_variance_ratio) kept += x;
  return kept;
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

// The kept k's place on the curve (curve.size() when it is not on it).
std::size_t chosen_index(const std::vector<ClusterChoice>& curve, int64_t k) {
  for (std::size_t i = 0; i < curve.size(); ++i) {
    if (curve[i].k == k) return i;
  }
  return curve.size();
}

std::string clusters_text(const FleetResult& r, const FleetFacts& f) {
  std::string s = "k = " + std::to_string(f.k);
  if (!r.cluster_choice.empty()) {
    const std::size_t at = chosen_index(r.cluster_choice, f.k);
    s += ", chosen from k = " + std::to_string(r.cluster_choice.front().k) + "\u2013" +
         std::to_string(r.cluster_choice.back().k) +
         " by the mean silhouette of k-means fits on a sample of the entities";
    if (at < r.cluster_choice.size()) {
      s += " (" + internal::readable(r.cluster_choice[at].silhouette, 3) + " at k = " +
           std::to_string(f.k) + ")";
    }
  } else if (r.kmeans.n_clusters() > 0) {
    s += ", as given";
  } else if (r.model.fitted()) {
    s += ", from the fitted model applied";
  }
  return s;
}

std::string rules_text(const FleetModel& m) {
  std::string s = xml_escape(to_string(m.score.space)) + " scores";
  for (std::size_t g = 0; g < m.score.grains.size(); ++g) {
    s += (g == 0 ? " at grains k = " : ", ") + std::to_string(m.score.grains[g]);
  }
  if (m.outliers.percentile > 0.0) {
    s += "; flagged beyond the " + internal::svg_number(m.outliers.percentile, 2) +
         "th percentile of each cluster";
  }
  if (m.outliers.top_n > 0) s += "; the top " + std::to_string(m.outliers.top_n) + " of each cluster";
  if (m.outliers.top_fraction > 0.0) {
    s += "; the top " + percent(m.outliers.top_fraction) + " of each cluster";
  }
  if (m.outliers.small_cluster_size > 0) {
    s += "; clusters of at most " + std::to_string(m.outliers.small_cluster_size) +
         " members flagged whole";
  }
  return s;
}

void row(std::string& dl, const char* term, const std::string& html) {
  dl += "<dt>";
  dl += term;
  dl += "</dt><dd>" + html + "</dd>\n";
}

void summary_section(internal::HtmlPage& page, const FleetResult& r, const HtmlReportOptions& o,
                     const FleetFacts& f) {
  const FleetModel& m = r.model;
  page.begin_section("summary", "Summary");
  std::string dl = "<dl class=\"summary\">\n";
  std::string entities = internal::grouped(f.n);
  row(dl, "Entities", entities);
  std::string features = internal::grouped(r.features.n_features());
  if (!r.features.unseen.empty()) {
    features += " (and " + internal::grouped(static_cast<int64_t>(r.features.unseen.size())) +
                " occurrences of features the model never saw)";
  }
  row(dl, "Features", features);
  row(dl, "PCA",
      m.use_pca ? std::to_string(m.pca.n_components) + " components kept, explaining " +
                      percent(kept_variance(m)) + " of the variance"
                : "none: k-means ran on the features themselves");
  row(dl, "Clusters", clusters_text(r, f));
  row(dl, "Outlier rules", rules_text(m));
  const auto n_findings = static_cast<int64_t>(r.findings.size());
  row(dl, "Findings",
      internal::grouped(n_findings) +
          (f.n > 0 ? " (" + percent(static_cast<double>(n_findings) / static_cast<double>(f.n)) +
                         " of the entities)"
                   : std::string()));
  if (!o.lof.empty()) {
    int64_t above = 0;
    for (double x : o.lof) above += x > internal::kLofEdges[0];
    row(dl, "Local outlier factor",
        internal::grouped(above) + " entities above 1.5 (scikit-learn's default outlier threshold); "
        "drawn as point size on the map");
  }
  if (!o.backend.empty()) row(dl, "Backend", html_text(o.backend, 80));
  if (!r.steps.empty()) {
    std::string t;
    for (const PipelineStep& st : r.steps) {
      if (!t.empty()) t += " \u00b7 ";
      t += html_text(st.name, 40) + " " + seconds(st.seconds);
    }
    row(dl, "Time", t + "; total " + seconds(r.seconds));
  }
  dl += "</dl>\n";
  page.add(dl);

  if (!r.cluster_choice.empty()) {
    std::vector<double> ks, sil;
    std::string desc = "Mean silhouette for each k tried:";
    for (const ClusterChoice& c : r.cluster_choice) {
      ks.push_back(static_cast<double>(c.k));
      sil.push_back(c.silhouette);
      desc += " k=" + std::to_string(c.k) + " " + internal::readable(c.silhouette, 3) + ";";
    }
    desc += " the pipeline kept k=" + std::to_string(f.k) + ".";
    const std::size_t at = chosen_index(r.cluster_choice, f.k);
    const internal::ChartText text{"k-choice", "How k was chosen", desc};
    page.figure(internal::line_svg(text, ks, sil,
                                   at < r.cluster_choice.size() ? static_cast<int64_t>(at) : -1,
                                   "k = " + std::to_string(f.k), "k (clusters)", "silhouette"),
                "How k was chosen: the mean silhouette of a k-means fit on a sample, for each "
                "k tried; higher is better separated. The k kept is marked.");
  }
  page.end_section();
}

}  // namespace

namespace internal {

void check_report_options(const HtmlReportOptions& o, const char* where) {
  require(o.max_background_points >= 0, ErrorCode::invalid_argument, where,
          "max_background_points=", o.max_background_points, " < 0");
  require(o.max_finding_details >= 0, ErrorCode::invalid_argument, where,
          "max_finding_details=", o.max_finding_details, " < 0");
  require(o.max_labels >= 0, ErrorCode::invalid_argument, where, "max_labels=", o.max_labels,
          " < 0");
  require(o.profile_features >= 1, ErrorCode::invalid_argument, where,
          "profile_features=", o.profile_features, " < 1");
}

}  // namespace internal

std::string fleet_html_report(const FleetResult& result, const HtmlReportOptions& options) {
  internal::check_report_options(options, kWhere);
  const FleetFacts facts = check_result(result, options);
  internal::HtmlPage page(html_text(options.title.empty() ? "stray fleet report" : options.title, 200),
                          html_text(options.subtitle, 400));
  summary_section(page, result, options, facts);
  internal::fleet_scatter_section(page, result, options, facts);
  internal::fleet_clusters_section(page, result, options, facts);
  internal::fleet_findings_section(page, result, options, facts);
  return page.finish();
}

void write_fleet_html_report(const std::string& path, const FleetResult& result,
                             const HtmlReportOptions& options) {
  write_file_atomic(path, fleet_html_report(result, options));
}

}  // namespace stray
