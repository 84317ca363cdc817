// agglomerative_fit: the checks at the door, the linkage's merges, scipy's
// linkage matrix, scikit-learn's cut.
#include "stray/cluster/agglomerative.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <new>
#include <string>

#include "cluster/agglomerative_internal.hpp"
#include "core/check.hpp"
#include "core/host_threads.hpp"

namespace stray {

namespace {

constexpr const char* kWhere = "agglomerative_fit";

void check_params(const AgglomerativeParams& p, MatrixView<const float> X) {
  using internal::require;
  internal::check_nonempty_matrix(X, kWhere);
  const int64_t n = X.rows();
  require(n >= 2, ErrorCode::invalid_argument, kWhere,
          "n_samples=1: a tree needs at least 2 rows to merge");
  require(n <= std::numeric_limits<int32_t>::max(), ErrorCode::invalid_argument, kWhere,
          "n_samples=", n, " is more than int32 labels can number");
  const bool by_count = p.n_clusters != 0, by_threshold = p.distance_threshold.has_value();
  require(by_count != by_threshold, ErrorCode::invalid_argument, kWhere,
          "exactly one of n_clusters and distance_threshold must be set (got n_clusters=",
          p.n_clusters, by_threshold ? " and a distance_threshold" : " and no distance_threshold",
          "; n_clusters=0 means unset)");
  if (by_count) {
    require(p.n_clusters >= 1 && p.n_clusters <= n, ErrorCode::invalid_argument, kWhere,
            "n_clusters=", p.n_clusters, " outside [1, n_samples=", n, "]");
  } else {
    const double t = *p.distance_threshold;
    require(std::isfinite(t) && t >= 0, ErrorCode::invalid_argument, kWhere,
            "distance_threshold=", t, " must be finite and >= 0");
  }
  require(p.threads >= 0, ErrorCode::invalid_argument, kWhere, "threads=", p.threads,
          " must be >= 0 (0: OpenMP's default)");
}

std::vector<internal::RawMerge> find_merges(const AgglomerativeParams& p,
                                            MatrixView<const float> X, int threads) {
  switch (p.linkage) {
    case Linkage::ward:
      return internal::ward_merges(X, threads);
    case Linkage::single:
      return internal::single_merges(X, threads);
    case Linkage::complete:
    case Linkage::average:
      return internal::condensed_merges(X, p.linkage, p.memory_budget_bytes, threads);
  }
  throw Error(ErrorCode::invalid_argument, "agglomerative_fit: unknown linkage");
}

}  // namespace

const char* to_string(Linkage linkage) {
  switch (linkage) {
    case Linkage::ward: return "ward";
    case Linkage::complete: return "complete";
    case Linkage::average: return "average";
    case Linkage::single: return "single";
  }
  return "unknown";
}

Linkage parse_linkage(const std::string& name) {
  for (const Linkage l : {Linkage::ward, Linkage::complete, Linkage::average, Linkage::single})
    if (name == to_string(l)) return l;
  throw Error(ErrorCode::invalid_argument,
              "unknown linkage '" + internal::printable(name) +
                  "' (expected ward, complete, average or single)");
}

AgglomerativeResult agglomerative_fit(const AgglomerativeParams& params,
                                      MatrixView<const float> X) {
  const auto start = std::chrono::steady_clock::now();
  check_params(params, X);
  // complete and average: over the memory budget fails before the scan of
  // a large input (condensed_merges checks again where it allocates).
  if (params.linkage == Linkage::complete || params.linkage == Linkage::average)
    internal::check_condensed_budget(X.rows(), params.linkage, params.memory_budget_bytes);
  internal::check_finite_matrix(X, kWhere);
  // A scan of tens of microseconds has no use for more threads than this.
  constexpr int kMaxThreads = 64;
  const int threads =
      std::min(params.threads > 0 ? params.threads : omp_get_max_threads(), kMaxThreads);
  const int64_t n = X.rows();

  if (params.linkage == Linkage::ward || params.linkage == Linkage::single)
    internal::require_memory(kWhere, "the points' coordinates", {n, X.cols()},
                             sizeof(double) + sizeof(float), "float64 + float32 values");
  AgglomerativeResult r;
  try {
    const std::vector<internal::RawMerge> merges = find_merges(params, X, threads);
    std::vector<uint8_t> swapped;
    // scikit-learn keeps single linkage's children in Prim's order; its
    // labels follow that order.
    std::vector<uint8_t>* order = params.linkage == Linkage::single ? &swapped : nullptr;
    r.linkage_matrix = internal::linkage_from_merges(merges, n, order);
    r.n_leaves = n;
    r.threads = threads;
    r.n_clusters = params.distance_threshold
                       ? clusters_at_threshold(r.linkage_matrix.view(), *params.distance_threshold)
                       : params.n_clusters;
    r.labels = cut_tree_labels(r.linkage_matrix.view(), r.n_clusters, order);
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::out_of_memory, std::string(kWhere) + ": out of memory building the " +
                                              to_string(params.linkage) + " linkage tree of " +
                                              std::to_string(n) + " rows");
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

AgglomerativeResult agglomerative_fit(Backend& backend, const AgglomerativeParams& params,
                                      const DeviceArray<float>& X) {
  // The scans run on host threads: as many as the backend's, where it has a count.
  const internal::ScopedHostThreads host_threads(backend.host_threads());
  if (X.empty() || (backend.shares_host_memory() && X.buffer()->memory_space() == "host")) {
    return agglomerative_fit(params, MatrixView<const float>(X.data(), X.rows(), X.cols()));
  }
  const Matrix<float> host = backend.download(X);
  return agglomerative_fit(params, host.view());
}

}  // namespace stray
