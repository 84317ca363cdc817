// linear_sum_assignment beyond scipy's golden values: the optimum of every
// small matrix against brute force over all matchings (square, wide, tall,
// minimised and maximised, with ties), empty matrices, the transpose giving
// the same total, and refusals of hostile input.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "metrics_lcg.hpp"
#include "stray/metrics/assignment.hpp"
#include "temp_dir.hpp"

namespace {

using stray::ErrorCode;
using stray::linear_sum_assignment;
using stray::testing::expect_error;

/// The best total over every matching of min(rows, cols) pairs.
double brute_force(const std::vector<double>& cost, int64_t rows, int64_t cols, bool maximize) {
  const bool by_row = rows <= cols;  // match each of the smaller side
  const int64_t small = by_row ? rows : cols, large = by_row ? cols : rows;
  std::vector<char> used(static_cast<std::size_t>(large), 0);
  double best = maximize ? -std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::infinity();
  std::function<void(int64_t, double)> go = [&](int64_t i, double total) {
    if (i == small) {
      best = maximize ? std::max(best, total) : std::min(best, total);
      return;
    }
    for (int64_t j = 0; j < large; ++j) {
      if (used[j]) continue;
      used[j] = 1;
      go(i + 1, total + (by_row ? cost[i * cols + j] : cost[j * cols + i]));
      used[j] = 0;
    }
  };
  go(0, 0.0);
  return best;
}

void expect_valid(const stray::Assignment& a, const std::vector<double>& cost, int64_t rows,
                  int64_t cols) {
  ASSERT_EQ(a.rows.size(), static_cast<std::size_t>(std::min(rows, cols)));
  ASSERT_EQ(a.cols.size(), a.rows.size());
  std::vector<char> used(static_cast<std::size_t>(cols), 0);
  double total = 0.0;
  for (std::size_t k = 0; k < a.rows.size(); ++k) {
    if (k > 0) ASSERT_LT(a.rows[k - 1], a.rows[k]);
    ASSERT_GE(a.rows[k], 0);
    ASSERT_LT(a.rows[k], rows);
    ASSERT_GE(a.cols[k], 0);
    ASSERT_LT(a.cols[k], cols);
    ASSERT_FALSE(used[a.cols[k]]);
    used[a.cols[k]] = 1;
    total += cost[a.rows[k] * cols + a.cols[k]];
  }
  EXPECT_EQ(a.total_cost, total);
}

TEST(Assignment, EverySmallMatrixMatchesBruteForce) {
  uint64_t seed = 100;
  for (int64_t rows = 1; rows <= 6; ++rows) {
    for (int64_t cols = 1; cols <= 6; ++cols) {
      for (const char* kind : {"int", "float"}) {
        // Integers in [0, 4): many ties, which the dual updates must survive.
        const auto cost = stray::testing::lcg_cost(kind, rows, cols, 4, ++seed);
        for (bool maximize : {false, true}) {
          SCOPED_TRACE(testing::Message() << rows << "x" << cols << " " << kind
                                          << (maximize ? " max" : " min"));
          const auto a = linear_sum_assignment(cost.data(), rows, cols, maximize);
          expect_valid(a, cost, rows, cols);
          EXPECT_NEAR(a.total_cost, brute_force(cost, rows, cols, maximize), 1e-12);
        }
      }
    }
  }
}

TEST(Assignment, TransposeGivesTheSameTotal) {
  const int64_t rows = 37, cols = 90;
  const auto cost = stray::testing::lcg_cost("float", rows, cols, 0, 7);
  std::vector<double> transposed(cost.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) transposed[j * rows + i] = cost[i * cols + j];
  const auto a = linear_sum_assignment(cost.data(), rows, cols);
  const auto b = linear_sum_assignment(transposed.data(), cols, rows);
  expect_valid(a, cost, rows, cols);
  expect_valid(b, transposed, cols, rows);
  EXPECT_NEAR(a.total_cost, b.total_cost, 1e-12);
  // The unique optimum: b pairs the same cells, listed by their column.
  for (std::size_t k = 0; k < b.rows.size(); ++k) {
    const int64_t col = b.rows[k], row = b.cols[k];
    const auto it = std::find(a.rows.begin(), a.rows.end(), row);
    ASSERT_NE(it, a.rows.end());
    EXPECT_EQ(a.cols[it - a.rows.begin()], col);
  }
}

TEST(Assignment, EmptyMatricesGiveEmptyAnswers) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{0, 0}, {0, 5}, {5, 0}}) {
    const auto a = linear_sum_assignment(nullptr, rows, cols);
    EXPECT_TRUE(a.rows.empty());
    EXPECT_TRUE(a.cols.empty());
    EXPECT_EQ(a.total_cost, 0.0);
  }
}

TEST(Assignment, InfiniteEntriesAreAvoidedWhereTheyCanBe) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> cost{inf, 1, inf, 2, inf, inf};  // 2 x 3
  const auto a = linear_sum_assignment(cost.data(), 2, 3);
  EXPECT_EQ(a.cols, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(a.total_cost, 3.0);
  const std::vector<double> gains{-inf, 5, 4, -inf};
  EXPECT_EQ(linear_sum_assignment(gains.data(), 2, 2, true).total_cost, 9.0);
}

TEST(Assignment, HostileInputIsRefused) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> ok{1, 2, 3, 4};
  expect_error([&] { linear_sum_assignment(ok.data(), -1, 4); }, ErrorCode::invalid_argument,
               {"negative"});
  expect_error([&] { linear_sum_assignment(nullptr, 2, 2); }, ErrorCode::invalid_argument,
               {"no cost matrix"});
  expect_error([&] { linear_sum_assignment(ok.data(), int64_t{1} << 40, int64_t{1} << 40); },
               ErrorCode::invalid_argument, {"overflow"});
  const std::vector<double> nan{1, std::nan(""), 3, 4};
  expect_error([&] { linear_sum_assignment(nan.data(), 2, 2); }, ErrorCode::non_finite_input,
               {"invalid numeric entries", "[0, 1]"});
  const std::vector<double> minus_inf{1, 2, -inf, 4};
  expect_error([&] { linear_sum_assignment(minus_inf.data(), 2, 2); },
               ErrorCode::non_finite_input, {"invalid numeric entries", "[1, 0]"});
  const std::vector<double> plus_inf{1, 2, inf, 4};
  expect_error([&] { linear_sum_assignment(plus_inf.data(), 2, 2, true); },
               ErrorCode::non_finite_input, {"invalid numeric entries"});
  const std::vector<double> blocked{inf, inf, 1, 2};  // row 0 has no finite cell
  expect_error([&] { linear_sum_assignment(blocked.data(), 2, 2); }, ErrorCode::invalid_argument,
               {"infeasible"});
}

}  // namespace
