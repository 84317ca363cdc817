// API example: cluster a .npy matrix with k-means and print each cluster's
// size and the entities farthest from their centre.
//
//   example_cluster_npy X.npy 8
#include <stray/stray.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s X.npy K\n", argv[0]);
    return 2;
  }
  try {
    const stray::Matrix<float> X = stray::read_npy_float(argv[1]);
    auto backend = stray::make_backend("auto");
    stray::KMeansParams params;
    params.n_clusters = std::atoll(argv[2]);
    const stray::KMeansResult fit = stray::kmeans_fit(*backend, params, X);
    const stray::NearestCenters near = stray::kmeans_predict(*backend, fit.centers, X);

    std::printf("%lld entities, %lld clusters on %s: inertia %.4g after %d iterations\n",
                static_cast<long long>(X.rows()), static_cast<long long>(params.n_clusters),
                backend->name().c_str(), fit.inertia, fit.n_iter);
    std::vector<int64_t> order(near.labels.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return near.sq_distances[a] > near.sq_distances[b]; });
    for (std::size_t i = 0; i < std::min<std::size_t>(5, order.size()); ++i) {
      std::printf("  entity %lld: cluster %d, squared distance %.4g\n",
                  static_cast<long long>(order[i]), near.labels[order[i]],
                  near.sq_distances[order[i]]);
    }
  } catch (const stray::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
