// Complete and average linkage: the nearest-neighbour chain with
// Lance–Williams updates on the condensed distance matrix.
//
// Unlike ward, the distance between two clusters under complete or average
// linkage depends on every pair of their members, so it is kept: the
// n(n−1)/2 pairwise distances (float64, as scipy's pdist gives them), each
// merge overwriting the merged cluster's row by the Lance–Williams rule
//   complete: d(i, x∪y) = max(d(i,x), d(i,y))
//   average:  d(i, x∪y) = (|x|·d(i,x) + |y|·d(i,y)) / (|x| + |y|).
// Both are reducible, so the chain finds the greedy algorithm's merges. The
// chain follows scipy's nn_chain step for step (see agglomerative_ward.cpp).
// The matrix is checked against the caller's budget and the machine's
// memory before it is allocated.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <new>
#include <tuple>
#include <utility>

#include "cluster/agglomerative_internal.hpp"
#include "cluster/agglomerative_points.hpp"
#include "core/check.hpp"

namespace stray::internal {

namespace {

constexpr const char* kWhere = "agglomerative_fit";

// Row-major upper triangle without the diagonal: the (i, j) entry, i < j.
inline std::size_t condensed_index(int64_t n, int64_t i, int64_t j) {
  if (i > j) std::swap(i, j);
  return static_cast<std::size_t>(i * n - i * (i + 1) / 2 + (j - i - 1));
}

// Fills D with the Euclidean distance of every pair of rows, each from the
// rows' float64 differences (as scipy's pdist). Row i of the triangle is
// one pass over rows i+1..n−1 (columns of a float64 copy of X), contiguous
// in D; rows go to the threads dynamically (the triangle's rows shrink).
void fill_distances(MatrixView<const float> X, double* D, int threads) {
  const int64_t n = X.rows(), d = X.cols();
  std::vector<double> cols(static_cast<std::size_t>(n * d));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) cols[static_cast<std::size_t>(k * n + i)] = X(i, k);
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads) if (n * n * d > (1 << 22))
  for (int64_t i = 0; i < n - 1; ++i) {
    std::vector<double> q(static_cast<std::size_t>(d));
    for (int64_t k = 0; k < d; ++k) q[static_cast<std::size_t>(k)] = X(i, k);
    double* row = D + condensed_index(n, i, i + 1);
    const double* c = cols.data() + i + 1;
    // Down the row's entries (vector lanes), coordinates in a register sum.
#pragma omp simd
    for (int64_t j = 0; j < n - i - 1; ++j) {
      double s = 0.0;
      for (int64_t k = 0; k < d; ++k) {
        const double t = c[k * n + j] - q[static_cast<std::size_t>(k)];
        s += t * t;
      }
      row[j] = std::sqrt(s);
    }
  }
}

// The live clusters' slots in increasing order; dead ones are squeezed out
// once a quarter of the list is dead.
struct LiveSlots {
  std::vector<int64_t> slots;
  int64_t dead = 0;
  void note_death(const std::vector<int64_t>& size) {
    if (++dead * 4 <= static_cast<int64_t>(slots.size())) return;
    std::erase_if(slots, [&](int64_t s) { return size[static_cast<std::size_t>(s)] == 0; });
    dead = 0;
  }
};

// scipy's search: the first live cluster strictly nearer to x than `prev`
// (−1: none), else prev; with the distance.
std::pair<int64_t, double> nearest_cluster(const double* D, int64_t n, const LiveSlots& live,
                                           const std::vector<int64_t>& size, int64_t x,
                                           int64_t prev, ScanTeam& team,
                                           std::vector<ScanPart>& parts) {
  const double prev_value = prev >= 0 ? D[condensed_index(n, x, prev)] : kInf;
  const int64_t* slots = live.slots.data();
  const ScanPart best = team_scan(
      team, static_cast<int64_t>(live.slots.size()), prev_value, parts,
      [&](int64_t begin, int64_t end, ScanPart& part) {
        for (int64_t t = begin; t < end; ++t) {
          const int64_t i = slots[t];
          if (size[static_cast<std::size_t>(i)] == 0 || i == x) continue;
          const double dist = D[condensed_index(n, x, i)];
          if (dist < part.value) part = {dist, t};
        }
      });
  if (best.position < 0) return {prev, prev_value};
  return {slots[best.position], best.value};
}

// Lance–Williams: the distances of every live cluster to x∪y, stored in y's row.
void update_distances(double* D, int64_t n, const LiveSlots& live,
                      const std::vector<int64_t>& size, Linkage linkage, int64_t x, int64_t y,
                      double nx, double ny, ScanTeam& team) {
  const auto m = static_cast<int64_t>(live.slots.size());
  team.run((m + kScanChunk - 1) / kScanChunk, [&](int64_t c) {
    const int64_t end = std::min(m, (c + 1) * kScanChunk);
    for (int64_t t = c * kScanChunk; t < end; ++t) {
      const int64_t i = live.slots[static_cast<std::size_t>(t)];
      if (size[static_cast<std::size_t>(i)] == 0 || i == y) continue;
      const double dxi = D[condensed_index(n, i, x)];
      double& dyi = D[condensed_index(n, i, y)];
      dyi = linkage == Linkage::complete ? std::max(dxi, dyi)
                                         : (nx * dxi + ny * dyi) / (nx + ny);
    }
  });
}

}  // namespace

void check_condensed_budget(int64_t n, Linkage linkage, std::size_t budget) {
  const std::size_t bytes = condensed_matrix_bytes(n);
  require(bytes <= budget, ErrorCode::out_of_memory, kWhere, to_string(linkage),
          " linkage keeps the n(n-1)/2 pairwise distances of ", n, " rows as float64: ",
          bytes, " bytes, over the memory budget of ", budget,
          " bytes (AgglomerativeParams::memory_budget_bytes); ward and single linkage need "
          "O(n x d) memory");
  // n ≤ 2^31 (checked by the caller), so n(n−1)/2 fits an int64_t.
  require_memory(kWhere, "the condensed distance matrix", {n * (n - 1) / 2}, sizeof(double),
                 "float64");
}

std::size_t condensed_matrix_bytes(int64_t n) {
  const auto u = static_cast<std::size_t>(n);
  const std::size_t half = u % 2 == 0 ? u / 2 : (u - 1) / 2;  // n(n−1)/2 without overflow
  const std::size_t other = u % 2 == 0 ? u - 1 : u;
  const std::size_t max = std::numeric_limits<std::size_t>::max();
  if (half != 0 && other > max / half / sizeof(double)) return max;
  return half * other * sizeof(double);
}

std::vector<RawMerge> condensed_merges(MatrixView<const float> X, Linkage linkage,
                                       std::size_t budget_bytes, int threads) {
  const int64_t n = X.rows();
  check_condensed_budget(n, linkage, budget_bytes);
  const std::size_t entries = condensed_matrix_bytes(n) / sizeof(double);
  std::unique_ptr<double[]> storage(new (std::nothrow) double[entries]);
  require(storage != nullptr, ErrorCode::out_of_memory, kWhere,
          "could not allocate the condensed distance matrix (", entries * sizeof(double),
          " bytes)");
  double* D = storage.get();
  fill_distances(X, D, threads);

  std::vector<int64_t> size(static_cast<std::size_t>(n), 1);
  LiveSlots live;
  live.slots.resize(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) live.slots[static_cast<std::size_t>(i)] = i;
  std::vector<int64_t> chain;
  chain.reserve(static_cast<std::size_t>(n));
  ScanTeam team(threads);
  std::vector<ScanPart> parts;
  std::vector<RawMerge> merges;
  merges.reserve(static_cast<std::size_t>(n - 1));
  int64_t first_alive = 0;
  for (int64_t step = 0; step < n - 1; ++step) {
    if (chain.empty()) {
      while (size[static_cast<std::size_t>(first_alive)] == 0) ++first_alive;
      chain.push_back(first_alive);
    }
    int64_t x = 0, y = 0;
    double distance = 0.0;
    for (;;) {
      x = chain.back();
      const int64_t prev = chain.size() > 1 ? chain[chain.size() - 2] : -1;
      std::tie(y, distance) = nearest_cluster(D, n, live, size, x, prev, team, parts);
      if (y == prev) break;
      chain.push_back(y);
    }
    chain.resize(chain.size() - 2);
    if (x > y) std::swap(x, y);
    const auto nx = static_cast<double>(size[static_cast<std::size_t>(x)]);
    const auto ny = static_cast<double>(size[static_cast<std::size_t>(y)]);
    merges.push_back({x, y, distance});
    size[static_cast<std::size_t>(x)] = 0;
    size[static_cast<std::size_t>(y)] += static_cast<int64_t>(nx);
    update_distances(D, n, live, size, linkage, x, y, nx, ny, team);
    live.note_death(size);
  }
  return merges;
}

}  // namespace stray::internal
