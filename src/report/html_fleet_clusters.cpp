// The fleet report's clusters: how many members each has (a bar chart) and
// what sets each apart (a table): the result's cluster profiles (their
// defining features, members against the others), or for a result without
// them the features whose mean in the cluster exceeds the fleet's the most,
// from the model's per-cluster feature means.
#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "report/html_charts.hpp"
#include "report/html_fleet.hpp"
#include "report/html_svg.hpp"

namespace stray::internal {
namespace {

// The fleet's mean of each feature: the cluster means weighted by the
// members the model was fitted on.
std::vector<double> fleet_means(const FleetModel& m, const std::vector<int64_t>& sizes) {
  const int64_t k = m.feature_means.rows(), d = m.feature_means.cols();
  const bool baseline = static_cast<int64_t>(m.cluster_sizes.size()) == k;
  std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
  double total = 0.0;
  for (int64_t c = 0; c < k; ++c) {
    const auto w = static_cast<double>(baseline ? m.cluster_sizes[static_cast<std::size_t>(c)]
                                                : sizes[static_cast<std::size_t>(c)]);
    total += w;
    for (int64_t j = 0; j < d; ++j) mean[static_cast<std::size_t>(j)] += w * m.feature_means(c, j);
  }
  if (total > 0) {
    for (double& x : mean) x /= total;
  }
  return mean;
}

// The cluster's `count` features of largest positive lift over the fleet,
// as "name 0.98 vs 0.12" items; ties go to the lower column.
std::string profile_html(const FleetResult& r, const std::vector<double>& fleet, int64_t c,
                         int64_t count) {
  const Matrix<double>& means = r.model.feature_means;
  std::vector<int64_t> cols(static_cast<std::size_t>(means.cols()));
  std::iota(cols.begin(), cols.end(), int64_t{0});
  const auto lift = [&](int64_t j) { return means(c, j) - fleet[static_cast<std::size_t>(j)]; };
  const auto top = cols.begin() + std::min<int64_t>(count, means.cols());
  std::partial_sort(cols.begin(), top, cols.end(), [&](int64_t a, int64_t b) {
    return lift(a) > lift(b) || (lift(a) == lift(b) && a < b);
  });
  std::string html;
  for (auto it = cols.begin(); it != top && lift(*it) > 0.0; ++it) {
    if (!html.empty()) html += "<br/>";
    html += "<span class=\"name\">" + html_text(r.features.feature_names[static_cast<std::size_t>(*it)], 60) +
            "</span> " + fixed(means(c, *it), 2) + " vs " +
            fixed(fleet[static_cast<std::size_t>(*it)], 2);
  }
  return html.empty() ? "(nothing above the fleet's mean)" : html;
}

// The profile's defining features as "name 1.00 vs 0.02" items.
std::string defining_html(const ClusterProfile& p, int64_t count) {
  std::string html;
  for (std::size_t i = 0; i < p.defining.size() && static_cast<int64_t>(i) < count; ++i) {
    const ProfileFeature& x = p.defining[i];
    if (!html.empty()) html += "<br/>";
    html += "<span class=\"name\">" + html_text(x.name, 60) + "</span> " +
            fixed(x.members, 2) + " vs " + fixed(x.others, 2);
  }
  return html.empty() ? "(no feature above the others' mean)" : html;
}

std::string sizes_chart(const FleetFacts& f) {
  std::vector<Bar> bars;
  std::string desc = "Members per cluster:";
  for (int64_t c = 0; c < f.k; ++c) {
    const auto s = static_cast<std::size_t>(c);
    const std::string findings = f.findings_in[s] > 0
                                     ? " (" + grouped(f.findings_in[s]) + " finding" +
                                           (f.findings_in[s] == 1 ? ")" : "s)")
                                     : std::string();
    bars.push_back({"cluster " + std::to_string(c), "", static_cast<double>(f.sizes[s]),
                    grouped(f.sizes[s]) + findings, cluster_colour(c)});
    desc += " cluster " + std::to_string(c) + ", " + grouped(f.sizes[s]) + findings + ";";
  }
  return plain_bars_svg({"cluster-sizes", "Cluster sizes", desc}, bars, "members");
}

}  // namespace

void fleet_clusters_section(HtmlPage& page, const FleetResult& r, const HtmlReportOptions& o,
                            const FleetFacts& f) {
  page.begin_section("clusters", "Clusters");
  if (f.k == 0) {
    page.note("No clusters: the result has no entities.");
    page.end_section();
    return;
  }
  page.figure(sizes_chart(f), "Members of each cluster in this snapshot, and its findings.");

  // The result's profiles, by cluster, when it has them.
  std::vector<const ClusterProfile*> profile(static_cast<std::size_t>(f.k), nullptr);
  for (const ClusterProfile& p : r.clusters) {
    if (p.cluster >= 0 && p.cluster < f.k) profile[static_cast<std::size_t>(p.cluster)] = &p;
  }
  const bool own = !r.clusters.empty();
  const Matrix<double>& means = r.model.feature_means;
  const bool have_means = means.rows() == f.k && means.cols() == r.features.n_features() &&
                          r.features.feature_names.size() == static_cast<std::size_t>(means.cols());
  std::vector<double> fleet;
  if (!own && have_means) fleet = fleet_means(r.model, f.sizes);
  std::string t = std::string("<table>\n<thead><tr><th>Cluster</th><th class=\"num\">Members</th>"
                              "<th class=\"num\">Findings</th><th>") +
                  (own ? "Defining features: mean in its members vs in the others"
                       : "What sets it apart: mean in the cluster vs the fleet") +
                  "</th></tr></thead>\n<tbody>\n";
  for (int64_t c = 0; c < f.k; ++c) {
    const auto s = static_cast<std::size_t>(c);
    t += "<tr><td><span class=\"swatch\" style=\"background:" + std::string(cluster_colour(c)) +
         "\"></span>" + std::to_string(c) + "</td><td class=\"num\">" + grouped(f.sizes[s]) +
         "</td><td class=\"num\">" + grouped(f.findings_in[s]) + "</td><td>" +
         (own ? (profile[s] ? defining_html(*profile[s], o.profile_features)
                            : std::string("(no profile)"))
              : have_means ? profile_html(r, fleet, c, o.profile_features)
                           : std::string("(the result has no cluster means)")) +
         "</td></tr>\n";
  }
  t += "</tbody>\n</table>\n";
  page.add(t);
  page.note(own ? "A cluster's defining features are those whose mean over its members (for "
                  "presence features: the share of members having it) most exceeds their mean "
                  "over the entities of the other clusters, in the snapshot the model was fitted on."
                : "A cluster's profile lists the features whose mean over its members (for "
                  "presence features: the share of members having it) most exceeds the mean over "
                  "the fleet the model was fitted on.");
  page.end_section();
}

}  // namespace stray::internal
