// k-means timed the way bench/kmeans_vs_sklearn.py times scikit-learn: load
// X and the initial centres once, fit one iteration as a warm-up (threads,
// caches, allocator and the data's first passes), then time the real fit in
// the same process. The command-line tool times a process's first and only
// fit instead, which also pays those first-touch costs; the script reports
// both.
//
//   kmeans_warm_fit X.npy C0.npy MAX_ITER [BACKEND]
//
// Prints one JSON object with the fields of `stray kmeans --json` that the
// script reads. Errors: one line on stderr, exit status 1.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

#include "stray/stray.hpp"

namespace {

int parse_iterations(const char* text) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 1 || v > 1000000) {
    throw std::runtime_error(std::string("MAX_ITER must be an integer >= 1, got '") + text + "'");
  }
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr, "usage: %s X.npy C0.npy MAX_ITER [BACKEND]\n", argv[0]);
    return 1;
  }
  try {
    const stray::Matrix<float> X = stray::read_npy_float(argv[1]);
    stray::KMeansParams params;
    params.initial_centers = stray::read_npy_float(argv[2]);
    params.n_clusters = params.initial_centers.rows();
    params.init = stray::KMeansInit::explicit_centers;
    params.max_iter = parse_iterations(argv[3]);
    params.tol = 0.0;  // a fixed number of iterations, as the script's peer
    auto backend = stray::make_backend(argc == 5 ? argv[4] : "auto");

    stray::KMeansParams warm_up = params;
    warm_up.max_iter = 1;
    (void)stray::kmeans_fit(*backend, warm_up, X.view());
    const stray::KMeansResult r = stray::kmeans_fit(*backend, params, X.view());

    std::printf(
        "{\"backend\": \"%s\", \"device\": \"%s\", \"inertia\": %.17g, \"n_iter\": %d, "
        "\"converged\": %s, \"seconds\": %.9f}\n",
        backend->name().c_str(), backend->device_description().c_str(), r.inertia, r.n_iter,
        r.converged ? "true" : "false", r.seconds);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kmeans_warm_fit: %s\n", e.what());
    return 1;
  }
}
