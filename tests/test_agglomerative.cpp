// Agglomerative clustering against scipy's linkage matrices and
// scikit-learn's labels (tests/fixtures/agglomerative_golden.json, from
// tests/fixtures/make_agglomerative_fixtures.py): children exactly, merge
// distances within 1e-5 relative, labels equal to sklearn's (so ARI 1), for
// every linkage, with n_clusters and with a distance threshold. Beyond the
// fixtures' sizes: a naive float64 greedy reference (every step merges the
// globally nearest pair, Lance–Williams on a full matrix), results that do
// not depend on the thread count, and the checks at the door.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cluster/agglomerative_internal.hpp"
#include "cluster/agglomerative_points.hpp"
#include "core/rng.hpp"
#include "stray/cluster/agglomerative.hpp"
#include "stray/core/backend.hpp"
#include "stray/metrics/metrics.hpp"

namespace {

using nlohmann::json;
using stray::AgglomerativeParams;
using stray::AgglomerativeResult;
using stray::Linkage;
using stray::Matrix;

const json& golden() {
  static const json doc = [] {
    std::ifstream in(std::string(STRAY_FIXTURES_DIR) + "/agglomerative_golden.json");
    if (!in) throw std::runtime_error("cannot open agglomerative_golden.json");
    return json::parse(in);
  }();
  return doc;
}

Matrix<float> to_matrix(const json& rows) {
  const auto n = static_cast<int64_t>(rows.size());
  const auto d = static_cast<int64_t>(rows[0].size());
  Matrix<float> m(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) m(i, j) = static_cast<float>(rows[i][j].get<double>());
  return m;
}

std::vector<int32_t> to_labels(const json& a) {
  std::vector<int32_t> v;
  for (const auto& x : a) v.push_back(x.get<int32_t>());
  return v;
}

void expect_linkage_matrix(const Matrix<double>& Z, const json& expected) {
  ASSERT_EQ(Z.rows(), static_cast<int64_t>(expected.size()));
  ASSERT_EQ(Z.cols(), 4);
  for (int64_t i = 0; i < Z.rows(); ++i) {
    const json& e = expected[static_cast<std::size_t>(i)];
    EXPECT_EQ(Z(i, 0), e[0].get<double>()) << "row " << i << " child a";
    EXPECT_EQ(Z(i, 1), e[1].get<double>()) << "row " << i << " child b";
    const double ref = e[2].get<double>();
    EXPECT_NEAR(Z(i, 2), ref, 1e-5 * std::abs(ref)) << "row " << i << " distance";
    EXPECT_EQ(Z(i, 3), e[3].get<double>()) << "row " << i << " size";
  }
}

AgglomerativeResult fit(const Matrix<float>& X, Linkage linkage, int64_t k,
                        std::optional<double> threshold = std::nullopt, int threads = 0) {
  AgglomerativeParams p;
  p.linkage = linkage;
  p.n_clusters = threshold ? 0 : k;
  p.distance_threshold = threshold;
  p.threads = threads;
  return stray::agglomerative_fit(p, X.view());
}

TEST(AgglomerativeGolden, MatchesScipyTreeAndSklearnLabels) {
  for (const json& c : golden()["cases"]) {
    const Matrix<float> X = to_matrix(c["X"]);
    for (const auto& [name, expected] : c["linkages"].items()) {
      SCOPED_TRACE(c["name"].get<std::string>() + " / " + name);
      const Linkage linkage = stray::parse_linkage(name);
      for (const json& cut : expected["cuts"]) {
        const bool by_threshold = cut.contains("distance_threshold");
        SCOPED_TRACE(by_threshold ? "threshold " + cut["distance_threshold"].dump()
                                  : "n_clusters " + cut["n_clusters"].dump());
        const AgglomerativeResult r =
            by_threshold ? fit(X, linkage, 0, cut["distance_threshold"].get<double>())
                         : fit(X, linkage, cut["n_clusters"].get<int64_t>());
        expect_linkage_matrix(r.linkage_matrix, expected["linkage"]);
        EXPECT_EQ(r.n_leaves, X.rows());
        EXPECT_EQ(r.n_clusters, cut["n_clusters"].get<int64_t>());
        const std::vector<int32_t> want = to_labels(cut["labels"]);
        EXPECT_EQ(r.labels, want) << "numbered as scikit-learn numbers them";
        EXPECT_DOUBLE_EQ(stray::adjusted_rand_score(want, r.labels), 1.0);
      }
    }
  }
}

// scikit-learn's single linkage keeps each merge's children in the order
// its MST met them; the labels' numbering depends on that order.
TEST(AgglomerativeGolden, SingleLinkageChildrenInSklearnOrder) {
  for (const json& c : golden()["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const Matrix<float> X = to_matrix(c["X"]);
    std::vector<uint8_t> swapped;
    const Matrix<double> Z = stray::internal::linkage_from_merges(
        stray::internal::single_merges(X.view(), 1), X.rows(), &swapped);
    const json& children = c["linkages"]["single"]["children"];
    for (int64_t i = 0; i < Z.rows(); ++i) {
      const bool s = swapped[static_cast<std::size_t>(i)] != 0;
      EXPECT_EQ(Z(i, s ? 1 : 0), children[i][0].get<double>()) << "row " << i;
      EXPECT_EQ(Z(i, s ? 0 : 1), children[i][1].get<double>()) << "row " << i;
    }
  }
}

// ---- a naive reference: O(n³) greedy merging on a full float64 matrix ----

Matrix<double> naive_linkage(const Matrix<float>& X, Linkage linkage) {
  const int64_t n = X.rows(), d = X.cols();
  Matrix<double> D(n, n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < d; ++k) {
        const double t = static_cast<double>(X(i, k)) - X(j, k);
        s += t * t;
      }
      D(i, j) = std::sqrt(s);
    }
  std::vector<double> size(static_cast<std::size_t>(n), 1.0);
  std::vector<bool> alive(static_cast<std::size_t>(n), true);
  std::vector<stray::internal::RawMerge> merges;
  for (int64_t step = 0; step < n - 1; ++step) {
    int64_t a = -1, b = -1;
    double best = std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j)
        if (alive[i] && alive[j] && D(i, j) < best) best = D(i, j), a = i, b = j;
    merges.push_back({a, b, best});
    const double na = size[a], nb = size[b];
    for (int64_t i = 0; i < n; ++i) {
      if (!alive[i] || i == a || i == b) continue;
      const double da = D(i, a), db = D(i, b);
      double v = 0;
      switch (linkage) {
        case Linkage::single: v = std::min(da, db); break;
        case Linkage::complete: v = std::max(da, db); break;
        case Linkage::average: v = (na * da + nb * db) / (na + nb); break;
        case Linkage::ward: {
          const double t = na + nb + size[i];
          v = std::sqrt(((size[i] + na) * da * da + (size[i] + nb) * db * db -
                         size[i] * best * best) / t);
          break;
        }
      }
      D(i, b) = D(b, i) = v;
    }
    alive[a] = false;
    size[b] = na + nb;
  }
  return stray::internal::linkage_from_merges(merges, n, nullptr);
}

Matrix<float> random_blobs(int64_t n, int64_t d, uint64_t seed) {
  stray::internal::Rng rng(seed);
  Matrix<float> X(n, d);
  for (int64_t i = 0; i < n; ++i) {
    const double centre = 6.0 * static_cast<double>(i % 7);
    for (int64_t k = 0; k < d; ++k)
      X(i, k) = static_cast<float>(centre * ((k % 3) - 1) + (1.0 + i % 3) * rng.normal());
  }
  return X;
}

// Several hundred rows: the scan's blocks, the live set's compaction and
// long chains, against the textbook algorithm.
TEST(Agglomerative, MatchesNaiveGreedyReference) {
  const Matrix<float> X = random_blobs(420, 19, 11);
  for (const Linkage linkage :
       {Linkage::ward, Linkage::complete, Linkage::average, Linkage::single}) {
    SCOPED_TRACE(stray::to_string(linkage));
    const Matrix<double> ref = naive_linkage(X, linkage);
    const AgglomerativeResult r = fit(X, linkage, 7);
    ASSERT_EQ(r.linkage_matrix.rows(), ref.rows());
    for (int64_t i = 0; i < ref.rows(); ++i) {
      ASSERT_EQ(r.linkage_matrix(i, 0), ref(i, 0)) << "row " << i;
      ASSERT_EQ(r.linkage_matrix(i, 1), ref(i, 1)) << "row " << i;
      EXPECT_NEAR(r.linkage_matrix(i, 2), ref(i, 2), 1e-9 * ref(i, 2)) << "row " << i;
      EXPECT_EQ(r.linkage_matrix(i, 3), ref(i, 3)) << "row " << i;
    }
    // Single linkage numbers its labels in sklearn's unsorted child order
    // (tested against sklearn above): the same partition, other numbers.
    const std::vector<int32_t> cut = stray::cut_tree_labels(ref.view(), 7);
    if (linkage == Linkage::single)
      EXPECT_DOUBLE_EQ(stray::adjusted_rand_score(cut, r.labels), 1.0);
    else
      EXPECT_EQ(r.labels, cut);
  }
}

// Scales float32 cannot hold together (rows near 1e-20 beside one at 1e30):
// the screen underflows and its bound must send every close call to the
// exact float64 value. The tree is still the reference's.
TEST(Agglomerative, ExtremeScalesMatchTheReference) {
  stray::internal::Rng rng(17);
  Matrix<float> X(160, 5);
  for (int64_t i = 0; i < X.rows(); ++i)
    for (int64_t k = 0; k < X.cols(); ++k) {
      const double z = rng.normal();
      X(i, k) = static_cast<float>(i < 60    ? 1000.0 + 1e-2 * z  // tight, far from 0
                                   : i < 120 ? 1e6 * z
                                   : i < 159 ? 1e-20 * z
                                             : (k == 0 ? 1e30 : 0.0));
    }
  for (const Linkage linkage :
       {Linkage::ward, Linkage::complete, Linkage::average, Linkage::single}) {
    SCOPED_TRACE(stray::to_string(linkage));
    const Matrix<double> ref = naive_linkage(X, linkage);
    const AgglomerativeResult r = fit(X, linkage, 4);
    for (int64_t i = 0; i < ref.rows(); ++i) {
      ASSERT_EQ(r.linkage_matrix(i, 0), ref(i, 0)) << "row " << i;
      ASSERT_EQ(r.linkage_matrix(i, 1), ref(i, 1)) << "row " << i;
      EXPECT_NEAR(r.linkage_matrix(i, 2), ref(i, 2), 1e-9 * ref(i, 2)) << "row " << i;
    }
  }
}

// The screen's promise, pair by pair: an exact value below b never hides
// behind a screened value at or over threshold(b) — plain and with ward's
// size weights, at scales where float32 rounding is large against the
// distances (offsets, mixed magnitudes, an outlier far away, tiny values).
TEST(AgglomerativeScreen, BoundHoldsForEveryPair) {
  using stray::internal::LivePoints;
  using stray::internal::ScreenQuery;
  stray::internal::Rng rng(23);
  const auto make = [&](int64_t n, int64_t d, auto value) {
    Matrix<float> X(n, d);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < d; ++k) X(i, k) = static_cast<float>(value(i, k, rng.normal()));
    return X;
  };
  const std::vector<std::pair<std::string, Matrix<float>>> sets = {
      {"normal", make(300, 16, [](int64_t, int64_t, double z) { return z; })},
      {"offset", make(300, 7, [](int64_t, int64_t, double z) { return 4096.0 + 1e-3 * z; })},
      {"mixed", make(300, 5,
                     [](int64_t i, int64_t, double z) { return i % 3 == 0 ? 1e6 * z : 1e-3 * z; })},
      {"outlier", make(300, 3,
                       [](int64_t i, int64_t k, double z) {
                         return i == 7 && k == 0 ? 1e20 : 3.0 + 1e-2 * z;
                       })},
      {"tiny", make(300, 1, [](int64_t, int64_t, double z) { return 1e-30 * z; })},
      {"wide", make(80, 300, [](int64_t, int64_t, double z) { return 100.0 + z; })},
  };
  for (const auto& [name, X] : sets) {
    SCOPED_TRACE(name);
    LivePoints pts(X.view(), 1.0);
    std::vector<double> size(static_cast<std::size_t>(X.rows()));
    for (double& s : size) s = 1.0 + std::floor(1000.0 * rng.uniform());
    ScreenQuery query;
    std::vector<float> screened(static_cast<std::size_t>(X.rows()));
    int64_t failures = 0;
    for (int64_t i = 0; i < X.rows(); ++i) {
      const double* q = pts.exact(i);
      pts.make_query(q, query);
      for (int64_t p0 = 0; p0 < X.rows(); p0 += stray::internal::kScanBlock)
        pts.screen(query, p0, std::min(stray::internal::kScanBlock, X.rows() - p0),
                   screened.data() + p0);
      const auto fx = static_cast<float>(size[i]);
      for (int64_t j = 0; j < X.rows(); ++j) {
        if (j == i) continue;
        const double exact = pts.exact_sq_distance(j, q);
        const double above = std::nextafter(exact, std::numeric_limits<double>::infinity());
        failures += !(screened[j] < query.bound.threshold(above));
        const auto fs = static_cast<float>(size[j]);
        const float weighted = screened[j] * (fs / (fx + fs));
        const double exact_w = size[j] / (size[i] + size[j]) * exact;
        const double above_w = std::nextafter(exact_w, std::numeric_limits<double>::infinity());
        failures += !(weighted < query.bound.threshold(above_w));
      }
    }
    EXPECT_EQ(failures, 0);
  }
}

// Rows enough for the scans to fork: one thread and two give the same bits.
TEST(Agglomerative, ThreadCountDoesNotChangeTheResult) {
  const Matrix<float> X = random_blobs(2600, 16, 5);
  for (const Linkage linkage :
       {Linkage::ward, Linkage::complete, Linkage::average, Linkage::single}) {
    SCOPED_TRACE(stray::to_string(linkage));
    const AgglomerativeResult one = fit(X, linkage, 9, std::nullopt, 1);
    const AgglomerativeResult two = fit(X, linkage, 9, std::nullopt, 2);
    EXPECT_EQ(one.labels, two.labels);
    ASSERT_EQ(one.linkage_matrix.storage().size(), two.linkage_matrix.storage().size());
    for (std::size_t i = 0; i < one.linkage_matrix.storage().size(); ++i)
      ASSERT_EQ(one.linkage_matrix.storage()[i], two.linkage_matrix.storage()[i]) << i;
  }
}

TEST(Agglomerative, ResidentRowsGiveTheHostResult) {
  const Matrix<float> X = random_blobs(150, 6, 2);
  auto backend = stray::make_backend("cpu");
  const stray::DeviceArray<float> resident = backend->upload(X);
  AgglomerativeParams p;
  p.n_clusters = 5;
  const AgglomerativeResult a = stray::agglomerative_fit(p, X.view());
  const AgglomerativeResult b = stray::agglomerative_fit(*backend, p, resident);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.linkage_matrix.storage(), b.linkage_matrix.storage());
  // The scans take the backend's thread count where it sets one.
  stray::BackendOptions one;
  one.cpu.threads = 1;
  auto single = stray::make_backend("cpu", one);
  EXPECT_EQ(stray::agglomerative_fit(*single, p, single->upload(X)).threads, 1);
}

// ---- the checks at the door ----

template <typename F>
void expect_error(F&& f, stray::ErrorCode code, const std::string& words) {
  try {
    f();
    FAIL() << "no error; expected one mentioning '" << words << "'";
  } catch (const stray::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(Agglomerative, RejectsBadInput) {
  using stray::ErrorCode;
  const Matrix<float> X = random_blobs(20, 3, 1);
  AgglomerativeParams p;
  expect_error([&] { stray::agglomerative_fit(p, Matrix<float>(1, 3).view()); },
               ErrorCode::invalid_argument, "at least 2 rows");
  expect_error([&] { stray::agglomerative_fit(p, Matrix<float>(0, 3).view()); },
               ErrorCode::invalid_argument, "empty");
  Matrix<float> bad = X;
  bad(7, 2) = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { stray::agglomerative_fit(p, bad.view()); }, ErrorCode::non_finite_input,
               "X[7, 2] = nan");
  p.n_clusters = 21;
  expect_error([&] { stray::agglomerative_fit(p, X.view()); }, ErrorCode::invalid_argument,
               "n_clusters=21 outside [1, n_samples=20]");
  p.n_clusters = -1;
  expect_error([&] { stray::agglomerative_fit(p, X.view()); }, ErrorCode::invalid_argument,
               "outside");
  p.n_clusters = 3;
  p.distance_threshold = 1.0;
  expect_error([&] { stray::agglomerative_fit(p, X.view()); }, ErrorCode::invalid_argument,
               "exactly one of n_clusters and distance_threshold");
  p.n_clusters = 0;
  p.distance_threshold.reset();
  expect_error([&] { stray::agglomerative_fit(p, X.view()); }, ErrorCode::invalid_argument,
               "exactly one of n_clusters and distance_threshold");
  for (const double t : {-1.0, std::numeric_limits<double>::quiet_NaN(),
                         std::numeric_limits<double>::infinity()}) {
    p.distance_threshold = t;
    expect_error([&] { stray::agglomerative_fit(p, X.view()); }, ErrorCode::invalid_argument,
                 "distance_threshold=");
  }
  expect_error([] { stray::parse_linkage("centroid"); }, ErrorCode::invalid_argument,
               "unknown linkage 'centroid'");
}

TEST(Agglomerative, MemoryBudgetRefusesTheCondensedMatrixBeforeAllocating) {
  const Matrix<float> X = random_blobs(300, 4, 3);
  AgglomerativeParams p;
  p.n_clusters = 3;
  p.memory_budget_bytes = 300 * 299 / 2 * 8 - 1;  // one byte short
  for (const Linkage linkage : {Linkage::complete, Linkage::average}) {
    p.linkage = linkage;
    expect_error([&] { stray::agglomerative_fit(p, X.view()); }, stray::ErrorCode::out_of_memory,
                 "358800 bytes, over the memory budget of 358799 bytes");
  }
  // The budget is for the n×n work only: ward and single need O(n·d).
  for (const Linkage linkage : {Linkage::ward, Linkage::single}) {
    p.linkage = linkage;
    EXPECT_EQ(stray::agglomerative_fit(p, X.view()).labels.size(), 300u);
  }
  p.linkage = Linkage::average;
  p.memory_budget_bytes = 300 * 299 / 2 * 8;  // exactly enough
  EXPECT_EQ(stray::agglomerative_fit(p, X.view()).n_clusters, 3);
  // A matrix larger than any machine: refused by the budget, not bad_alloc.
  p.memory_budget_bytes = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(stray::internal::condensed_matrix_bytes(int64_t{1} << 31),
            (std::size_t{1} << 30) * ((std::size_t{1} << 31) - 1) * 8);
  expect_error([] { stray::internal::check_condensed_budget(int64_t{1} << 31, Linkage::complete,
                                                            std::numeric_limits<std::size_t>::max()); },
               stray::ErrorCode::out_of_memory, "more than this machine's memory");
}

TEST(Agglomerative, CutRejectsMatricesThatAreNotTrees) {
  Matrix<double> Z(2, 4);
  Z(0, 0) = 0, Z(0, 1) = 1, Z(0, 2) = 1, Z(0, 3) = 2;
  Z(1, 0) = 1, Z(1, 1) = 3, Z(1, 2) = 2, Z(1, 3) = 3;  // row 1 reuses leaf 1
  expect_error([&] { stray::cut_tree_labels(Z.view(), 2); }, stray::ErrorCode::invalid_argument,
               "merged twice");
  Z(1, 0) = 2, Z(1, 1) = 4;  // cluster 4 is not formed before row 1
  expect_error([&] { stray::cut_tree_labels(Z.view(), 2); }, stray::ErrorCode::invalid_argument,
               "not one formed before it");
  Z(1, 1) = 3;
  expect_error([&] { stray::cut_tree_labels(Z.view(), 4); }, stray::ErrorCode::invalid_argument,
               "n_clusters=4 outside [1, 3]");
  EXPECT_EQ(stray::cut_tree_labels(Z.view(), 3), (std::vector<int32_t>{2, 1, 0}));  // sklearn's _hc_cut
  EXPECT_EQ(stray::cut_tree_labels(Z.view(), 2), (std::vector<int32_t>{0, 0, 1}));
  EXPECT_EQ(stray::clusters_at_threshold(Z.view(), 1.5), 2);
  EXPECT_EQ(stray::clusters_at_threshold(Z.view(), 1.0), 3);  // a merge at the threshold counts
}

}  // namespace
