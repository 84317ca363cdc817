// Clusters four points into two groups through the installed package.
#include <stray/stray.hpp>

#include <cstdio>

int main() {
  const float data[] = {0.f, 0.f, 0.1f, 0.f, 10.f, 10.f, 10.1f, 10.f};
  auto backend = stray::make_backend("cpu");
  stray::KMeansParams params;
  params.n_clusters = 2;
  params.seed = 1;
  const auto result = stray::kmeans_fit(*backend, params, stray::MatrixView<const float>(data, 4, 2));
  const bool ok = result.labels[0] == result.labels[1] && result.labels[2] == result.labels[3] &&
                  result.labels[0] != result.labels[2];
  std::printf("consumer: labels %d %d %d %d -> %s\n", result.labels[0], result.labels[1],
              result.labels[2], result.labels[3], ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
