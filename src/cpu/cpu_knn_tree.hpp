// The ball tree of the CPU's pruned k nearest neighbours (cpu_knn_tiles.cpp,
// cpu_knn_pairs.cpp): rows cut into spatially compact leaves, the tiles.
//
// Each node splits at the median of its rows' positions along the line
// through two far-apart rows (ties by row index, so rows that are all equal
// still split in halves), and keeps the ball around its rows (centre = their
// mean, radius = the farthest row, float64). In a dozen dimensions and more
// a ball bounds a cloud of points far more tightly than a box, whose
// corners grow with every feature, and the line cuts between clusters where
// an axis often runs through several.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "cpu/cpu_backend.hpp"

namespace stray::internal {

struct KnnTreeNode {
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
class KnnTree {
 public:
  KnnTree(const float* X, int64_t n, int64_t d, int64_t leaf_rows,
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

  const KnnTreeNode& node(int64_t id) const { return nodes_[id]; }
  int64_t dims() const { return d_; }
  int64_t nodes() const { return static_cast<int64_t>(nodes_.size()); }
  const double* centre(int64_t id) const { return centres_.data() + id * d_; }
  int64_t row(int64_t position) const { return order_[position]; }
  const int64_t* rows(int64_t position) const { return order_.data() + position; }
  const float* centred(int64_t position) const { return centred_.data() + position * d_; }
  double sq(int64_t position) const { return sq_[position]; }
  double root(int64_t position) const { return root_[position]; }
  const float* sq32(int64_t position) const { return sq32_.data() + position; }
  const float* centred_rows() const { return centred_.data(); }
  /// The rows themselves (not centred) in tree order, for exact distances
  /// that stay in cache.
  const float* original(int64_t position) const { return original_.data() + position * d_; }
  const double* sq_rows() const { return sq_.data(); }
  const double* root_rows() const { return root_.data(); }

 private:
  /// KnnTreeNode [begin, end): its ball, then (above leaf size) a median split
  /// along the line through two far-apart rows — a from the centre, b from
  /// a — which cuts between clusters where an axis often cannot.
  int64_t build(int64_t begin, int64_t end) {
    const int64_t id = static_cast<int64_t>(nodes_.size());
    nodes_.push_back(KnnTreeNode{begin, end});
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
    original_.resize(static_cast<std::size_t>(n * d_));
    sq_.resize(static_cast<std::size_t>(n));
    root_.resize(static_cast<std::size_t>(n));
    sq32_.resize(static_cast<std::size_t>(n));
    for (int64_t p = 0; p < n; ++p) {
      const float* row = X_ + order_[p] * d_;
      std::copy(row, row + d_, original_.data() + p * d_);
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
      KnnTreeNode& node = *it;
      for (int64_t p = node.begin; p < node.end; ++p) {
        node.sq_max = std::max(node.sq_max, sq_[p]);
        node.root_max = std::max(node.root_max, root_[p]);
      }
    }
  }

  const float* X_;
  int64_t d_, leaf_rows_;
  std::vector<int64_t> order_;  // position -> row
  std::vector<KnnTreeNode> nodes_;
  std::vector<double> centres_;  // [nodes x d], original coordinates
  std::vector<double> key_;      // [n] a row's position along a split's line (while building)
  std::vector<float> centred_;   // [n x d] in tree order
  std::vector<float> original_;  // [n x d] in tree order
  std::vector<double> sq_, root_;
  std::vector<float> sq32_;
};

/// Rows per leaf: a block × leaf tile of float32 products per thread fits
/// the workspace (and, at 256 × 256, L2).
inline int64_t leaf_rows_for(const CpuBackend& be) {
  const double share = static_cast<double>(be.workspace_bytes()) / std::max(1, be.threads());
  const auto side = static_cast<int64_t>(std::sqrt(share / sizeof(float)));
  return std::clamp<int64_t>(side / 16 * 16, 16, 256);
}

}  // namespace stray::internal
