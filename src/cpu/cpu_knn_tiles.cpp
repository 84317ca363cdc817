// CPU backend: Backend::knn by pruned tiles (cpu_knn.hpp).
//
// The rows are cut into spatially compact blocks, the leaves of a ball tree
// (cpu_knn_tree.hpp).
//
// A block of queries (a leaf of the query tree) walks the reference tree
// depth first, nearer child first, carrying the set of its queries still
// active there: a query leaves the set where the ball is provably farther
// than its k-th exact distance so far. A reference leaf reached with a
// non-empty set is one tile (active queries × leaf): float32 products on
// centred copies by GEMM, read at once by the TileFilter
// (cpu_knn_filter.cpp), or for narrow rows the fused kernel
// (cpu_knn_fused.hpp); the rows kept are recomputed exactly and offered to
// the query's list (core/knn_exact.hpp). The answer is brute force's, bit
// for bit; only the work differs. A self query goes by pairs of leaves
// instead where it can (cpu_knn_pairs.cpp).
//
// Exact duplicates: once a query's list holds k rows at distance 0, only a
// lower index could enter, so the query leaves every node whose lowest index
// is above its list's last; a fleet of identical hosts costs about what
// distinct ones do.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "core/check.hpp"
#include "core/knn_exact.hpp"
#include "core/work_team.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/cpu_knn.hpp"
#include "cpu/cpu_knn_fused.hpp"
#include "cpu/cpu_knn_pairs.hpp"
#include "cpu/cpu_knn_tree.hpp"

namespace stray::internal {
namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// One thread's search for the queries of one leaf of the query tree.
class BlockSearch {
 public:
  BlockSearch(const KnnTask& task, const KnnTree& queries, const KnnTree& reference,
              int64_t leaf_rows, const KnnPanels* panels, const std::vector<int64_t>& leaf_tile,
              KnnKernel kernel)
      : task_(task), qt_(queries), rt_(reference),
        // The ball test's float64 roundings, padded as the exact distance is.
        pad_(4.0 * static_cast<double>(task.d + 4) * 1.1102230246251565e-16),
        panels_(panels), leaf_tile_(leaf_tile),
        gathered_(leaf_rows, task.d), products_(leaf_rows, leaf_rows),
        filter_(task, leaf_rows), fused_(task, kernel),
        queries_(static_cast<std::size_t>(leaf_rows)),
        lists_(static_cast<std::size_t>(leaf_rows), KnnList{nullptr, nullptr, task.k}) {
    active_.reserve(128);  // the tree's depth bounds the recursion
  }

  void run(int64_t query_leaf) {
    q_ = &qt_.node(query_leaf);
    q_centre_ = qt_.centre(query_leaf);
    const int64_t nq = q_->end - q_->begin;
    std::vector<int64_t>& all = active_at(0);
    all.resize(static_cast<std::size_t>(nq));
    for (int64_t a = 0; a < nq; ++a) all[a] = a;
    // The leaf nearest the block first, for all its queries: their lists
    // start near their final bounds, and the walk prunes from the start.
    home_ = home_leaf(query_leaf);
    // Each query's own ball tests cost about as much as an eighth of its
    // tile rows; where they rule out little (structureless rows, where
    // every leaf is near every query) the block goes without them, and
    // every eighth block measures again. The answer never depends on it.
    test_queries_ = blocks_ % 8 == 0 || computed_share_ < 0.75;
    ++blocks_;
    computed_ = 0;
    whole_ready_ = false;
    tile(all, rt_.node(home_), home_);
    visit(0, 0);
    if (test_queries_)
      computed_share_ = static_cast<double>(computed_) / static_cast<double>(nq * rt_.node(0).end);
  }

 private:
  KnnList list_of(int64_t a) const {
    const int64_t i = qt_.row(q_->begin + a);
    return KnnList{task_.distances + i * task_.k, task_.indices + i * task_.k, task_.k};
  }
  const float* query_row(int64_t a) const {
    const int64_t i = qt_.row(q_->begin + a);
    return (task_.queries ? task_.queries : task_.reference) + i * task_.d;
  }
  std::vector<int64_t>& active_at(std::size_t depth) {
    if (active_.size() <= depth) active_.resize(depth + 1);
    return active_[depth];
  }

  /// Distance from the query block's centre to the ball of reference node
  /// `id` (negative inside it): the order of the walk, not a bound.
  double gap_from_block(int64_t id) const {
    const double* c = rt_.centre(id);
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t t = 0; t < task_.d; ++t) s += (q_centre_[t] - c[t]) * (q_centre_[t] - c[t]);
    return std::sqrt(s) - rt_.node(id).radius;
  }

  /// The query leaf itself for a self query, else the reference leaf
  /// reached by always taking the child nearer the block's centre.
  int64_t home_leaf(int64_t query_leaf) const {
    if (task_.queries == nullptr) return query_leaf;
    int64_t id = 0;
    while (rt_.node(id).left >= 0) {
      const KnnTreeNode& r = rt_.node(id);
      id = gap_from_block(r.left) <= gap_from_block(r.right) ? r.left : r.right;
    }
    return id;
  }

  /// Whether the ball of reference node `id` may hold a row that enters
  /// the list of query a.
  bool may_enter(int64_t a, int64_t id) const {
    const KnnList list = list_of(a);
    const double bound = list.bound();
    const int64_t last = list.index[task_.k - 1];
    const KnnTreeNode& r = rt_.node(id);
    if (last >= 0 && bound == 0.0 && r.min_index > last) return false;  // duplicates: higher ties
    const double gap = distance_to(query_row(a), rt_.centre(id), task_.d) * (1.0 - pad_) -
                       r.radius * (1.0 + pad_);
    return !(gap > 0.0 && gap * gap * (1.0 - pad_) > bound);
  }

  /// Whether no active query of the block can gain a row from node `id`:
  /// the balls of the block and the node are farther apart than the
  /// largest k-th distance among them. One distance for the whole block.
  bool block_rules_out(int64_t id, const std::vector<int64_t>& active) const {
    double largest = 0.0;
    for (const int64_t a : active) largest = std::max(largest, list_of(a).bound());
    const double* c = rt_.centre(id);
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t t = 0; t < task_.d; ++t) s += (q_centre_[t] - c[t]) * (q_centre_[t] - c[t]);
    const double gap =
        std::sqrt(s) * (1.0 - pad_) - (q_->radius + rt_.node(id).radius) * (1.0 + pad_);
    return gap > 0.0 && gap * gap * (1.0 - pad_) > largest;
  }

  /// KnnTreeNode `id` for the queries active_[depth - 1] (all of the block at the
  /// root), narrowed to those it may serve: by the block's ball, then, when
  /// the block tests its queries one by one, by each query's own distance.
  void visit(int64_t id, std::size_t depth) {
    std::vector<int64_t>& here = active_at(depth + 1);
    here.clear();
    if (block_rules_out(id, active_[depth])) return;
    for (const int64_t a : active_[depth]) {
      if (!test_queries_ || may_enter(a, id)) here.push_back(a);
    }
    if (here.empty()) return;
    const KnnTreeNode& r = rt_.node(id);
    if (r.left < 0) {
      if (id != home_) tile(here, r, id);
      return;
    }
    // Nearer child first (from the block's centre), so lists tighten
    // before the farther child is tested.
    const bool left_first = gap_from_block(r.left) <= gap_from_block(r.right);
    visit(left_first ? r.left : r.right, depth + 1);
    visit(left_first ? r.right : r.left, depth + 1);
  }

  void tile(const std::vector<int64_t>& active, const KnnTreeNode& r, int64_t id) {
    const int64_t na = static_cast<int64_t>(active.size()), nr = r.end - r.begin, d = task_.d;
    computed_ += na * nr;
    // The whole block (usual on structureless rows) reads its own rows in
    // place, and its queries and lists stay as the last whole-block tile
    // left them.
    const bool whole = na == q_->end - q_->begin;
    const float* xs = whole ? qt_.centred(q_->begin) : gathered_.data();
    if (!(whole && whole_ready_)) {
      whole_ready_ = whole;
      for (int64_t c = 0; c < na; ++c) {
        const int64_t position = q_->begin + active[c];
        if (!whole) std::copy(qt_.centred(position), qt_.centred(position) + d, gathered_.data() + c * d);
        lists_[c] = list_of(active[c]);
        queries_[c] = TileQuery{query_row(active[c]), qt_.row(position), task_.queries == nullptr,
                                qt_.sq(position), qt_.root(position)};
      }
    }
    bool full = true;
    for (int64_t c = 0; c < na && full; ++c) full = lists_[c].full();
    TileRows rows;
    rows.sq32 = rt_.sq32(r.begin);
    rows.index = rt_.rows(r.begin);
    rows.count = nr;
    rows.sq_max = r.sq_max;
    rows.root_max = r.root_max;
    rows.min_index = r.min_index;
    rows.original = rt_.original(r.begin);
    if (panels_ && full) {
      const int64_t t = leaf_tile_[id];
      fused_.run(xs, queries_.data(), lists_.data(), na, rows, panels_->values(t),
                 panels_->starts(t), panels_->panels(t));
      return;
    }
    const Eigen::Map<const RowMajorF> x(xs, na, d);
    const Eigen::Map<const RowMajorF> ys(rt_.centred(r.begin), nr, d);
    Eigen::Map<RowMajorF> out(products_.data(), na, nr);
    out.noalias() = x * ys.transpose();
    for (int64_t c = 0; c < na; ++c) filter_.run(queries_[c], rows, products_.data() + c * nr, lists_[c]);
  }

  const KnnTask& task_;
  const KnnTree& qt_;
  const KnnTree& rt_;
  double pad_;
  const KnnTreeNode* q_ = nullptr;
  const double* q_centre_ = nullptr;
  int64_t home_ = -1;  // the reference leaf visited first
  bool whole_ready_ = false;      // queries_, lists_ hold the whole block, in order
  bool test_queries_ = true;      // this block tests each query's distance to each node
  int64_t blocks_ = 0;            // blocks this search has run
  int64_t computed_ = 0;          // query-row pairs this block computed
  double computed_share_ = 0.0;   // ... over all its pairs, in the last block that tested
  std::vector<std::vector<int64_t>> active_;  // per depth: the block's queries still active
  const KnnPanels* panels_;               // the reference leaves for the fused kernel, or null
  const std::vector<int64_t>& leaf_tile_;  // node -> its tile in panels_
  RowMajorF gathered_, products_;
  TileFilter filter_;
  FusedFilter fused_;
  std::vector<TileQuery> queries_;  // the active queries of the tile at hand
  std::vector<KnnList> lists_;
};

}  // namespace

void knn_pruned(const CpuBackend& be, const KnnTask& task) {
  const char* where = "knn";
  const int64_t m = task.m, q = task.q, d = task.d;
  const int64_t copies = m + (task.queries ? q : 0);
  require_memory(where, "the trees' centred and ordered copies", {2 * copies, d}, sizeof(float),
                 "float32");
  const int64_t leaf_rows = leaf_rows_for(be);
  require_memory(where, "the trees' ball centres", {4 * (copies / leaf_rows + 2), d},
                 sizeof(double), "float64");
  const std::vector<double> shift = knn_column_means(task.reference, m, d);
  const KnnTree reference(task.reference, m, d, leaf_rows, shift);
  std::optional<KnnTree> query_own;
  if (task.queries) query_own.emplace(task.queries, q, d, leaf_rows, shift);
  const KnnTree& queries = task.queries ? *query_own : reference;
  std::vector<int64_t> leaves;
  for (int64_t id = 0; id < queries.nodes(); ++id)
    if (queries.node(id).left < 0) leaves.push_back(id);
  const KnnKernel kernel =
      knn_task_kernel(task, queries.node(0).sq_max + reference.node(0).sq_max);
  std::optional<KnnPanels> panels;
  std::vector<int64_t> leaf_tile(static_cast<std::size_t>(reference.nodes()), -1);
  if (kernel != KnnKernel::gemm) {
    std::vector<std::pair<int64_t, int64_t>> runs;
    for (int64_t id = 0; id < reference.nodes(); ++id) {
      if (reference.node(id).left >= 0) continue;
      leaf_tile[id] = static_cast<int64_t>(runs.size());
      runs.emplace_back(reference.node(id).begin, reference.node(id).end);
    }
    require_memory(where, "the reference panels",
                   {knn_panel_floats(m, static_cast<int64_t>(runs.size()), d)}, sizeof(float),
                   "float32");
    panels.emplace(reference.centred_rows(), reference.sq_rows(), d, runs);
  }
  knn_clear_lists(be, task);
  if (panels && task.queries == nullptr && knn_smallest_leaf(reference) > task.k) {
    require_memory(where, "the lists in tree order", {m, task.k}, sizeof(double) + sizeof(int64_t),
                   "float64 + int64");
    knn_leaf_pairs(be, task, reference, *panels, leaf_tile, kernel);
    knn_take_roots(be, task);
    return;
  }
  const auto count = static_cast<int64_t>(leaves.size());
  // A search per thread, made on the first leaf it takes (its buffers and
  // its measure of how much the ball tests prune).
  PerWorker<BlockSearch> searches(be.team(), [&] {
    return BlockSearch(task, queries, reference, leaf_rows, panels ? &*panels : nullptr,
                       leaf_tile, kernel);
  });
  be.team().run(count, [&](int64_t l, int worker) { searches[worker].run(leaves[l]); });
  knn_take_roots(be, task);
}

}  // namespace stray::internal
