// The linear sum assignment problem by shortest augmenting paths (Crouse
// 2016, section IV.B; the method scipy.optimize.linear_sum_assignment uses).
//
// Rows are assigned one at a time. For each new row a Dijkstra-like search
// over reduced costs cost[i][j] - u[i] - v[j] (never negative, by the dual
// updates) finds the cheapest alternating path to a free column; the duals
// u, v are then raised so that reduced costs stay non-negative and the path
// is tight, and the path is flipped. After r rows the matching is optimal
// for those rows. Ties are broken as scipy does (columns scanned from the
// last, a free column preferred at equal distance), so equal-cost optima
// come out the same.
#include "stray/metrics/assignment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "core/check.hpp"

namespace stray {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// The solver's state for an r × c problem with r ≤ c.
struct Lsap {
  const double* cost;  // r × c, row-major, no NaN and no −inf
  int64_t r, c;
  std::vector<double> u, v, dist;  // row duals, column duals, path costs
  std::vector<int64_t> path, col4row, row4col, remaining;
  std::vector<char> row_seen, col_seen;

  Lsap(const double* cost_, int64_t r_, int64_t c_)
      : cost(cost_), r(r_), c(c_), u(r_, 0.0), v(c_, 0.0), dist(c_), path(c_, -1),
        col4row(r_, -1), row4col(c_, -1), remaining(c_), row_seen(r_), col_seen(c_) {}

  /// Shortest alternating path from free row `start` to a free column.
  /// Returns the column it ends at (-1 when every path has infinite cost)
  /// and sets `min_dist` to the path's reduced length.
  int64_t shortest_path(int64_t start, double& min_dist) {
    // Scanning columns from the last keeps scipy's (and MATLAB's) tie-breaks.
    int64_t n_remaining = c;
    for (int64_t k = 0; k < c; ++k) remaining[k] = c - k - 1;
    std::fill(row_seen.begin(), row_seen.end(), 0);
    std::fill(col_seen.begin(), col_seen.end(), 0);
    std::fill(dist.begin(), dist.end(), kInf);
    double reached = 0.0;
    int64_t i = start, sink = -1;
    while (sink == -1) {
      row_seen[i] = 1;
      const double* row = cost + i * c;
      int64_t best = -1;
      double lowest = kInf;
      for (int64_t k = 0; k < n_remaining; ++k) {
        const int64_t j = remaining[k];
        const double d = reached + row[j] - u[i] - v[j];
        if (d < dist[j]) {
          path[j] = i;
          dist[j] = d;
        }
        if (dist[j] < lowest || (dist[j] == lowest && row4col[j] == -1)) {
          lowest = dist[j];
          best = k;
        }
      }
      reached = lowest;
      if (reached == kInf) return -1;  // only +inf cells lead on: infeasible
      const int64_t j = remaining[best];
      if (row4col[j] == -1) {
        sink = j;
      } else {
        i = row4col[j];
      }
      col_seen[j] = 1;
      remaining[best] = remaining[--n_remaining];
    }
    min_dist = reached;
    return sink;
  }

  /// Assigns `row`; false when no finite-cost augmenting path exists.
  bool assign_row(int64_t row) {
    double min_dist = 0.0;
    const int64_t sink = shortest_path(row, min_dist);
    if (sink < 0) return false;
    // Dual update: keeps every reduced cost ≥ 0 and the new path tight.
    u[row] += min_dist;
    for (int64_t i = 0; i < r; ++i) {
      if (row_seen[i] && i != row) u[i] += min_dist - dist[col4row[i]];
    }
    for (int64_t j = 0; j < c; ++j) {
      if (col_seen[j]) v[j] -= min_dist - dist[j];
    }
    // Flip the alternating path back from the free column it reached.
    for (int64_t j = sink;;) {
      const int64_t i = path[j];
      row4col[j] = i;
      std::swap(col4row[i], j);
      if (i == row) break;
    }
    return true;
  }
};

/// The r × c problem the solver runs: the matrix itself when it has no more
/// rows than columns and is minimised, else a transposed and/or negated copy.
const double* prepare(const double* cost, int64_t n_rows, int64_t n_cols, bool transpose,
                      bool maximize, std::vector<double>& copy) {
  if (!transpose && !maximize) return cost;
  internal::require_memory("linear_sum_assignment", "a copy of the cost matrix",
                           {n_rows, n_cols}, sizeof(double), "float64");
  copy.resize(static_cast<std::size_t>(n_rows * n_cols));
  const double sign = maximize ? -1.0 : 1.0;
  for (int64_t i = 0; i < n_rows; ++i) {
    for (int64_t j = 0; j < n_cols; ++j) {
      const double x = sign * cost[i * n_cols + j];
      copy[transpose ? j * n_rows + i : i * n_cols + j] = x;
    }
  }
  return copy.data();
}

/// NaN anywhere, or −inf where it would be minimised, has no optimum.
void check_entries(const double* cost, int64_t n_rows, int64_t n_cols, bool maximize) {
  const double bad_inf = maximize ? kInf : -kInf;
  for (int64_t k = 0; k < n_rows * n_cols; ++k) {
    if (std::isnan(cost[k]) || cost[k] == bad_inf) {
      internal::fail(ErrorCode::non_finite_input, "linear_sum_assignment",
                     "the cost matrix contains invalid numeric entries: ", cost[k], " at [",
                     k / n_cols, ", ", k % n_cols, "]",
                     std::isnan(cost[k]) ? "" : (maximize ? " (+inf when maximising)"
                                                          : " (-inf when minimising)"));
    }
  }
}

}  // namespace

Assignment linear_sum_assignment(const double* cost, int64_t n_rows, int64_t n_cols,
                                 bool maximize) {
  const char* where = "linear_sum_assignment";
  internal::require(n_rows >= 0 && n_cols >= 0, ErrorCode::invalid_argument, where,
                    "negative extents ", n_rows, " x ", n_cols);
  Assignment out;
  if (n_rows == 0 || n_cols == 0) return out;
  internal::require(n_rows <= std::numeric_limits<int64_t>::max() / n_cols,
                    ErrorCode::invalid_argument, where, "extents ", n_rows, " x ", n_cols,
                    " overflow");
  internal::require(cost != nullptr, ErrorCode::invalid_argument, where,
                    "no cost matrix for ", n_rows, " x ", n_cols, " cells");
  check_entries(cost, n_rows, n_cols, maximize);

  const bool transpose = n_cols < n_rows;
  std::vector<double> copy;
  const double* work = prepare(cost, n_rows, n_cols, transpose, maximize, copy);
  const int64_t r = transpose ? n_cols : n_rows, c = transpose ? n_rows : n_cols;
  Lsap solver(work, r, c);
  for (int64_t row = 0; row < r; ++row) {
    internal::require(solver.assign_row(row), ErrorCode::invalid_argument, where,
                      "the cost matrix is infeasible: no complete assignment has finite cost");
  }

  // Rows ascending: the solver's own rows, or (transposed) its columns in order.
  out.rows.resize(static_cast<std::size_t>(r));
  out.cols.resize(static_cast<std::size_t>(r));
  if (!transpose) {
    std::iota(out.rows.begin(), out.rows.end(), int64_t{0});
    out.cols = solver.col4row;
  } else {
    std::vector<int64_t> order(static_cast<std::size_t>(r));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return solver.col4row[a] < solver.col4row[b]; });
    for (int64_t k = 0; k < r; ++k) {
      out.rows[k] = solver.col4row[order[k]];
      out.cols[k] = order[k];
    }
  }
  for (int64_t k = 0; k < r; ++k) out.total_cost += cost[out.rows[k] * n_cols + out.cols[k]];
  return out;
}

}  // namespace stray
