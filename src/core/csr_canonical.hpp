// Canonical CSR rows: each row's columns strictly increasing, so a row
// stores each column once. The sparse distances (core/sparse_distance.hpp)
// are defined on canonical rows: their sums then run in one order, the
// columns', whatever order a writer stored the entries in.
#pragma once

#include <optional>

#include "stray/core/matrix.hpp"

namespace stray::internal {

/// Whether every row's columns strictly increase.
bool is_canonical(const CsrView& X);

/// X with each row's columns sorted and repeats added up (in float64, in
/// stored order), so a row stores each column once. Throws
/// non_finite_input (naming `where`) where repeats add up beyond float32.
CsrMatrix canonical_copy(const CsrView& X, const char* where);

/// X checked (validate_csr) and canonical: X itself where it already is,
/// else a canonical copy held here. The view points into X or the copy:
/// keep X alive and this object where it is while the view is in use.
class CanonicalRows {
 public:
  CanonicalRows(const CsrView& X, const char* where);
  CanonicalRows(const CanonicalRows&) = delete;
  CanonicalRows& operator=(const CanonicalRows&) = delete;
  const CsrView& view() const { return view_; }

 private:
  std::optional<CsrMatrix> copy_;
  CsrView view_;
};

}  // namespace stray::internal
