// The squared distances of sparse rows — to dense centres (Backend,
// "k-means on sparse rows") and to other sparse rows (Backend::csr_knn) —
// written once for the host and the device: every product is a float32
// times a float32, exact in float64, so a fused multiply-add and a
// multiply then add give the same bits, and the sums run in one fixed
// order on every backend.
//
// Between two canonical rows (core/csr_canonical.hpp) x·y is summed over
// the columns both store, in increasing column order. A backend may add
// the products of one row's entries with the other's densified values in
// that row's stored order instead: the extra products are zeros, and
// adding ±0 to a float64 sum never changes it (a sum that is exactly 0 is
// +0 in round to nearest, and +0 + −0 = +0), so the bits are the same —
// and the same whichever row is densified: d(x, y) = d(y, x). An identical
// row has x·y = ‖x‖², summed alike, so its distance is exactly 0.
#pragma once

#include <cstdint>
#include <vector>

#if defined(__CUDACC__)
#define STRAY_SPARSE_HOST_DEVICE __host__ __device__
#else
#define STRAY_SPARSE_HOST_DEVICE
#endif

namespace stray::internal {

/// (‖x‖² + ‖c‖²) − 2·x·c, clamped at 0 (2·x·c is exact: a doubling).
STRAY_SPARSE_HOST_DEVICE inline double sparse_sq_distance(double row_sq, double center_sq,
                                                          double dot) {
  const double s = (row_sq + center_sq) - 2.0 * dot;
  return s > 0.0 ? s : 0.0;
}

/// ‖x‖² of CSR row i: its entries' squares in stored order.
STRAY_SPARSE_HOST_DEVICE inline double sparse_row_sq_norm(const int64_t* indptr,
                                                          const float* values, int64_t i) {
  double s = 0.0;
  for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) {
    const double v = values[p];
    s += v * v;
  }
  return s;
}

/// ‖c‖² of each row of C [k x d] (host), summed over the features in order.
inline std::vector<double> center_sq_norms(const float* C, int64_t k, int64_t d) {
  std::vector<double> out(static_cast<std::size_t>(k), 0.0);
  for (int64_t c = 0; c < k; ++c) {
    double s = 0.0;
    for (int64_t j = 0; j < d; ++j) {
      const double v = C[c * d + j];
      s += v * v;
    }
    out[static_cast<std::size_t>(c)] = s;
  }
  return out;
}

}  // namespace stray::internal
