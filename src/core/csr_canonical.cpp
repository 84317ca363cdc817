// csr_canonical.hpp: sorting each row's columns and adding up repeats.
#include "core/csr_canonical.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/check.hpp"

namespace stray::internal {

bool is_canonical(const CsrView& X) {
  for (int64_t i = 0; i < X.rows; ++i) {
    for (int64_t p = X.indptr[i] + 1; p < X.indptr[i + 1]; ++p) {
      if (X.indices[p] <= X.indices[p - 1]) return false;
    }
  }
  return true;
}

CsrMatrix canonical_copy(const CsrView& X, const char* where) {
  CsrMatrix out;
  out.rows = X.rows;
  out.cols = X.cols;
  out.indptr.reserve(static_cast<std::size_t>(X.rows + 1));
  out.indices.reserve(static_cast<std::size_t>(X.nnz()));
  out.values.reserve(static_cast<std::size_t>(X.nnz()));
  std::vector<std::pair<int32_t, int64_t>> entries;  // (column, position)
  for (int64_t i = 0; i < X.rows; ++i) {
    entries.clear();
    for (int64_t p = X.indptr[i]; p < X.indptr[i + 1]; ++p) entries.emplace_back(X.indices[p], p);
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t e = 0; e < entries.size();) {
      const int32_t column = entries[e].first;
      double sum = 0.0;
      for (; e < entries.size() && entries[e].first == column; ++e) {
        sum += X.values[entries[e].second];
      }
      const auto value = static_cast<float>(sum);
      require(std::isfinite(value), ErrorCode::non_finite_input, where, "row ", i,
              " repeats column ", column, " with values that add up beyond float32 (", sum, ")");
      out.indices.push_back(column);
      out.values.push_back(value);
    }
    out.indptr.push_back(static_cast<int64_t>(out.indices.size()));
  }
  return out;
}

CanonicalRows::CanonicalRows(const CsrView& X, const char* where) {
  validate_csr(X, where);
  if (!is_canonical(X)) copy_ = canonical_copy(X, where);
  view_ = copy_ ? copy_->view() : X;
}

}  // namespace stray::internal
