// knn.hpp: Backend::knn on host rows (read in place where the backend
// shares host memory).
#include "stray/neighbors/knn.hpp"

#include "core/check.hpp"

namespace stray {
namespace {

KnnResult run(Backend& backend, MatrixView<const float> reference,
              const MatrixView<const float>* queries, int64_t k) {
  const char* where = "knn";
  internal::check_finite_matrix(reference, where, "the reference rows");
  if (queries) internal::check_finite_matrix(*queries, where, "the queries");
  const int64_t q = queries ? queries->rows() : reference.rows();
  internal::require(k >= 1, ErrorCode::invalid_argument, where, "k=", k, " must be at least 1");
  internal::require_memory(where, "the neighbour lists", {q, k}, sizeof(int64_t) + sizeof(double),
                           "int64 + float64");
  const DeviceArray<float> R = backend.borrow_or_upload(reference);
  DeviceArray<float> Q;
  if (queries) Q = backend.borrow_or_upload(*queries);
  DeviceArray<int64_t> indices = backend.allocate<int64_t>(q, k);
  DeviceArray<double> distances = backend.allocate<double>(q, k);
  backend.knn(R, queries ? &Q : nullptr, k, indices, distances);
  return KnnResult{backend.download(indices), backend.download(distances)};
}

}  // namespace

KnnResult knn(Backend& backend, MatrixView<const float> X, int64_t k) {
  return run(backend, X, nullptr, k);
}

KnnResult knn(Backend& backend, MatrixView<const float> reference,
              MatrixView<const float> queries, int64_t k) {
  return run(backend, reference, &queries, k);
}

}  // namespace stray
