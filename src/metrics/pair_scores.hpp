// The scores that count pairs of entities (Rand, adjusted Rand), from a
// contingency table; shared by label_scores.cpp and the older metrics.cpp.
#pragma once

#include "stray/metrics/label_scores.hpp"

namespace stray::internal {

/// sklearn.metrics.rand_score on the table.
double rand_from_table(const Contingency& t);
/// sklearn.metrics.adjusted_rand_score on the table.
double adjusted_rand_from_table(const Contingency& t);

}  // namespace stray::internal
