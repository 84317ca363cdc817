// What the label-score files share: the scores that count pairs of
// entities (Rand, adjusted Rand, pair_scores.cpp; also used by the older
// metrics.cpp), and the check of a table that did not come from
// contingency_table (contingency.cpp).
#pragma once

#include "stray/metrics/label_scores.hpp"

namespace stray::internal {

/// sklearn.metrics.rand_score on the table.
double rand_from_table(const Contingency& t);
/// sklearn.metrics.adjusted_rand_score on the table.
double adjusted_rand_from_table(const Contingency& t);

/// expected_mutual_info without the check (for a table already checked).
double expected_mutual_info_of(const Contingency& t);

/// A caller's table is whole before it is read: 1 ≤ n < 2³², class sizes positive
/// and summing to n on each side, cells inside the table with positive
/// counts summing to n. Throws ErrorCode::invalid_argument naming `where`.
void check_contingency(const Contingency& t, const char* where);

}  // namespace stray::internal
