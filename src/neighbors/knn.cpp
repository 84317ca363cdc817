// knn.hpp: Backend::knn on host rows (read in place where the backend
// shares host memory), and Backend::csr_knn on host CSR rows (made
// canonical first where they are not).
#include "stray/neighbors/knn.hpp"

#include <optional>

#include "core/check.hpp"
#include "core/csr_canonical.hpp"

namespace stray {
namespace {

const char* const kWhere = "knn";

// Outputs for q queries, checked to fit before they are made.
struct Outputs {
  DeviceArray<int64_t> indices;
  DeviceArray<double> distances;
};

Outputs allocate_outputs(Backend& backend, int64_t q, int64_t k) {
  internal::require(k >= 1, ErrorCode::invalid_argument, kWhere, "k=", k, " must be at least 1");
  internal::require_memory(kWhere, "the neighbour lists", {q, k}, sizeof(int64_t) + sizeof(double),
                           "int64 + float64");
  return Outputs{backend.allocate<int64_t>(q, k), backend.allocate<double>(q, k)};
}

KnnResult download(Backend& backend, const Outputs& out) {
  return KnnResult{backend.download(out.indices), backend.download(out.distances)};
}

KnnResult run(Backend& backend, MatrixView<const float> reference,
              const MatrixView<const float>* queries, int64_t k) {
  internal::check_finite_matrix(reference, kWhere, "the reference rows");
  if (queries) internal::check_finite_matrix(*queries, kWhere, "the queries");
  Outputs out = allocate_outputs(backend, queries ? queries->rows() : reference.rows(), k);
  const DeviceArray<float> R = backend.borrow_or_upload(reference);
  DeviceArray<float> Q;
  if (queries) Q = backend.borrow_or_upload(*queries);
  backend.knn(R, queries ? &Q : nullptr, k, out.indices, out.distances);
  return download(backend, out);
}

KnnResult run(Backend& backend, const CsrView& reference, const CsrView* queries, int64_t k) {
  const internal::CanonicalRows R(reference, kWhere);
  std::optional<internal::CanonicalRows> Q;
  if (queries) Q.emplace(*queries, kWhere);
  Outputs out = allocate_outputs(backend, queries ? queries->rows : reference.rows, k);
  const DeviceCsr device_r = backend.borrow_or_upload_csr(R.view());
  DeviceCsr device_q;
  if (queries) device_q = backend.borrow_or_upload_csr(Q->view());
  backend.csr_knn(device_r, queries ? &device_q : nullptr, k, out.indices, out.distances);
  return download(backend, out);
}

}  // namespace

KnnResult knn(Backend& backend, MatrixView<const float> X, int64_t k) {
  return run(backend, X, nullptr, k);
}

KnnResult knn(Backend& backend, MatrixView<const float> reference,
              MatrixView<const float> queries, int64_t k) {
  return run(backend, reference, &queries, k);
}

KnnResult knn(Backend& backend, const CsrView& X, int64_t k) { return run(backend, X, nullptr, k); }

KnnResult knn(Backend& backend, const CsrView& reference, const CsrView& queries, int64_t k) {
  return run(backend, reference, &queries, k);
}

}  // namespace stray
