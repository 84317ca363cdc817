// The arguments of Backend::knn, checked the same way on every backend.
#pragma once

#include <cstdint>

#include "core/check.hpp"
#include "stray/core/backend.hpp"

namespace stray::internal {

/// Shapes of a knn call: k in [1, m] (m − 1 for a self query), equal widths,
/// outputs [q x k]. Returns q, the number of queries.
inline int64_t check_knn_args(const char* where, const DeviceArray<float>& reference,
                              const DeviceArray<float>* queries, int64_t k,
                              const DeviceArray<int64_t>& indices,
                              const DeviceArray<double>& distances) {
  const int64_t m = reference.rows();
  const int64_t q = queries ? queries->rows() : m;
  require(reference.cols() > 0, ErrorCode::invalid_argument, where, "rows have no features");
  require(!queries || queries->cols() == reference.cols(), ErrorCode::shape_mismatch, where,
          "queries have ", queries ? queries->cols() : 0, " features, the reference rows ",
          reference.cols());
  const int64_t candidates = queries ? m : m - 1;
  require(k >= 1, ErrorCode::invalid_argument, where, "k=", k, " must be at least 1");
  require(k <= candidates, ErrorCode::invalid_argument, where, "k=", k, " neighbours asked of ",
          candidates, queries ? " reference rows" : " other rows (each row leaves itself out)");
  require(indices.rows() == q && indices.cols() == k && distances.rows() == q &&
              distances.cols() == k,
          ErrorCode::shape_mismatch, where, "outputs must be [", q, " x ", k, "], got [",
          indices.rows(), " x ", indices.cols(), "] and [", distances.rows(), " x ",
          distances.cols(), "]");
  return q;
}

}  // namespace stray::internal
