// k-means against scikit-learn's own results (tests/fixtures/kmeans_golden.json,
// made by tests/fixtures/make_fixtures.py), on every backend:
//  - explicit initial centres: the same labels, the same n_iter, inertia
//    within 1e-5 relative, centres within float32 rounding — on the rows
//    as given, as sparse rows (CSR), and over batches of either;
//  - k-means++ with stray's own generator on well-separated blobs: inertia
//    within 1% of sklearn's best of n_init=10, and the true blobs found.
// The cases were chosen by the generator to hold no near-ties, so these are
// exact expectations, not statistical ones.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend_params.hpp"
#include "stray/cluster/kmeans.hpp"
#include "stray/cluster/kmeans_batches.hpp"
#include "stray/metrics/metrics.hpp"
#include "stray/io/npy.hpp"

namespace stray {
namespace {

std::string fixture(const std::string& rel) { return std::string(STRAY_FIXTURES_DIR) + "/" + rel; }

const nlohmann::json& manifest() {
  static const nlohmann::json m = [] {
    std::ifstream in(fixture("kmeans_golden.json"));
    if (!in) throw std::runtime_error("cannot open " + fixture("kmeans_golden.json"));
    return nlohmann::json::parse(in);
  }();
  return m;
}

const nlohmann::json& find_case(const std::string& name) {
  for (const auto& c : manifest().at("kmeans")) {
    if (c.at("name") == name) return c;
  }
  throw std::runtime_error("no k-means case '" + name + "' in the manifest");
}

struct Case {
  std::string name;
  Matrix<float> X;
  Matrix<float> init;
  std::vector<float> weights;  // empty = unweighted
  KMeansParams params;
};

Case load_case(const nlohmann::json& c) {
  Case out;
  out.name = c.at("name").get<std::string>();
  out.X = read_npy_float(fixture(c.at("X")));
  out.init = read_npy_float(fixture(c.at("init_centers")));
  if (!c.at("sample_weight").is_null()) {
    const Matrix<float> w = read_npy_float(fixture(c.at("sample_weight")));
    out.weights.assign(w.storage().begin(), w.storage().end());
  }
  out.params.n_clusters = c.at("n_clusters").get<int64_t>();
  out.params.init = KMeansInit::explicit_centers;
  out.params.initial_centers = out.init;
  out.params.n_init = 1;
  out.params.max_iter = c.at("max_iter").get<int>();
  out.params.tol = c.at("tol").get<double>();
  return out;
}

// Σ‖x − mean‖²: the scale against which a zero inertia is compared.
double total_sum_of_squares(const Matrix<float>& X) {
  double total = 0.0;
  for (int64_t j = 0; j < X.cols(); ++j) {
    double mean = 0.0;
    for (int64_t i = 0; i < X.rows(); ++i) mean += X(i, j);
    mean /= static_cast<double>(X.rows());
    for (int64_t i = 0; i < X.rows(); ++i) total += (X(i, j) - mean) * (X(i, j) - mean);
  }
  return total;
}

class KMeansGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(KMeansGolden, ManifestIsComplete) {
  const auto& m = manifest();
  EXPECT_TRUE(m.at("versions").contains("scikit-learn"));
  std::vector<std::string> names;
  for (const auto& c : m.at("kmeans")) names.push_back(c.at("name"));
  for (const char* want : {"separated_blobs", "overlapping_blobs", "one_feature",
                           "strict_convergence", "sample_weights", "n_equals_k",
                           "duplicated_points", "empty_cluster_relocation", "max_iter_cap"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
}

// A fit of case `c` against scikit-learn's labels, n_iter, inertia and centres.
void expect_golden(const nlohmann::json& c, const Case& k, const KMeansResult& r) {
  const std::vector<int64_t> want = read_npy_int(fixture(c.at("labels")));
  ASSERT_EQ(r.labels.size(), want.size());
  int64_t mismatches = 0;
  int64_t first = -1;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (r.labels[i] != want[i]) {
      if (first < 0) first = static_cast<int64_t>(i);
      ++mismatches;
    }
  }
  EXPECT_EQ(mismatches, 0) << "first mismatch at row " << first << ": stray "
                           << (first >= 0 ? r.labels[first] : -1) << ", sklearn "
                           << (first >= 0 ? want[first] : -1);

  EXPECT_EQ(r.n_iter, c.at("n_iter").get<int>());
  EXPECT_EQ(r.converged, c.at("converged").get<bool>());

  const double inertia = c.at("inertia").get<double>();
  const double floor = 1e-9 * total_sum_of_squares(k.X);  // n == k has inertia 0
  EXPECT_NEAR(r.inertia, inertia, 1e-5 * std::abs(inertia) + floor)
      << "float64 sklearn inertia " << c.at("inertia_float64").get<double>();

  const Matrix<float> centers = read_npy_float(fixture(c.at("centers")));
  ASSERT_EQ(r.centers.rows(), centers.rows());
  ASSERT_EQ(r.centers.cols(), centers.cols());
  double scale = 1.0;
  for (float v : centers.storage()) scale = std::max(scale, static_cast<double>(std::abs(v)));
  for (int64_t j = 0; j < centers.rows(); ++j) {
    for (int64_t f = 0; f < centers.cols(); ++f) {
      EXPECT_NEAR(r.centers(j, f), centers(j, f), 1e-4 * scale) << "centre " << j << " feature " << f;
    }
  }
}

std::string describe(const Case& k) {
  return "case " + k.name + " (" + std::to_string(k.X.rows()) + " x " +
         std::to_string(k.X.cols()) + ", k = " + std::to_string(k.params.n_clusters) + ")";
}

TEST_P(KMeansGolden, ExplicitInitMatchesScikitLearn) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  for (const auto& c : manifest().at("kmeans")) {
    const Case k = load_case(c);
    SCOPED_TRACE(describe(k));
    expect_golden(c, k,
                  kmeans_fit(*backend, k.params, k.X.view(),
                             k.weights.empty() ? nullptr : &k.weights));
  }
}

// The same cases as sparse rows: scikit-learn's fit is one answer for
// dense and sparse input, and the cases hold no near-ties.
TEST_P(KMeansGolden, ExplicitInitOnSparseRowsMatchesScikitLearn) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  for (const auto& c : manifest().at("kmeans")) {
    const Case k = load_case(c);
    SCOPED_TRACE(describe(k) + ", as CSR");
    const CsrMatrix csr = dense_to_csr(k.X.view());
    expect_golden(c, k,
                  kmeans_fit(*backend, k.params, csr.view(),
                             k.weights.empty() ? nullptr : &k.weights));
  }
}

// The same cases fitted over batches of rows (cluster/kmeans_batches.hpp),
// dense and sparse, with the labels the returned centres give: Lloyd's
// iterations as merged statistics are scikit-learn's iterations.
TEST_P(KMeansGolden, ExplicitInitOverBatchesMatchesScikitLearn) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  for (const auto& c : manifest().at("kmeans")) {
    const Case k = load_case(c);
    const std::vector<float>* w = k.weights.empty() ? nullptr : &k.weights;
    const CsrMatrix csr = dense_to_csr(k.X.view());
    const int64_t batch_rows = std::max<int64_t>(1, k.X.rows() / 3 - 1);
    MatrixRowBatches dense_batches(k.X.view(), batch_rows, w);
    CsrRowBatches sparse_batches(csr.view(), batch_rows, w);
    const auto check = [&](RowBatches& batches, bool keep_bounds, const std::string& what) {
      SCOPED_TRACE(describe(k) + ", " + what + " batches of " + std::to_string(batch_rows));
      BatchKMeansParams params;
      params.kmeans = k.params;
      params.keep_bounds = keep_bounds;
      const BatchKMeansResult fit = kmeans_fit_batches(*backend, params, batches);
      KMeansResult r;
      static_cast<KMeansModel&>(r) = fit;
      r.labels = &batches == &sparse_batches
                     ? kmeans_predict(*backend, fit.centers.view(), csr.view()).labels
                     : kmeans_predict(*backend, fit.centers.view(), k.X.view()).labels;
      expect_golden(c, k, r);
    };
    check(dense_batches, true, "dense, bounds kept,");
    check(dense_batches, false, "dense, no bounds,");
    check(sparse_batches, true, "sparse");
  }
}

TEST_P(KMeansGolden, KMeansPlusPlusFindsTheSeparatedBlobs) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const nlohmann::json& c = find_case("separated_blobs");
  const Case k = load_case(c);
  const double best = c.at("kmeans_plus_plus").at("best_inertia_n_init_10").get<double>();
  const std::vector<int64_t> truth =
      read_npy_int(fixture(c.at("kmeans_plus_plus").at("true_labels")));

  for (uint64_t seed : {0u, 1u, 7u, 12345u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    KMeansParams p;
    p.n_clusters = k.params.n_clusters;
    p.init = KMeansInit::kmeans_plus_plus;
    p.seed = seed;
    const KMeansResult r = kmeans_fit(*backend, p, k.X.view());
    EXPECT_NEAR(r.inertia, best, 0.01 * best);
    const std::vector<int64_t> labels(r.labels.begin(), r.labels.end());
    EXPECT_DOUBLE_EQ(adjusted_rand_score(truth, labels), 1.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, KMeansGolden,
                         ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace
}  // namespace stray
