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
    const int64_t m = n - i - 1;
    // Down the row's entries (vector lanes) with the sums held in registers.
    constexpr int64_t kLanes = 16;
    int64_t j = 0;
    for (; j + kLanes <= m; j += kLanes) {
      double s[kLanes] = {};
      for (int64_t k = 0; k < d; ++k) {
        const double* ck = c + k * n + j;
        const double qk = q[static_cast<std::size_t>(k)];
#pragma omp simd
        for (int64_t l = 0; l < kLanes; ++l) {
          const double t = ck[l] - qk;
          s[l] += t * t;
        }
      }
      for (int64_t l = 0; l < kLanes; ++l) row[j + l] = std::sqrt(s[l]);
    }
    for (; j < m; ++j) {
      double s = 0.0;
      for (int64_t k = 0; k < d; ++k) {
        const double t = c[k * n + j] - q[static_cast<std::size_t>(k)];
        s += t * t;
      }
      row[j] = std::sqrt(s);
    }
  }
}

// The condensed matrix's rows: entry (i, j), i < j, at row[i] + j.
struct Condensed {
  double* D;
  std::vector<int64_t> row;  // [n] i·n − i(i+1)/2 − i − 1
  explicit Condensed(double* data, int64_t n) : D(data), row(static_cast<std::size_t>(n)) {
    for (int64_t i = 0; i < n; ++i) row[static_cast<std::size_t>(i)] = i * n - i * (i + 1) / 2 - i - 1;
  }
  double& at(int64_t i, int64_t j) {
    return i < j ? D[row[static_cast<std::size_t>(i)] + j] : D[row[static_cast<std::size_t>(j)] + i];
  }
};

// The live clusters' slots in increasing order; dead ones are squeezed out
// once a quarter of the list is dead. A dead cluster's distances are +inf,
// so a search that meets one before it is squeezed out passes it by.
struct LiveSlots {
  std::vector<int64_t> slots;
  int64_t dead = 0;
  void note_death(const std::vector<int64_t>& size) {
    if (++dead * 4 <= static_cast<int64_t>(slots.size())) return;
    std::erase_if(slots, [&](int64_t s) { return size[static_cast<std::size_t>(s)] == 0; });
    dead = 0;
  }
  // Where slot x (live) is in the list.
  int64_t position_of(int64_t x) const {
    return std::lower_bound(slots.begin(), slots.end(), x) - slots.begin();
  }
};

// Runs visit(t, index of (slots[t], x)) for every list position t but x's
// own, in chunks on `team`: below x the entries are down x's column, above
// it along x's row.
template <typename Visit>
void for_each_pair(Condensed& C, const LiveSlots& live, int64_t x, int64_t c, Visit&& visit) {
  const auto m = static_cast<int64_t>(live.slots.size());
  const int64_t at_x = live.position_of(x);
  const int64_t* slots = live.slots.data();
  const int64_t begin = c * kScanChunk, end = std::min(m, begin + kScanChunk);
  const int64_t* rows = C.row.data();
  for (int64_t t = begin; t < std::min(end, at_x); ++t) visit(t, rows[slots[t]] + x);
  const int64_t row_x = rows[x];
  for (int64_t t = std::max(begin, at_x + 1); t < end; ++t) visit(t, row_x + slots[t]);
}

// scipy's search: the first live cluster strictly nearer to x than `prev`
// (−1: none), else prev; with the distance.
std::pair<int64_t, double> nearest_cluster(Condensed& C, const LiveSlots& live, int64_t x,
                                           int64_t prev, WorkTeam& team,
                                           std::vector<ScanPart>& parts) {
  const double prev_value = prev >= 0 ? C.at(x, prev) : kInf;
  const double* D = C.D;
  const ScanPart best = team_scan(
      team, static_cast<int64_t>(live.slots.size()), prev_value, parts,
      [&](int64_t begin, int64_t, ScanPart& part) {
        for_each_pair(C, live, x, begin / kScanChunk, [&](int64_t t, int64_t index) {
          if (D[index] < part.value) part = {D[index], t};
        });
      });
  if (best.position < 0) return {prev, prev_value};
  return {live.slots[static_cast<std::size_t>(best.position)], best.value};
}

// Lance–Williams: the distances of every live cluster to x∪y, stored in y's
// row and column; x's become +inf (it is gone).
void update_distances(Condensed& C, const LiveSlots& live, Linkage linkage, int64_t x, int64_t y,
                      double nx, double ny, WorkTeam& team) {
  const auto m = static_cast<int64_t>(live.slots.size());
  double* D = C.D;
  const int64_t* slots = live.slots.data();
  const int64_t* rows = C.row.data();
  const int64_t row_y = rows[y];
  const bool complete = linkage == Linkage::complete;
  team.run((m + kScanChunk - 1) / kScanChunk, [&](int64_t c, int) {
    for_each_pair(C, live, x, c, [&](int64_t t, int64_t index_x) {
      const int64_t i = slots[t];
      if (i == y) return;
      const double dxi = D[index_x];
      D[index_x] = kInf;
      double& dyi = D[i < y ? rows[i] + y : row_y + i];
      dyi = complete ? std::max(dxi, dyi) : (nx * dxi + ny * dyi) / (nx + ny);
    });
  });
  C.at(x, y) = kInf;
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
  Condensed C(D, n);

  std::vector<int64_t> size(static_cast<std::size_t>(n), 1);
  LiveSlots live;
  live.slots.resize(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) live.slots[static_cast<std::size_t>(i)] = i;
  std::vector<int64_t> chain;
  chain.reserve(static_cast<std::size_t>(n));
  WorkTeam team(threads);
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
      std::tie(y, distance) = nearest_cluster(C, live, x, prev, team, parts);
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
    update_distances(C, live, linkage, x, y, nx, ny, team);
    live.note_death(size);
  }
  return merges;
}

}  // namespace stray::internal
