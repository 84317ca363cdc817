#include "stray/metrics/metrics.hpp"

#include <map>
#include <unordered_map>
#include <utility>

#include "core/check.hpp"

namespace stray {
namespace {

double comb2(double x) { return x * (x - 1.0) / 2.0; }

}  // namespace

double adjusted_rand_score(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  internal::require(truth.size() == pred.size(), ErrorCode::shape_mismatch, "adjusted_rand_score",
                    "labelings have ", truth.size(), " and ", pred.size(), " entries");
  const double n = static_cast<double>(truth.size());
  std::map<std::pair<int64_t, int64_t>, double> contingency;
  std::unordered_map<int64_t, double> a, b;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    contingency[{truth[i], pred[i]}] += 1.0;
    a[truth[i]] += 1.0;
    b[pred[i]] += 1.0;
  }
  // Special cases as in sklearn: identical trivial partitions score 1.
  if (n < 2 || (a.size() == b.size() && (a.size() == 1 || a.size() == truth.size()))) return 1.0;
  double sum_cells = 0.0, sum_a = 0.0, sum_b = 0.0;
  for (const auto& [key, count] : contingency) sum_cells += comb2(count);
  for (const auto& [key, count] : a) sum_a += comb2(count);
  for (const auto& [key, count] : b) sum_b += comb2(count);
  const double expected = sum_a * sum_b / comb2(n);
  const double maximum = 0.5 * (sum_a + sum_b);
  if (maximum == expected) return 1.0;
  return (sum_cells - expected) / (maximum - expected);
}

double adjusted_rand_score(const std::vector<int32_t>& truth, const std::vector<int32_t>& pred) {
  return adjusted_rand_score(std::vector<int64_t>(truth.begin(), truth.end()),
                             std::vector<int64_t>(pred.begin(), pred.end()));
}

}  // namespace stray
