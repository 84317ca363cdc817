// stray — rows that arrive in batches: a fleet read a block at a time (a
// file larger than memory, a database cursor, a message queue), passed
// over as often as an algorithm needs. kmeans_fit_batches
// (cluster/kmeans_batches.hpp) clusters such rows; io/npy_rows.hpp reads a
// .npy file this way.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "stray/core/matrix.hpp"

namespace stray {

/// One batch of rows: dense (`dense`) or sparse (`sparse` set, `dense`
/// empty), with optional sample weights [rows]. The views need only live
/// for the call that receives the batch.
struct RowBatch {
  MatrixView<const float> dense;
  const CsrView* sparse = nullptr;
  const std::vector<float>* weights = nullptr;

  int64_t rows() const { return sparse ? sparse->rows : dense.rows(); }
  int64_t cols() const { return sparse ? sparse->cols : dense.cols(); }
};

/// A source of batches. Each for_each call is one pass over the rows and
/// must give the same rows, cut into the same batches, in the same order
/// as the first (algorithms check the counts and the shape, and say so
/// when a pass differs).
class RowBatches {
 public:
  virtual ~RowBatches() = default;
  virtual void for_each(const std::function<void(const RowBatch&)>& visit) = 0;
};

/// The rows of a matrix in memory, `batch_rows` at a time (the last batch
/// may be shorter). Keeps views: X and the weights must outlive it.
class MatrixRowBatches : public RowBatches {
 public:
  MatrixRowBatches(MatrixView<const float> X, int64_t batch_rows,
                   const std::vector<float>* sample_weight = nullptr);
  void for_each(const std::function<void(const RowBatch&)>& visit) override;

 private:
  MatrixView<const float> X_;
  int64_t batch_rows_;
  const std::vector<float>* weights_;
};

/// The rows of a CSR matrix in memory, `batch_rows` at a time.
class CsrRowBatches : public RowBatches {
 public:
  CsrRowBatches(const CsrView& X, int64_t batch_rows,
                const std::vector<float>* sample_weight = nullptr);
  void for_each(const std::function<void(const RowBatch&)>& visit) override;

 private:
  CsrView X_;
  int64_t batch_rows_;
  const std::vector<float>* weights_;
};

}  // namespace stray
