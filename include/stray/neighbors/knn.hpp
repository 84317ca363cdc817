// stray — exact k nearest neighbours of host rows: Backend::knn with the
// uploads and downloads done for you (docs/neighbors.md).
//
// The neighbours are exact and the same on every backend: distances are
// float64 Euclidean distances of the float32 rows, ties go to the lower
// row index (Backend::knn states the definition).
//
// Sparse rows (CsrView) have overloads of their own, with a distance of
// their own (below).
//
// Memory: the result (16 bytes per query and neighbour) plus the backend's
// temporaries (within its workspace budget; the CPU's search trees add a
// copy of the rows). Time: O(q·m·d) by brute force; the CPU backend's
// pruned tiles do far less on clustered rows.
//
// Thread safety: knn keeps no state between calls and only reads its
// inputs; a Backend is used by one thread at a time (core/backend.hpp), so
// concurrent calls each bring their own Backend.
#pragma once

#include <cstdint>

#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"

namespace stray {

struct KnnResult {
  Matrix<int64_t> indices;   // [q x k] rows of the reference set, nearest first
  Matrix<double> distances;  // [q x k] Euclidean, ascending
};

/// The k nearest other rows of each row of X [n x d] (a row is never its
/// own neighbour; an identical row is). Requires 1 ≤ k ≤ n − 1 and finite X.
KnnResult knn(Backend& backend, MatrixView<const float> X, int64_t k);

/// The k nearest rows of `reference` [m x d] for each row of `queries`
/// [q x d]. Requires 1 ≤ k ≤ m, equal widths and finite rows.
KnnResult knn(Backend& backend, MatrixView<const float> reference,
              MatrixView<const float> queries, int64_t k);

/// The same on sparse rows (CSR, never densified whole), with
/// Backend::csr_knn's distance: float64 in the expanded form
/// (‖x‖² + ‖y‖²) − 2·x·y, as scikit-learn's for sparse rows, the same bits
/// on every backend but not those of the dense overloads for the same
/// rows. A row's columns may come in any order and repeat (repeats add
/// up). Time: Backend::csr_knn's (on the CPU, the non-zero products of
/// columns the rows share, so rows of few common columns are cheap).
KnnResult knn(Backend& backend, const CsrView& X, int64_t k);
KnnResult knn(Backend& backend, const CsrView& reference, const CsrView& queries, int64_t k);

}  // namespace stray
