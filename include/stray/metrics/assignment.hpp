// stray — the linear sum assignment problem (minimum-cost matching).
//
// Given an n_rows × n_cols cost matrix, pick min(n_rows, n_cols) cells, at
// most one per row and one per column, whose total cost is smallest (or
// largest with `maximize`). Used to match the clusters of one day to those of
// the next, and by `stray match`.
//
// Same problem, answer format and refusals as scipy.optimize.
// linear_sum_assignment: the shortest augmenting path algorithm of Crouse
// (2016, "On implementing 2D rectangular assignment algorithms"), a
// Jonker–Volgenant-style Hungarian method with dual variables, run on the
// matrix or its transpose so that rows ≤ columns.
//
// Thread safety: linear_sum_assignment keeps no state and only reads the
// cost matrix; concurrent calls are safe.
#pragma once

#include <cstdint>
#include <vector>

namespace stray {

struct Assignment {
  /// Row indices of the chosen cells, ascending (as scipy returns them).
  std::vector<int64_t> rows;
  /// Column of the chosen cell in each of `rows`; cols[i] pairs with rows[i].
  std::vector<int64_t> cols;
  /// Sum of cost[rows[i], cols[i]] over the chosen cells (in float64, in the
  /// order of `rows`).
  double total_cost = 0;
};

/// Solves the assignment problem for the row-major `cost` (n_rows × n_cols,
/// either may exceed the other; either may be 0, giving an empty answer).
/// Returns min(n_rows, n_cols) pairs. With `maximize` the total is largest.
///
/// Errors (stray::Error):
///  - invalid_argument: negative extents, a null `cost` with cells, or a
///    size that overflows;
///  - non_finite_input: a NaN, or −inf when minimising (+inf when
///    maximising) — "contains invalid numeric entries" in scipy's words;
///  - invalid_argument: no complete assignment of finite cost exists
///    (entries of +inf, −inf when maximising, block every one) — scipy's
///    "cost matrix is infeasible".
///
/// Complexity O(r² · c) time for r = min(n_rows, n_cols), c = max(...);
/// memory O(n_rows · n_cols) extra only when n_rows > n_cols or `maximize`
/// (a transposed or negated copy), plus O(n_rows + n_cols).
Assignment linear_sum_assignment(const double* cost, int64_t n_rows, int64_t n_cols,
                                 bool maximize = false);

}  // namespace stray
