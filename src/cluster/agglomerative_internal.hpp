// What the agglomerative linkages share: the merges as an algorithm finds
// them, the one function per linkage that finds them, and the tree steps.
#pragma once

#include <cstdint>
#include <vector>

#include "stray/cluster/agglomerative.hpp"
#include "stray/core/matrix.hpp"

namespace stray::internal {

/// One merge as a linkage algorithm finds it: the two clusters named by
/// their slots (the input row that stands for each, scipy's convention),
/// and the merge distance.
struct RawMerge {
  int64_t a = 0, b = 0;
  double distance = 0.0;
};

/// Ward linkage by the nearest-neighbour chain on centroids and sizes
/// (agglomerative_ward.cpp). Merges in the order found.
std::vector<RawMerge> ward_merges(MatrixView<const float> X, int threads);
/// Single linkage by Prim's minimum spanning tree, distances computed as
/// needed (agglomerative_single.cpp). Edge i joins the row Prim added last
/// (a) to the row it adds next (b), as scipy's and sklearn's MST does.
std::vector<RawMerge> single_merges(MatrixView<const float> X, int threads);
/// Complete or average linkage by the nearest-neighbour chain with
/// Lance–Williams updates on the condensed distance matrix
/// (agglomerative_condensed.cpp). Checks the matrix against
/// `budget_bytes` and the machine's memory before allocating it.
std::vector<RawMerge> condensed_merges(MatrixView<const float> X, Linkage linkage,
                                       std::size_t budget_bytes, int threads);
/// Fails with ErrorCode::out_of_memory when the condensed matrix of n rows
/// is over `budget_bytes` or the machine's memory.
void check_condensed_budget(int64_t n, Linkage linkage, std::size_t budget_bytes);
/// Bytes of the condensed distance matrix of n rows (n(n−1)/2 float64),
/// saturating at SIZE_MAX.
std::size_t condensed_matrix_bytes(int64_t n);

/// scipy's last step (agglomerative_tree.cpp): the merges sorted by
/// distance (stable), then relabelled by union-find into the linkage
/// matrix [(n−1) x 4]. `swapped` [n−1], may be null: where the unsorted
/// pair (cluster of a, cluster of b) was in descending order.
Matrix<double> linkage_from_merges(const std::vector<RawMerge>& merges, int64_t n,
                                   std::vector<uint8_t>* swapped);

}  // namespace stray::internal
