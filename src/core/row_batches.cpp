// In-memory row sources: a dense or CSR matrix cut into batches of rows.
#include "stray/core/row_batches.hpp"

#include <algorithm>

#include "core/check.hpp"

namespace stray {

using internal::require;

namespace {

void check_source(int64_t rows, int64_t batch_rows, const std::vector<float>* w,
                  const char* where) {
  require(batch_rows >= 1, ErrorCode::invalid_argument, where, "batch_rows=", batch_rows,
          " must be >= 1");
  require(!w || static_cast<int64_t>(w->size()) == rows, ErrorCode::shape_mismatch, where,
          "sample_weight has ", w ? w->size() : 0, " entries for ", rows, " rows");
}

// The weights of rows [begin, begin + count), or null without weights.
const std::vector<float>* weight_slice(const std::vector<float>* w, int64_t begin, int64_t count,
                                       std::vector<float>& slice) {
  if (!w) return nullptr;
  slice.assign(w->begin() + begin, w->begin() + begin + count);
  return &slice;
}

}  // namespace

MatrixRowBatches::MatrixRowBatches(MatrixView<const float> X, int64_t batch_rows,
                                   const std::vector<float>* sample_weight)
    : X_(X), batch_rows_(batch_rows), weights_(sample_weight) {
  check_source(X.rows(), batch_rows, sample_weight, "MatrixRowBatches");
}

void MatrixRowBatches::for_each(const std::function<void(const RowBatch&)>& visit) {
  std::vector<float> slice;
  for (int64_t begin = 0; begin < X_.rows(); begin += batch_rows_) {
    const int64_t count = std::min(batch_rows_, X_.rows() - begin);
    RowBatch batch;
    batch.dense = X_.row_block(begin, count);
    batch.weights = weight_slice(weights_, begin, count, slice);
    visit(batch);
  }
}

CsrRowBatches::CsrRowBatches(const CsrView& X, int64_t batch_rows,
                             const std::vector<float>* sample_weight)
    : X_(X), batch_rows_(batch_rows), weights_(sample_weight) {
  internal::check_csr_arrays(X, "CsrRowBatches");
  check_source(X.rows, batch_rows, sample_weight, "CsrRowBatches");
}

void CsrRowBatches::for_each(const std::function<void(const RowBatch&)>& visit) {
  std::vector<float> slice;
  std::vector<int64_t> indptr;
  for (int64_t begin = 0; begin < X_.rows; begin += batch_rows_) {
    const int64_t count = std::min(batch_rows_, X_.rows - begin);
    // The batch's row pointers count from its first entry, so the batch is
    // a CSR of its own (indptr[0] == 0) over the same entries.
    const int64_t first = X_.indptr[begin];
    indptr.resize(static_cast<std::size_t>(count) + 1);
    for (int64_t i = 0; i <= count; ++i) indptr[i] = X_.indptr[begin + i] - first;
    const CsrView rows{count, X_.cols, indptr.data(), X_.indices ? X_.indices + first : nullptr,
                       X_.values ? X_.values + first : nullptr};
    RowBatch batch;
    batch.sparse = &rows;
    batch.weights = weight_slice(weights_, begin, count, slice);
    visit(batch);
  }
}

}  // namespace stray
