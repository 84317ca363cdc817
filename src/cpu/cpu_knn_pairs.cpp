// CPU backend: a self query's neighbours by pairs of leaves (cpu_knn.hpp).
//
// When the reference rows are their own queries (LOF's case) the distance
// of i to j is the distance of j to i: each pair of leaves (a, b), a < b,
// is screened once by the fused kernel for both sides (run_pairs), which
// halves the products of a structureless set, where no tile can be skipped.
//
// First each leaf against itself (GEMM tiles and the TileFilter's seeding:
// every leaf has more than k rows, so every list is full after it). Then
// each leaf a, on the threads, against every later leaf b, nearest first:
// a pair is skipped where the balls are farther apart than the largest
// k-th distance in either leaf (clustered rows skip most), else screened
// with both leaves' locks held — the lists of b belong to no one thread.
// The locks are taken in leaf order, so they cannot deadlock. Which thread
// screens what, and when, changes the work and never the answer: every
// pair a bound cannot rule out is recomputed exactly and offered to both
// lists (core/knn_exact.hpp).
#include "cpu/cpu_knn_pairs.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include "core/work_team.hpp"
#include "cpu/cpu_backend.hpp"

namespace stray::internal {
namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The task's rows as queries and lists, in tree order, and each leaf's
/// rows as a tile. The lists live here in tree order (a leaf's lists side
/// by side, as its rows are), and go to the outputs at the end.
struct PairState {
  std::vector<double> sq;          // [n x k] by position
  std::vector<int64_t> index;      // [n x k] by position
  std::vector<TileQuery> queries;  // [n] by position
  std::vector<KnnList> lists;      // [n] by position
  std::vector<double> root_bound;  // [n] √bound · exact_pad of each list
  std::vector<TileRows> tiles;     // [leaves]
  std::vector<int64_t> node;       // [leaves] their node ids
  std::vector<double> largest;     // [leaves] the largest k-th squared distance in each
  const double* sq_rows = nullptr;    // [n] the tree's ‖x'‖² by position
  const double* root_rows = nullptr;  // [n] ‖x'‖

  FusedFilter::Side side(int64_t leaf) {
    const int64_t p = tiles[leaf].first;
    return FusedFilter::Side{&tiles[leaf], queries.data() + p, lists.data() + p,
                             root_bound.data() + p, sq_rows + p, root_rows + p};
  }
};

PairState pair_state(const KnnTask& task, const KnnTree& tree) {
  PairState st;
  const int64_t n = task.m, k = task.k;
  st.sq.assign(static_cast<std::size_t>(n * k), std::numeric_limits<double>::infinity());
  st.index.assign(static_cast<std::size_t>(n * k), -1);
  st.queries.resize(static_cast<std::size_t>(n));
  st.lists.resize(static_cast<std::size_t>(n), KnnList{nullptr, nullptr, k});
  st.root_bound.resize(static_cast<std::size_t>(n));
  st.sq_rows = tree.sq_rows();
  st.root_rows = tree.root_rows();
  for (int64_t p = 0; p < n; ++p) {
    st.queries[p] = TileQuery{tree.original(p), tree.row(p), true, tree.sq(p), tree.root(p)};
    st.lists[p] = KnnList{st.sq.data() + p * k, st.index.data() + p * k, k};
  }
  for (int64_t id = 0; id < tree.nodes(); ++id) {
    const KnnTreeNode& r = tree.node(id);
    if (r.left >= 0) continue;
    TileRows t;
    t.sq32 = tree.sq32(r.begin);
    t.index = tree.rows(r.begin);
    t.first = r.begin;
    t.count = r.end - r.begin;
    t.sq_max = r.sq_max;
    t.root_max = r.root_max;
    t.min_index = r.min_index;
    t.original = tree.original(r.begin);
    st.tiles.push_back(t);
    st.node.push_back(id);
  }
  st.largest.assign(st.tiles.size(), 0.0);
  return st;
}

/// Leaf `a` against itself: GEMM products and the TileFilter, which fills
/// each list with the leaf's nearest rows.
void seed_leaf(const KnnTree& tree, PairState& st, int64_t a, RowMajorF& products,
               TileFilter& filter) {
  const TileRows& r = st.tiles[a];
  const int64_t d = tree.dims();
  const Eigen::Map<const RowMajorF> xs(tree.centred(r.first), r.count, d);
  Eigen::Map<RowMajorF> out(products.data(), r.count, r.count);
  out.noalias() = xs * xs.transpose();
  for (int64_t c = 0; c < r.count; ++c) {
    filter.run(st.queries[r.first + c], r, products.data() + c * r.count, st.lists[r.first + c]);
  }
  const double pad = ExpandedBound::make(tree.dims()).exact_pad;
  for (int64_t p = r.first; p < r.first + r.count; ++p)
    st.root_bound[p] = std::sqrt(st.lists[p].bound()) * pad;
}

double largest_bound(const PairState& st, int64_t a) {
  const TileRows& r = st.tiles[a];
  double largest = 0.0;
  for (int64_t c = 0; c < r.count; ++c) largest = std::max(largest, st.lists[r.first + c].bound());
  return largest;
}

/// The later leaves b > a, nearest first, with the gap between the balls
/// of a and b (a lower bound on any distance between their rows, padded
/// for the float64 roundings).
std::vector<std::pair<double, int64_t>> later_leaves(const KnnTree& tree, const PairState& st,
                                                     int64_t a, double pad) {
  std::vector<std::pair<double, int64_t>> out;
  const KnnTreeNode& na = tree.node(st.node[a]);
  const double* ca = tree.centre(st.node[a]);
  for (int64_t b = a + 1; b < static_cast<int64_t>(st.tiles.size()); ++b) {
    const double* cb = tree.centre(st.node[b]);
    double s = 0.0;
    for (int64_t t = 0; t < tree.dims(); ++t) s += (ca[t] - cb[t]) * (ca[t] - cb[t]);
    const double gap =
        std::sqrt(s) * (1.0 - pad) - (na.radius + tree.node(st.node[b]).radius) * (1.0 + pad);
    out.emplace_back(gap, b);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int64_t knn_smallest_leaf(const KnnTree& tree) {
  int64_t smallest = tree.node(0).end;
  for (int64_t id = 0; id < tree.nodes(); ++id) {
    const KnnTreeNode& r = tree.node(id);
    if (r.left < 0) smallest = std::min(smallest, r.end - r.begin);
  }
  return smallest;
}

void knn_leaf_pairs(const CpuBackend& be, const KnnTask& task, const KnnTree& tree,
                    const KnnPanels& panels, const std::vector<int64_t>& leaf_tile,
                    KnnKernel kernel) {
  PairState st = pair_state(task, tree);
  const auto leaves = static_cast<int64_t>(st.tiles.size());
  std::vector<std::mutex> locks(static_cast<std::size_t>(leaves));
  const double pad = 4.0 * static_cast<double>(task.d + 4) * 1.1102230246251565e-16;
  int64_t widest = 0;
  for (const TileRows& t : st.tiles) widest = std::max(widest, t.count);
  // One thread's buffers, made on the first leaf it takes. The phases run
  // one after another on the backend's team (core/work_team.hpp): every
  // leaf is seeded before any pair is compared.
  struct Scratch {
    RowMajorF products;
    TileFilter filter;
    FusedFilter fused;
  };
  PerWorker<Scratch> scratch(be.team(), [&] {
    return Scratch{RowMajorF(widest, widest), TileFilter(task, widest), FusedFilter(task, kernel)};
  });
  be.team().run(leaves, [&](int64_t a, int worker) {
    Scratch& s = scratch[worker];
    seed_leaf(tree, st, a, s.products, s.filter);
    st.largest[a] = largest_bound(st, a);
  });
  be.team().run(leaves, [&](int64_t a, int worker) {
    FusedFilter& fused = scratch[worker].fused;
    for (const auto& [gap, b] : later_leaves(tree, st, a, pad)) {
      const std::scoped_lock hold(locks[a], locks[b]);
      const double largest = std::max(st.largest[a], st.largest[b]);
      if (gap > 0.0 && gap * gap * (1.0 - pad) > largest) continue;
      const int64_t t = leaf_tile[st.node[b]];
      fused.run_pairs(tree.centred(st.tiles[a].first), st.side(a), st.side(b), panels.values(t),
                      panels.starts(t), panels.panels(t));
      st.largest[a] = largest_bound(st, a);
      st.largest[b] = largest_bound(st, b);
    }
  });
  // The lists to the outputs, each row's to its place.
  const int64_t k = task.k;
  const int64_t rows = CpuBackend::elementwise_block_rows(k);
  be.for_row_blocks(task.m, rows, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t i = tree.row(p);
      std::copy(st.sq.begin() + p * k, st.sq.begin() + (p + 1) * k, task.distances + i * k);
      std::copy(st.index.begin() + p * k, st.index.begin() + (p + 1) * k, task.indices + i * k);
    }
  });
}

}  // namespace stray::internal
