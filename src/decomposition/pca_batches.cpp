// PCA over batches of rows: the accumulator's one pass, then the
// covariance solver on the merged scatter.
#include <chrono>

#include "core/check.hpp"
#include "stray/decomposition/pca.hpp"

namespace stray {

PcaModel pca_fit_batches(Backend& backend, const PcaParams& params, RowBatches& batches) {
  const char* where = "pca_fit_batches";
  const auto start = std::chrono::steady_clock::now();
  internal::require(params.solver == PcaSolver::automatic || params.solver == PcaSolver::covariance,
                    ErrorCode::invalid_argument, where, "the ", to_string(params.solver),
                    " solver needs the rows together; over batches PCA is the covariance solver");
  PcaAccumulator accumulator;
  bool sparse = false;
  batches.for_each([&](const RowBatch& b) {
    internal::require(b.weights == nullptr, ErrorCode::invalid_argument, where,
                      "PCA takes no sample weights; a batch came with them");
    if (accumulator.n_features() == 0) {
      accumulator = PcaAccumulator(b.cols());
      sparse = b.sparse != nullptr;
    }
    internal::require((b.sparse != nullptr) == sparse, ErrorCode::shape_mismatch, where,
                      "a ", b.sparse ? "sparse" : "dense", " batch among ",
                      sparse ? "sparse" : "dense", " ones");
    if (b.sparse) {
      accumulator.add(backend, *b.sparse);
    } else {
      accumulator.add(backend, b.dense);
    }
  });
  internal::require(accumulator.n_samples() >= 2, ErrorCode::invalid_argument, where,
                    "the batches hold ", accumulator.n_samples(), " rows; PCA needs at least 2");
  PcaParams covariance = params;
  covariance.solver = PcaSolver::covariance;
  PcaModel model = accumulator.finalize(backend, covariance);
  model.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return model;
}

}  // namespace stray
