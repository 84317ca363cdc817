// FeatureBuilder: hand-computed normalisations, df filters that report what
// they drop, interleaved input, and fit-then-apply with unseen features.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <cstdio>

#include "stray/core/error.hpp"
#include "stray/features/features.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"

namespace stray {
namespace {

// h1: package a, b; process x×3, y×1.  h2: package a; process x 2+2.  h3: package c×2.
const std::vector<EventRecord> kEvents = {
    {"h1", "package", "a"},         {"h1", "package", "b"},   {"h1", "process", "x", 3},
    {"h1", "process", "y", 1},      {"h2", "package", "a"},   {"h2", "process", "x", 2},
    {"h2", "process", "x", 2},      {"h3", "package", "c", 2},
};

FeatureMatrix build(const FeatureParams& params, const std::vector<EventRecord>& events = kEvents) {
  FeatureBuilder b(params);
  for (const auto& e : events) b.add(e.view());
  return b.build();
}

// Dense view, for comparisons by hand.
std::vector<std::vector<float>> dense(const FeatureMatrix& m) {
  std::vector<std::vector<float>> d(static_cast<std::size_t>(m.n_entities()),
                                    std::vector<float>(static_cast<std::size_t>(m.n_features())));
  for (int64_t i = 0; i < m.n_entities(); ++i) {
    for (int64_t j = 0; j < m.n_features(); ++j) d[i][j] = m.value(i, j);
  }
  return d;
}

using Rows = std::vector<std::vector<float>>;

TEST(Features, NamesAndSortedColumns) {
  const FeatureMatrix m = build({});
  EXPECT_EQ(m.entity_names, (std::vector<std::string>{"h1", "h2", "h3"}));
  EXPECT_EQ(m.feature_names, (std::vector<std::string>{"package:a", "package:b", "package:c",
                                                       "process:x", "process:y"}));
  EXPECT_EQ(m.feature_groups, (std::vector<std::string>{"package", "package", "package",
                                                        "process", "process"}));
  EXPECT_EQ(m.document_frequency, (std::vector<int64_t>{2, 1, 1, 2, 1}));
  EXPECT_EQ(m.n_events, 8);
  EXPECT_EQ(m.column("process:y"), 4);
  EXPECT_EQ(m.column("process:q"), -1);
  EXPECT_EQ(m.row("h3"), 2);
  EXPECT_NO_THROW(validate_csr(m.X, "test"));
  EXPECT_EQ(m.X.indices, (std::vector<int32_t>{0, 1, 3, 4, 0, 3, 2}));  // ascending per row
  EXPECT_TRUE(m.dropped.empty());
  EXPECT_TRUE(m.unseen.empty());
}

// Rows whose features arrive in any order come out with ascending columns
// and their own values: a row spanning few columns of a wide vocabulary
// (put in order by a bitmap) and rows spread thinly across it (sorted).
TEST(Features, ColumnsAscendWhateverTheArrivalOrder) {
  std::vector<EventRecord> events;
  // f0000..f2999: the vocabulary, sorted by name = column order. h0 names
  // every third one backwards; h1 takes two far apart; h2 a dense run
  // shuffled.
  auto name = [](int j) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "f%04d", j);
    return std::string(buf);
  };
  for (int j = 2999; j >= 0; j -= 3) events.push_back({"h0", "g", name(j), double(j + 1)});
  for (int j = 0; j < 3000; ++j) events.push_back({"hx", "g", name(j), 1.0});  // all columns exist
  events.push_back({"h1", "g", name(2990), 2.0});
  events.push_back({"h1", "g", name(5), 3.0});
  for (int j = 0; j < 64; ++j) events.push_back({"h2", "g", name((j * 37) % 64 + 100), double(j + 1)});
  FeatureParams params;
  params.normalization = Normalization::none;
  const FeatureMatrix m = build(params, events);
  ASSERT_EQ(m.n_features(), 3000);
  EXPECT_NO_THROW(validate_csr(m.X, "test"));  // ascending, distinct columns
  for (int j = 2999; j >= 0; j -= 3) EXPECT_EQ(m.value(m.row("h0"), j), float(j + 1)) << j;
  EXPECT_EQ(m.value(m.row("h1"), 2990), 2.0f);
  EXPECT_EQ(m.value(m.row("h1"), 5), 3.0f);
  for (int j = 0; j < 64; ++j) EXPECT_EQ(m.value(m.row("h2"), (j * 37) % 64 + 100), float(j + 1));
  EXPECT_EQ(m.X.indptr[m.row("h2") + 1] - m.X.indptr[m.row("h2")], 64);
}

TEST(Features, FractionPerGroup) {
  const FeatureMatrix m = build({});  // fraction is the default
  EXPECT_EQ(dense(m), (Rows{{0.5f, 0.5f, 0, 0.75f, 0.25f}, {1, 0, 0, 1, 0}, {0, 0, 1, 0, 0}}));
}

TEST(Features, BinaryNoneLog1p) {
  FeatureParams p;
  p.normalization = Normalization::binary;
  EXPECT_EQ(dense(build(p)), (Rows{{1, 1, 0, 1, 1}, {1, 0, 0, 1, 0}, {0, 0, 1, 0, 0}}));
  p.normalization = Normalization::none;
  EXPECT_EQ(dense(build(p)), (Rows{{1, 1, 0, 3, 1}, {1, 0, 0, 4, 0}, {0, 0, 2, 0, 0}}));
  p.normalization = Normalization::log1p;
  const Rows l = dense(build(p));
  const float l2 = std::log(2.0f);
  EXPECT_FLOAT_EQ(l[0][0], l2);
  EXPECT_FLOAT_EQ(l[0][3], std::log(4.0f));
  EXPECT_FLOAT_EQ(l[1][3], std::log(5.0f));
  EXPECT_FLOAT_EQ(l[2][2], std::log(3.0f));
}

// auto: with a presence list among the groups everything is binary; with
// counts only, fractions. The choice is kept per group in the vocabulary.
TEST(Features, AutoIsBinaryWithAPresenceGroupAndFractionForCountsOnly) {
  FeatureParams p;
  p.normalization = Normalization::automatic;
  const std::vector<EventRecord> mixed = {
      {"h1", "package", "a"}, {"h1", "process", "x", 3}, {"h2", "package", "b"},
      {"h2", "process", "x", 1}, {"h2", "process", "y", 1}};
  const FeatureMatrix m = build(p, mixed);
  EXPECT_EQ(dense(m), (Rows{{1, 0, 1, 0}, {0, 1, 1, 1}}));
  EXPECT_EQ(m.vocabulary.params.normalization_of("process"), Normalization::binary);
  EXPECT_EQ(m.vocabulary.params.normalization, Normalization::binary);
  const std::vector<EventRecord> counts = {
      {"h1", "syscall", "read", 3}, {"h1", "syscall", "write", 1}, {"h2", "syscall", "read", 2}};
  const FeatureMatrix c = build(p, counts);
  EXPECT_EQ(dense(c), (Rows{{0.75f, 0.25f}, {1, 0}}));
  EXPECT_EQ(c.vocabulary.params.normalization_of("syscall"), Normalization::fraction);
  EXPECT_EQ(parse_normalization("auto"), Normalization::automatic);
  EXPECT_STREQ(to_string(Normalization::automatic), "auto");
}

TEST(Features, NamedGroupsWithoutEventsAreAnErrorOnlyWhenAsked) {
  FeatureParams p;
  p.group_normalization = {{"packages", Normalization::binary}};
  EXPECT_NO_THROW(build(p));
  p.require_named_groups = true;
  try {
    build(p);
    FAIL() << "no error for a group no event has";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'packages'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("package, process"), std::string::npos) << e.what();
  }
  p.group_normalization = {{"package", Normalization::binary}};
  p.group_weights = {{"proces", 2.0}};
  EXPECT_THROW(build(p), Error);
}

TEST(Features, PerGroupNormalizationAndWeights) {
  FeatureParams p;
  p.group_normalization = {{"package", Normalization::binary}};
  p.group_weights = {{"process", 2.0}, {"package", 0.5}};
  EXPECT_EQ(dense(build(p)),
            (Rows{{0.5f, 0.5f, 0, 1.5f, 0.5f}, {0.5f, 0, 0, 2.0f, 0}, {0, 0, 0.5f, 0, 0}}));
  // A zero weight removes the group's values from the matrix (not its columns).
  p.group_weights = {{"process", 0.0}};
  const FeatureMatrix m = build(p);
  EXPECT_EQ(m.n_features(), 5);
  EXPECT_EQ(m.value(0, 3), 0.0f);
}

TEST(Features, IdfWeighsRareFeaturesUp) {
  FeatureParams p;
  p.normalization = Normalization::binary;
  p.idf = true;
  const FeatureMatrix m = build(p);
  // n = 3; df(a) = df(x) = 2 -> ln(4/3) + 1; df(b) = df(c) = df(y) = 1 -> ln(2) + 1.
  const float common = static_cast<float>(std::log(4.0 / 3.0) + 1.0);
  const float rare = static_cast<float>(std::log(2.0) + 1.0);
  EXPECT_EQ(dense(m), (Rows{{common, rare, 0, common, rare}, {common, 0, 0, common, 0},
                            {0, 0, rare, 0, 0}}));
  EXPECT_EQ(m.vocabulary.document_frequency, (std::vector<int64_t>{2, 1, 1, 2, 1}));

  // Applied, the fitting snapshot's idf holds; an unseen feature counts as df = 0.
  FeatureBuilder apply(m.vocabulary);
  apply.add("h9", "package", "a");
  apply.add("h9", "package", "new");
  const FeatureMatrix today = apply.build();
  EXPECT_FLOAT_EQ(today.value(0, 0), common);
  ASSERT_EQ(today.unseen.size(), 1u);
  EXPECT_NEAR(today.unseen[0].normalized, std::log(4.0) + 1.0, 1e-12);

  FeatureVocabulary no_df = m.vocabulary;
  no_df.document_frequency.clear();
  EXPECT_THROW(FeatureBuilder{no_df}, Error);
}

TEST(Features, MaxDfDropsOnlyCommonFeaturesAndSaysSo) {
  FeatureParams p;
  p.max_df = 0.5;  // more than 1.5 of 3 entities: a, x (df 2) go
  const FeatureMatrix m = build(p);
  EXPECT_EQ(m.feature_names, (std::vector<std::string>{"package:b", "package:c", "process:y"}));
  ASSERT_EQ(m.dropped.size(), 2u);
  EXPECT_EQ(m.dropped[0].name, "package:a");
  EXPECT_EQ(m.dropped[0].document_frequency, 2);
  EXPECT_EQ(m.dropped[0].reason, DropReason::above_max_df);
  EXPECT_EQ(m.dropped[1].name, "process:x");
  // Fraction totals still count the dropped features: b stays 1/2, y 1/4.
  EXPECT_EQ(dense(m), (Rows{{0.5f, 0, 0.25f}, {0, 0, 0}, {0, 1, 0}}));
  EXPECT_EQ(m.X.indptr, (std::vector<int64_t>{0, 2, 2, 3}));  // h2's row is empty, not gone
}

TEST(Features, MinDfIsOptInAndReportsRareFeatures) {
  EXPECT_TRUE(build({}).dropped.empty());  // default keeps the rare ones
  FeatureParams p;
  p.min_df = 2;
  const FeatureMatrix m = build(p);
  EXPECT_EQ(m.feature_names, (std::vector<std::string>{"package:a", "process:x"}));
  ASSERT_EQ(m.dropped.size(), 3u);
  EXPECT_EQ(m.dropped[0].name, "package:b");
  EXPECT_EQ(m.dropped[0].reason, DropReason::below_min_df);
  EXPECT_EQ(m.dropped[1].name, "package:c");
  EXPECT_EQ(m.dropped[2].name, "process:y");
  EXPECT_STREQ(to_string(m.dropped[2].reason), "below_min_df");
  EXPECT_EQ(m.vocabulary.dropped_names.size(), 3u);
}

TEST(Features, InterleavedEntitiesGiveTheSameMatrix) {
  const std::vector<EventRecord> shuffled = {
      {"h1", "process", "y", 1}, {"h2", "process", "x", 2}, {"h1", "package", "a"},
      {"h3", "package", "c", 1}, {"h2", "package", "a"},    {"h1", "process", "x", 3},
      {"h2", "process", "x", 2}, {"h1", "package", "b"},    {"h3", "package", "c", 1},
  };
  const FeatureMatrix a = build({});
  const FeatureMatrix b = build({}, shuffled);
  EXPECT_EQ(a.entity_names, b.entity_names);
  EXPECT_EQ(a.feature_names, b.feature_names);
  EXPECT_EQ(a.X.indptr, b.X.indptr);
  EXPECT_EQ(a.X.indices, b.X.indices);
  EXPECT_EQ(a.X.values, b.X.values);
}

TEST(Features, NonPositiveSumsAreAbsent) {
  FeatureParams p;
  p.normalization = Normalization::none;
  const FeatureMatrix m = build(p, {{"h", "package", "a", 1},
                                    {"h", "package", "a", -1},  // removed again
                                    {"h", "package", "b", 1},
                                    {"g", "package", "b", -2}});
  EXPECT_EQ(m.feature_names, (std::vector<std::string>{"package:b"}));  // nobody has a
  EXPECT_EQ(dense(m), (Rows{{1}, {0}}));
}

TEST(Features, EmptyRowsAndEmptyInput) {
  FeatureBuilder b;
  b.add_entity("quiet");
  b.add("h", "package", "a");
  const FeatureMatrix m = b.build();
  EXPECT_EQ(m.entity_names, (std::vector<std::string>{"quiet", "h"}));
  EXPECT_EQ(m.X.indptr, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(b.n_entities(), 0);  // build() resets

  const FeatureMatrix none = FeatureBuilder().build();
  EXPECT_EQ(none.n_entities(), 0);
  EXPECT_EQ(none.n_features(), 0);
  EXPECT_EQ(none.X.indptr, (std::vector<int64_t>{0}));
}

TEST(Features, FitThenApplyKeepsUnseenFeaturesAside) {
  FeatureParams p;
  p.max_df = 0.5;  // fitting drops a and x
  FeatureBuilder fit(p);
  for (const auto& e : kEvents) fit.add(e.view());
  const FeatureMatrix base = fit.build();
  ASSERT_EQ(base.vocabulary.feature_names,
            (std::vector<std::string>{"package:b", "package:c", "process:y"}));

  FeatureBuilder apply(base.vocabulary);
  EXPECT_TRUE(apply.applying());
  apply.add("h4", "net.port", "22");   // a group never seen
  apply.add("h1", "package", "a");     // known, filtered when fitting: not "unseen"
  apply.add("h1", "package", "b");
  apply.add("h1", "package", "d");     // new software
  apply.add("h1", "process", "z", 2);  // new process
  apply.add("h1", "process", "y", 2);
  const FeatureMatrix today = apply.build();

  EXPECT_EQ(today.feature_names, base.feature_names);  // same columns, same order
  EXPECT_EQ(today.feature_groups, base.feature_groups);
  EXPECT_EQ(today.entity_names, (std::vector<std::string>{"h4", "h1"}));
  // h1's package total is a + b + d = 3; process total z + y = 4.
  EXPECT_EQ(dense(today), (Rows{{0, 0, 0}, {1.0f / 3.0f, 0, 0.5f}}));
  ASSERT_EQ(today.unseen.size(), 3u);
  EXPECT_EQ(today.unseen[0].entity, 0);
  EXPECT_EQ(today.unseen[0].name, "net.port:22");
  EXPECT_DOUBLE_EQ(today.unseen[0].normalized, 1.0);
  EXPECT_EQ(today.unseen[1].entity, 1);
  EXPECT_EQ(today.unseen[1].name, "package:d");
  EXPECT_DOUBLE_EQ(today.unseen[1].value, 1.0);
  EXPECT_NEAR(today.unseen[1].normalized, 1.0 / 3.0, 1e-12);
  EXPECT_EQ(today.unseen[2].name, "process:z");
  EXPECT_DOUBLE_EQ(today.unseen[2].value, 2.0);
  EXPECT_DOUBLE_EQ(today.unseen[2].normalized, 0.5);
  EXPECT_EQ(today.unseen_of(1).size(), 2u);
  EXPECT_EQ(today.unseen_of(0).size(), 1u);
  EXPECT_TRUE(today.unseen_of(5).empty());
  EXPECT_TRUE(today.dropped.empty());

  // The builder stays in applying mode after build().
  apply.add("h9", "package", "q");
  EXPECT_EQ(apply.build().unseen.size(), 1u);
}

TEST(Features, RejectsBadInput) {
  FeatureBuilder b;
  auto code = [&](const Event& e) {
    try {
      b.add(e);
    } catch (const Error& err) {
      return err.code();
    }
    return ErrorCode::not_fitted;  // "no error"
  };
  EXPECT_EQ(code({"", "g", "f", 1}), ErrorCode::invalid_argument);
  EXPECT_EQ(code({"h", "", "f", 1}), ErrorCode::invalid_argument);
  EXPECT_EQ(code({"h", "g", "", 1}), ErrorCode::invalid_argument);
  EXPECT_EQ(code({"h", "a:b", "f", 1}), ErrorCode::invalid_argument);
  EXPECT_EQ(code({"h", "g", "f", std::nan("")}), ErrorCode::non_finite_input);

  FeatureParams p;
  p.max_df = 0.0;
  EXPECT_THROW(FeatureBuilder{p}, Error);
  p = {};
  p.min_df = 0;
  EXPECT_THROW(FeatureBuilder{p}, Error);
  p = {};
  p.group_weights = {{"package", -1.0}};
  EXPECT_THROW(FeatureBuilder{p}, Error);

  FeatureVocabulary v;
  v.feature_names = {"nocolon"};
  EXPECT_THROW(FeatureBuilder{v}, Error);
  v.feature_names = {"g:a", "g:a"};
  EXPECT_THROW(FeatureBuilder{v}, Error);
}

// A builder's own thread count: the same matrix as OpenMP's count gives,
// kept across build(), the caller's OpenMP count left as it was, and a
// negative count refused.
TEST(Features, SetThreadsGivesTheSameMatrixAndLeavesOpenMpAlone) {
  SyntheticFleetParams sp;
  sp.n_entities = 2000;
  FeatureBuilder reference;
  generate_synthetic_fleet(sp, reference.sink());
  const FeatureMatrix expected = reference.build();
  const int before = omp_get_max_threads();
  for (int threads : {1, 3}) {
    SCOPED_TRACE(threads);
    FeatureBuilder b;
    b.set_threads(threads);
    for (int round = 0; round < 2; ++round) {  // build() keeps the count
      generate_synthetic_fleet(sp, b.sink());
      const FeatureMatrix m = b.build();
      EXPECT_EQ(b.threads(), threads);
      EXPECT_EQ(omp_get_max_threads(), before);
      EXPECT_EQ(m.X.indptr, expected.X.indptr);
      EXPECT_EQ(m.X.indices, expected.X.indices);
      EXPECT_EQ(m.X.values, expected.X.values);
    }
  }
  FeatureBuilder b;
  EXPECT_THROW(b.set_threads(-1), Error);
  EXPECT_EQ(b.threads(), 0);
}

// Rows are normalised in parallel blocks; the matrix must not depend on the
// thread count.
TEST(Features, SameMatrixForAnyThreadCount) {
  SyntheticFleetParams sp;
  sp.n_entities = 3000;
  auto run = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    FeatureParams p;
    p.max_df = 0.9;  // drops columns, so blocks compact and move
    FeatureBuilder b(p);
    generate_synthetic_fleet(sp, b.sink());
    FeatureMatrix m = b.build();
    omp_set_num_threads(before);
    return m;
  };
  const FeatureMatrix one = run(1);
  const FeatureMatrix many = run(4);
  EXPECT_FALSE(one.dropped.empty());
  EXPECT_EQ(one.X.indptr, many.X.indptr);
  EXPECT_EQ(one.X.indices, many.X.indices);
  EXPECT_EQ(one.X.values, many.X.values);
  EXPECT_NO_THROW(validate_csr(one.X, "test"));
  // Dropping columns changes no other column (fraction totals count them).
  FeatureBuilder full;
  generate_synthetic_fleet(sp, full.sink());
  const FeatureMatrix all = full.build();
  for (int64_t j = 0; j < one.n_features(); j += 7) {
    const int64_t jj = all.column(one.feature_names[static_cast<std::size_t>(j)]);
    ASSERT_GE(jj, 0);
    for (int64_t i = 0; i < one.n_entities(); i += 13) EXPECT_EQ(one.value(i, j), all.value(i, jj));
  }
  // Compaction kept every row's entries sorted and in its own range.
  for (int64_t i = 0; i < one.n_entities(); ++i) {
    EXPECT_TRUE(std::is_sorted(one.X.indices.begin() + one.X.indptr[i],
                               one.X.indices.begin() + one.X.indptr[i + 1]));
  }
}

TEST(Features, NormalizationNames) {
  for (const auto n : {Normalization::none, Normalization::binary, Normalization::fraction,
                       Normalization::log1p}) {
    EXPECT_EQ(parse_normalization(to_string(n)), n);
  }
  EXPECT_THROW(parse_normalization("tfidf"), Error);
}

}  // namespace
}  // namespace stray
