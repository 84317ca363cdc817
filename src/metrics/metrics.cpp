#include "stray/metrics/metrics.hpp"

#include "metrics/label_scores_internal.hpp"
#include "stray/metrics/label_scores.hpp"

namespace stray {

double adjusted_rand_score(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  return internal::adjusted_rand_from_table(contingency_table(truth, pred));
}

double adjusted_rand_score(const std::vector<int32_t>& truth, const std::vector<int32_t>& pred) {
  return adjusted_rand_score(std::vector<int64_t>(truth.begin(), truth.end()),
                             std::vector<int64_t>(pred.begin(), pred.end()));
}

}  // namespace stray
