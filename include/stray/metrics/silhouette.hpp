// stray — the silhouette coefficient: how well each entity sits in its
// cluster compared with the nearest other cluster.
//
// Follows sklearn.metrics.silhouette_samples / silhouette_score (Euclidean):
//   a(i) = mean distance from i to the other members of its cluster,
//   b(i) = the smallest mean distance from i to the members of another cluster,
//   s(i) = (b − a) / max(a, b), and s(i) = 0 when i's cluster has one member.
// A singleton scoring 0 (not 1) is what keeps the mean from rising as k
// approaches n; the simplified silhouette (distances to centres) lacks it.
//
// Distances: the data are centred, cross products come from the backend's
// GEMM in row tiles sized from its workspace (never an n × n matrix), and
// d = sqrt(max(0, ‖x‖² + ‖y‖² − 2 x·y)) is accumulated in float64. Exact
// silhouette costs O(n² · d) time; for large n use the sampled score.
//
// Thread safety: the functions keep no state between calls and only read
// their inputs; a Backend is used by one thread at a time (core/backend.hpp), so
// concurrent calls each bring their own Backend.
#pragma once

#include <cstdint>
#include <vector>

#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"

namespace stray {

/// s(i) for every row of X [n x d]. Labels: any int32 values, one per row,
/// with 2 ≤ distinct labels ≤ n − 1 (as scikit-learn); otherwise, or for
/// non-finite X, throws ErrorCode::invalid_argument.
std::vector<double> silhouette_samples(Backend& backend, MatrixView<const float> X,
                                       const std::vector<int32_t>& labels);

/// The mean of silhouette_samples. sample_size > 0 and < n: the mean over a
/// uniform sample of that many rows drawn with `seed` (distances among the
/// sample only, as scikit-learn's sample_size), so cost is O(sample² · d).
double silhouette_score(Backend& backend, MatrixView<const float> X,
                        const std::vector<int32_t>& labels, int64_t sample_size = 0,
                        uint64_t seed = 0);

/// The same from a precomputed symmetric distance matrix D [n x n] (zero
/// diagonal), for callers that score many labelings of the same rows.
std::vector<double> silhouette_samples_precomputed(MatrixView<const float> D,
                                                   const std::vector<int32_t>& labels);

/// D [n x n] of Euclidean distances between the rows of X, computed as
/// silhouette_samples does. Throws ErrorCode::out_of_memory (before
/// allocating) when n² floats do not fit in memory.
Matrix<float> pairwise_distances(Backend& backend, MatrixView<const float> X);

}  // namespace stray
