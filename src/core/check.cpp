#include "core/check.hpp"

namespace stray::internal {

namespace {

// True when every value of the row is finite. x * 0 is 0 for finite x and
// NaN for ±Inf or NaN, so one NaN-propagating sum tests the whole row
// without a branch per element, and the loop vectorises.
bool row_is_finite(const float* r, int64_t cols) {
  float probe = 0.0f;
#pragma omp simd reduction(+ : probe)
  for (int64_t j = 0; j < cols; ++j) probe += r[j] * 0.0f;
  return probe == 0.0f;
}

}  // namespace

void check_nonempty_matrix(MatrixView<const float> X, const char* where, const char* what) {
  require(X.rows() > 0 && X.cols() > 0, ErrorCode::invalid_argument, where, what,
          " is empty (", X.rows(), " x ", X.cols(), ")");
}

void check_finite_matrix(MatrixView<const float> X, const char* where, const char* what) {
  check_nonempty_matrix(X, where, what);
  const int64_t rows = X.rows(), cols = X.cols();
  // Every public entry scans its input, so the scan runs on all cores; the
  // first bad row (lowest index) is reported whichever thread finds one.
  int64_t first_bad = rows;
#pragma omp parallel for schedule(static) reduction(min : first_bad) if (rows * cols > (1 << 18))
  for (int64_t i = 0; i < rows; ++i) {
    if (i < first_bad && !row_is_finite(X.row(i), cols)) first_bad = i;
  }
  if (first_bad == rows) return;
  const float* r = X.row(first_bad);
  for (int64_t j = 0; j < cols; ++j) {
    if (!std::isfinite(r[j])) {
      fail(ErrorCode::non_finite_input, where, what, "[", first_bad, ", ", j, "] = ", r[j],
           " is not finite");
    }
  }
}

void check_stats_finite(const std::vector<double>& mean, const std::vector<double>& var,
                        const MatrixView<const float>* host, const char* where) {
  for (std::size_t j = 0; j < mean.size(); ++j) {
    if (!std::isfinite(mean[j]) || !std::isfinite(var[j])) {
      if (host) check_finite_matrix(*host, where);
      fail(ErrorCode::non_finite_input, where, "X contains NaN or Inf in column ", j);
    }
  }
}

void check_sample_weight(const std::vector<float>& w, int64_t n, const char* where) {
  require(static_cast<int64_t>(w.size()) == n, ErrorCode::shape_mismatch, where,
          "sample_weight has ", w.size(), " entries for n_samples=", n);
  double total = 0.0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    require(std::isfinite(w[i]), ErrorCode::non_finite_input, where, "sample_weight[", i,
            "] = ", w[i], " is not finite");
    require(w[i] >= 0.0f, ErrorCode::invalid_argument, where, "sample_weight[", i, "] = ", w[i],
            " is negative");
    total += w[i];
  }
  require(total > 0.0, ErrorCode::invalid_argument, where, "sample_weight sums to 0");
}

void check_csr_arrays(const CsrView& host, const char* where) {
  require(host.rows >= 0 && host.cols >= 0, ErrorCode::invalid_argument, where,
          "negative extent ", host.rows, " x ", host.cols);
  require(host.indptr != nullptr, ErrorCode::invalid_argument, where, "indptr is null");
  require(host.nnz() == 0 || (host.indices != nullptr && host.values != nullptr),
          ErrorCode::invalid_argument, where, "indices/values are null with nnz=", host.nnz());
}

}  // namespace stray::internal
