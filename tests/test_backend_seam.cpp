// The backend seam itself, on every backend: arrays belong to a memory
// space, resident data give the host fit's results, a serial twin gives the
// same results, and the primitives added with the seam (label changes, CSR
// rows made dense, the thin SVD) against naive loops.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>

#include "backend_params.hpp"
#include "stray/cluster/kmeans.hpp"
#include "stray/decomposition/pca.hpp"
#include "stray/synthetic/datasets.hpp"

namespace stray {
namespace {

class BackendSeam : public ::testing::TestWithParam<std::string> {};

// Memory that claims to live elsewhere, as a CUDA array would.
class ForeignBuffer final : public DeviceBuffer {
 public:
  explicit ForeignBuffer(std::size_t bytes) : storage_(bytes) {}
  void* data() override { return storage_.data(); }
  const void* data() const override { return storage_.data(); }
  std::size_t bytes() const override { return storage_.size(); }
  std::string memory_space() const override { return "elsewhere:0"; }

 private:
  std::vector<char> storage_;
};

Blobs blobs(int64_t n, int64_t d, int64_t centers, uint64_t seed, double offset = 0.0) {
  BlobsParams p;
  p.n_samples = n;
  p.n_features = d;
  p.n_centers = centers;
  p.cluster_std = 1.0;
  p.center_box = 6.0;
  p.seed = seed;
  Blobs b = make_blobs(p);
  for (float& v : b.X.storage()) v = static_cast<float>(v + offset);
  return b;
}

TEST_P(BackendSeam, RefusesArraysOfAnotherMemorySpace) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t n = 8, d = 3;
  DeviceArray<float> foreign(std::make_unique<ForeignBuffer>(n * d * sizeof(float)), n, d);
  DeviceArray<float> C = backend->allocate<float>(2, d);
  DeviceArray<int32_t> labels = backend->allocate<int32_t>(n);
  DeviceArray<float> dist = backend->allocate<float>(n);
  try {
    backend->nearest_centroid(foreign, C, labels, dist);
    FAIL() << "a foreign array was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
  }
  std::vector<float> host(n * d);
  EXPECT_THROW(backend->copy_to_host(host.data(), *foreign.buffer(), 0, 4), Error);
  EXPECT_EQ(backend->allocate<float>(1).buffer()->memory_space(), backend->memory_space());
}

TEST_P(BackendSeam, ResidentFitEqualsTheHostFit) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // Centred data are used in place; far-off data are centred in a copy.
  for (const double offset : {0.0, 500.0}) {
    const Blobs b = blobs(4000, 6, 5, 21, offset);
    KMeansParams p;
    p.n_clusters = 5;
    p.seed = 4;
    p.tol = 0.0;
    const KMeansResult host = kmeans_fit(*backend, p, b.X.view());
    const DeviceArray<float> X = backend->upload(b.X.view());
    const KMeansResult resident = kmeans_fit(*backend, p, X);
    EXPECT_EQ(resident.labels, host.labels) << offset;
    EXPECT_EQ(resident.centers.storage(), host.centers.storage()) << offset;
    EXPECT_EQ(resident.inertia, host.inertia) << offset;
    EXPECT_EQ(resident.n_iter, host.n_iter) << offset;

    // Prediction with the fitted model, from the host and from resident rows.
    const KMeansModel& model = resident;
    const NearestCenters a = kmeans_predict(*backend, model, b.X.view());
    const NearestCenters c = kmeans_predict(*backend, model, X);
    EXPECT_EQ(a.labels, host.labels) << offset;
    EXPECT_EQ(c.labels, a.labels) << offset;
    EXPECT_EQ(c.sq_distances, a.sq_distances) << offset;
  }
}

TEST_P(BackendSeam, ResidentFitChecksItsInput) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  Matrix<float> X(10, 2, 1.0f);
  X(3, 1) = std::nanf("");
  const DeviceArray<float> dX = backend->upload(X.view());
  KMeansParams p;
  p.n_clusters = 2;
  try {
    kmeans_fit(*backend, p, dX);
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::non_finite_input) << e.what();
  }
  p.n_clusters = 11;
  const DeviceArray<float> ok = backend->upload(Matrix<float>(10, 2, 1.0f).view());
  EXPECT_THROW(kmeans_fit(*backend, p, ok), Error);
}

TEST_P(BackendSeam, SerialTwinGivesTheSameResults) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const std::unique_ptr<Backend> serial = backend->make_serial();
  EXPECT_EQ(serial->name(), backend->name());
  EXPECT_EQ(serial->workspace_bytes(), backend->workspace_bytes());
  const Blobs b = blobs(20000, 8, 7, 5);
  KMeansParams p;
  p.n_clusters = 7;
  p.seed = 9;
  const KMeansResult a = kmeans_fit(*backend, p, b.X.view());
  const KMeansResult s = kmeans_fit(*serial, p, b.X.view());
  EXPECT_EQ(a.labels, s.labels);
  EXPECT_EQ(a.centers.storage(), s.centers.storage());
  EXPECT_EQ(a.inertia, s.inertia);
}

TEST_P(BackendSeam, CountsLabelChangesAndKeepsTheNewLabels) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  for (const int64_t n : {int64_t{0}, int64_t{1}, int64_t{100003}}) {
    std::vector<int32_t> before(n), after(n);
    std::mt19937 gen(7);
    int64_t expected = 0;
    for (int64_t i = 0; i < n; ++i) {
      before[i] = static_cast<int32_t>(gen() % 5);
      after[i] = gen() % 3 == 0 ? static_cast<int32_t>(gen() % 5) : before[i];
      expected += after[i] != before[i];
    }
    DeviceArray<int32_t> previous = backend->upload(before);
    const DeviceArray<int32_t> current = backend->upload(after);
    EXPECT_EQ(backend->count_label_changes(current, previous), expected) << n;
    EXPECT_EQ(backend->download_vector(previous), after) << n;
    EXPECT_EQ(backend->count_label_changes(current, previous), 0) << n;
  }
  DeviceArray<int32_t> short_one = backend->allocate<int32_t>(2);
  EXPECT_THROW(backend->count_label_changes(backend->allocate<int32_t>(3), short_one), Error);
}

TEST_P(BackendSeam, CsrRowsToDenseMatchesTheNaiveLoop) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  // 7 x 5 with an empty row and a duplicated column entry (they add up).
  const std::vector<int64_t> indptr{0, 2, 2, 5, 6, 8, 9, 10};
  const std::vector<int32_t> indices{0, 3, 1, 1, 4, 2, 0, 4, 3, 2};
  const std::vector<float> values{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const CsrView A{7, 5, indptr.data(), indices.data(), values.data()};
  const DeviceCsr dA = backend->borrow_or_upload_csr(A);
  for (const int64_t begin : {int64_t{0}, int64_t{1}, int64_t{4}}) {
    const int64_t rows = 7 - begin - (begin == 1 ? 2 : 0);
    DeviceArray<float> out = backend->allocate<float>(rows, 5);
    backend->csr_rows_to_dense(dA, begin, out);
    const Matrix<float> got = backend->download(out);
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<float> want(5, 0.0f);
      for (int64_t p = indptr[begin + r]; p < indptr[begin + r + 1]; ++p)
        want[indices[p]] += values[p];
      for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(got(r, j), want[j]) << begin << "," << r << "," << j;
    }
  }
  DeviceArray<float> too_many = backend->allocate<float>(3, 5);
  EXPECT_THROW(backend->csr_rows_to_dense(dA, 5, too_many), Error);
}

TEST_P(BackendSeam, ThinSvdMatchesAFloat64Reference) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t m = 300, l = 12, k = 5;
  Matrix<float> Z(m, l);
  std::mt19937 gen(3);
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < l; ++j) Z(i, j) = normal(gen) * static_cast<float>(l - j);
  std::vector<double> values(k), vectors(k * m);
  backend->thin_svd(backend->upload(Z.view()), k, values.data(), vectors.data());

  Eigen::MatrixXd z(m, l);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < l; ++j) z(i, j) = Z(i, j);
  Eigen::JacobiSVD<Eigen::MatrixXd> ref(z, Eigen::ComputeThinU);
  for (int64_t c = 0; c < k; ++c) {
    EXPECT_NEAR(values[c], ref.singularValues()(c), 1e-9 * ref.singularValues()(0)) << c;
    double dot = 0.0;  // singular vectors are defined up to sign
    for (int64_t i = 0; i < m; ++i) dot += vectors[c * m + i] * ref.matrixU()(i, c);
    EXPECT_NEAR(std::abs(dot), 1.0, 1e-9) << c;
  }
  EXPECT_THROW(backend->thin_svd(backend->upload(Z.view()), l + 1, values.data(), vectors.data()),
               Error);
}

// A random sparse matrix with labels in [0, k), as a fleet's features are.
struct LabelledCsr {
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<float> values;
  std::vector<int32_t> labels;
  int64_t rows, cols;
  CsrView view() const { return {rows, cols, indptr.data(), indices.data(), values.data()}; }
};

LabelledCsr labelled_csr(int64_t rows, int64_t cols, int64_t k, uint64_t seed) {
  LabelledCsr m;
  m.rows = rows;
  m.cols = cols;
  std::mt19937 gen(seed);
  for (int64_t i = 0; i < rows; ++i) {
    for (int32_t j = 0; j < cols; ++j) {
      if (gen() % 4 != 0) continue;
      m.indices.push_back(j);
      m.values.push_back(static_cast<float>(gen() % 5 + 1) / 5.0f);
    }
    m.indptr.push_back(static_cast<int64_t>(m.indices.size()));
    m.labels.push_back(static_cast<int32_t>(gen() % k));
  }
  return m;
}

TEST_P(BackendSeam, ClusterSumsMatchTheNaiveLoop) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t k = 4, d = 9;
  const LabelledCsr m = labelled_csr(2001, d, k, 8);
  std::vector<double> sums(k * d), sq(k * d), stored(k * d);
  backend->csr_cluster_sums(backend->borrow_or_upload_csr(m.view()), m.labels.data(), k,
                            sums.data(), sq.data(), stored.data());
  std::vector<double> want(k * d, 0.0), want_sq(k * d, 0.0), want_n(k * d, 0.0);
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t p = m.indptr[i]; p < m.indptr[i + 1]; ++p) {
      const int64_t at = m.labels[i] * d + m.indices[p];
      want[at] += m.values[p];
      want_sq[at] += static_cast<double>(m.values[p]) * m.values[p];
      want_n[at] += 1.0;
    }
  for (int64_t e = 0; e < k * d; ++e) {
    EXPECT_NEAR(sums[e], want[e], 1e-12 * m.rows) << e;
    EXPECT_NEAR(sq[e], want_sq[e], 1e-12 * m.rows) << e;
    EXPECT_EQ(stored[e], want_n[e]) << e;
  }
  std::vector<int32_t> bad = m.labels;
  bad[7] = static_cast<int32_t>(k);
  EXPECT_THROW(backend->csr_cluster_sums(backend->borrow_or_upload_csr(m.view()), bad.data(), k,
                                         sums.data(), sq.data(), stored.data()),
               Error);
}

TEST_P(BackendSeam, ProfileScoresMatchTheDefinition) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const int64_t k = 3, d = 7;
  const LabelledCsr m = labelled_csr(600, d, k, 12);
  // Profiles from the rows themselves, in float64.
  std::vector<double> mean(k * d, 0.0), sq_mean(k * d, 0.0), scale(d, 0.0), dense(m.rows * d, 0.0);
  std::vector<int64_t> sizes(k, 0);
  for (int64_t i = 0; i < m.rows; ++i) {
    ++sizes[m.labels[i]];
    for (int64_t p = m.indptr[i]; p < m.indptr[i + 1]; ++p) dense[i * d + m.indices[p]] += m.values[p];
  }
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const double x = dense[i * d + j];
      mean[m.labels[i] * d + j] += x / static_cast<double>(sizes[m.labels[i]]);
      sq_mean[m.labels[i] * d + j] += x * x / static_cast<double>(sizes[m.labels[i]]);
      scale[j] += x * x / static_cast<double>(m.rows);
    }
  std::vector<int32_t> reference(m.rows);
  std::vector<uint8_t> leave_out(m.rows);
  for (int64_t i = 0; i < m.rows; ++i) {
    reference[i] = i % 5 == 0 ? (m.labels[i] + 1) % k : m.labels[i];  // some against another cluster
    leave_out[i] = reference[i] == m.labels[i];
  }
  const DeviceCsr A = backend->borrow_or_upload_csr(m.view());
  for (const bool standardized : {true, false}) {
    const ClusterProfiles profiles{k,    d,     mean.data(), sq_mean.data(), scale.data(),
                                   sizes.data(), standardized, 0.05};
    std::vector<float> got(m.rows);
    backend->csr_profile_scores(A, profiles, reference.data(), leave_out.data(), got.data());
    for (int64_t i = 0; i < m.rows; ++i) {
      const int64_t r = reference[i];
      const double n = static_cast<double>(sizes[r]);
      double want = 0.0;
      for (int64_t j = 0; j < d; ++j) {
        const double x = dense[i * d + j];
        double mu = mean[r * d + j], m2 = sq_mean[r * d + j];
        if (leave_out[i]) {  // the row out of its own cluster
          mu = (n * mu - x) / (n - 1.0);
          m2 = (n * m2 - x * x) / (n - 1.0);
        }
        const double diff2 = (x - mu) * (x - mu);
        want += standardized ? diff2 / (std::max(m2 - mu * mu, 0.0) + 0.05 * scale[j]) : diff2;
      }
      EXPECT_NEAR(got[i], want, 1e-5 * (1.0 + want)) << i << (standardized ? " standardized" : "");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendSeam, ::testing::ValuesIn(testing::backend_names()),
                         testing::param_name);

}  // namespace
}  // namespace stray
