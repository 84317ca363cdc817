// Backend::csr_knn and the sparse overloads of knn and LOF: against the
// definition written as a plain float64 loop over dense rows (the same bits,
// as core/sparse_distance.hpp argues), on every backend; on 0/1 and integer
// rows, where both forms are exact, the same neighbours and scores as the
// dense functions; rows stored unsorted and with repeated columns; the
// thread count; and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "backend_params.hpp"
#include "stray/core/error.hpp"
#include "stray/neighbors/knn.hpp"
#include "stray/neighbors/lof.hpp"

namespace stray {
namespace {

enum class Values { binary, counts, gaussian };

/// n rows of up to `max_nnz` entries over d columns; with `raw`, columns
/// unsorted and sometimes repeated. Every seventh row copies an earlier
/// one, and row 3 (when there is one) is empty.
CsrMatrix random_rows(int64_t n, int64_t d, int64_t max_nnz, Values kind, bool raw, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> count(1, max_nnz), column(0, d - 1), small(1, 4);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  CsrMatrix m;
  m.rows = n;
  m.cols = d;
  for (int64_t i = 0; i < n; ++i) {
    if (i % 7 == 6) {  // a copy of an earlier row
      const int64_t src = std::uniform_int_distribution<int64_t>(0, i - 1)(gen);
      for (int64_t p = m.indptr[src]; p < m.indptr[src + 1]; ++p) {
        m.indices.push_back(m.indices[p]);
        m.values.push_back(m.values[p]);
      }
    } else if (i != 3) {
      std::map<int64_t, float> row;
      const int64_t c = count(gen);
      for (int64_t e = 0; e < c; ++e) {
        const float v = kind == Values::binary ? 1.0f
                        : kind == Values::counts ? static_cast<float>(small(gen))
                                                 : normal(gen);
        row[column(gen)] = v;
      }
      std::vector<std::pair<int64_t, float>> entries(row.begin(), row.end());
      if (raw) {
        std::shuffle(entries.begin(), entries.end(), gen);
        // Split one value over a repeated column (summing to the same float).
        if (!entries.empty() && kind != Values::gaussian) {
          entries[0].second -= 0.5f;
          entries.emplace_back(entries[0].first, 0.5f);
        }
      }
      for (const auto& [col, v] : entries) {
        m.indices.push_back(static_cast<int32_t>(col));
        m.values.push_back(v);
      }
    }
    m.indptr.push_back(m.nnz());
  }
  return m;
}

struct Lists {
  std::vector<int64_t> indices;
  std::vector<double> distances;
};

/// The definition over dense rows: norms and x·y summed over the columns in
/// order (float64), (‖x‖² + ‖y‖²) − 2·x·y clamped at 0; the k smallest
/// (distance, index) pairs.
Lists naive(const CsrMatrix& R, const CsrMatrix* Q, int64_t k) {
  const Matrix<float> dr = csr_to_dense(R);
  const Matrix<float> dq = Q ? csr_to_dense(*Q) : Matrix<float>();
  const Matrix<float>& queries = Q ? dq : dr;
  const int64_t d = R.cols;
  auto dot = [d](const float* x, const float* y) {
    double s = 0.0;
    for (int64_t t = 0; t < d; ++t) s += static_cast<double>(x[t]) * static_cast<double>(y[t]);
    return s;
  };
  std::vector<double> norms(static_cast<std::size_t>(dr.rows()));
  for (int64_t j = 0; j < dr.rows(); ++j) norms[j] = dot(dr.row(j), dr.row(j));
  Lists out;
  for (int64_t i = 0; i < queries.rows(); ++i) {
    std::vector<std::pair<double, int64_t>> all;
    const float* x = queries.row(i);
    const double nx = dot(x, x);
    for (int64_t j = 0; j < dr.rows(); ++j) {
      if (!Q && j == i) continue;
      const double s = (nx + norms[j]) - 2.0 * dot(x, dr.row(j));
      all.emplace_back(s > 0.0 ? s : 0.0, j);
    }
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    for (int64_t c = 0; c < k; ++c) {
      out.indices.push_back(all[c].second);
      out.distances.push_back(std::sqrt(all[c].first));
    }
  }
  return out;
}

Lists lists_of(const KnnResult& r) {
  return Lists{std::vector<int64_t>(r.indices.data(), r.indices.data() + r.indices.size()),
               std::vector<double>(r.distances.data(), r.distances.data() + r.distances.size())};
}

void expect_same(const Lists& got, const Lists& want, const std::string& what) {
  ASSERT_EQ(got.indices.size(), want.indices.size()) << what;
  int64_t wrong = 0;
  for (std::size_t p = 0; p < want.indices.size(); ++p) {
    // Bit for bit: the definition fixes every rounding.
    if (got.indices[p] != want.indices[p] ||
        std::memcmp(&got.distances[p], &want.distances[p], sizeof(double)) != 0) {
      if (++wrong <= 5) {
        ADD_FAILURE() << what << ": entry " << p << " got (" << got.indices[p] << ", "
                      << got.distances[p] << ") want (" << want.indices[p] << ", "
                      << want.distances[p] << ")";
      }
    }
  }
  EXPECT_EQ(wrong, 0) << what;
}

class SparseKnn : public ::testing::TestWithParam<std::string> {};

TEST_P(SparseKnn, IsTheDefinitionBitForBit) {
  BackendOptions small = stray::testing::suite_options();
  small.workspace_bytes = 64 << 10;  // the CUDA backend's query blocks: many, ragged
  STRAY_BACKEND_OR_SKIP(backend, GetParam(), small);
  struct Case {
    int64_t m, q, d, max_nnz, k;
    Values kind;
    bool raw;
  };
  for (const Case c : {Case{2, 0, 3, 2, 1, Values::binary, false},
                       Case{300, 0, 50, 8, 5, Values::binary, true},
                       Case{257, 0, 2000, 30, 20, Values::counts, true},
                       Case{400, 0, 40, 12, 7, Values::gaussian, false},
                       Case{123, 61, 300, 10, 123, Values::gaussian, true},
                       Case{90, 500, 64, 16, 1, Values::counts, false},
                       // Rows sharing few columns: most neighbours share none.
                       Case{400, 0, 3000, 4, 10, Values::counts, true},
                       Case{300, 50, 3000, 4, 25, Values::binary, false}}) {
    const auto seed = static_cast<uint32_t>(c.m + c.q);
    const CsrMatrix R = random_rows(c.m, c.d, c.max_nnz, c.kind, c.raw, 7 + seed);
    const CsrMatrix Q = random_rows(c.q, c.d, c.max_nnz, c.kind, c.raw, 9 + seed);
    const std::string what = "m=" + std::to_string(c.m) + " q=" + std::to_string(c.q) +
                             " d=" + std::to_string(c.d) + " k=" + std::to_string(c.k);
    if (c.q == 0) {
      expect_same(lists_of(knn(*backend, R, c.k)), naive(R, nullptr, c.k), what);
    } else {
      expect_same(lists_of(knn(*backend, R, Q, c.k)), naive(R, &Q, c.k), what);
    }
  }
}

TEST_P(SparseKnn, ExactRowsGiveTheDenseAnswer) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // 0/1 and small counts: every distance is exact in both forms, so the
  // sparse and dense searches agree to the bit, ties and copies included.
  for (const Values kind : {Values::binary, Values::counts}) {
    const CsrMatrix X = random_rows(600, 80, 10, kind, true, 31);
    const Matrix<float> dense = csr_to_dense(X);
    expect_same(lists_of(knn(*backend, X, 15)), lists_of(knn(*backend, dense.view(), 15)), "self");
    const CsrMatrix Q = random_rows(40, 80, 10, kind, false, 37);
    expect_same(lists_of(knn(*backend, X, Q, 9)),
                lists_of(knn(*backend, dense.view(), csr_to_dense(Q).view(), 9)), "queries");
  }
}

TEST_P(SparseKnn, IdenticalRowsAreAtDistanceZero) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Values whose squares round: x·x must still cancel ‖x‖² exactly.
  CsrMatrix X;
  X.rows = 5;
  X.cols = 4;
  for (int i = 0; i < 5; ++i) {
    X.indices.insert(X.indices.end(), {0, 2, 3});
    X.values.insert(X.values.end(), {0.1f, 1.0f / 3.0f, 12345.678f});
    X.indptr.push_back(X.nnz());
  }
  const KnnResult r = knn(*backend, X, 4);
  for (int64_t p = 0; p < r.distances.size(); ++p) EXPECT_EQ(r.distances.data()[p], 0.0);
  EXPECT_EQ(r.indices(0, 0), 1);
  EXPECT_EQ(r.indices(4, 3), 3);
}

TEST_P(SparseKnn, RejectsBadInput) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const CsrMatrix X = random_rows(10, 6, 3, Values::counts, false, 3);
  EXPECT_THROW(knn(*backend, X, 0), Error);
  EXPECT_THROW(knn(*backend, X, 10), Error);  // 9 other rows
  EXPECT_NO_THROW(knn(*backend, X, 9));
  CsrMatrix wide = X;
  wide.cols = 7;
  try {
    knn(*backend, X, wide, 2);
    ADD_FAILURE() << "different widths accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::shape_mismatch);
  }
  CsrMatrix bad = X;
  bad.indices[2] = 6;  // outside [0, 6)
  EXPECT_THROW(knn(*backend, bad, 2), Error);
  CsrMatrix huge = X;  // a repeated column whose values add up past float32
  huge.indices[0] = huge.indices[1] = 0;
  huge.values[0] = huge.values[1] = 3e38f;
  huge.indptr[1] = std::max<int64_t>(huge.indptr[1], 2);
  try {
    knn(*backend, huge, 2);
    ADD_FAILURE() << "overflowing repeats accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::non_finite_input) << e.what();
  }
}

/// LOF on sparse rows: the dense LOF's scores where distances are exact,
/// distinct rows alike, and novelty scoring of either form against either
/// form of model.
TEST_P(SparseKnn, LofOnExactRowsIsTheDenseLof) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const CsrMatrix X = random_rows(500, 60, 8, Values::binary, true, 41);
  const Matrix<float> dense = csr_to_dense(X);
  for (const bool distinct : {false, true}) {
    LofParams p;
    p.distinct_rows = distinct;
    p.keep_neighbors = true;
    p.novelty = true;
    const LofResult s = lof_fit(*backend, p, X);
    const LofResult d = lof_fit(*backend, p, dense.view());
    EXPECT_EQ(s.negative_outlier_factor, d.negative_outlier_factor) << "distinct=" << distinct;
    EXPECT_EQ(s.labels, d.labels);
    EXPECT_EQ(s.offset, d.offset);
    EXPECT_EQ(s.neighbor_indices.storage(), d.neighbor_indices.storage());
    EXPECT_EQ(s.sparse_reference.rows, static_cast<int64_t>(distinct ? s.lrd.size() : 500));
    EXPECT_TRUE(s.reference.empty());

    const CsrMatrix fresh = random_rows(30, 60, 8, Values::binary, false, 43);
    const Matrix<float> fresh_dense = csr_to_dense(fresh);
    const std::vector<double> want = lof_score_samples(*backend, d, fresh_dense.view());
    EXPECT_EQ(lof_score_samples(*backend, s, fresh), want);
    EXPECT_EQ(lof_score_samples(*backend, s, fresh_dense.view()), want);
    EXPECT_EQ(lof_score_samples(*backend, d, fresh), want);
    EXPECT_EQ(lof_predict(*backend, s, fresh), lof_predict(*backend, d, fresh_dense.view()));
  }
}

TEST_P(SparseKnn, LofRejectsBadModelsAndInput) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const CsrMatrix X = random_rows(50, 10, 4, Values::counts, false, 5);
  LofParams p;
  p.novelty = true;
  p.n_neighbors = 5;
  LofResult model = lof_fit(*backend, p, X);
  const CsrMatrix narrow = random_rows(5, 9, 4, Values::counts, false, 6);
  EXPECT_THROW(lof_score_samples(*backend, model, narrow), Error);
  model.sparse_reference.indptr.pop_back();  // rows without their pointers
  EXPECT_THROW(lof_score_samples(*backend, model, X), Error);
  model = lof_fit(*backend, p, X);
  model.sparse_reference.indices[0] = 99;  // a column outside the model's width
  EXPECT_THROW(lof_score_samples(*backend, model, X), Error);
  CsrMatrix one_row = X;
  one_row.rows = 1;
  one_row.indptr.resize(2);
  EXPECT_THROW(lof_fit(*backend, p, one_row), Error);
}

INSTANTIATE_TEST_SUITE_P(Backends, SparseKnn,
                         ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

TEST(SparseKnnCpu, ThreadCountDoesNotMatter) {
  BackendOptions one, two;
  one.cpu.threads = 1;
  two.cpu.threads = 2;
  auto a = make_backend("cpu", one);
  auto b = make_backend("cpu", two);
  const CsrMatrix X = random_rows(777, 500, 20, Values::gaussian, true, 53);
  expect_same(lists_of(knn(*a, X, 12)), lists_of(knn(*b, X, 12)), "threads");
}

}  // namespace
}  // namespace stray
