// CPU backend: Backend::knn by pruned tiles (cpu_knn.hpp).
//
// The rows are cut into spatially compact blocks, the leaves of a ball tree:
// each node splits at the median of its rows' positions along the line
// through two far-apart rows (ties by row index, so rows that are all equal
// still split in halves), and keeps the ball around its rows (centre = their
// mean, radius = the farthest row, float64). In a dozen dimensions and more
// a ball bounds a cloud of points far more tightly than a box, whose
// corners grow with every feature, and the line cuts between clusters where
// an axis often runs through several.
//
// A block of queries (a leaf of the query tree) walks the reference tree
// depth first, nearer child first, carrying the set of its queries still
// active there: a query leaves the set where the ball is provably farther
// than its k-th exact distance so far. A reference leaf reached with a
// non-empty set is one GEMM tile (active queries × leaf, float32 products on
// centred copies), read at once by the TileFilter (cpu_knn_filter.cpp); the
// rows it keeps are recomputed exactly and offered to the query's list
// (core/knn_exact.hpp). The answer is brute force's, bit for bit; only the
// work differs.
//
// Exact duplicates: once a query's list holds k rows at distance 0, only a
// lower index could enter, so the query leaves every node whose lowest index
// is above its list's last; a fleet of identical hosts costs about what
// distinct ones do.
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "core/check.hpp"
#include "core/knn_exact.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/cpu_knn.hpp"

namespace stray::internal {
namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Node {
  int64_t begin = 0, end = 0;     // positions in tree order
  int64_t left = -1, right = -1;  // children; -1: a leaf
  int64_t min_index = 0;          // the lowest row below
  double radius = 0.0;            // the farthest row from the centre
  double sq_max = 0.0, root_max = 0.0;  // the largest ‖x'‖², ‖x'‖ below (centred rows)
};

/// ‖x − centre‖ in float64, summed in any order (a bound padded for it).
inline double distance_to(const float* x, const double* centre, int64_t d) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t t = 0; t < d; ++t) {
    const double diff = static_cast<double>(x[t]) - centre[t];
    s += diff * diff;
  }
  return std::sqrt(s);
}

/// A ball tree whose leaves are the tiles: rows in tree order, centred
/// (x' = fl32(x − shift)) with their norms, and each node's ball in the
/// original coordinates.
class BlockTree {
 public:
  BlockTree(const float* X, int64_t n, int64_t d, int64_t leaf_rows,
            const std::vector<double>& shift)
      : X_(X), d_(d), leaf_rows_(leaf_rows) {
    order_.resize(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) order_[i] = i;
    nodes_.reserve(static_cast<std::size_t>(4 * (n / leaf_rows + 1)));
    centres_.reserve(nodes_.capacity() * static_cast<std::size_t>(d));
    key_.resize(static_cast<std::size_t>(n));
    build(0, n);
    key_ = {};
    centre_rows(shift);
  }

  const Node& node(int64_t id) const { return nodes_[id]; }
  int64_t nodes() const { return static_cast<int64_t>(nodes_.size()); }
  const double* centre(int64_t id) const { return centres_.data() + id * d_; }
  int64_t row(int64_t position) const { return order_[position]; }
  const int64_t* rows(int64_t position) const { return order_.data() + position; }
  const float* centred(int64_t position) const { return centred_.data() + position * d_; }
  double sq(int64_t position) const { return sq_[position]; }
  double root(int64_t position) const { return root_[position]; }
  const float* sq32(int64_t position) const { return sq32_.data() + position; }

 private:
  /// Node [begin, end): its ball, then (above leaf size) a median split
  /// along the line through two far-apart rows — a from the centre, b from
  /// a — which cuts between clusters where an axis often cannot.
  int64_t build(int64_t begin, int64_t end) {
    const int64_t id = static_cast<int64_t>(nodes_.size());
    nodes_.push_back(Node{begin, end});
    centres_.resize(centres_.size() + static_cast<std::size_t>(d_), 0.0);
    double* c = centres_.data() + id * d_;
    int64_t min_index = std::numeric_limits<int64_t>::max();
    for (int64_t p = begin; p < end; ++p) {
      const float* row = X_ + order_[p] * d_;
      min_index = std::min(min_index, order_[p]);
      for (int64_t t = 0; t < d_; ++t) c[t] += row[t];
    }
    const auto count = static_cast<double>(std::max<int64_t>(end - begin, 1));
    for (int64_t t = 0; t < d_; ++t) c[t] /= count;
    int64_t far_a = order_[begin];
    double radius = 0.0;
    for (int64_t p = begin; p < end; ++p) {
      const double dist = distance_to(X_ + order_[p] * d_, c, d_);
      if (dist > radius) {
        radius = dist;
        far_a = order_[p];
      }
    }
    nodes_[id].min_index = min_index;
    nodes_[id].radius = radius;
    if (end - begin <= leaf_rows_) return id;

    std::vector<double> a(X_ + far_a * d_, X_ + far_a * d_ + d_);
    int64_t far_b = far_a;
    double spread = 0.0;
    for (int64_t p = begin; p < end; ++p) {
      const double dist = distance_to(X_ + order_[p] * d_, a.data(), d_);
      if (dist > spread) {
        spread = dist;
        far_b = order_[p];
      }
    }
    std::vector<double>& key = key_;
    for (int64_t p = begin; p < end; ++p) {
      const float* row = X_ + order_[p] * d_;
      double s = 0.0;
      for (int64_t t = 0; t < d_; ++t) s += static_cast<double>(row[t]) * (X_[far_b * d_ + t] - a[t]);
      key[order_[p]] = s;
    }
    const int64_t mid = begin + (end - begin) / 2;
    std::nth_element(order_.begin() + begin, order_.begin() + mid, order_.begin() + end,
                     [&key](int64_t u, int64_t v) {
                       return key[u] < key[v] || (key[u] == key[v] && u < v);
                     });
    const int64_t left = build(begin, mid);
    const int64_t right = build(mid, end);
    nodes_[id].left = left;
    nodes_[id].right = right;
    return id;
  }

  void centre_rows(const std::vector<double>& shift) {
    const int64_t n = static_cast<int64_t>(order_.size());
    centred_.resize(static_cast<std::size_t>(n * d_));
    sq_.resize(static_cast<std::size_t>(n));
    root_.resize(static_cast<std::size_t>(n));
    sq32_.resize(static_cast<std::size_t>(n));
    for (int64_t p = 0; p < n; ++p) {
      const float* row = X_ + order_[p] * d_;
      double s = 0.0;
      for (int64_t t = 0; t < d_; ++t) {
        const auto v = static_cast<float>(static_cast<double>(row[t]) - shift[t]);
        centred_[p * d_ + t] = v;
        s += static_cast<double>(v) * v;
      }
      sq_[p] = s;
      root_[p] = std::sqrt(s);
      sq32_[p] = static_cast<float>(s);
    }
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {  // children come after parents
      Node& node = *it;
      for (int64_t p = node.begin; p < node.end; ++p) {
        node.sq_max = std::max(node.sq_max, sq_[p]);
        node.root_max = std::max(node.root_max, root_[p]);
      }
    }
  }

  const float* X_;
  int64_t d_, leaf_rows_;
  std::vector<int64_t> order_;  // position -> row
  std::vector<Node> nodes_;
  std::vector<double> centres_;  // [nodes x d], original coordinates
  std::vector<double> key_;      // [n] a row's position along a split's line (while building)
  std::vector<float> centred_;   // [n x d] in tree order
  std::vector<double> sq_, root_;
  std::vector<float> sq32_;
};

/// Rows per leaf: a block × leaf tile of float32 products per thread fits
/// the workspace (and, at 256 × 256, L2).
int64_t leaf_rows_for(const CpuBackend& be) {
  const double share = static_cast<double>(be.workspace_bytes()) / std::max(1, be.threads());
  const auto side = static_cast<int64_t>(std::sqrt(share / sizeof(float)));
  return std::clamp<int64_t>(side / 16 * 16, 16, 256);
}

/// One thread's search for the queries of one leaf of the query tree.
class BlockSearch {
 public:
  BlockSearch(const KnnTask& task, const BlockTree& queries, const BlockTree& reference,
              int64_t leaf_rows)
      : task_(task), qt_(queries), rt_(reference),
        // The ball test's float64 roundings, padded as the exact distance is.
        pad_(4.0 * static_cast<double>(task.d + 4) * 1.1102230246251565e-16),
        gathered_(leaf_rows, task.d), products_(leaf_rows, leaf_rows),
        filter_(task, leaf_rows) {
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
    tile(all, rt_.node(home_));
    visit(0, 0);
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
      const Node& r = rt_.node(id);
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
    const Node& r = rt_.node(id);
    if (last >= 0 && bound == 0.0 && r.min_index > last) return false;  // duplicates: higher ties
    const double gap = distance_to(query_row(a), rt_.centre(id), task_.d) * (1.0 - pad_) -
                       r.radius * (1.0 + pad_);
    return !(gap > 0.0 && gap * gap * (1.0 - pad_) > bound);
  }

  /// Node `id` for the queries active_[depth - 1] (all of the block at the
  /// root), narrowed to those it may serve.
  void visit(int64_t id, std::size_t depth) {
    std::vector<int64_t>& here = active_at(depth + 1);
    here.clear();
    for (const int64_t a : active_[depth]) {
      if (may_enter(a, id)) here.push_back(a);
    }
    if (here.empty()) return;
    const Node& r = rt_.node(id);
    if (r.left < 0) {
      if (id != home_) tile(here, r);
      return;
    }
    // Nearer child first (from the block's centre), so lists tighten
    // before the farther child is tested.
    const bool left_first = gap_from_block(r.left) <= gap_from_block(r.right);
    visit(left_first ? r.left : r.right, depth + 1);
    visit(left_first ? r.right : r.left, depth + 1);
  }

  void tile(const std::vector<int64_t>& active, const Node& r) {
    const int64_t na = static_cast<int64_t>(active.size()), nr = r.end - r.begin, d = task_.d;
    for (int64_t c = 0; c < na; ++c) {
      std::copy(qt_.centred(q_->begin + active[c]), qt_.centred(q_->begin + active[c]) + d,
                gathered_.data() + c * d);
    }
    const Eigen::Map<const RowMajorF> xs(gathered_.data(), na, d);
    const Eigen::Map<const RowMajorF> ys(rt_.centred(r.begin), nr, d);
    Eigen::Map<RowMajorF> out(products_.data(), na, nr);
    out.noalias() = xs * ys.transpose();
    TileRows rows;
    rows.sq32 = rt_.sq32(r.begin);
    rows.index = rt_.rows(r.begin);
    rows.count = nr;
    rows.sq_max = r.sq_max;
    rows.root_max = r.root_max;
    rows.min_index = r.min_index;
    for (int64_t c = 0; c < na; ++c) {
      const int64_t position = q_->begin + active[c];
      KnnList list = list_of(active[c]);
      const TileQuery query{query_row(active[c]), qt_.row(position), task_.queries == nullptr,
                            qt_.sq(position), qt_.root(position)};
      filter_.run(query, rows, products_.data() + c * nr, list);
    }
  }

  const KnnTask& task_;
  const BlockTree& qt_;
  const BlockTree& rt_;
  double pad_;
  const Node* q_ = nullptr;
  const double* q_centre_ = nullptr;
  int64_t home_ = -1;  // the reference leaf visited first
  std::vector<std::vector<int64_t>> active_;  // per depth: the block's queries still active
  RowMajorF gathered_, products_;
  TileFilter filter_;
};

}  // namespace

void knn_pruned(const CpuBackend& be, const KnnTask& task) {
  const char* where = "knn";
  const int64_t m = task.m, q = task.q, d = task.d;
  const int64_t copies = m + (task.queries ? q : 0);
  require_memory(where, "the trees' centred copies", {copies, d}, sizeof(float), "float32");
  const int64_t leaf_rows = leaf_rows_for(be);
  require_memory(where, "the trees' ball centres", {4 * (copies / leaf_rows + 2), d},
                 sizeof(double), "float64");
  const std::vector<double> shift = knn_column_means(task.reference, m, d);
  const BlockTree reference(task.reference, m, d, leaf_rows, shift);
  std::optional<BlockTree> query_own;
  if (task.queries) query_own.emplace(task.queries, q, d, leaf_rows, shift);
  const BlockTree& queries = task.queries ? *query_own : reference;
  std::vector<int64_t> leaves;
  for (int64_t id = 0; id < queries.nodes(); ++id)
    if (queries.node(id).left < 0) leaves.push_back(id);
  knn_clear_lists(be, task);
  const auto count = static_cast<int64_t>(leaves.size());
#pragma omp parallel num_threads(be.threads()) if (count > 1)
  {
    BlockSearch search(task, queries, reference, leaf_rows);
#pragma omp for schedule(dynamic, 1)
    for (int64_t l = 0; l < count; ++l) search.run(leaves[l]);
  }
  knn_take_roots(be, task);
}

}  // namespace stray::internal
