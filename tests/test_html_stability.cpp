// The stability report's HTML page (stray/report/html_stability.hpp): well
// formed, one <svg> per chart with its text alternative, the heat map's
// cells counting the entities of each day-one × day-two pair with the
// matched pairs outlined, every drifted entity shown named, no URL, and
// names escaped.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "html_check.hpp"
#include "report/html_svg.hpp"
#include "stray/core/error.hpp"
#include "stray/report/html_stability.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using testing::count_of;
using testing::svg_elements;
using testing::xml_problem;

const StabilityReport& two_days() {
  static const StabilityReport r = [] {
    SyntheticFleetParams p;
    p.n_entities = 600;
    p.seed = 5;
    StabilityParams sp;
    sp.pipeline.kmeans.seed = 5;
    auto backend = make_backend("cpu");
    return compare_days(
        *backend, sp, [&](const EventSink& sink) { generate_synthetic_fleet(p, sink); },
        [&](const EventSink& sink) { generate_synthetic_fleet_day_two(p, sink); });
  }();
  return r;
}

std::string svg_with_id(const std::string& page, const std::string& id) {
  for (const std::string& s : svg_elements(page)) {
    if (s.find("<title id=\"" + id + "-t\">") != std::string::npos) return s;
  }
  return "";
}

TEST(HtmlStability, IsWellFormedWithOneSvgPerChart) {
  const StabilityReport& r = two_days();
  ASSERT_GT(r.n_clusters, 1);
  ASSERT_FALSE(r.drift.empty());
  const std::string page = stability_html_report(r);
  EXPECT_EQ(xml_problem(page), "");
  EXPECT_NE(page.find("<title>stray stability report</title>"), std::string::npos);
  const auto drifted = std::min<std::size_t>(r.drift.size(), static_cast<std::size_t>(r.top_drift));
  std::size_t charts = 0;
  for (std::size_t i = 0; i < drifted; ++i) charts += !r.drift[i].features.empty();
  // The k curve (k was chosen), the heat map, one per drifted entity shown.
  EXPECT_EQ(svg_elements(page).size(), (r.k_chosen ? 2u : 1u) + charts);
  for (const std::string& s : svg_elements(page)) {
    EXPECT_EQ(s.find("<svg role=\"img\""), 0u);
    EXPECT_NE(s.find("<desc id="), std::string::npos);
  }
  for (const char* bad : {"http:", "https:", "//", "src=", "<script", "url("}) {
    EXPECT_EQ(page.find(bad), std::string::npos) << bad;
  }
}

TEST(HtmlStability, HeatMapCountsEachPairAndOutlinesTheMatches) {
  const StabilityReport& r = two_days();
  const std::string map = svg_with_id(stability_html_report(r), "stability-heatmap");
  ASSERT_FALSE(map.empty());
  const int64_t k = r.n_clusters;
  std::vector<int64_t> counts(static_cast<std::size_t>(k * k), 0);
  for (std::size_t i = 0; i < r.entities.size(); ++i) {
    ++counts[static_cast<std::size_t>(r.day1_labels[i] * k + r.day2_labels[i])];
  }
  // One cell per pair of clusters, its tooltip naming the count.
  EXPECT_EQ(count_of(map, "<g><title>"), static_cast<std::size_t>(k * k));
  for (int64_t a = 0; a < k; ++a) {
    for (int64_t b = 0; b < k; ++b) {
      const std::string to = " \u2192 " + std::to_string(b) + ": " +
                             internal::grouped(counts[static_cast<std::size_t>(a * k + b)]) + "</title>";
      EXPECT_NE(map.find(to), std::string::npos) << a << " -> " << b;
    }
  }
  EXPECT_EQ(count_of(map, "stroke-width=\"2\""), r.pairs.size());
  for (const ClusterPair& p : r.pairs) {
    EXPECT_NE(map.find(">" + std::to_string(p.day1) + " \u2192 " + std::to_string(p.day2) +
                       " \u00b7 J " + internal::fixed(p.jaccard, 2) + "</text>"),
              std::string::npos);
  }
}

TEST(HtmlStability, NamesEveryDriftedAndMovedEntityShown) {
  const StabilityReport& r = two_days();
  HtmlReportOptions o;
  o.max_finding_details = 1000;
  const std::string page = stability_html_report(r, o);
  const auto drifted = std::min<std::size_t>(r.drift.size(), static_cast<std::size_t>(r.top_drift));
  for (std::size_t i = 0; i < drifted; ++i) {
    EXPECT_NE(page.find("<h3>#" + std::to_string(i + 1) + " <span class=\"name\">" +
                        r.drift[i].entity + "</span></h3>"),
              std::string::npos);
  }
  for (const MovedEntity& m : r.moved) {
    EXPECT_NE(page.find("<td class=\"name\">" + m.entity + "</td>"), std::string::npos);
  }
  EXPECT_NE(page.find("adjusted Rand " + internal::fixed(r.adjusted_rand, 3)), std::string::npos);
}

TEST(HtmlStability, HostileNamesAndBadReports) {
  StabilityReport r;
  r.n_clusters = 2;
  r.entities = {"<script>x</script>", "a&b"};
  r.day1_labels = {0, 1};
  r.day2_labels = {1, 1};
  r.partner = {1, 0};
  r.pairs = {{0, 1, 1, 2, 1, 0.5, 0.1, 0.2, {{"package:<i>", 0.0, 1.0}}}};
  r.moved = {{"<script>x</script>", 0, 1, 0}};
  EntityDrift d;
  d.entity = "a&b\x1b";
  d.features = {{"package:\"q\"", 1.0, 0.0}};
  r.drift = {d};
  r.top_drift = 1;
  const std::string page = stability_html_report(r);
  EXPECT_EQ(xml_problem(page), "");
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<i>"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("a&amp;b\\x1b"), std::string::npos);
  EXPECT_NE(page.find("package:&quot;q&quot;"), std::string::npos);

  StabilityReport bad = r;
  bad.day2_labels = {1, 2};
  testing::expect_error([&] { stability_html_report(bad); }, ErrorCode::shape_mismatch, {"day-two label 2"});
  bad = r;
  bad.day1_labels.pop_back();
  testing::expect_error([&] { stability_html_report(bad); }, ErrorCode::shape_mismatch, {"labels"});
  bad = r;
  bad.pairs[0].day2 = 5;
  testing::expect_error([&] { stability_html_report(bad); }, ErrorCode::shape_mismatch, {"pair"});

  testing::TempDir dir;
  write_stability_html_report(dir.file("s.html"), r);
  const auto bytes = testing::read_bytes(dir.file("s.html"));
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), page);
}

#ifdef STRAY_CLI_PATH
TEST(HtmlStability, StabilityCommandWritesTheReport) {
  testing::TempDir dir;
  ASSERT_EQ(testing::run_cli("synth --entities 600 --seed 1 --out " + dir.file("d1")).status, 0);
  ASSERT_EQ(testing::run_cli("synth --entities 600 --seed 1 --day 2 --out " + dir.file("d2")).status, 0);
  testing::CliRun r = testing::run_cli("stability --day1 " + dir.file("d1/events.csv") + " --day2 " +
                                       dir.file("d2/events.csv") + " --backend cpu --report " +
                                       dir.file("s.html"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto bytes = testing::read_bytes(dir.file("s.html"));
  const std::string page(bytes.begin(), bytes.end());
  EXPECT_EQ(xml_problem(page), "");
  EXPECT_NE(page.find("<h1>stray stability</h1>"), std::string::npos);
  EXPECT_NE(svg_with_id(page, "stability-heatmap"), "");
  EXPECT_NE(page.find("<dt>Backend</dt><dd>cpu</dd>"), std::string::npos);
  // A report that cannot be written is refused before any work.
  r = testing::run_cli("stability --day1 " + dir.file("d1/events.csv") + " --day2 " +
                       dir.file("d2/events.csv") + " --backend cpu --report " + dir.file("no/s.html"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.out, "");
}
#endif

}  // namespace
}  // namespace stray
