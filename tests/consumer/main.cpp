// Clusters four points into two groups through the installed package. Where
// the installed package has the CUDA backend, also checks that the library
// finds its module beside it in the installation (the probe's reason, if
// any, must come from the device, not from loading the module), and under
// STRAY_REQUIRE_CUDA=1 that the same fit runs on it.
#include <stray/stray.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

bool fit_ok(const char* backend_name) {
  const float data[] = {0.f, 0.f, 0.1f, 0.f, 10.f, 10.f, 10.1f, 10.f};
  auto backend = stray::make_backend(backend_name);
  stray::KMeansParams params;
  params.n_clusters = 2;
  params.seed = 1;
  const auto result = stray::kmeans_fit(*backend, params, stray::MatrixView<const float>(data, 4, 2));
  const bool ok = result.labels[0] == result.labels[1] && result.labels[2] == result.labels[3] &&
                  result.labels[0] != result.labels[2];
  std::printf("consumer: %s labels %d %d %d %d -> %s\n", backend_name, result.labels[0],
              result.labels[1], result.labels[2], result.labels[3], ok ? "ok" : "WRONG");
  return ok;
}

}  // namespace

int main() {
  bool ok = fit_ok("cpu");
  const auto compiled = stray::compiled_backends();
  if (std::find(compiled.begin(), compiled.end(), "cuda") != compiled.end()) {
    const std::string reason = stray::cuda_unavailable_reason();
    std::printf("consumer: cuda %s\n", reason.empty() ? "available" : ("unavailable: " + reason).c_str());
    if (reason.find("CUDA module") != std::string::npos) {
      std::printf("consumer: the installed CUDA module was not loaded\n");
      ok = false;
    }
    const char* required = std::getenv("STRAY_REQUIRE_CUDA");
    if (required != nullptr && std::string(required) == "1") {
      ok = reason.empty() && fit_ok("cuda") && ok;
    }
  }
  return ok ? 0 : 1;
}
