// A self query's k nearest neighbours by pairs of leaves, each pair's
// distances screened once for both sides (cpu_knn_pairs.cpp). Used by
// knn_pruned where the fused kernel runs and every leaf has more than k
// rows.
#pragma once

#include <cstdint>
#include <vector>

#include "cpu/cpu_knn.hpp"
#include "cpu/cpu_knn_fused.hpp"
#include "cpu/cpu_knn_tree.hpp"

namespace stray::internal {

/// The fewest rows in a leaf of `tree`.
int64_t knn_smallest_leaf(const KnnTree& tree);

/// Fills the cleared lists of a self query (task.queries null) from `tree`
/// over its rows, whose leaves are stored in `panels` (tile leaf_tile[node]),
/// with the fused `kernel`. Every leaf must hold more than task.k rows.
void knn_leaf_pairs(const CpuBackend& be, const KnnTask& task, const KnnTree& tree,
                    const KnnPanels& panels, const std::vector<int64_t>& leaf_tile,
                    KnnKernel kernel);

}  // namespace stray::internal
