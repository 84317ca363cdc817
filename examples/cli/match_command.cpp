// `stray match`: the linear sum assignment problem on a .npy cost matrix
// (scipy.optimize.linear_sum_assignment's answer), e.g. to pair the clusters
// of two days by the distance of their centres.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "stray/core/error.hpp"
#include "stray/io/npy.hpp"
#include "stray/metrics/assignment.hpp"

namespace stray::cli {
namespace {

struct MatchOptions {
  std::string cost;
  bool maximize = false, json = false;
};

template <typename T>
void widen(const NpyArray& a, std::vector<double>& out) {
  const std::size_t n = a.bytes.size() / sizeof(T);
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, a.bytes.data() + i * sizeof(T), sizeof(T));
    out[i] = static_cast<double>(v);
  }
}

/// The cost matrix as float64, row-major; must be two-dimensional.
std::vector<double> read_cost(const std::string& path, int64_t& rows, int64_t& cols) {
  const NpyArray a = read_npy(path);
  if (a.shape.size() != 2) {
    throw Error(ErrorCode::shape_mismatch,
                "match: " + path + " is one-dimensional; the cost must be a matrix (rows x cols)");
  }
  rows = a.rows();
  cols = a.cols();
  std::vector<double> cost;
  switch (a.type) {
    case NpyType::float32: widen<float>(a, cost); break;
    case NpyType::float64: widen<double>(a, cost); break;
    case NpyType::int32: widen<int32_t>(a, cost); break;
    case NpyType::int64: widen<int64_t>(a, cost); break;
  }
  return cost;
}

void run_match(const MatchOptions& o) {
  int64_t rows = 0, cols = 0;
  const std::vector<double> cost = read_cost(o.cost, rows, cols);
  const Assignment a = linear_sum_assignment(cost.data(), rows, cols, o.maximize);
  if (o.json) {
    print_json({{"rows", a.rows}, {"cols", a.cols}, {"total_cost", a.total_cost}});
    return;
  }
  std::printf("%zu pairs of a %lld x %lld cost matrix, %s total cost %.10g\n", a.rows.size(),
              static_cast<long long>(rows), static_cast<long long>(cols),
              o.maximize ? "largest" : "smallest", a.total_cost);
  std::printf("row\tcol\tcost\n");
  for (std::size_t k = 0; k < a.rows.size(); ++k) {
    std::printf("%lld\t%lld\t%.10g\n", static_cast<long long>(a.rows[k]),
                static_cast<long long>(a.cols[k]), cost[a.rows[k] * cols + a.cols[k]]);
  }
}

}  // namespace

void register_match_command(CLI::App& app) {
  auto opts = std::make_shared<MatchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "match",
      "Solve the assignment problem: pair rows with columns of a cost matrix, each at most "
      "once, for the smallest (or largest) total cost (as scipy's linear_sum_assignment).");
  cmd->add_option("--cost", opts->cost, "Cost matrix, .npy [rows x cols] of numbers")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_flag("--maximize", opts->maximize, "Largest total instead of smallest");
  cmd->add_flag("--json", opts->json,
                "Print one JSON object: rows, cols, total_cost (full precision; the text shows 10 digits)");
  cmd->callback([opts] { run_match(*opts); });
}

}  // namespace stray::cli
