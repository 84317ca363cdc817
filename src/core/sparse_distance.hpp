// The squared distance of k-means on sparse rows (Backend, "k-means on
// sparse rows"), written once for the host and the device: every product
// is a float32 times a float32, exact in float64, so a fused multiply-add
// and a multiply then add give the same bits, and the sums run in one
// fixed order on every backend.
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
