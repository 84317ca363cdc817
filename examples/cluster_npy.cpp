// API example: cluster a dense .npy matrix, or a sparse CSR .npz
// (scipy.sparse.save_npz: a 0/1 package matrix, say; never densified),
// with k-means and print each cluster's size and the entities farthest
// from their centre.
//
//   example_cluster_npy X.npy 8
//   example_cluster_npy packages.npz 8
#include <stray/stray.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>

namespace {

bool is_npz(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".npz") == 0;
}

// The fit and every entity's nearest centre, on dense or sparse rows.
struct Clustered {
  stray::KMeansResult fit;
  stray::NearestCenters near;
};

template <typename Rows>
Clustered cluster(stray::Backend& backend, const stray::KMeansParams& params, const Rows& X) {
  Clustered out;
  out.fit = stray::kmeans_fit(backend, params, X);
  out.near = stray::kmeans_predict(backend, out.fit, X);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s X.npy|X.npz K\n", argv[0]);
    return 2;
  }
  try {
    auto backend = stray::make_backend("auto");
    stray::KMeansParams params;
    params.n_clusters = std::atoll(argv[2]);
    Clustered c;
    if (is_npz(argv[1])) {
      const stray::CsrMatrix X = stray::read_npz_csr(argv[1]);
      c = cluster(*backend, params, X.view());
    } else {
      const stray::Matrix<float> X = stray::read_npy_float(argv[1]);
      c = cluster(*backend, params, X.view());
    }
    const stray::NearestCenters& near = c.near;
    std::printf("%zu entities, %lld clusters on %s: inertia %.4g after %d iterations\n",
                near.labels.size(), static_cast<long long>(params.n_clusters),
                backend->name().c_str(), c.fit.inertia, c.fit.n_iter);
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
