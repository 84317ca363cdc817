// The fleet report (stray/report/fleet_report.hpp): the table reads as the
// CLI always printed it, and names from the events — escape sequences, bytes
// that are not UTF-8, commas and quotes — can neither break the JSON or the
// CSV nor reach a terminal raw.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stray/core/error.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/report/fleet_report.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"

namespace stray {
namespace {

const std::string kEsc = "web\x1b[31m-1";  // would turn a terminal red
const std::string kBadByte = "db-\xff";     // a lone byte that is not UTF-8

Finding finding(const std::string& entity, int32_t cluster, double score, uint32_t rules,
                std::vector<FindingFeature> features) {
  Finding f;
  f.entity_name = entity;
  f.cluster = cluster;
  f.reference_cluster = cluster;
  f.score = score;
  f.rules = rules;
  f.features = std::move(features);
  return f;
}

FindingFeature feature(const std::string& name, float difference, bool unseen = false) {
  FindingFeature x;
  x.name = name;
  x.value = difference > 0 ? difference : 0.0f;
  x.center = x.value - difference;
  x.difference = difference;
  x.unseen = unseen;
  return x;
}

// Three entities, all of them findings, with the given names.
FleetResult small_result(const std::vector<std::string>& names) {
  FleetResult r;
  const auto n = static_cast<int64_t>(names.size());
  r.features.X.rows = n;
  r.features.X.cols = 2;
  r.features.X.indptr.assign(static_cast<std::size_t>(n) + 1, 0);
  r.features.entity_names = names;
  for (int64_t i = 0; i < n; ++i) {
    r.labels.push_back(static_cast<int32_t>(i % 2));
    r.scores.push_back(10.0f * static_cast<float>(i) + 0.25f);
    r.outliers.is_outlier.push_back(i > 0 ? 1 : 0);
    Finding f = finding(names[static_cast<std::size_t>(i)], static_cast<int32_t>(i % 2),
                        r.scores.back(), kOutlierPercentile, {feature("package:tor", 1.0f)});
    f.entity = i;
    r.findings.push_back(f);
  }
  r.steps = {{"features", 0.5}, {"kmeans", 1.25}};
  return r;
}

std::string table(const FleetResult& r, int64_t limit = 0) {
  std::ostringstream os;
  write_findings_table(os, r, limit);
  return os.str();
}

// ---- display_text ------------------------------------------------------------

TEST(DisplayText, PrintableTextIsUnchanged) {
  EXPECT_EQ(display_text("web-0042"), "web-0042");
  EXPECT_EQ(display_text("caf\xc3\xa9 \xe2\x88\x92 \xf0\x9f\x90\xa7"), "caf\xc3\xa9 \xe2\x88\x92 \xf0\x9f\x90\xa7");
  EXPECT_EQ(display_text("a\\x1b"), "a\\x1b");  // a backslash is kept
  EXPECT_EQ(display_text(""), "");
}

TEST(DisplayText, ControlBytesBecomeVisibleEscapes) {
  EXPECT_EQ(display_text(kEsc), "web\\x1b[31m-1");
  EXPECT_EQ(display_text("a\tb\nc\rd\x7f"), "a\\x09b\\x0ac\\x0dd\\x7f");
  EXPECT_EQ(display_text(std::string("a\0b", 3)), "a\\x00b");
}

TEST(DisplayText, BytesThatAreNotUtf8BecomeByteEscapes) {
  EXPECT_EQ(display_text(kBadByte), "db-\\xff");
  EXPECT_EQ(display_text("\xc3"), "\\xc3");                   // truncated
  EXPECT_EQ(display_text("\xc3(x"), "\\xc3(x");               // broken sequence
  EXPECT_EQ(display_text("\x80z"), "\\x80z");                 // stray continuation
  EXPECT_EQ(display_text("\xc0\xaf"), "\\xc0\\xaf");          // overlong '/'
  EXPECT_EQ(display_text("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");  // overlong, three bytes
  EXPECT_EQ(display_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(display_text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // beyond U+10FFFF
  EXPECT_EQ(display_text("\xfe\xff"), "\\xfe\\xff");
}

TEST(DisplayText, TerminalControlCodePointsAreEscaped) {
  EXPECT_EQ(display_text("a\xc2\x9b" "31m"), "a\\u{009b}31m");  // C1 CSI
  EXPECT_EQ(display_text("evil\xe2\x80\xae" "txt.exe"), "evil\\u{202e}txt.exe");  // RLO
  EXPECT_EQ(display_text("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u{2066}x\\u{2069}");  // isolates
}

TEST(DisplayText, WidthCountsWhatIsShown) {
  EXPECT_EQ(display_width("entity"), 6u);
  EXPECT_EQ(display_width("caf\xc3\xa9"), 4u);
  EXPECT_EQ(display_width("\x1b"), 4u);  // \x1b
  EXPECT_EQ(display_width("\xff"), 4u);
}

// ---- the table -----------------------------------------------------------------

TEST(FindingsTable, SignedDifferenceHasARealMinus) {
  EXPECT_EQ(signed_difference(1.0), "+1.000");
  EXPECT_EQ(signed_difference(-0.9814), "\xe2\x88\x92" "0.981");
  EXPECT_EQ(signed_difference(0.0), "+0.000");
}

TEST(FindingsTable, ExactLayout) {
  FleetResult r;
  r.findings.push_back(finding("web-0042", 3, 1021.44, kOutlierPercentile,
                               {feature("package:lua5.3", 1.0f, true), feature("net.port:22", -0.981f)}));
  r.findings.push_back(finding("runner-0003", 7, 998.24, kOutlierSmallCluster,
                               {feature("package:make", -1.0f)}));
  r.findings.push_back(finding("db-1", 0, 5.0, kOutlierTopN, {}));
  r.findings[0].threshold_ratio = 3.24;
  r.findings[1].threshold_ratio = std::numeric_limits<double>::quiet_NaN();  // no threshold
  r.findings[2].threshold_ratio = 0.5;
  const std::string minus = "\xe2\x88\x92";
  EXPECT_EQ(table(r),
            "  entity      cluster        score vs thr  top features (value - peers' mean)\n"
            "  web-0042          3       1021.4   3.2x  package:lua5.3 +1.000 (new), net.port:22 " + minus + "0.981\n"
            "  runner-0003      7*        998.2      -  package:make " + minus + "1.000\n"
            "  db-1              0          5.0   0.5x  \n"
            "  (* a small cluster, flagged whole and compared with the nearest other)\n");
  // The first finding only: the rest counted, no small cluster shown.
  EXPECT_EQ(table(r, 1),
            "  entity   cluster        score vs thr  top features (value - peers' mean)\n"
            "  web-0042       3       1021.4   3.2x  package:lua5.3 +1.000 (new), net.port:22 " + minus + "0.981\n"
            "  ... and 2 more\n");
  EXPECT_EQ(table(FleetResult{}),
            "  entity cluster        score vs thr  top features (value - peers' mean)\n");
  // With LOF the score is near 1 (two decimals) and no ratio column;
  // detector both says who flagged each finding.
  r.model.detector = Detector::both;
  r.findings[0].rules = kOutlierLof;
  r.findings[0].score = 2.345;
  EXPECT_EQ(table(r, 1),
            "  entity   cluster        score  by     top features (value - peers' mean)\n"
            "  web-0042       3         2.35  lof    package:lua5.3 +1.000 (new), net.port:22 " + minus + "0.981\n"
            "  ... and 2 more\n");
}

// With value rarity the "by" column names every detector that flagged a
// finding, and one flagged by rarity alone shows its rare values instead
// of its differences from its peers.
TEST(FindingsTable, RarityFindingsShowTheirRareValues) {
  FleetResult r;
  r.model.detector = Detector::both;
  r.model.rarity.n_entities = 1000;
  r.findings.push_back(finding("web-0042", 3, 667.33, kOutlierPercentile | kOutlierRarity,
                               {feature("package:lua5.3", 1.0f, true)}));
  r.findings.push_back(finding("db-1", 0, 21.5, kOutlierRarity, {feature("package:make", -1.0f)}));
  r.findings[1].rare_features = {{"package:tor", 1.0f, 0.0025, false},
                                 {"package:make", 0.0f, 0.0015, false},
                                 {"net.port:9001", 1.0f, 1.0 / 1001.0, true}};
  EXPECT_EQ(table(r),
            "  entity   cluster        score  by            top features (value - peers' mean)\n"
            "  web-0042       3       667.33  rules+rarity  package:lua5.3 +1.000 (new)\n"
            "  db-1           0        21.50  rarity        rare: package:tor=1 (0.25%), "
            "package:make=0 (0.15%), net.port:9001=1 (0.1%) (new)\n");
  EXPECT_EQ(rare_features_text(r.findings[1], 1), "package:tor=1 (0.25%)");
  EXPECT_EQ(rare_features_text(r.findings[0], 3), "");
}

TEST(FindingsTable, FourFeaturesAtMost) {
  Finding f = finding("a", 0, 1.0, 0, {});
  for (const char* name : {"p:1", "p:2", "p:3", "p:4", "p:5"}) f.features.push_back(feature(name, 1.0f));
  EXPECT_EQ(features_text(f, 4), "p:1 +1.000, p:2 +1.000, p:3 +1.000, p:4 +1.000");
  f.features[0].unseen = true;
  EXPECT_EQ(features_text(f, 1), "p:1 +1.000 (new)");
  EXPECT_EQ(features_text(f, 1, false), "p:1 +1.000");
}

TEST(FindingsTable, HostileNamesAreShownEscapedAndAligned) {
  FleetResult r = small_result({"ok", kEsc, kBadByte});
  r.findings[1].features = {feature("process:\x1b]0;pwned\x07", 1.0f)};
  const std::string t = table(r);
  EXPECT_EQ(t.find('\x1b'), std::string::npos) << t;
  EXPECT_EQ(t.find('\x07'), std::string::npos) << t;
  EXPECT_EQ(t.find('\xff'), std::string::npos) << t;
  EXPECT_NE(t.find("web\\x1b[31m-1"), std::string::npos) << t;
  EXPECT_NE(t.find("db-\\xff"), std::string::npos) << t;
  EXPECT_NE(t.find("process:\\x1b]0;pwned\\x07 +1.000"), std::string::npos) << t;
  // The entity column is as wide as the widest name as shown, so the
  // cluster column lines up.
  const std::size_t width = std::string("web\\x1b[31m-1").size();
  std::istringstream lines(t);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 4u) << t;
  EXPECT_EQ(rows[0].substr(0, 2 + width + 8), "  entity" + std::string(width - 6, ' ') + " cluster");
  const std::vector<std::string> shown = {"ok", "web\\x1b[31m-1", "db-\\xff"};
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const std::string& row = rows[i + 1];
    EXPECT_EQ(row.substr(0, 2 + width), "  " + shown[i] + std::string(width - shown[i].size(), ' '));
    EXPECT_EQ(row.substr(2 + width, 8), "       " + std::to_string(i % 2)) << row;
  }
}

TEST(FindingsTable, StepsText) {
  const FleetResult r = small_result({"a", "b"});
  EXPECT_EQ(steps_text(r), "features 0.50 s, kmeans 1.25 s");
  EXPECT_EQ(steps_text(FleetResult{}), "");
}

// What examples/cli printed before the report moved into the library (its
// printf calls, kept here as the reference).
std::string cli_table_before(const FleetResult& r, int64_t limit) {
  std::string out;
  char buf[512];
  auto features = [](const Finding& f) {
    std::string s;
    for (std::size_t i = 0; i < f.features.size() && i < 4; ++i) {
      if (!s.empty()) s += ", ";
      char d[32];
      std::snprintf(d, sizeof d, "%.3f", std::fabs(f.features[i].difference));
      s += f.features[i].name + " " + (f.features[i].difference < 0 ? "\u2212" : "+") + d;
      if (f.features[i].unseen) s += " (new)";
    }
    return s;
  };
  const auto n = static_cast<int64_t>(r.findings.size());
  const int64_t shown = limit > 0 ? std::min(limit, n) : n;
  std::size_t width = 6;
  bool any_small = false;
  for (int64_t i = 0; i < shown; ++i) {
    width = std::max(width, r.findings[static_cast<std::size_t>(i)].entity_name.size());
    any_small |= (r.findings[static_cast<std::size_t>(i)].rules & kOutlierSmallCluster) != 0;
  }
  // Since then: the distance over the cluster's threshold beside the score.
  std::snprintf(buf, sizeof buf, "  %-*s %7s %12s vs thr  %s\n", static_cast<int>(width), "entity",
                "cluster", "score", "top features (value - peers' mean)");
  out += buf;
  for (int64_t i = 0; i < shown; ++i) {
    const Finding& f = r.findings[static_cast<std::size_t>(i)];
    std::string cluster = std::to_string(f.cluster);
    if (f.rules & kOutlierSmallCluster) cluster += "*";
    const double ratio = f.distance / r.model.thresholds[static_cast<std::size_t>(f.cluster)];
    std::snprintf(buf, sizeof buf, "  %-*s %7s %12.1f %5.1fx  %s", static_cast<int>(width),
                  f.entity_name.c_str(), cluster.c_str(), f.score, ratio, features(f).c_str());
    out += buf;
    // Since then: what the four shown leave out.
    out += differences_summary(f, 4) + "\n";
  }
  if (shown < n) out += "  ... and " + std::to_string(n - shown) + " more\n";
  if (any_small) out += "  (* a small cluster, flagged whole and compared with the nearest other)\n";
  return out;
}

FleetResult synthetic_fit() {
  auto backend = make_backend("cpu");
  FleetPipelineParams params;
  params.kmeans.seed = 1;
  params.detector = Detector::centroid;  // the table's distance columns (both has its own tests)
  params.rarity = false;                 // and rarity
  return fit_fleet(*backend, params, [](const EventSink& sink) {
    SyntheticFleetParams p;
    p.n_entities = 600;
    p.seed = 1;
    p.hosts_per_anomaly = 1;
    generate_synthetic_fleet(p, sink);
  });
}

TEST(FindingsTable, DifferencesSummary) {
  Finding f;
  f.features.resize(4);
  for (FindingFeature& x : f.features) x.difference = -1.0f;
  f.n_differing = 4;
  EXPECT_EQ(differences_summary(f, 4), "");
  f.n_differing = 10;
  EXPECT_EQ(differences_summary(f, 4), " (+6 more)");
  f.n_differing = 274;
  f.n_unique = 63;
  f.n_missing = 211;
  EXPECT_EQ(differences_summary(f, 4),
            " (+270 more; 274 differ from all peers: 63 only here, 211 missing)");
  EXPECT_EQ(differences_summary(f, 2), " (+272 more; 274 differ from all peers: 63 only here, 211 missing)");
}

TEST(FindingsTable, SameAsTheCliPrintedBefore) {
  const FleetResult r = synthetic_fit();
  ASSERT_FALSE(r.findings.empty());
  for (int64_t limit : {0, 3}) EXPECT_EQ(table(r, limit), cli_table_before(r, limit));
  const std::string summary = pipeline_summary(r);
  EXPECT_EQ(summary.rfind("600 entities x ", 0), 0u) << summary;
  EXPECT_NE(summary.find(" -> PCA 32 components ("), std::string::npos) << summary;
  EXPECT_NE(summary.find(" -> standardized scores -> beyond the 95th percentile"),
            std::string::npos)
      << summary;
}

// ---- JSON ------------------------------------------------------------------------

TEST(FindingsJson, ShapeAndKeyOrder) {
  const FleetResult r = synthetic_fit();
  const std::string text = findings_json(r, "cpu");
  EXPECT_EQ(text.find('\n'), std::string::npos);
  const auto j = nlohmann::ordered_json::parse(text);
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  const std::vector<std::string> expected = {
      "entities", "features", "unseen_features", "clusters", "pca_components",
      "pca_explained_variance_ratio", "clustering", "detector", "rarity", "score_space", "shrinkage", "grains",
      "percentile", "small_cluster_size",
      "backend", "cluster_choice", "cluster_profiles", "n_findings", "findings", "steps", "seconds"};
  EXPECT_EQ(keys, expected);
  EXPECT_EQ(j["entities"], 600);
  EXPECT_EQ(j["backend"], "cpu");
  EXPECT_EQ(j["n_findings"].get<std::size_t>(), r.findings.size());
  ASSERT_EQ(j["findings"].size(), r.findings.size());
  const auto& f = j["findings"][0];
  EXPECT_FALSE(f.contains("rare_features"));  // rarity off in this fit
  EXPECT_EQ(f["entity"], r.findings[0].entity_name);
  EXPECT_EQ(f["score"].get<double>(), r.findings[0].score);
  EXPECT_EQ(f["distance"].get<double>(), r.findings[0].distance);
  EXPECT_FALSE(f.contains("lof"));  // the centroid detector computes none
  EXPECT_NEAR(f["threshold_ratio"].get<double>(),
              r.findings[0].distance / r.model.thresholds[static_cast<std::size_t>(r.findings[0].cluster)],
              1e-12 * f["threshold_ratio"].get<double>());
  EXPECT_EQ(j["detector"], "centroid");
  EXPECT_TRUE(f["rules"].is_array());
  EXPECT_EQ(f["features"][0]["feature"], r.findings[0].features[0].name);
  EXPECT_EQ(j["steps"].size(), r.steps.size());
  // Pretty-printed on request, the same object.
  const std::string pretty = findings_json(r, "cpu", 2);
  EXPECT_NE(pretty.find("\n  \"entities\": 600"), std::string::npos);
  EXPECT_EQ(nlohmann::ordered_json::parse(pretty), j);
}

TEST(FindingsJson, HostileNamesGiveValidJson) {
  FleetResult r = small_result({"ok", kEsc, kBadByte});
  r.findings[2].features = {feature("package:\xc3", -1.0f)};
  r.findings[0].score = std::numeric_limits<double>::quiet_NaN();
  const std::string text = findings_json(r, "cpu");
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;  // escaped, not raw
  EXPECT_EQ(text.find('\xff'), std::string::npos) << text;
  EXPECT_NE(text.find("web\\u001b[31m-1"), std::string::npos) << text;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(text)) << text;
  EXPECT_EQ(j["findings"][1]["entity"], kEsc);                  // control characters round-trip
  EXPECT_EQ(j["findings"][2]["entity"], "db-\xef\xbf\xbd");     // U+FFFD for the bad byte
  EXPECT_EQ(j["findings"][2]["features"][0]["feature"], "package:\xef\xbf\xbd");
  EXPECT_TRUE(j["findings"][0]["score"].is_null());
  EXPECT_NO_THROW((void)j.dump());  // valid UTF-8 all through
}

// ---- CSV ---------------------------------------------------------------------------

TEST(ScoresCsv, FieldQuoting) {
  EXPECT_EQ(csv_field("web-1"), "web-1");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field("cr\r"), "\"cr\r\"");
  EXPECT_EQ(csv_field(kEsc), kEsc);          // bytes kept
  EXPECT_EQ(csv_field(kBadByte), kBadByte);
  EXPECT_EQ(csv_field(""), "");
}

TEST(ScoresCsv, EveryEntityInRowOrder) {
  const FleetResult r = small_result({"a,b", "say \"hi\"\n", kBadByte});
  const std::string csv = scores_csv(r);
  EXPECT_EQ(csv,
            "entity,cluster,score,outlier\n"
            "\"a,b\",0,0.25,0\n"
            "\"say \"\"hi\"\"\n\",1,10.25,1\n"
            "db-\xff,0,20.25,1\n");
  std::ostringstream os;
  write_scores_csv(os, r);
  EXPECT_EQ(os.str(), csv);
}

// The pipeline's fleet rank, where the result has one, follows the flag.
TEST(ScoresCsv, FleetRankFollowsTheFlag) {
  FleetResult r = small_result({"a", "b", "c"});
  r.fleet_rank = {2, 1, 0};
  EXPECT_EQ(scores_csv(r),
            "entity,cluster,score,outlier,fleet_rank\n"
            "a,0,0.25,0,2\n"
            "b,1,10.25,1,1\n"
            "c,0,20.25,1,0\n");
}

TEST(ScoresCsv, NineSignificantDigits) {
  FleetResult r = small_result({"a"});
  r.scores[0] = 1.0f / 3.0f;
  EXPECT_EQ(scores_csv(r), "entity,cluster,score,outlier\na,0,0.333333343,0\n");
}

TEST(ScoresCsv, InconsistentResultThrowsBeforeWriting) {
  FleetResult r = small_result({"a", "b"});
  r.scores.pop_back();
  std::ostringstream os;
  try {
    write_scores_csv(os, r);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::shape_mismatch);
    EXPECT_NE(std::string(e.what()).find("write_scores_csv"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(os.str().empty());
}

}  // namespace
}  // namespace stray
