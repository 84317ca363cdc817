// Rows in batches from Python, for the fits over batches (KMeans and PCA's
// fit_batches, python/stray/_validation.py's batch_passes).
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "bindings.hpp"

namespace stray::python {

// Batches from Python: each call of `next_pass` returns an iterator of
// (rows, weights) pairs — rows a dense float32 C array or a _Csr, weights a
// float32 array or None (python/stray/cluster.py makes them so). The fit
// runs without the GIL; a pass takes it to pull each batch and gives it
// back while the batch is worked on.
class PythonBatches final : public RowBatches {
 public:
  explicit PythonBatches(nb::callable next_pass) : next_pass_(std::move(next_pass)) {}

  void for_each(const std::function<void(const RowBatch&)>& visit) override {
    nb::gil_scoped_acquire gil;
    nb::object pass = next_pass_();
    for (nb::handle item : nb::iter(pass)) {
      const auto pair = nb::cast<nb::tuple>(item);
      const nb::object rows = pair[0], weights_in = pair[1];
      std::optional<std::vector<float>> weights;
      if (!weights_in.is_none()) weights = vector_of(nb::cast<Vector1In<float>>(weights_in, false));
      RowBatch batch;
      batch.weights = weights ? &*weights : nullptr;
      CsrView csr;
      std::optional<Matrix2In<float>> dense;
      if (nb::isinstance<CsrIn>(rows)) {
        csr = nb::cast<const CsrIn&>(rows).view();
        batch.sparse = &csr;
      } else {
        dense = nb::cast<Matrix2In<float>>(rows, false);
        batch.dense = view_of(*dense);
      }
      nb::gil_scoped_release nogil;  // `pair` keeps the arrays alive
      visit(batch);
    }
  }

 private:
  nb::callable next_pass_;
};

}  // namespace stray::python
