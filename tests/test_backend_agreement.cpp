// Every non-CPU backend against its CPU twin on the same data (faiss's
// gpu/test habit): the same seed must give the same clustering and the same
// principal components, up to float rounding. On a machine without a GPU
// the CUDA cases skip with the reason (and fail under STRAY_REQUIRE_CUDA=1).
#include <gtest/gtest.h>

#include <cmath>

#include "backend_params.hpp"
#include "test_data.hpp"
#include "stray/synthetic/datasets.hpp"
#include "stray/cluster/kmeans.hpp"
#include "stray/metrics/metrics.hpp"
#include "stray/decomposition/pca.hpp"

namespace stray {
namespace {

using stray::testing::accelerator_names;

class BackendAgreement : public ::testing::TestWithParam<std::string> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BackendAgreement);

TEST_P(BackendAgreement, KMeansMatchesTheCpu) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  auto cpu = make_backend("cpu");
  BlobsParams bp;
  bp.n_samples = 20000;
  bp.n_features = 16;
  bp.n_centers = 10;
  bp.cluster_std = 1.0;
  bp.seed = 3;
  const Blobs b = make_blobs(bp);
  for (KMeansInit init : {KMeansInit::kmeans_plus_plus, KMeansInit::kmeans_parallel}) {
    KMeansParams p;
    p.n_clusters = 10;
    p.init = init;
    p.seed = 11;
    const KMeansResult on_cpu = kmeans_fit(*cpu, p, b.X.view());
    const KMeansResult on_device = kmeans_fit(*backend, p, b.X.view());
    EXPECT_GE(adjusted_rand_score(on_cpu.labels, on_device.labels), 0.999) << to_string(init);
    EXPECT_NEAR(on_device.inertia, on_cpu.inertia, 1e-4 * on_cpu.inertia) << to_string(init);
  }
}

TEST_P(BackendAgreement, PcaMatchesTheCpu) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  auto cpu = make_backend("cpu");
  BlobsParams bp;
  bp.n_samples = 5000;
  bp.n_features = 40;
  bp.n_centers = 6;
  bp.seed = 4;
  const Blobs b = make_blobs(bp);
  for (PcaSolver solver : {PcaSolver::covariance, PcaSolver::randomized}) {
    PcaParams p;
    p.n_components = 5;
    p.solver = solver;
    const PcaModel a = pca_fit(*cpu, p, b.X.view());
    const PcaModel g = pca_fit(*backend, p, b.X.view());
    ASSERT_EQ(a.n_components, g.n_components);
    for (int64_t c = 0; c < a.n_components; ++c) {
      EXPECT_NEAR(g.explained_variance_ratio[c], a.explained_variance_ratio[c], 1e-5)
          << to_string(solver) << " component " << c;
      double dot = 0.0;  // same direction (the sign convention is shared)
      for (int64_t j = 0; j < a.n_features; ++j) dot += a.components(c, j) * g.components(c, j);
      EXPECT_GT(dot, 1.0 - 1e-4) << to_string(solver) << " component " << c;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendAgreement, ::testing::ValuesIn(accelerator_names()),
                         stray::testing::param_name);

}  // namespace
}  // namespace stray
