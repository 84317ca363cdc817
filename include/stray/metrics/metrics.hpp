// stray — agreement between two labelings (e.g. clusters vs image names).
//
// Thread safety: the functions keep no state; concurrent calls are safe.
#pragma once

#include <cstdint>
#include <vector>

namespace stray {

/// Adjusted Rand index (Hubert & Arabie), as sklearn.metrics.adjusted_rand_score:
/// 1 for identical partitions (up to renaming), ~0 for random ones.
/// Labels may be any int64 values; the two vectors must have equal length
/// (else ErrorCode::shape_mismatch) and not be empty (else invalid_argument).
/// O(n); the other scores are in label_scores.hpp.
double adjusted_rand_score(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred);
double adjusted_rand_score(const std::vector<int32_t>& truth, const std::vector<int32_t>& pred);

}  // namespace stray
