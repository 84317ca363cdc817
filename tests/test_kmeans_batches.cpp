// k-means over batches, on every backend: a batch's statistics against a
// naive float64 loop, merging in any grouping, the M-step against
// kmeans_fit's, the fit over batches against kmeans_fit on the same rows
// (dense, sparse, from a .npy file, across thread counts), and bad input.
// scikit-learn's answers for the fit over batches are in
// test_kmeans_golden.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "backend_params.hpp"
#include "core/rng.hpp"
#include "stray/cluster/kmeans_batches.hpp"
#include "stray/cluster/kmeans_statistics.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npy_rows.hpp"
#include "stray/metrics/metrics.hpp"
#include "stray/synthetic/datasets.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

Blobs blobs(int64_t n, int64_t d, int64_t centers, double std, uint64_t seed) {
  BlobsParams p;
  p.n_samples = n;
  p.n_features = d;
  p.n_centers = centers;
  p.cluster_std = std;
  p.center_box = 20.0;
  p.seed = seed;
  return make_blobs(p);
}

Matrix<float> first_rows(const Matrix<float>& X, int64_t k) {
  return Matrix<float>::copy_of(X.view().row_block(0, k));
}

std::vector<float> varied_weights(int64_t n) {
  std::vector<float> w(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) w[i] = 0.25f * static_cast<float>(i % 5);
  return w;
}

double naive_sq_distance(MatrixView<const float> X, int64_t i, const Matrix<float>& C, int64_t c) {
  double s = 0.0;
  for (int64_t j = 0; j < X.cols(); ++j) {
    const double diff = static_cast<double>(X(i, j)) - C(c, j);
    s += diff * diff;
  }
  return s;
}

// Lloyd's statistics by the definition, in float64.
struct NaiveStatistics {
  std::vector<double> sums, weights;
  double inertia = 0.0;
  std::vector<int32_t> labels;
  std::vector<double> sq_dist;
};

NaiveStatistics naive_statistics(MatrixView<const float> X, const Matrix<float>& C,
                                 const std::vector<float>& w) {
  const int64_t k = C.rows(), d = C.cols();
  NaiveStatistics out;
  out.sums.assign(static_cast<std::size_t>(k * d), 0.0);
  out.weights.assign(static_cast<std::size_t>(k), 0.0);
  for (int64_t i = 0; i < X.rows(); ++i) {
    int32_t best = 0;
    for (int32_t c = 1; c < k; ++c) {
      if (naive_sq_distance(X, i, C, c) < naive_sq_distance(X, i, C, best)) best = c;
    }
    const double dist = naive_sq_distance(X, i, C, best);
    out.labels.push_back(best);
    out.sq_dist.push_back(dist);
    out.inertia += w[i] * dist;
    out.weights[best] += w[i];
    for (int64_t j = 0; j < d; ++j) out.sums[best * d + j] += static_cast<double>(w[i]) * X(i, j);
  }
  return out;
}

class KMeansBatches : public ::testing::TestWithParam<std::string> {};

TEST_P(KMeansBatches, StatisticsMatchNaiveFloat64) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = blobs(700, 6, 4, 2.0, 1);
  const Matrix<float> C = first_rows(b.X, 5);
  const std::vector<float> w = varied_weights(700);
  const NaiveStatistics want = naive_statistics(b.X.view(), C, w);
  const CsrMatrix sparse = dense_to_csr(b.X.view());
  for (bool as_csr : {false, true}) {
    const KMeansStatistics got = as_csr ? kmeans_statistics(*backend, C.view(), sparse.view(), &w, 100)
                                        : kmeans_statistics(*backend, C.view(), b.X.view(), &w, 100);
    ASSERT_EQ(got.n_clusters(), 5);
    ASSERT_EQ(got.n_features(), 6);
    EXPECT_EQ(got.n_samples, 700);
    for (int64_t c = 0; c < 5; ++c) {
      EXPECT_NEAR(got.weights[c], want.weights[c], 1e-9) << c;
      for (int64_t j = 0; j < 6; ++j) {
        // Exact products summed in float64: only the order of the sums differs.
        EXPECT_NEAR(got.sums(c, j), want.sums[c * 6 + j], 1e-12 * (1.0 + want.weights[c] * 30.0))
            << c << "," << j;
      }
    }
    // Each distance within float32 rounding of the exact one.
    EXPECT_NEAR(got.inertia, want.inertia, 1e-5 * want.inertia);
    // The farthest rows: the k largest exact distances, farthest first.
    std::vector<int64_t> order(700);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t c) { return want.sq_dist[a] > want.sq_dist[c]; });
    ASSERT_EQ(got.farthest.size(), 5u);
    for (std::size_t f = 0; f < 5; ++f) {
      const KMeansFarRow& far = got.farthest[f];
      EXPECT_EQ(far.row, 100 + order[f]) << "as_csr " << as_csr << " far " << f;
      EXPECT_EQ(far.label, want.labels[order[f]]);
      EXPECT_EQ(far.weight, w[order[f]]);
      EXPECT_NEAR(far.sq_distance, want.sq_dist[order[f]], 1e-5 * want.sq_dist[order[f]]);
      ASSERT_EQ(far.columns.size(), 6u);  // the blobs' values are all non-zero
      for (std::size_t j = 0; j < 6; ++j) EXPECT_EQ(far.values[j], b.X(order[f], j));
    }
  }
}

// The statistics of the rows [begin, end) of X.
KMeansStatistics part(Backend& backend, const Matrix<float>& C, const Matrix<float>& X,
                      int64_t begin, int64_t end) {
  return kmeans_statistics(backend, C.view(), X.view().row_block(begin, end - begin), nullptr,
                           begin);
}

TEST_P(KMeansBatches, MergeInAnyGroupingGivesTheSameStatistics) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = blobs(900, 5, 3, 3.0, 2);
  const Matrix<float> C = first_rows(b.X, 4);
  const KMeansStatistics whole = part(*backend, C, b.X, 0, 900);
  KMeansStatistics left;  // default-constructed: takes the first merge's shape
  left.merge(part(*backend, C, b.X, 0, 250));
  left.merge(part(*backend, C, b.X, 250, 600));
  left.merge(part(*backend, C, b.X, 600, 900));
  KMeansStatistics right = part(*backend, C, b.X, 600, 900);
  KMeansStatistics middle = part(*backend, C, b.X, 250, 600);
  middle.merge(part(*backend, C, b.X, 0, 250));
  right.merge(middle);
  for (const KMeansStatistics* s : {&left, &right}) {
    EXPECT_EQ(s->n_samples, 900);
    // Float32 distances, each batch centred on its own means: within their rounding.
    EXPECT_NEAR(s->inertia, whole.inertia, 1e-6 * whole.inertia);
    for (int64_t c = 0; c < 4; ++c) {
      EXPECT_EQ(s->weights[c], whole.weights[c]);
      for (int64_t j = 0; j < 5; ++j) {
        EXPECT_NEAR(s->sums(c, j), whole.sums(c, j), 1e-12 * (1.0 + std::abs(whole.sums(c, j))));
      }
    }
    ASSERT_EQ(s->farthest.size(), whole.farthest.size());
    for (std::size_t f = 0; f < whole.farthest.size(); ++f) {
      EXPECT_EQ(s->farthest[f].row, whole.farthest[f].row) << f;
      EXPECT_EQ(s->farthest[f].label, whole.farthest[f].label) << f;
    }
  }
  KMeansStatistics other(3, 5);
  EXPECT_THROW(left.merge(other), Error);
  KMeansStatistics forged = whole;  // weights cut short, as from a corrupt message
  forged.weights.pop_back();
  EXPECT_THROW(left.merge(forged), Error);
}

TEST_P(KMeansBatches, UpdateIsKMeansFitsStep) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = blobs(1500, 4, 5, 2.5, 3);
  KMeansParams p;
  p.n_clusters = 6;
  p.init = KMeansInit::explicit_centers;
  p.initial_centers = first_rows(b.X, 6);
  p.max_iter = 1;
  const KMeansResult one = kmeans_fit(*backend, p, b.X.view());
  const KMeansUpdate update = kmeans_update(
      p.initial_centers.view(), kmeans_statistics(*backend, p.initial_centers.view(), b.X.view()));
  EXPECT_TRUE(update.relocated.empty());
  double squared = 0.0;
  for (int64_t c = 0; c < 6; ++c) {
    for (int64_t j = 0; j < 4; ++j) {
      // The same mean; the sums were taken about other origins.
      EXPECT_NEAR(update.centers(c, j), one.centers(c, j), 2e-6 * (1.0 + std::abs(one.centers(c, j))));
      const double moved = static_cast<double>(update.centers(c, j)) - p.initial_centers(c, j);
      squared += moved * moved;
    }
  }
  EXPECT_NEAR(update.squared_shift, squared, 1e-9 * squared);
}

TEST_P(KMeansBatches, EmptyClusterTakesTheFarthestRowAcrossBatches) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // As KMeans.EmptyClusterTakesTheFarthestPoint, with the rows in two
  // batches: the centre at −1000 attracts nothing and takes row 5 (30.0),
  // which lies in the second batch.
  Matrix<float> X(6, 1);
  const float xs[] = {0.0f, 0.1f, 0.2f, 10.0f, 10.1f, 30.0f};
  for (int i = 0; i < 6; ++i) X(i, 0) = xs[i];
  Matrix<float> C(3, 1);
  C(0, 0) = 0.0f;
  C(1, 0) = 10.0f;
  C(2, 0) = -1000.0f;
  KMeansStatistics s = kmeans_statistics(*backend, C.view(), X.view().row_block(0, 3), nullptr, 0);
  s.merge(kmeans_statistics(*backend, C.view(), X.view().row_block(3, 3), nullptr, 3));
  const KMeansUpdate u = kmeans_update(C.view(), s);
  EXPECT_EQ(u.relocated, (std::vector<int64_t>{2}));
  EXPECT_EQ(u.centers(2, 0), 30.0f);
  EXPECT_NEAR(u.centers(1, 0), 10.05f, 1e-5);  // row 5 left cluster 1

  BatchKMeansParams p;
  p.kmeans.n_clusters = 3;
  p.kmeans.init = KMeansInit::explicit_centers;
  p.kmeans.initial_centers = C;
  MatrixRowBatches batches(X.view(), 4);
  const BatchKMeansResult fit = kmeans_fit_batches(*backend, p, batches);
  const KMeansResult whole = kmeans_fit(*backend, p.kmeans, X.view());
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(fit.centers(c, 0), whole.centers(c, 0), 1e-5) << c;
  EXPECT_EQ(fit.n_iter, whole.n_iter);
}

void expect_same_fit(const BatchKMeansResult& got, const KMeansResult& want, const std::string& what) {
  EXPECT_EQ(got.n_iter, want.n_iter) << what;
  EXPECT_EQ(got.converged, want.converged) << what;
  EXPECT_NEAR(got.inertia, want.inertia, 1e-6 * want.inertia) << what;
  ASSERT_EQ(got.centers.rows(), want.centers.rows()) << what;
  for (int64_t e = 0; e < want.centers.size(); ++e) {
    const float w = want.centers.storage()[e];
    EXPECT_NEAR(got.centers.storage()[e], w, 2e-6 * (1.0 + std::abs(w))) << what << " " << e;
  }
  EXPECT_EQ(got.cluster_sizes, want.cluster_sizes) << what;
}

TEST_P(KMeansBatches, ExplicitCentresGiveKMeansFitsAnswer) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = blobs(3000, 8, 6, 2.0, 4);
  const std::vector<float> w = varied_weights(3000);
  BatchKMeansParams p;
  p.kmeans.n_clusters = 6;
  p.kmeans.init = KMeansInit::explicit_centers;
  p.kmeans.initial_centers = first_rows(b.X, 6);
  const KMeansResult want = kmeans_fit(*backend, p.kmeans, b.X.view(), &w);
  for (int64_t batch_rows : {int64_t{1000}, int64_t{257}, int64_t{3000}}) {
    MatrixRowBatches batches(b.X.view(), batch_rows, &w);
    const BatchKMeansResult got = kmeans_fit_batches(*backend, p, batches);
    expect_same_fit(got, want, "batches of " + std::to_string(batch_rows));
    EXPECT_EQ(got.n_samples, 3000);
    EXPECT_EQ(got.sample_rows, 0);
  }
}

// Bounds kept between passes skip rows, never change a label: the same
// centres to the bit, with fewer distances computed.
TEST_P(KMeansBatches, KeptBoundsChangeNothingButTheWork) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = blobs(6000, 10, 12, 3.5, 12);  // overlapping: many passes
  BatchKMeansParams p;
  p.kmeans.n_clusters = 12;
  p.kmeans.init = KMeansInit::explicit_centers;  // a poor start: many passes
  p.kmeans.initial_centers = first_rows(b.X, 12);
  p.kmeans.tol = 0.0;
  MatrixRowBatches batches(b.X.view(), 1100);
  p.keep_bounds = true;
  const BatchKMeansResult kept = kmeans_fit_batches(*backend, p, batches);
  p.keep_bounds = false;
  const BatchKMeansResult full = kmeans_fit_batches(*backend, p, batches);
  EXPECT_GT(kept.n_iter, 5);
  EXPECT_EQ(kept.n_iter, full.n_iter);
  EXPECT_EQ(kept.centers.storage(), full.centers.storage());
  EXPECT_EQ(kept.cluster_sizes, full.cluster_sizes);
  EXPECT_NEAR(kept.inertia, full.inertia, 1e-12 * full.inertia);
}

TEST_P(KMeansBatches, SampleOfEveryRowIsKMeansFit) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = blobs(4000, 5, 7, 3.0, 5);
  BatchKMeansParams p;
  p.kmeans.n_clusters = 7;
  p.kmeans.seed = 11;
  const KMeansResult want = kmeans_fit(*backend, p.kmeans, b.X.view());
  MatrixRowBatches batches(b.X.view(), 900);
  const BatchKMeansResult got = kmeans_fit_batches(*backend, p, batches);
  // The sample is every row in order: its fit is kmeans_fit's, and one full
  // pass confirms it (the centres move by rounding at most).
  EXPECT_EQ(got.sample_rows, 4000);
  EXPECT_EQ(got.sample_iter, want.n_iter);
  EXPECT_LE(got.n_iter, 2);
  EXPECT_NEAR(got.inertia, want.inertia, 1e-6 * want.inertia);
  const NearestCenters labels = kmeans_predict(*backend, got.centers.view(), b.X.view());
  EXPECT_EQ(labels.labels, want.labels);
}

TEST_P(KMeansBatches, SmallSampleThenFullPassesFindTheBlobs) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = blobs(20000, 6, 9, 1.0, 6);
  BatchKMeansParams p;
  p.kmeans.n_clusters = 9;
  p.kmeans.seed = 3;
  p.init_sample_rows = 500;
  MatrixRowBatches batches(b.X.view(), 3000);
  const BatchKMeansResult got = kmeans_fit_batches(*backend, p, batches);
  EXPECT_EQ(got.sample_rows, 500);
  EXPECT_TRUE(got.converged);
  // The first pass, one a Lloyd iteration, and one for the inertia unless
  // the last iteration left the centres where they were.
  EXPECT_GE(got.passes, 1 + got.n_iter);
  EXPECT_LE(got.passes, 2 + got.n_iter);
  const NearestCenters labels = kmeans_predict(*backend, got.centers.view(), b.X.view());
  EXPECT_DOUBLE_EQ(adjusted_rand_score(b.labels, labels.labels), 1.0);
  const KMeansResult whole = kmeans_fit(*backend, p.kmeans, b.X.view());
  EXPECT_NEAR(got.inertia, whole.inertia, 1e-5 * whole.inertia);
  double total = 0.0;
  for (double s : got.cluster_sizes) total += s;
  EXPECT_EQ(total, 20000.0);
  if (GetParam() == "cpu") {
    for (int threads : {1, 2, 3}) {
      BackendOptions o;
      o.cpu.threads = threads;
      auto other = make_backend("cpu", o);
      const BatchKMeansResult again = kmeans_fit_batches(*other, p, batches);
      EXPECT_EQ(again.centers.storage(), got.centers.storage()) << threads << " threads";
      EXPECT_EQ(again.inertia, got.inertia) << threads << " threads";
    }
  }
}

// 0/1 rows in roles, as packages are.
Matrix<float> role_rows(int64_t n, int64_t d, int64_t roles, uint64_t seed) {
  internal::Rng rng(seed);
  Matrix<float> X(n, d);
  const int64_t width = d / roles;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = static_cast<int64_t>(rng.below(static_cast<uint64_t>(roles)));
    for (int64_t j = r * width; j < (r + 1) * width; ++j) X(i, j) = rng.uniform() < 0.8 ? 1.0f : 0.0f;
    X(i, static_cast<int64_t>(rng.below(static_cast<uint64_t>(d)))) = 1.0f;
  }
  return X;
}

TEST_P(KMeansBatches, SparseBatchesGiveTheDenseBatchesFit) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Matrix<float> X = role_rows(2500, 60, 5, 7);
  const CsrMatrix sparse = dense_to_csr(X.view());
  BatchKMeansParams p;
  p.kmeans.n_clusters = 5;
  p.kmeans.seed = 2;
  p.init_sample_rows = 800;
  MatrixRowBatches dense_batches(X.view(), 600);
  CsrRowBatches sparse_batches(sparse.view(), 600);
  const BatchKMeansResult d = kmeans_fit_batches(*backend, p, dense_batches);
  const BatchKMeansResult s = kmeans_fit_batches(*backend, p, sparse_batches);
  EXPECT_EQ(s.n_iter, d.n_iter);
  EXPECT_EQ(s.cluster_sizes, d.cluster_sizes);
  EXPECT_NEAR(s.inertia, d.inertia, 1e-5 * d.inertia);
  for (int64_t e = 0; e < d.centers.size(); ++e) {
    EXPECT_NEAR(s.centers.storage()[e], d.centers.storage()[e], 1e-5) << e;
  }
  // And the sparse fit on the whole matrix, from the same centres.
  p.kmeans.init = KMeansInit::explicit_centers;
  p.kmeans.initial_centers = first_rows(X, 5);
  const KMeansResult whole = kmeans_fit(*backend, p.kmeans, sparse.view());
  expect_same_fit(kmeans_fit_batches(*backend, p, sparse_batches), whole, "sparse, explicit");
}

TEST_P(KMeansBatches, NpyFileReadInBlocks) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = blobs(2000, 3, 4, 1.0, 8);
  stray::testing::TempDir dir;
  const std::string path = (dir.path() / "rows.npy").string();
  Matrix<double> wide(2000, 3);  // float64 on disk, converted block by block
  for (int64_t e = 0; e < wide.size(); ++e) wide.storage()[e] = b.X.storage()[e];
  write_npy(path, wide.view());
  BatchKMeansParams p;
  p.kmeans.n_clusters = 4;
  p.init_sample_rows = 300;
  NpyRowBatches from_file(path, 333);
  EXPECT_EQ(from_file.rows(), 2000);
  EXPECT_EQ(from_file.cols(), 3);
  MatrixRowBatches in_memory(b.X.view(), 333);
  const BatchKMeansResult f = kmeans_fit_batches(*backend, p, from_file);
  const BatchKMeansResult m = kmeans_fit_batches(*backend, p, in_memory);
  EXPECT_EQ(f.centers.storage(), m.centers.storage());
  EXPECT_EQ(f.inertia, m.inertia);
}

// Batches from a list, as a caller's source might give them; `shrink`
// drops the last batch after the first pass (a source that changed).
class ListedBatches : public RowBatches {
 public:
  std::vector<RowBatch> batches;
  bool shrink = false;
  /// When set, the dense batches pass `later_from` and after give instead.
  std::vector<MatrixView<const float>> later;
  int later_from = 1;
  void for_each(const std::function<void(const RowBatch&)>& visit) override {
    const std::size_t count = shrink && passes_ > 0 ? batches.size() - 1 : batches.size();
    for (std::size_t b = 0; b < count; ++b) {
      RowBatch batch = batches[b];
      if (passes_ >= later_from && !later.empty()) batch.dense = later[b];
      visit(batch);
    }
    ++passes_;
  }

 private:
  int passes_ = 0;
};

template <typename Fn>
void expect_error(ErrorCode code, const std::string& says, Fn&& fn) {
  try {
    fn();
    ADD_FAILURE() << "expected stray::Error(" << error_code_name(code) << ") saying " << says;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TEST_P(KMeansBatches, BadSourcesAreClearErrors) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = blobs(60, 3, 2, 1.0, 9);
  BatchKMeansParams p;
  p.kmeans.n_clusters = 2;
  const auto fit = [&](RowBatches& source) { kmeans_fit_batches(*backend, p, source); };

  ListedBatches changing;
  changing.batches.resize(2);
  changing.batches[0].dense = b.X.view().row_block(0, 30);
  changing.batches[1].dense = b.X.view().row_block(30, 30);
  changing.shrink = true;
  expect_error(ErrorCode::shape_mismatch, "the source must repeat its rows", [&] { fit(changing); });

  const CsrMatrix sparse = dense_to_csr(b.X.view());
  ListedBatches mixed;
  mixed.batches.resize(2);
  mixed.batches[0].dense = b.X.view().row_block(0, 30);
  CsrView sparse_view = sparse.view();
  mixed.batches[1].sparse = &sparse_view;
  expect_error(ErrorCode::shape_mismatch, "sparse", [&] { fit(mixed); });

  CsrMatrix broken = dense_to_csr(b.X.view());
  broken.indices[5] = 3;  // a column beyond the 3 there are
  CsrRowBatches broken_rows(broken.view(), 16);
  expect_error(ErrorCode::invalid_argument, "kmeans_fit_batches", [&] { fit(broken_rows); });

  const Matrix<float> narrow(10, 2);
  ListedBatches widths;
  widths.batches.resize(2);
  widths.batches[0].dense = b.X.view().row_block(0, 30);
  widths.batches[1].dense = narrow.view();
  expect_error(ErrorCode::shape_mismatch, "columns", [&] { fit(widths); });

  Matrix<float> poisoned = Matrix<float>::copy_of(b.X.view());
  poisoned(41, 2) = std::nanf("");
  MatrixRowBatches nan_rows(poisoned.view(), 16);
  // Named by its row in the source, not in its batch (row 9 of the third).
  expect_error(ErrorCode::non_finite_input, "X[41, 2] = nan", [&] { fit(nan_rows); });

  // Rows are scanned on their first passes only (the one that reads the
  // source and the first Lloyd pass): a value that turns NaN or Inf after
  // them is caught at that batch's distances, naming the row.
  BatchKMeansParams from_few = p;
  from_few.init_sample_rows = 6;  // so that Lloyd's passes have work to do
  MatrixRowBatches clean(b.X.view(), 30);
  ASSERT_GE(kmeans_fit_batches(*backend, from_few, clean).passes, 3);
  // The clean rows in two batches, `poisoned`'s from pass `from` on.
  const auto turning_from = [&](int from) {
    ListedBatches turning;
    turning.batches.resize(2);
    turning.batches[0].dense = b.X.view().row_block(0, 30);
    turning.batches[1].dense = b.X.view().row_block(30, 30);
    turning.later = {poisoned.view().row_block(0, 30), poisoned.view().row_block(30, 30)};
    turning.later_from = from;
    return turning;
  };
  // From the first Lloyd pass (the pass after the one that read the source
  // clean): caught by the column statistics that decide the centring, the
  // cell named by its row in the source too.
  ListedBatches first_lloyd = turning_from(1);
  expect_error(ErrorCode::non_finite_input, "X[41, 2] = nan",
               [&] { kmeans_fit_batches(*backend, from_few, first_lloyd); });
  // And the statistics of one batch, given where it starts in the source.
  expect_error(ErrorCode::non_finite_input, "X[41, 2] = nan", [&] {
    kmeans_statistics(*backend, b.X.view().row_block(0, 2), poisoned.view().row_block(30, 30),
                      nullptr, 30);
  });
  for (const float bad : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    ListedBatches turning = turning_from(2);
    poisoned(41, 2) = bad;
    expect_error(ErrorCode::non_finite_input, "row 41",
                 [&] { kmeans_fit_batches(*backend, from_few, turning); });
  }

  std::vector<float> w(60, 1.0f);
  w[7] = -1.0f;
  MatrixRowBatches negative(b.X.view(), 16, &w);
  expect_error(ErrorCode::invalid_argument, "row 7", [&] { fit(negative); });
  std::fill(w.begin(), w.end(), 0.0f);
  MatrixRowBatches weightless(b.X.view(), 16, &w);
  expect_error(ErrorCode::invalid_argument, "sums to 0", [&] { fit(weightless); });

  ListedBatches none;
  expect_error(ErrorCode::invalid_argument, "no rows", [&] { fit(none); });

  MatrixRowBatches rows(b.X.view(), 16);
  p.init_sample_rows = -1;
  expect_error(ErrorCode::invalid_argument, "init_sample_rows", [&] { fit(rows); });
  p.init_sample_rows = 0;
  p.kmeans.n_clusters = 61;
  expect_error(ErrorCode::invalid_argument, "n_clusters=61", [&] { fit(rows); });

  expect_error(ErrorCode::invalid_argument, "batch_rows", [&] { MatrixRowBatches(b.X.view(), 0); });
  expect_error(ErrorCode::shape_mismatch, "sample_weight", [&] {
    const std::vector<float> short_weights(59, 1.0f);
    MatrixRowBatches(b.X.view(), 10, &short_weights);
  });
}

TEST_P(KMeansBatches, BadStatisticsAreClearErrors) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const Blobs b = blobs(40, 3, 2, 1.0, 10);
  const Matrix<float> C = first_rows(b.X, 2);
  const Matrix<float> wide_centres(2, 4);
  expect_error(ErrorCode::shape_mismatch, "features",
               [&] { kmeans_statistics(*backend, wide_centres.view(), b.X.view()); });
  const std::vector<float> short_weights(39, 1.0f);
  expect_error(ErrorCode::shape_mismatch, "sample_weight",
               [&] { kmeans_statistics(*backend, C.view(), b.X.view(), &short_weights); });
  expect_error(ErrorCode::invalid_argument, "first_row",
               [&] { kmeans_statistics(*backend, C.view(), b.X.view(), nullptr, -1); });

  KMeansStatistics s = kmeans_statistics(*backend, C.view(), b.X.view());
  expect_error(ErrorCode::shape_mismatch, "centres are",
               [&] { kmeans_update(wide_centres.view(), s); });
  // Statistics carried between processes are checked before they move sums.
  KMeansStatistics forged = s;
  forged.farthest[0].label = 7;
  expect_error(ErrorCode::invalid_argument, "label 7", [&] { kmeans_update(C.view(), forged); });
  forged = s;
  forged.farthest[0].columns[0] = 3;
  expect_error(ErrorCode::invalid_argument, "column 3", [&] { kmeans_update(C.view(), forged); });
  forged = s;
  forged.farthest[0].values.pop_back();
  expect_error(ErrorCode::shape_mismatch, "values", [&] { kmeans_update(C.view(), forged); });
  forged = s;
  forged.weights.pop_back();
  expect_error(ErrorCode::shape_mismatch, "weights", [&] { kmeans_update(C.view(), forged); });
  forged = s;
  forged.sums(1, 2) = std::numeric_limits<double>::infinity();
  expect_error(ErrorCode::non_finite_input, "sums", [&] { kmeans_update(C.view(), forged); });
  forged = s;
  forged.weights[0] = -1.0;
  expect_error(ErrorCode::invalid_argument, "weight -1", [&] { kmeans_update(C.view(), forged); });
}

TEST(NpyRowReader, ReadsBlocksAndRefusesWhatIsNotThere) {
  stray::testing::TempDir dir;
  const std::string path = (dir.path() / "m.npy").string();
  Matrix<float> M(5, 2);
  for (int64_t e = 0; e < 10; ++e) M.storage()[e] = static_cast<float>(e) - 3.5f;
  write_npy(path, M.view());
  NpyRowReader reader(path);
  const Matrix<float> middle = reader.read_rows(1, 3);
  ASSERT_EQ(middle.rows(), 3);
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t j = 0; j < 2; ++j) EXPECT_EQ(middle(i, j), M(i + 1, j));
  }
  EXPECT_EQ(reader.read_rows(5, 0).rows(), 0);
  expect_error(ErrorCode::invalid_argument, "outside", [&] { reader.read_rows(4, 2); });
  expect_error(ErrorCode::invalid_argument, "outside", [&] { reader.read_rows(-1, 1); });

  const std::string vector_path = (dir.path() / "v.npy").string();
  write_npy(vector_path, std::vector<int64_t>{4, 5, 6});  // 1-D, integers: one column
  NpyRowReader column(vector_path);
  EXPECT_EQ(column.cols(), 1);
  EXPECT_EQ(column.read_rows(2, 1)(0, 0), 6.0f);

  // A file cut short is refused when opened, before anything is read.
  const std::string cut = (dir.path() / "cut.npy").string();
  std::filesystem::copy_file(path, cut);
  std::filesystem::resize_file(cut, std::filesystem::file_size(cut) - 4);
  expect_error(ErrorCode::parse_error, "truncated", [&] { NpyRowReader{cut}; });
  expect_error(ErrorCode::io_error, "NpyRowReader",
               [&] { NpyRowReader{(dir.path() / "absent.npy").string()}; });
  expect_error(ErrorCode::invalid_argument, "batch_rows", [&] { NpyRowBatches(path, 0); });
}

// Read ahead or not, a file gives the same batches in the same order; a
// file that shrinks after it was opened is an error at the batch it cuts,
// after the batches before it were visited.
TEST(NpyRowBatches, ReadingAheadGivesTheSameBatchesAndErrors) {
  stray::testing::TempDir dir;
  const std::string path = (dir.path() / "m.npy").string();
  Matrix<float> M(7, 3);
  for (int64_t e = 0; e < M.size(); ++e) M.storage()[e] = static_cast<float>(e) * 0.5f;
  write_npy(path, M.view());
  const auto batches_of = [&](NpyRowBatches& source, int* visited) {
    std::vector<std::vector<float>> seen;
    *visited = 0;
    source.for_each([&](const RowBatch& b) {
      ++*visited;
      seen.emplace_back(b.dense.data(), b.dense.data() + b.rows() * b.cols());
    });
    return seen;
  };
  int visited = 0;
  NpyRowBatches ahead(path, 3), plain(path, 3, nullptr, false);
  const auto a = batches_of(ahead, &visited);
  ASSERT_EQ(a.size(), 3u);  // 3 + 3 + 1 rows
  EXPECT_EQ(a, batches_of(plain, &visited));
  EXPECT_EQ(a, batches_of(ahead, &visited));  // a second pass, buffers reused
  std::vector<float> all;
  for (const auto& batch : a) all.insert(all.end(), batch.begin(), batch.end());
  EXPECT_EQ(all, std::vector<float>(M.storage().begin(), M.storage().end()));

  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 4);
  for (NpyRowBatches* source : {&ahead, &plain}) {
    expect_error(ErrorCode::parse_error, "rows [6, 7)", [&] { batches_of(*source, &visited); });
    EXPECT_EQ(visited, 2);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, KMeansBatches,
                         ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace
}  // namespace stray
