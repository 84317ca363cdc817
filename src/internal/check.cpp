#include "internal/check.hpp"

namespace stray::internal {

void check_finite_matrix(MatrixView<const float> X, const char* where, const char* what) {
  require(X.rows() > 0 && X.cols() > 0, ErrorCode::invalid_argument, where, what,
          " is empty (", X.rows(), " x ", X.cols(), ")");
  for (int64_t i = 0; i < X.rows(); ++i) {
    const float* r = X.row(i);
    for (int64_t j = 0; j < X.cols(); ++j) {
      if (!std::isfinite(r[j])) {
        fail(ErrorCode::non_finite_input, where, what, "[", i, ", ", j, "] = ", r[j],
             " is not finite");
      }
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

}  // namespace stray::internal
