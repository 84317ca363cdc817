#include "stray/core/matrix.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/check.hpp"

namespace stray {

int64_t checked_mul(int64_t a, int64_t b, const char* where) {
  internal::require(a >= 0 && b >= 0, ErrorCode::invalid_argument, where, "negative extent ", a,
                    " x ", b);
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) {
    internal::fail(ErrorCode::invalid_argument, where, "extent ", a, " x ", b,
                   " overflows int64");
  }
  return a * b;
}

namespace {

// True when indptr never decreases, and (if it does not) every index is in
// [0, cols) and every value finite: branch-free and on all cores, since
// every CSR entry point runs it over the whole matrix. validate_csr then
// names the first bad entry only when this says there is one.
bool csr_looks_valid(const CsrView& m) {
  bool ok = true;
#pragma omp parallel for schedule(static) reduction(&& : ok) if (m.rows > (1 << 16))
  for (int64_t i = 0; i < m.rows; ++i) ok = ok && m.indptr[i + 1] >= m.indptr[i];
  if (!ok) return false;
  const int64_t nnz = m.indptr[m.rows];
  if (nnz > 0 && (m.indices == nullptr || m.values == nullptr)) return false;
  const auto cols = static_cast<uint64_t>(m.cols);
#pragma omp parallel for schedule(static) reduction(&& : ok) if (nnz > (1 << 18))
  for (int64_t p = 0; p < nnz; ++p) {
    // A negative index wraps to a huge unsigned one; v·0 is 0 only for finite v.
    ok = ok && static_cast<uint64_t>(static_cast<int64_t>(m.indices[p])) < cols &&
         m.values[p] * 0.0f == 0.0f;
  }
  return ok;
}

}  // namespace

void validate_csr(const CsrView& m, const char* where) {
  using internal::require;
  require(m.rows >= 0 && m.cols >= 0, ErrorCode::invalid_argument, where, "negative CSR extent");
  require(m.indptr != nullptr, ErrorCode::invalid_argument, where, "CSR indptr is null");
  require(m.indptr[0] == 0, ErrorCode::invalid_argument, where, "CSR indptr[0] = ", m.indptr[0],
          ", expected 0");
  if (csr_looks_valid(m)) return;
  // Something is wrong: find the first problem, in order, and name it.
  for (int64_t i = 0; i < m.rows; ++i) {
    require(m.indptr[i + 1] >= m.indptr[i], ErrorCode::invalid_argument, where,
            "CSR indptr decreases at row ", i);
  }
  const int64_t nnz = m.indptr[m.rows];
  require(nnz == 0 || (m.indices != nullptr && m.values != nullptr), ErrorCode::invalid_argument,
          where, "CSR indices/values are null with nnz=", nnz);
  for (int64_t p = 0; p < nnz; ++p) {
    require(m.indices[p] >= 0 && m.indices[p] < m.cols, ErrorCode::invalid_argument, where,
            "CSR column index ", m.indices[p], " at entry ", p, " outside [0, ", m.cols, ")");
    require(std::isfinite(m.values[p]), ErrorCode::non_finite_input, where, "CSR value at entry ",
            p, " is not finite");
  }
}

Matrix<float> csr_to_dense(const CsrView& m) {
  Matrix<float> out(m.rows, m.cols, 0.0f);
  for (int64_t i = 0; i < m.rows; ++i) {
    for (int64_t p = m.indptr[i]; p < m.indptr[i + 1]; ++p) out(i, m.indices[p]) += m.values[p];
  }
  return out;
}

CsrMatrix dense_to_csr(MatrixView<const float> m) {
  CsrMatrix out;
  out.rows = m.rows();
  out.cols = m.cols();
  out.indptr.reserve(static_cast<std::size_t>(m.rows()) + 1);
  for (int64_t i = 0; i < m.rows(); ++i) {
    const float* r = m.row(i);
    for (int64_t j = 0; j < m.cols(); ++j) {
      if (r[j] != 0.0f) {
        out.indices.push_back(static_cast<int32_t>(j));
        out.values.push_back(r[j]);
      }
    }
    out.indptr.push_back(static_cast<int64_t>(out.indices.size()));
  }
  return out;
}

}  // namespace stray
