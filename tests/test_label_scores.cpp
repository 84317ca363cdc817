// The contingency table and label scores beyond the golden values: each way
// of building the table against a naive map count, errors for empty and
// unequal input, string labels, invariance to renaming, the swap of
// homogeneity and completeness, and the expected mutual information against
// a full-support sum in long double at sizes the goldens do not reach.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "metrics_lcg.hpp"
#include "stray/metrics/label_scores.hpp"
#include "stray/metrics/metrics.hpp"
#include "temp_dir.hpp"

namespace {

using stray::Contingency;
using stray::ErrorCode;
using stray::testing::expect_error;
using stray::testing::lcg_labels;
using Cells = std::map<std::pair<int64_t, int64_t>, int64_t>;  // (truth, pred) label -> count

Cells naive_cells(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  Cells cells;
  for (std::size_t i = 0; i < truth.size(); ++i) ++cells[{truth[i], pred[i]}];
  return cells;
}

/// The table's cells, sums and first-seen label order, checked against the input.
void expect_table_matches(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  const Contingency t = stray::contingency_table(truth, pred);
  EXPECT_EQ(t.n, static_cast<int64_t>(truth.size()));
  Cells got;
  for (const auto& c : t.cells) {
    ASSERT_GT(c.count, 0);
    const auto key = std::make_pair(t.row_labels.at(c.row), t.col_labels.at(c.col));
    EXPECT_EQ(got.count(key), 0u) << "cell listed twice";
    got[key] = c.count;
  }
  EXPECT_EQ(got, naive_cells(truth, pred));
  // Classes numbered in first-seen order, sums = class sizes.
  std::vector<int64_t> first_rows, first_cols;
  std::map<int64_t, int64_t> row_size, col_size;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (row_size[truth[i]]++ == 0) first_rows.push_back(truth[i]);
    if (col_size[pred[i]]++ == 0) first_cols.push_back(pred[i]);
  }
  EXPECT_EQ(t.row_labels, first_rows);
  EXPECT_EQ(t.col_labels, first_cols);
  ASSERT_EQ(t.row_sums.size(), first_rows.size());
  ASSERT_EQ(t.col_sums.size(), first_cols.size());
  for (std::size_t r = 0; r < first_rows.size(); ++r) EXPECT_EQ(t.row_sums[r], row_size[first_rows[r]]);
  for (std::size_t c = 0; c < first_cols.size(); ++c) EXPECT_EQ(t.col_sums[c], col_size[first_cols[c]]);
}

TEST(LabelScores, ContingencyTableOnEveryPath) {
  // Few classes, small label values: direct numbering, dense cell counts.
  expect_table_matches(lcg_labels("uniform", 5000, 7, 1), lcg_labels("skewed", 5000, 5, 2));
  // Label values spread over int64: numbered by hashing.
  std::vector<int64_t> spread = lcg_labels("uniform", 5000, 50, 3);
  for (auto& v : spread) v = v * 184467440737095516 - (int64_t{1} << 62);
  expect_table_matches(spread, lcg_labels("uniform", 5000, 9, 4));
  // Many classes on both sides: cells counted row by row.
  expect_table_matches(lcg_labels("uniform", 20000, 3000, 5), lcg_labels("uniform", 20000, 2500, 6));
  // All singletons against a few clusters, and a single entity.
  std::vector<int64_t> ids(3000);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(ids.size() - i) * 7;
  expect_table_matches(ids, lcg_labels("uniform", 3000, 4, 7));
  expect_table_matches({-5}, {9});
}

TEST(LabelScores, EmptyAndUnequalInputAreErrors) {
  const std::vector<int64_t> none, three{1, 2, 3}, two{1, 2};
  expect_error([&] { stray::contingency_table(none, none); }, ErrorCode::invalid_argument, {"empty"});
  expect_error([&] { stray::compare_labelings(none, none); }, ErrorCode::invalid_argument, {"empty"});
  expect_error([&] { stray::adjusted_rand_score(none, none); }, ErrorCode::invalid_argument, {"empty"});
  expect_error([&] { stray::adjusted_mutual_info_score(none, none); }, ErrorCode::invalid_argument,
               {"empty"});
  expect_error([&] { stray::contingency_table(three, two); }, ErrorCode::shape_mismatch, {"3", "2"});
  expect_error([&] { stray::rand_score(three, two); }, ErrorCode::shape_mismatch, {"3", "2"});
  expect_error([&] { stray::homogeneity_completeness_v_measure(two, three); },
               ErrorCode::shape_mismatch, {"2", "3"});
  expect_error([&] { stray::adjusted_rand_score(std::vector<int32_t>{1}, std::vector<int32_t>{}); },
               ErrorCode::shape_mismatch, {"1", "0"});
}

TEST(LabelScores, TablesMadeByHandAreCheckedBeforeUse) {
  const Contingency good = stray::contingency_table({0, 0, 1, 2}, {5, 6, 6, 6});
  EXPECT_EQ(stray::compare_labelings(good).adjusted_rand,
            stray::compare_labelings({0, 0, 1, 2}, {5, 6, 6, 6}).adjusted_rand);
  const auto refused = [](Contingency t, const std::string& fragment) {
    expect_error([&] { stray::compare_labelings(t); }, ErrorCode::invalid_argument, {fragment});
    expect_error([&] { stray::expected_mutual_info(t); }, ErrorCode::invalid_argument, {fragment});
  };
  refused(Contingency{}, "empty");
  Contingency t = good;
  t.cells[0].row = 7;
  refused(t, "outside");
  t = good;
  t.cells[0].count = 0;
  refused(t, "not positive");
  t = good;
  t.row_sums[0] = -1;
  refused(t, "size -1");
  t = good;
  t.col_sums[1] += 1;
  refused(t, "do not sum");
  t = good;
  t.n = int64_t{1} << 40;
  refused(t, "at most");
}

TEST(LabelScores, StringLabelsAreNumberedInFirstSeenOrder) {
  const std::vector<std::string> images{"nginx", "redis", "nginx", "", "postgres", "redis", ""};
  EXPECT_EQ(stray::encode_labels(images), (std::vector<int64_t>{0, 1, 0, 2, 3, 1, 2}));
  EXPECT_TRUE(stray::encode_labels({}).empty());
  // Scores of encoded strings equal those of the integers they stand for.
  const std::vector<int64_t> clusters{4, 4, 4, 1, 1, 4, 1};
  const auto a = stray::compare_labelings(stray::encode_labels(images), clusters);
  const auto b = stray::compare_labelings({10, 20, 10, 30, 40, 20, 30}, clusters);
  EXPECT_EQ(a.adjusted_mutual_info, b.adjusted_mutual_info);
  EXPECT_EQ(a.v_measure, b.v_measure);
}

TEST(LabelScores, RenamingChangesNothingAndSwappingSwapsHomogeneity) {
  const auto truth = lcg_labels("skewed", 4000, 12, 11), pred = lcg_labels("uniform", 4000, 8, 12);
  std::vector<int64_t> renamed(pred.size());
  for (std::size_t i = 0; i < pred.size(); ++i) renamed[i] = 1000003 * (7 - pred[i]) - 99;
  const auto s = stray::compare_labelings(truth, pred);
  const auto r = stray::compare_labelings(truth, renamed);
  const auto w = stray::compare_labelings(pred, truth);
  for (const auto* o : {&r, &w}) {
    EXPECT_NEAR(o->rand, s.rand, 1e-14);
    EXPECT_NEAR(o->adjusted_rand, s.adjusted_rand, 1e-14);
    EXPECT_NEAR(o->mutual_info, s.mutual_info, 1e-14);
    EXPECT_NEAR(o->normalized_mutual_info, s.normalized_mutual_info, 1e-14);
    EXPECT_NEAR(o->adjusted_mutual_info, s.adjusted_mutual_info, 1e-12);
    EXPECT_NEAR(o->v_measure, s.v_measure, 1e-14);
  }
  EXPECT_NEAR(r.homogeneity, s.homogeneity, 1e-14);
  EXPECT_NEAR(w.homogeneity, s.completeness, 1e-14);
  EXPECT_NEAR(w.completeness, s.homogeneity, 1e-14);
  EXPECT_GT(s.homogeneity, 0.0);
  EXPECT_NE(s.homogeneity, s.completeness);
}

/// E[MI] by the definition: every overlap k of every pair of classes, the
/// hypergeometric probability from log-factorials in long double.
long double brute_force_emi(const Contingency& t) {
  const long double n = t.n;
  long double emi = 0;
  for (int64_t a : t.row_sums) {
    for (int64_t b : t.col_sums) {
      const long double base = lgammal(a + 1.0L) + lgammal(b + 1.0L) + lgammal(n - a + 1) +
                               lgammal(n - b + 1) - lgammal(n + 1);
      for (int64_t k = std::max<int64_t>(1, a + b - t.n); k <= std::min(a, b); ++k) {
        const long double log_p = base - lgammal(k + 1.0L) - lgammal(a - k + 1.0L) -
                                  lgammal(b - k + 1.0L) - lgammal(n - a - b + k + 1);
        emi += (k / n) * logl(n * k / (static_cast<long double>(a) * b)) * expl(log_p);
      }
    }
  }
  return emi;
}

TEST(LabelScores, ExpectedMutualInfoEqualsTheFullSum) {
  struct Case {
    int64_t n, k_truth, k_pred;
    uint64_t seed;
  };
  // Up to 300,000 entities: overlaps spread over thousands of values, where
  // the walk from the mode stops long before the support ends.
  for (const Case& c : {Case{3000, 20, 7, 21}, Case{60000, 3, 5, 22}, Case{300000, 2, 4, 23},
                        Case{50000, 400, 3, 24}}) {
    SCOPED_TRACE(c.n);
    const Contingency t = stray::contingency_table(lcg_labels("skewed", c.n, c.k_truth, c.seed),
                                                   lcg_labels("uniform", c.n, c.k_pred, c.seed + 1));
    const double expected = static_cast<double>(brute_force_emi(t));
    EXPECT_NEAR(stray::expected_mutual_info(t), expected, 1e-12 * std::max(1e-3, expected));
  }
}

TEST(LabelScores, IdenticalLabelingsOfAMillionEntitiesScoreOne) {
  const auto labels = lcg_labels("skewed", 1000000, 40, 31);
  const auto s = stray::compare_labelings(labels, labels);
  EXPECT_EQ(s.rand, 1.0);
  EXPECT_EQ(s.adjusted_rand, 1.0);
  EXPECT_NEAR(s.normalized_mutual_info, 1.0, 1e-12);
  EXPECT_NEAR(s.adjusted_mutual_info, 1.0, 1e-12);
  EXPECT_NEAR(s.v_measure, 1.0, 1e-12);
}

}  // namespace
