// The HTML report (stray/report/html_report.hpp) read back as a structure:
// well-formed, one <svg> per chart each with its text alternative, every
// finding drawn and the detailed ones named, the background sampled as the
// page says, nothing fetched from anywhere, and names from the events unable
// to add markup.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "html_check.hpp"
#include "report/html_charts.hpp"
#include "report/html_svg.hpp"
#include "stray/core/error.hpp"
#include "stray/report/html_report.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using testing::count_of;
using testing::svg_elements;
using testing::xml_problem;

// One pipeline run shared by the suite (a fit takes a moment).
const FleetResult& fleet() {
  static const FleetResult r = [] {
    auto backend = make_backend("cpu");
    return testing::synthetic_result(*backend, 800, 4);
  }();
  return r;
}

// The <svg> whose <title> has this id prefix ("scatter", "cluster-sizes", ...).
std::string svg_with_id(const std::string& page, const std::string& id) {
  for (const std::string& s : svg_elements(page)) {
    if (s.find("<title id=\"" + id + "-t\">") != std::string::npos) return s;
  }
  return "";
}

// Dots of the scatter's paths drawn with this stroke width ("M x y h0" each).
// (Read by hand: std::regex recurses per character and a path can be long.)
std::size_t dots(const std::string& svg, const std::string& width) {
  std::size_t n = 0;
  const std::string key = " stroke-width=\"" + width + "\"";
  for (std::size_t p = svg.find("<path "); p != std::string::npos; p = svg.find("<path ", p + 1)) {
    const std::string tag = svg.substr(p, svg.find("/>", p) - p);
    const std::size_t d = tag.find(" d=\"");
    if (tag.find(key) != std::string::npos && d != std::string::npos) n += count_of(tag.substr(d), "h0");
  }
  return n;
}

TEST(HtmlReport, IsOneWellFormedDocument) {
  const std::string page = fleet_html_report(fleet());
  EXPECT_EQ(xml_problem(page), "");
  EXPECT_EQ(page.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0), 0u);
  EXPECT_NE(page.find("<meta charset=\"utf-8\"/>"), std::string::npos);
  EXPECT_NE(page.find("<title>stray fleet report</title>"), std::string::npos);
  // The checker itself refuses what it should.
  EXPECT_NE(xml_problem("<html><p></html>"), "");
  EXPECT_NE(xml_problem("<html>a & b</html>"), "");
  EXPECT_NE(xml_problem("<html><a x='1'></a></html>"), "");
  EXPECT_NE(xml_problem("<html></html><html></html>"), "");
}

TEST(HtmlReport, OneSvgPerChartEachWithATextAlternative) {
  const FleetResult& r = fleet();
  ASSERT_FALSE(r.findings.empty());
  ASSERT_FALSE(r.cluster_choice.empty());
  const std::string page = fleet_html_report(r);
  const std::vector<std::string> svgs = svg_elements(page);
  std::size_t with_features = 0;
  for (const Finding& f : r.findings) with_features += !f.features.empty();
  // The k curve, the scatter, the cluster sizes, one per finding shown.
  EXPECT_EQ(svgs.size(), 3 + with_features);
  EXPECT_EQ(count_of(page, "<svg"), svgs.size());
  std::set<std::string> ids;
  // The element's start: role, size, labels, then <title> and <desc> first.
  const std::regex start(
      "^<svg role=\"img\" viewBox=\"[^\"]+\" width=\"[0-9.]+\" height=\"[0-9.]+\" "
      "style=\"[^\"]*\" aria-labelledby=\"([a-z0-9-]+)-t ([a-z0-9-]+)-d\"><title "
      "id=\"([a-z0-9-]+)-t\">([^<]+)</title><desc id=\"([a-z0-9-]+)-d\">([^<]+)</desc>");
  for (const std::string& s : svgs) {
    std::smatch m;
    // Only the head: std::regex recurses per character.
    const std::string head = s.substr(0, s.find("</desc>") + 7);
    std::regex_search(head, m, start);
    ASSERT_FALSE(m.empty()) << s.substr(0, 300);
    EXPECT_EQ(m[1], m[2]);
    EXPECT_EQ(m[1], m[3]);
    EXPECT_EQ(m[1], m[5]);
    EXPECT_GT(m[6].length(), 20u) << "a description says what the chart shows";
    EXPECT_TRUE(ids.insert(m[1]).second) << "ids are unique: " << m[1];
  }
  EXPECT_TRUE(ids.count("scatter") && ids.count("cluster-sizes") && ids.count("k-choice"));
}

TEST(HtmlReport, EveryFindingIsDrawnAndTheDetailedOnesNamed) {
  const FleetResult& r = fleet();
  const auto n_findings = r.findings.size();
  HtmlReportOptions o;
  o.max_finding_details = 3;
  const std::string page = fleet_html_report(r, o);
  const std::string scatter = svg_with_id(page, "scatter");
  // Three with a circle and a tooltip of their own, the rest in one outlined
  // path, once per half-pixel spot: at most one dot each, at least one.
  EXPECT_EQ(count_of(scatter, "r=\"4.5\""), 3u);
  EXPECT_LE(dots(scatter, "9"), n_findings - 3);
  EXPECT_GE(dots(scatter, "9"), 1u);
  EXPECT_GE(dots(scatter, "6"), dots(scatter, "9"));  // their colour, per cluster, over the outline
  EXPECT_LE(dots(scatter, "6"), n_findings - 3);
  for (std::size_t q = 0; q < 3; ++q) {
    const Finding& f = r.findings[q];
    EXPECT_NE(page.find("<h3>#" + std::to_string(q + 1) + " <span class=\"name\">" + f.entity_name +
                        "</span></h3>"),
              std::string::npos)
        << f.entity_name;
    EXPECT_NE(scatter.find("<title>#" + std::to_string(q + 1) + " " + f.entity_name + " \u2014 cluster " +
                           std::to_string(f.cluster)),
              std::string::npos);
  }
  EXPECT_EQ(page.find("<h3>#4 "), std::string::npos);
  EXPECT_NE(page.find("The 3 highest scores of " + std::to_string(n_findings) + " findings"),
            std::string::npos);

  // With room for all of them, each finding has its section and its chart.
  o.max_finding_details = static_cast<int64_t>(n_findings);
  const std::string all = fleet_html_report(r, o);
  for (std::size_t q = 0; q < n_findings; ++q) {
    const Finding& f = r.findings[q];
    EXPECT_NE(all.find("<h3>#" + std::to_string(q + 1) + " <span class=\"name\">" + f.entity_name + "</span>"),
              std::string::npos);
    if (!f.features.empty()) {
      const std::string chart = svg_with_id(all, "finding-chart-" + std::to_string(q + 1));
      ASSERT_FALSE(chart.empty());
      EXPECT_NE(chart.find(f.features[0].name), std::string::npos);
      EXPECT_EQ(count_of(chart, "<rect "), f.features.size());
    }
  }
  EXPECT_EQ(dots(svg_with_id(all, "scatter"), "9"), 0u);
  // With value rarity (on by default) each says what makes it rare in the fleet.
  for (std::size_t q = 0; q < n_findings; ++q) {
    const Finding& f = r.findings[q];
    ASSERT_FALSE(f.rare_features.empty()) << f.entity_name;
    EXPECT_NE(all.find("Rarest in the whole fleet: " + f.rare_features[0].name + " = "),
              std::string::npos)
        << f.entity_name;
  }
}

TEST(HtmlReport, BarsArePositiveAndNegativeInTheirOwnColours) {
  const FleetResult& r = fleet();
  const std::string page = fleet_html_report(r);
  std::size_t positive = 0, negative = 0;
  for (std::size_t q = 0; q < r.findings.size(); ++q) {
    for (const FindingFeature& x : r.findings[q].features) (x.difference < 0 ? negative : positive)++;
  }
  ASSERT_GT(positive, 0u);
  ASSERT_GT(negative, 0u) << "the synthetic fleet has hosts lacking a package";
  std::size_t red = 0, blue = 0;
  for (const std::string& s : svg_elements(page)) {
    if (s.find("id=\"finding-chart-") == std::string::npos) continue;
    red += count_of(s, std::string("fill=\"") + internal::kPositive + "\"");
    blue += count_of(s, std::string("fill=\"") + internal::kNegative + "\"");
  }
  EXPECT_EQ(red, positive);
  EXPECT_EQ(blue, negative);
}

TEST(HtmlReport, TheBackgroundIsSampledAsThePageSays) {
  const FleetResult& r = fleet();
  const auto n = r.features.n_entities();
  const auto others = static_cast<std::size_t>(n) - r.findings.size();
  HtmlReportOptions o;
  const std::string everyone = fleet_html_report(r, o);
  EXPECT_EQ(dots(svg_with_id(everyone, "scatter"), "4"), others);
  EXPECT_NE(everyone.find("Every entity is drawn"), std::string::npos);

  o.max_background_points = 100;
  const std::string sampled = fleet_html_report(r, o);
  EXPECT_EQ(dots(svg_with_id(sampled, "scatter"), "4"), 100u);
  EXPECT_NE(sampled.find("The " + std::to_string(others) +
                         " entities that are not findings are shown by a uniform sample of 100 (seed 1)"),
            std::string::npos);
  EXPECT_EQ(fleet_html_report(r, o), sampled) << "the same seed draws the same sample";
  o.sample_seed = 2;
  EXPECT_NE(fleet_html_report(r, o), sampled);
}

TEST(HtmlReport, LoadsNothingFromAnywhere) {
  const std::string page = fleet_html_report(fleet());
  for (const char* bad : {"http:", "https:", "//", "src=", "<script", "<link", "<img", "<iframe",
                          "<object", "url(", "@import", "xlink:href", "ftp:", "data:"}) {
    EXPECT_EQ(page.find(bad), std::string::npos) << bad;
  }
  // Links, if any, stay on the page.
  for (std::size_t p = page.find("href="); p != std::string::npos; p = page.find("href=", p + 1)) {
    EXPECT_EQ(page.substr(p, 7), "href=\"#");
  }
}

TEST(HtmlReport, SummarySaysWhatRan) {
  const FleetResult& r = fleet();
  HtmlReportOptions o;
  o.backend = "cpu";
  o.title = "Fleet <A&B>";
  o.subtitle = "day 1";
  const std::string page = fleet_html_report(r, o);
  EXPECT_NE(page.find("<title>Fleet &lt;A&amp;B&gt;</title>"), std::string::npos);
  EXPECT_NE(page.find("<h1>Fleet &lt;A&amp;B&gt;</h1>"), std::string::npos);
  EXPECT_NE(page.find("<p class=\"subtitle\">day 1</p>"), std::string::npos);
  EXPECT_NE(page.find("<dt>Entities</dt><dd>800</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dt>Features</dt><dd>" + std::to_string(r.features.n_features())),
            std::string::npos);
  EXPECT_NE(page.find("<dt>PCA</dt><dd>32 components kept, explaining "), std::string::npos);
  EXPECT_NE(page.find("<dt>Clusters</dt><dd>k = " + std::to_string(r.model.n_clusters()) + ", chosen from k = 2"),
            std::string::npos);
  EXPECT_NE(page.find("<dt>Findings</dt><dd>" + std::to_string(r.findings.size()) + " ("), std::string::npos);
  EXPECT_NE(page.find("<dt>Backend</dt><dd>cpu</dd>"), std::string::npos);
  for (const PipelineStep& st : r.steps) {
    EXPECT_NE(page.find(st.name + " "), std::string::npos) << st.name;
  }
  // Cluster sizes as counted from the labels, every cluster listed.
  std::vector<int64_t> sizes(static_cast<std::size_t>(r.model.n_clusters()));
  for (int32_t l : r.labels) ++sizes[static_cast<std::size_t>(l)];
  const std::string bars = svg_with_id(page, "cluster-sizes");
  for (std::size_t c = 0; c < sizes.size(); ++c) {
    EXPECT_NE(bars.find(">cluster " + std::to_string(c) + "</text>"), std::string::npos);
    EXPECT_NE(bars.find(">" + internal::grouped(sizes[c])), std::string::npos);
  }
}

TEST(HtmlReport, LofScoresSizeThePoints) {
  const FleetResult& r = fleet();
  const auto n = static_cast<std::size_t>(r.features.n_entities());
  HtmlReportOptions o;
  // Sizes cycle through the four classes: < 1.5, [1.5, 2), [2, 3), >= 3.
  for (std::size_t i = 0; i < n; ++i) o.lof.push_back(1.0 + 0.9 * static_cast<double>(i % 4));
  const std::string page = fleet_html_report(r, o);
  EXPECT_EQ(xml_problem(page), "");
  const std::string scatter = svg_with_id(page, "scatter");
  std::vector<uint8_t> finding(n, 0);
  for (const Finding& f : r.findings) finding[static_cast<std::size_t>(f.entity)] = 1;
  std::size_t per_class[4] = {0, 0, 0, 0}, above = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!finding[i]) ++per_class[i % 4];
    above += o.lof[i] > 1.5;
  }
  EXPECT_EQ(dots(scatter, "4"), per_class[0]);
  EXPECT_EQ(dots(scatter, "6"), per_class[1]);
  EXPECT_EQ(dots(scatter, "8.5"), per_class[2]);
  EXPECT_EQ(dots(scatter, "12"), per_class[3]);
  // The detailed findings: a circle each, its radius by its class.
  const double radius[4] = {4.5, 5.5, 7, 9};
  for (const Finding& f : r.findings) {
    const auto c = static_cast<std::size_t>(f.entity) % 4;
    const std::string r_attr = "r=\"" + internal::svg_number(radius[c]) + "\"";
    const std::size_t title = scatter.find("<title>#" + std::to_string(&f - r.findings.data() + 1) + " ");
    ASSERT_NE(title, std::string::npos);
    const std::size_t circle = scatter.rfind("<circle ", title);
    EXPECT_NE(scatter.substr(circle, title - circle).find(r_attr), std::string::npos) << f.entity_name;
  }
  EXPECT_NE(page.find("<dt>Local outlier factor</dt><dd>" + internal::grouped(static_cast<int64_t>(above)) +
                      " entities above 1.5"),
            std::string::npos);
  EXPECT_NE(page.find("Point size is the local outlier factor"), std::string::npos);

  o.lof.pop_back();
  testing::expect_error([&] { fleet_html_report(r, o); }, ErrorCode::shape_mismatch, {"LOF"});
  o.lof.push_back(std::numeric_limits<double>::quiet_NaN());
  testing::expect_error([&] { fleet_html_report(r, o); }, ErrorCode::invalid_argument, {"LOF"});
}

// A small result put together by hand, with names an attacker chose.
FleetResult hostile_result(const std::vector<std::string>& names, const std::string& feature) {
  FleetResult r;
  const auto n = static_cast<int64_t>(names.size());
  r.features.X.rows = n;
  r.features.X.cols = 1;
  r.features.X.indptr.assign(static_cast<std::size_t>(n) + 1, 0);
  r.features.entity_names = names;
  r.features.feature_names = {feature};
  r.reduced = Matrix<float>(n, 2);
  for (int64_t i = 0; i < n; ++i) {
    r.reduced(i, 0) = static_cast<float>(i);
    r.reduced(i, 1) = static_cast<float>(i % 2);
    r.labels.push_back(static_cast<int32_t>(i % 2));
    Finding f;
    f.entity = i;
    f.entity_name = names[static_cast<std::size_t>(i)];
    f.cluster = static_cast<int32_t>(i % 2);
    f.reference_cluster = f.cluster;
    f.score = 10.0 - static_cast<double>(i);
    f.features = {{feature, 1.0f, 0.0f, 1.0f, true}};
    f.rare_features = {{feature, 1.0f, 0.001, true}};
    r.findings.push_back(f);
  }
  return r;
}

TEST(HtmlReport, HostileNamesCannotAddMarkup) {
  const std::vector<std::string> names = {
      "<script>alert(1)</script>", "a\"b'c&d", "web\x1b[31m-1", "db-\xff\xfe",
      "evil\xe2\x80\xae" "txt", "nul\0byte", "x\xef\xbf\xbe" "y", "</svg></body><img src=x>"};
  std::vector<std::string> with_nul = names;
  with_nul[5] = std::string("nul\0byte", 8);
  const FleetResult r = hostile_result(with_nul, "package:<b onload=alert(1)>");
  HtmlReportOptions o;
  o.backend = "<i>cpu</i>";
  const std::string page = fleet_html_report(r, o);
  EXPECT_EQ(xml_problem(page), "");
  for (const char* bad : {"<script", "<img", "<b ", "<i>"}) {
    EXPECT_EQ(page.find(bad), std::string::npos) << bad;
  }
  for (const char* shown :
       {"&lt;script&gt;alert(1)&lt;/script&gt;", "a&quot;b&#39;c&amp;d", "web\\x1b[31m-1",
        "db-\\xff\\xfe", "evil\\u{202e}txt", "nul\\x00byte", "x\\u{fffe}y",
        "&lt;/svg&gt;&lt;/body&gt;&lt;img src=x&gt;", "package:&lt;b onload=alert(1)&gt; (new)",
        "Rarest in the whole fleet: package:&lt;b onload=alert(1)&gt; = 1.00 (0.10% of the fleet",
        "&lt;i&gt;cpu&lt;/i&gt;"}) {
    EXPECT_NE(page.find(shown), std::string::npos) << shown;
  }
  // Nothing but text, tab-free and newline-terminated, in valid UTF-8.
  for (unsigned char c : page) EXPECT_TRUE(c >= 0x20 || c == '\n') << int(c);
  EXPECT_EQ(svg_elements(page).size(), 2 + names.size());  // scatter, sizes, one per finding
}

TEST(HtmlReport, LongNamesAreCutWhereTheyAreDrawn) {
  const std::string longname(5000, 'x');
  const FleetResult r = hostile_result({longname, "b"}, "package:" + longname);
  const std::string page = fleet_html_report(r);
  EXPECT_EQ(xml_problem(page), "");
  EXPECT_EQ(page.find(std::string(301, 'x')), std::string::npos);
  EXPECT_NE(page.find(std::string(24, 'x') + "\u2026"), std::string::npos);  // the scatter's label
}

TEST(HtmlReport, RefusesBadOptionsAndResultsThatDisagree) {
  const FleetResult r = hostile_result({"a", "b", "c"}, "package:x");
  HtmlReportOptions o;
  o.max_background_points = -1;
  testing::expect_error([&] { fleet_html_report(r, o); }, ErrorCode::invalid_argument,
                        {"max_background_points"});
  o = {};
  o.profile_features = 0;
  testing::expect_error([&] { fleet_html_report(r, o); }, ErrorCode::invalid_argument,
                        {"profile_features"});
  FleetResult bad = r;
  bad.labels.pop_back();
  testing::expect_error([&] { fleet_html_report(bad); }, ErrorCode::shape_mismatch, {"labels"});
  bad = r;
  bad.findings[0].entity = 7;
  testing::expect_error([&] { fleet_html_report(bad); }, ErrorCode::shape_mismatch, {"row 7"});
  bad = r;
  bad.labels[0] = -3;
  testing::expect_error([&] { fleet_html_report(bad); }, ErrorCode::shape_mismatch, {"negative"});
  bad = r;
  bad.reduced = Matrix<float>(2, 2);
  testing::expect_error([&] { fleet_html_report(bad); }, ErrorCode::shape_mismatch, {"reduced rows"});
  // No coordinates at all: the page says so instead of drawing.
  FleetResult none = r;
  none.reduced = Matrix<float>();
  const std::string page = fleet_html_report(none);
  EXPECT_NE(page.find("No coordinates to draw"), std::string::npos);
  EXPECT_EQ(svg_with_id(page, "scatter"), "");
}

TEST(HtmlReport, NonFiniteCoordinatesAreLeftOut) {
  FleetResult r = hostile_result({"a", "b", "c", "d"}, "package:x");
  r.findings.resize(1);
  r.reduced(1, 0) = std::numeric_limits<float>::quiet_NaN();
  r.reduced(2, 1) = std::numeric_limits<float>::infinity();
  const std::string page = fleet_html_report(r);
  EXPECT_EQ(xml_problem(page), "");
  EXPECT_EQ(dots(svg_with_id(page, "scatter"), "4"), 1u);  // d only
  EXPECT_EQ(page.find("nan"), std::string::npos);
  EXPECT_EQ(page.find("inf"), std::string::npos);
}

TEST(HtmlReport, WrittenAtomically) {
  testing::TempDir dir;
  const FleetResult r = hostile_result({"a", "b"}, "package:x");
  write_fleet_html_report(dir.file("r.html"), r);
  const auto bytes = testing::read_bytes(dir.file("r.html"));
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), fleet_html_report(r));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"r.html"});  // no temporary left
  testing::expect_error([&] { write_fleet_html_report(dir.file("no/such/dir/r.html"), r); },
                        ErrorCode::io_error, {"no/such/dir"});
}

// ---- the pieces ------------------------------------------------------------------

TEST(HtmlPieces, TextIsEscapedOnceAndCut) {
  EXPECT_EQ(internal::html_text("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
  EXPECT_EQ(internal::html_text("caf\xc3\xa9-\xf0\x9f\x90\xa7", 4), "caf\xc3\xa9\u2026");
  EXPECT_EQ(internal::html_text("&&&&", 2), "&amp;&amp;\u2026");
  EXPECT_EQ(internal::html_text("abc", 3), "abc");
  EXPECT_EQ(internal::xml_escape("<&>"), "&lt;&amp;&gt;");
}

TEST(HtmlPieces, NumbersAndTicks) {
  EXPECT_EQ(internal::svg_number(12.5), "12.5");
  EXPECT_EQ(internal::svg_number(3.0), "3");
  EXPECT_EQ(internal::svg_number(-0.04), "0");
  EXPECT_EQ(internal::svg_number(std::numeric_limits<double>::quiet_NaN()), "0");
  EXPECT_EQ(internal::grouped(1000000), "1,000,000");
  EXPECT_EQ(internal::grouped(-1234), "-1,234");
  EXPECT_EQ(internal::grouped(999), "999");
  EXPECT_EQ(internal::fixed(-0.001, 2), "0.00");
  EXPECT_EQ(internal::fixed(-0.5, 2), "\u22120.50");
  EXPECT_EQ(internal::nice_ticks(0.0, 10.0), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(internal::nice_ticks(-1.0, 1.0, 4), (std::vector<double>{-1, -0.5, 0, 0.5, 1}));
  EXPECT_TRUE(internal::nice_ticks(1.0, 1.0).empty());
  EXPECT_EQ(internal::tick_label(-0.5, 0.5), "\u22120.5");
  EXPECT_EQ(internal::tick_label(4.0, 2.0), "4");
  EXPECT_EQ(internal::tick_label(1e-17, 0.2), "0.0");
}

TEST(HtmlPieces, ScatterDrawsCoincidentMarksOnce) {
  internal::ScatterSpec s;
  s.text = {"t", "title", "description"};
  s.x = {0.5f, 0.5f, 2.0f};  // background: every point, even coincident ones
  s.y = {0.5f, 0.5f, 2.0f};
  s.cluster = {0, 0, 1};
  s.marks = {{0, 0, 0, "", ""}, {0, 0, 0, "", ""}, {0, 0, 1, "", ""}, {1, 1, 0, "", ""},
             {1, 1, 0, "tip", "named"}};
  const std::string svg = internal::scatter_svg(s);
  EXPECT_EQ(xml_problem("<html>" + svg + "</html>"), "");
  EXPECT_EQ(dots(svg, "4"), 3u);
  EXPECT_EQ(dots(svg, "9"), 2u);  // the outline: two spots
  EXPECT_EQ(dots(svg, "6"), 3u);  // cluster 0 at both spots, cluster 1 at one
  EXPECT_EQ(count_of(svg, "<circle"), 1u);
  EXPECT_NE(svg.find("<title>tip</title>"), std::string::npos);
  EXPECT_NE(svg.find(">named</text>"), std::string::npos);
}

// ---- the CLI ------------------------------------------------------------------------

#ifdef STRAY_CLI_PATH
TEST(HtmlReportCli, DemoAndFleetWriteTheReport) {
  testing::TempDir dir;
  testing::CliRun r = testing::run_cli("demo --entities 600 --seed 2 --backend cpu --report " +
                                       dir.file("demo.html"));
  ASSERT_EQ(r.status, 0) << r.err;
  auto bytes = testing::read_bytes(dir.file("demo.html"));
  std::string page(bytes.begin(), bytes.end());
  EXPECT_EQ(xml_problem(page), "");
  EXPECT_NE(page.find("<h1>stray demo</h1>"), std::string::npos);
  EXPECT_NE(page.find("A synthetic fleet of 600 hosts"), std::string::npos);
  EXPECT_NE(svg_with_id(page, "scatter"), "");

  ASSERT_EQ(testing::run_cli("synth --entities 600 --seed 1 --out " + dir.file("f")).status, 0);
  r = testing::run_cli("fleet --events " + dir.file("f/events.csv") + " --backend cpu --report " +
                       dir.file("fleet.html"));
  ASSERT_EQ(r.status, 0) << r.err;
  bytes = testing::read_bytes(dir.file("fleet.html"));
  page.assign(bytes.begin(), bytes.end());
  EXPECT_EQ(xml_problem(page), "");
  EXPECT_NE(page.find("Fitted on these events."), std::string::npos);
  EXPECT_NE(page.find("<dt>Backend</dt><dd>cpu</dd>"), std::string::npos);

  // A report that cannot be written is refused before any work.
  r = testing::run_cli("fleet --events " + dir.file("f/events.csv") + " --backend cpu --report " +
                       dir.file("missing/r.html"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}
#endif

}  // namespace
}  // namespace stray
