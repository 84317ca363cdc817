// LOF's definitions, edges and errors on every backend: scores against a
// naive float64 LOF, n = 1 and n_neighbors ≥ n, rows all identical, a fleet
// of identical hosts with one that differs slightly (scikit-learn's way and
// over distinct rows), novelty scoring of the training rows themselves, the
// resident fit, and hostile arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "backend_params.hpp"
#include "stray/neighbors/knn.hpp"
#include "stray/neighbors/lof.hpp"

namespace stray {
namespace {

Matrix<float> gaussian(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Matrix<float> m(rows, cols);
  for (auto& v : m.storage()) v = normal(gen);
  return m;
}

/// LOF written out from its definitions with an O(n²) neighbour search.
std::vector<double> naive_lof(const Matrix<float>& X, int64_t k) {
  const int64_t n = X.rows(), d = X.cols();
  std::vector<std::vector<std::pair<double, int64_t>>> lists(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      if (i == j) continue;
      double s = 0.0;
      for (int64_t t = 0; t < d; ++t) {
        const double diff = static_cast<double>(X(i, t)) - X(j, t);
        s += diff * diff;
      }
      lists[i].emplace_back(std::sqrt(s), j);
    }
    std::sort(lists[i].begin(), lists[i].end());
    lists[i].resize(static_cast<std::size_t>(k));
  }
  std::vector<double> lrd(static_cast<std::size_t>(n)), out(lrd);
  for (int64_t i = 0; i < n; ++i) {
    double reach = 0.0;
    for (const auto& [dist, j] : lists[i]) reach += std::max(dist, lists[j].back().first);
    lrd[i] = 1.0 / (reach / static_cast<double>(k) + 1e-10);
  }
  for (int64_t i = 0; i < n; ++i) {
    double ratio = 0.0;
    for (const auto& [dist, j] : lists[i]) ratio += lrd[j] / lrd[i];
    out[i] = -ratio / static_cast<double>(k);
  }
  return out;
}

class Lof : public ::testing::TestWithParam<std::string> {};

TEST_P(Lof, MatchesTheDefinitions) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  for (const int64_t d : {2, 17, 40}) {
    Matrix<float> X = gaussian(400, d, 5 + static_cast<uint32_t>(d));
    for (int64_t t = 0; t < d; ++t) X(0, t) += 6.0f;  // one clear outlier
    LofParams params;
    const LofResult r = lof_fit(*backend, params, X.view());
    const std::vector<double> want = naive_lof(X, 20);
    for (int64_t i = 0; i < X.rows(); ++i) {
      EXPECT_NEAR(r.negative_outlier_factor[i], want[i], 1e-9 * std::abs(want[i])) << "row " << i;
    }
    EXPECT_EQ(r.labels[0], -1);
    EXPECT_EQ(r.n_outliers, std::count(r.labels.begin(), r.labels.end(), -1));
    EXPECT_TRUE(r.warning.empty());
    EXPECT_GE(r.seconds, 0.0);
  }
}

TEST_P(Lof, TooFewRowsAndTooManyNeighbours) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  LofParams params;
  const Matrix<float> one = gaussian(1, 3, 1);
  EXPECT_THROW(lof_fit(*backend, params, one.view()), Error);  // as scikit-learn: no neighbours
  // n_neighbors ≥ n is lowered to n − 1, as scikit-learn, with its warning
  // where it warns (n_neighbors > n).
  const Matrix<float> X = gaussian(30, 4, 2);
  params.n_neighbors = 50;
  const LofResult lowered = lof_fit(*backend, params, X.view());
  EXPECT_EQ(lowered.n_neighbors, 29);
  EXPECT_NE(lowered.warning.find("greater than the total number of samples"), std::string::npos);
  params.n_neighbors = 29;
  const LofResult exact = lof_fit(*backend, params, X.view());
  EXPECT_EQ(exact.negative_outlier_factor, lowered.negative_outlier_factor);
  EXPECT_TRUE(exact.warning.empty());
  params.n_neighbors = 30;  // = n: lowered silently, as scikit-learn
  EXPECT_TRUE(lof_fit(*backend, params, X.view()).warning.empty());
  // n = 2: each row the other's only neighbour, both scored −1.
  params.n_neighbors = 20;
  const LofResult two = lof_fit(*backend, params, gaussian(2, 3, 3).view());
  EXPECT_EQ(two.n_neighbors, 1);
  EXPECT_EQ(two.negative_outlier_factor, (std::vector<double>{-1.0, -1.0}));
}

TEST_P(Lof, IdenticalRowsAndFleetsOfIdenticalHosts) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // All rows identical: every reach distance 0, lrd = 1e10 everywhere, LOF
  // 1, no outliers.
  Matrix<float> same(500, 6);
  for (auto& v : same.storage()) v = 1.25f;
  const LofResult r = lof_fit(*backend, LofParams{}, same.view());
  for (const double s : r.negative_outlier_factor) EXPECT_EQ(s, -1.0);
  for (const double lrd : r.lrd) EXPECT_DOUBLE_EQ(lrd, 1e10);
  EXPECT_EQ(r.n_outliers, 0);
  // 200 identical hosts and one that differs by 0.1 in one feature: its
  // neighbours all have lrd 1e10, its own is 1/0.1, so its LOF is ~1e9 —
  // scikit-learn's result and its duplicates warning.
  same(0, 2) += 0.1f;
  const LofResult fleet = lof_fit(*backend, LofParams{}, same.view());
  EXPECT_LT(fleet.negative_outlier_factor[0], -1e8);
  EXPECT_EQ(fleet.labels[0], -1);
  EXPECT_EQ(fleet.n_outliers, 1);
  EXPECT_NE(fleet.warning.find("duplicate values"), std::string::npos);
}

TEST_P(Lof, DistinctRowsGradeHostsNearIdenticalGroups) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // 300 rows: rows 100..199 are copies of row 100 (one with −0 for +0),
  // and row 0 lies 0.1 from them in one feature.
  Matrix<float> X = gaussian(300, 5, 21);
  X(100, 3) = 0.0f;
  for (int64_t i = 101; i < 200; ++i) {
    for (int64_t t = 0; t < 5; ++t) X(i, t) = X(100, t);
  }
  X(150, 3) = -0.0f;
  for (int64_t t = 0; t < 5; ++t) X(0, t) = X(100, t);
  X(0, 1) += 0.1f;
  LofParams plain;
  EXPECT_LT(lof_fit(*backend, plain, X.view()).negative_outlier_factor[0], -1e8);

  LofParams params;
  params.distinct_rows = true;
  params.keep_neighbors = true;
  const LofResult r = lof_fit(*backend, params, X.view());
  // The fit over the distinct rows (the copies 101..199 left out), each row
  // scored as its first copy: LOF's definitions on 201 rows.
  Matrix<float> D(201, 5);
  std::vector<int64_t> first;
  for (int64_t i = 0; i < 300; ++i) {
    if (i > 100 && i < 200) continue;
    for (int64_t t = 0; t < 5; ++t) D(static_cast<int64_t>(first.size()), t) = X(i, t);
    first.push_back(i);
  }
  const std::vector<double> want = naive_lof(D, 20);
  for (int64_t q = 0; q < 201; ++q) {
    EXPECT_NEAR(r.negative_outlier_factor[first[q]], want[q], 1e-9 * std::abs(want[q])) << q;
  }
  for (int64_t i = 101; i < 200; ++i) {
    EXPECT_EQ(r.negative_outlier_factor[i], r.negative_outlier_factor[100]) << "row " << i;
  }
  EXPECT_GT(r.negative_outlier_factor[0], -10.0);  // graded, not ~1e9
  EXPECT_EQ(r.reference.rows(), 0);                // no novelty: no rows kept
  EXPECT_EQ(r.k_distance.size(), 201u);
  // Neighbour lists name first copies, a copy's list is its first copy's.
  ASSERT_EQ(r.neighbor_indices.rows(), 300);
  for (int64_t i = 0; i < 300; ++i) {
    for (int64_t j = 0; j < r.n_neighbors; ++j) {
      const int64_t nb = r.neighbor_indices(i, j);
      EXPECT_FALSE(nb > 100 && nb < 200) << "row " << i;
    }
  }
  for (int64_t j = 0; j < r.n_neighbors; ++j) {
    EXPECT_EQ(r.neighbor_indices(150, j), r.neighbor_indices(100, j));
  }
  // The same from rows already on the backend.
  const LofResult resident = lof_fit(*backend, params, backend->upload(X.view()));
  EXPECT_EQ(resident.negative_outlier_factor, r.negative_outlier_factor);
  // Three distinct rows in 36: k is lowered to 2, and the warning says so
  // of the distinct rows.
  Matrix<float> few(36, 2);
  for (int64_t i = 0; i < 36; ++i) few(i, 0) = i < 30 ? 0.0f : (i < 35 ? 1.0f : 3.0f);
  LofParams lowered;
  lowered.distinct_rows = true;
  const LofResult three = lof_fit(*backend, lowered, few.view());
  EXPECT_EQ(three.n_neighbors, 2);
  EXPECT_NE(three.warning.find("distinct samples (3)"), std::string::npos) << three.warning;
  EXPECT_EQ(three.negative_outlier_factor.size(), 36u);
  // Contamination is a share of all the rows.
  params.contamination = 0.1;
  params.keep_neighbors = false;
  const LofResult share = lof_fit(*backend, params, X.view());
  EXPECT_EQ(share.n_outliers, std::count(share.labels.begin(), share.labels.end(), -1));
  EXPECT_LE(share.n_outliers, 30);
  EXPECT_GE(share.n_outliers, 29);
}

TEST_P(Lof, DistinctRowsWithoutCopiesChangeNothing) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = gaussian(250, 7, 22);
  LofParams params;
  params.novelty = true;
  const LofResult plain = lof_fit(*backend, params, X.view());
  params.distinct_rows = true;
  const LofResult distinct = lof_fit(*backend, params, X.view());
  EXPECT_EQ(distinct.negative_outlier_factor, plain.negative_outlier_factor);
  EXPECT_EQ(distinct.lrd, plain.lrd);
  EXPECT_EQ(distinct.reference.storage(), plain.reference.storage());
  // Rows all identical: fitted as they are, every score −1.
  Matrix<float> same(40, 3);
  for (auto& v : same.storage()) v = 2.0f;
  for (const double s : lof_fit(*backend, params, same.view()).negative_outlier_factor) {
    EXPECT_EQ(s, -1.0);
  }
}

TEST_P(Lof, NoveltyScoresAndResidentFit) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = gaussian(300, 5, 7);
  LofParams params;
  params.n_neighbors = 10;
  EXPECT_THROW(lof_score_samples(*backend, lof_fit(*backend, params, X.view()), X.view()), Error);
  params.novelty = true;
  const LofResult model = lof_fit(*backend, params, X.view());
  // New rows far away score far below −1; a training row scored as new
  // counts itself as a neighbour (distance 0), so its score differs from
  // its training score — as scikit-learn's score_samples.
  Matrix<float> fresh(2, 5);
  for (int64_t t = 0; t < 5; ++t) {
    fresh(0, t) = 8.0f;
    fresh(1, t) = X(3, t);
  }
  const std::vector<double> scores = lof_score_samples(*backend, model, fresh.view());
  EXPECT_LT(scores[0], -3.0);
  EXPECT_EQ(lof_predict(*backend, model, fresh.view())[0], -1);
  EXPECT_NE(scores[1], model.negative_outlier_factor[3]);
  const Matrix<float> narrow = gaussian(2, 4, 9);
  EXPECT_THROW(lof_score_samples(*backend, model, narrow.view()), Error);
  // The fit on rows already on the backend gives the same scores.
  const DeviceArray<float> resident = backend->upload(X);
  const LofResult again = lof_fit(*backend, params, resident);
  EXPECT_EQ(again.negative_outlier_factor, model.negative_outlier_factor);
  EXPECT_EQ(again.reference.storage(), X.storage());
}

TEST_P(Lof, RejectsHostileArguments) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  Matrix<float> X = gaussian(20, 3, 11);
  LofParams params;
  params.n_neighbors = 0;
  EXPECT_THROW(lof_fit(*backend, params, X.view()), Error);
  params.n_neighbors = 5;
  for (const double c : {0.0, -0.1, 0.51, std::nan("")}) {
    params.contamination = c;
    EXPECT_THROW(lof_fit(*backend, params, X.view()), Error) << c;
  }
  params.contamination.reset();
  X(4, 1) = std::nanf("");
  EXPECT_THROW(lof_fit(*backend, params, X.view()), Error);
  EXPECT_THROW(lof_fit(*backend, params, backend->upload(X)), Error);
  EXPECT_THROW(lof_fit(*backend, params, Matrix<float>(0, 3).view()), Error);
  EXPECT_THROW(knn(*backend, gaussian(5, 2, 1).view(), 0), Error);
  EXPECT_THROW(knn(*backend, gaussian(5, 2, 1).view(), 5), Error);
}

INSTANTIATE_TEST_SUITE_P(Backends, Lof, ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

TEST(LofCpu, ThreadCountDoesNotMatter) {
  const Matrix<float> X = gaussian(3000, 8, 13);
  BackendOptions one, two;
  one.cpu.threads = 1;
  two.cpu.threads = 2;
  auto a = make_backend("cpu", one);
  auto b = make_backend("cpu", two);
  EXPECT_EQ(lof_fit(*a, LofParams{}, X.view()).negative_outlier_factor,
            lof_fit(*b, LofParams{}, X.view()).negative_outlier_factor);
}

}  // namespace
}  // namespace stray
