// The merge tree's two conventions users compare against: scipy's linkage
// matrix (how merges are ordered and clusters numbered) and scikit-learn's
// cut of it into labels (how the clusters are numbered).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "cluster/agglomerative_internal.hpp"
#include "core/check.hpp"

namespace stray {

namespace internal {

namespace {

// scipy's LinkageUnionFind: merging two roots makes a new cluster numbered
// n, n+1, ... in order of the merges.
class MergeUnionFind {
 public:
  explicit MergeUnionFind(int64_t n)
      : parent_(static_cast<std::size_t>(2 * n - 1)),
        size_(static_cast<std::size_t>(2 * n - 1), 1),
        next_(n) {
    std::iota(parent_.begin(), parent_.end(), int64_t{0});
  }
  int64_t find(int64_t x) {
    int64_t root = x;
    while (parent_[static_cast<std::size_t>(root)] != root)
      root = parent_[static_cast<std::size_t>(root)];
    while (parent_[static_cast<std::size_t>(x)] != root) {  // path compression
      const int64_t up = parent_[static_cast<std::size_t>(x)];
      parent_[static_cast<std::size_t>(x)] = root;
      x = up;
    }
    return root;
  }
  // Merges roots x and y; returns the new cluster's size.
  int64_t merge(int64_t x, int64_t y) {
    const int64_t id = next_++;
    parent_[static_cast<std::size_t>(x)] = parent_[static_cast<std::size_t>(y)] = id;
    const int64_t s = size_[static_cast<std::size_t>(x)] + size_[static_cast<std::size_t>(y)];
    size_[static_cast<std::size_t>(id)] = s;
    return s;
  }

 private:
  std::vector<int64_t> parent_, size_;
  int64_t next_;
};

}  // namespace

Matrix<double> linkage_from_merges(const std::vector<RawMerge>& merges, int64_t n,
                                   std::vector<uint8_t>* swapped) {
  const int64_t m = n - 1;
  std::vector<int64_t> order(static_cast<std::size_t>(m));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return merges[static_cast<std::size_t>(a)].distance <
           merges[static_cast<std::size_t>(b)].distance;
  });
  Matrix<double> Z(m, 4);
  if (swapped) swapped->assign(static_cast<std::size_t>(m), 0);
  MergeUnionFind uf(n);
  for (int64_t i = 0; i < m; ++i) {
    const RawMerge& r = merges[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])];
    const int64_t x = uf.find(r.a), y = uf.find(r.b);
    Z(i, 0) = static_cast<double>(std::min(x, y));
    Z(i, 1) = static_cast<double>(std::max(x, y));
    Z(i, 2) = r.distance;
    Z(i, 3) = static_cast<double>(uf.merge(x, y));
    if (swapped) (*swapped)[static_cast<std::size_t>(i)] = x > y ? 1 : 0;
  }
  return Z;
}

namespace {

// Python's heapq on a list of ints, step for step (_siftdown, _siftup): the
// numbering of scikit-learn's labels is the order of this heap's array, so
// the same operations must leave the same array.
void py_siftdown(std::vector<int64_t>& heap, std::size_t start, std::size_t pos) {
  const int64_t item = heap[pos];
  while (pos > start) {
    const std::size_t parent = (pos - 1) >> 1;
    if (item < heap[parent]) {
      heap[pos] = heap[parent];
      pos = parent;
      continue;
    }
    break;
  }
  heap[pos] = item;
}

void py_siftup(std::vector<int64_t>& heap, std::size_t pos) {
  const std::size_t end = heap.size(), start = pos;
  const int64_t item = heap[pos];
  std::size_t child = 2 * pos + 1;
  while (child < end) {
    const std::size_t right = child + 1;
    if (right < end && !(heap[child] < heap[right])) child = right;
    heap[pos] = heap[child];
    pos = child;
    child = 2 * pos + 1;
  }
  heap[pos] = item;
  py_siftdown(heap, start, pos);
}

void py_heappush(std::vector<int64_t>& heap, int64_t item) {
  heap.push_back(item);
  py_siftdown(heap, 0, heap.size() - 1);
}

void py_heappushpop(std::vector<int64_t>& heap, int64_t item) {
  if (!heap.empty() && heap[0] < item) {
    std::swap(item, heap[0]);
    py_siftup(heap, 0);
  }
}

}  // namespace

}  // namespace internal

std::vector<int32_t> cut_tree_labels(MatrixView<const double> Z, int64_t n_clusters,
                                     const std::vector<uint8_t>* children_swapped) {
  constexpr const char* where = "cut_tree_labels";
  const int64_t n = Z.rows() + 1;
  internal::require(Z.cols() == 4 && Z.rows() >= 1, ErrorCode::shape_mismatch, where,
                    "a linkage matrix is (n-1) x 4 with n >= 2, got ", Z.rows(), " x ", Z.cols());
  internal::require(n_clusters >= 1 && n_clusters <= n, ErrorCode::invalid_argument, where,
                    "n_clusters=", n_clusters, " outside [1, ", n, "]");
  internal::require(!children_swapped || static_cast<int64_t>(children_swapped->size()) == n - 1,
                    ErrorCode::shape_mismatch, where, "children_swapped has ",
                    children_swapped ? children_swapped->size() : 0, " entries, not ", n - 1);
  // children[node − n] as scikit-learn's children_, checked to be a tree.
  std::vector<int64_t> children(static_cast<std::size_t>(2 * (n - 1)));
  std::vector<uint8_t> used(static_cast<std::size_t>(2 * n - 1), 0);
  for (int64_t i = 0; i < n - 1; ++i) {
    const bool swap = children_swapped && (*children_swapped)[static_cast<std::size_t>(i)];
    for (int c = 0; c < 2; ++c) {
      const double v = Z(i, swap ? 1 - c : c);
      internal::require(v >= 0 && v < static_cast<double>(n + i) && v == std::floor(v),
                        ErrorCode::invalid_argument, where, "row ", i, " names cluster ", v,
                        ", not one formed before it");
      const auto id = static_cast<int64_t>(v);
      internal::require(!used[static_cast<std::size_t>(id)], ErrorCode::invalid_argument, where,
                        "cluster ", id, " is merged twice (row ", i, ")");
      used[static_cast<std::size_t>(id)] = 1;
      children[static_cast<std::size_t>(2 * i + c)] = id;
    }
  }
  // scikit-learn's _hc_cut: split the highest-numbered cluster until there
  // are n_clusters, on a heap of negated ids.
  std::vector<int64_t> heap{-(2 * n - 2)};
  for (int64_t step = 0; step < n_clusters - 1; ++step) {
    const int64_t node = -heap[0];
    internal::require(node >= n, ErrorCode::invalid_argument, where,
                      "the tree does not split into ", n_clusters, " clusters");
    const int64_t* two = &children[static_cast<std::size_t>(2 * (node - n))];
    internal::py_heappush(heap, -two[0]);
    internal::py_heappushpop(heap, -two[1]);
  }
  std::vector<int32_t> labels(static_cast<std::size_t>(n), -1);
  std::vector<int64_t> stack;
  for (std::size_t label = 0; label < heap.size(); ++label) {
    stack.assign(1, -heap[label]);
    while (!stack.empty()) {
      const int64_t node = stack.back();
      stack.pop_back();
      if (node < n) {
        labels[static_cast<std::size_t>(node)] = static_cast<int32_t>(label);
      } else {
        stack.push_back(children[static_cast<std::size_t>(2 * (node - n))]);
        stack.push_back(children[static_cast<std::size_t>(2 * (node - n) + 1)]);
      }
    }
  }
  for (int64_t i = 0; i < n; ++i)
    internal::require(labels[static_cast<std::size_t>(i)] >= 0, ErrorCode::invalid_argument,
                      where, "row ", i, " is in no cluster: the linkage matrix is not a tree");
  return labels;
}

int64_t clusters_at_threshold(MatrixView<const double> Z, double threshold) {
  int64_t at_or_above = 0;
  for (int64_t i = 0; i < Z.rows(); ++i) at_or_above += Z(i, 2) >= threshold ? 1 : 0;
  return at_or_above + 1;
}

}  // namespace stray
