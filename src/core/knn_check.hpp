// The arguments of Backend::knn and Backend::csr_knn, checked the same way
// on every backend.
#pragma once

#include <cstdint>

#include "core/check.hpp"
#include "stray/core/backend.hpp"

namespace stray::internal {

/// Shapes of a neighbour search over m reference rows of `width` features
/// and, with `has_queries`, q query rows of `query_width` features (else
/// the reference rows themselves): k in [1, m] (m − 1 for a self query),
/// equal widths, outputs [q x k]. Returns the number of queries.
inline int64_t check_knn_shapes(const char* where, int64_t m, int64_t width, bool has_queries,
                                int64_t q, int64_t query_width, int64_t k,
                                const DeviceArray<int64_t>& indices,
                                const DeviceArray<double>& distances) {
  if (!has_queries) q = m;
  require(width > 0, ErrorCode::invalid_argument, where, "rows have no features");
  require(!has_queries || query_width == width, ErrorCode::shape_mismatch, where, "queries have ",
          query_width, " features, the reference rows ", width);
  const int64_t candidates = has_queries ? m : m - 1;
  require(k >= 1, ErrorCode::invalid_argument, where, "k=", k, " must be at least 1");
  require(k <= candidates, ErrorCode::invalid_argument, where, "k=", k, " neighbours asked of ",
          candidates, has_queries ? " reference rows" : " other rows (each row leaves itself out)");
  require(indices.rows() == q && indices.cols() == k && distances.rows() == q &&
              distances.cols() == k,
          ErrorCode::shape_mismatch, where, "outputs must be [", q, " x ", k, "], got [",
          indices.rows(), " x ", indices.cols(), "] and [", distances.rows(), " x ",
          distances.cols(), "]");
  return q;
}

/// check_knn_shapes for Backend::knn's dense rows.
inline int64_t check_knn_args(const char* where, const DeviceArray<float>& reference,
                              const DeviceArray<float>* queries, int64_t k,
                              const DeviceArray<int64_t>& indices,
                              const DeviceArray<double>& distances) {
  return check_knn_shapes(where, reference.rows(), reference.cols(), queries != nullptr,
                          queries ? queries->rows() : 0, queries ? queries->cols() : 0, k,
                          indices, distances);
}

/// check_knn_shapes for Backend::csr_knn's sparse rows.
inline int64_t check_knn_args(const char* where, const DeviceCsr& reference,
                              const DeviceCsr* queries, int64_t k,
                              const DeviceArray<int64_t>& indices,
                              const DeviceArray<double>& distances) {
  return check_knn_shapes(where, reference.rows, reference.cols, queries != nullptr,
                          queries ? queries->rows : 0, queries ? queries->cols : 0, k, indices,
                          distances);
}

}  // namespace stray::internal
