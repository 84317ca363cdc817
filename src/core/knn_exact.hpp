// Backend::knn's definition, written once for the host and the device: the
// exact distance every backend reports, the order that breaks ties, the
// sorted list a query's neighbours are kept in, and the rounding bounds that
// let a float32 estimate rule a row out without changing the answer.
//
// A row is ruled out only when a bound proves its exact distance exceeds the
// k-th exact distance found so far (ties are never ruled out: the index
// decides them). Every row kept is recomputed exactly, so the neighbours
// and distances are the same bits whatever estimate or order found them.
#pragma once

#include <cmath>
#include <cstdint>

#if !defined(STRAY_HOST_DEVICE)
#if defined(__CUDACC__)
#define STRAY_HOST_DEVICE __host__ __device__
#else
#define STRAY_HOST_DEVICE
#endif
#endif

namespace stray::internal {

/// The squared distance of Backend::knn: float64, one fused multiply-add per
/// feature in feature order (the same operations, so the same bits, on
/// every backend).
STRAY_HOST_DEVICE inline double knn_exact_sq(const float* x, const float* y, int64_t d) {
  double s = 0.0;
  for (int64_t t = 0; t < d; ++t) {
    const double diff = static_cast<double>(x[t]) - static_cast<double>(y[t]);
    s = ::fma(diff, diff, s);
  }
  return s;
}

/// (s, index) ordered by distance, then by index: the total order that
/// makes the k nearest unique.
STRAY_HOST_DEVICE inline bool knn_before(double s_a, int64_t a, double s_b, int64_t b) {
  return s_a < s_b || (s_a == s_b && a < b);
}

/// A query's neighbours so far, ascending in knn_before order, in place in
/// the output rows: `sq` [k] (squared distances, +inf while empty) and
/// `index` [k] (-1 while empty).
struct KnnList {
  double* sq;
  int64_t* index;
  int64_t k;

  /// The squared distance a row must not exceed to enter (+inf until full).
  STRAY_HOST_DEVICE double bound() const { return sq[k - 1]; }
  /// Whether all k places are taken.
  STRAY_HOST_DEVICE bool full() const { return index[k - 1] >= 0; }
  /// Inserts (s, j) if it comes before the last entry (the last drops out);
  /// returns whether it did. j must not be in the list already.
  STRAY_HOST_DEVICE bool offer(double s, int64_t j) {
    if (!(index[k - 1] < 0 || knn_before(s, j, sq[k - 1], index[k - 1]))) return false;
    int64_t p = k - 1;
    while (p > 0 && (index[p - 1] < 0 || knn_before(s, j, sq[p - 1], index[p - 1]))) {
      sq[p] = sq[p - 1];
      index[p] = index[p - 1];
      --p;
    }
    sq[p] = s;
    index[p] = j;
    return true;
  }
};

/// Direct float32 estimate a = Σ_t fl(x_t − y_t)² (summed in float32 in any
/// order, fused or not). Each term carries at most three roundings and a sum
/// of non-negative terms at most d − 1 more, so a ≤ S·(1 + γ) with S the
/// exact real value and γ ≈ (d + 2)·2⁻²⁴; knn_exact_sq ≥ S·(1 − (d + 1)·2⁻⁵³).
/// Subnormal squares add at most 2⁻¹⁵⁰ per operation. The row is ruled out
/// when a·factor > bound + slack; an infinite a (float32 overflow) never is.
struct DirectBound {
  double factor;  // 1 − 2·(d + 2)·2⁻²⁴: twice γ, which also covers the float64 side
  double slack;   // (d + 2)·2⁻¹⁴⁹, the subnormal roundings

  STRAY_HOST_DEVICE static DirectBound make(int64_t d) {
    const double u = 1.0 / 16777216.0;  // 2⁻²⁴
    return DirectBound{1.0 - 2.0 * static_cast<double>(d + 2) * u,
                       static_cast<double>(d + 2) * 1.5e-45};
  }
  STRAY_HOST_DEVICE bool rules_out(float a, double bound) const {
    return a <= 3.4028234663852886e38f && static_cast<double>(a) * factor > bound + slack;
  }
};

/// Expanded float32 estimate on centred copies, as a GEMM gives it:
/// a = fl(n_x + n_y − 2·p) with x' = fl32(x − μ) (one rounding from float64),
/// n_x = fl32(‖x'‖²) and p = x'·y' from a float32 product in any summation
/// order. With N = ‖x'‖² + ‖y'‖² (float64):
///   |a − ‖x' − y'‖²| ≤ (γ_d + 4u)·N                       (u = 2⁻²⁴)
///   |‖x' − y'‖ − ‖x − y‖| ≤ u·(‖x'‖ + ‖y'‖)·(1 + 2u)      (centring)
/// so ‖x − y‖ ≥ √(a − κN) − η with κ = 2(d + 8)u and η = 1.01u(‖x'‖ + ‖y'‖),
/// each doubled or padded for margin. The row is ruled out when
/// a > κN + (√bound·(1 + (d + 4)·2⁻⁵²) + η)²; a non-finite a never is.
struct ExpandedBound {
  double kappa;      // 2·(d + 8)·2⁻²⁴
  double eta;        // 1.01·2⁻²⁴, times ‖x'‖ + ‖y'‖
  double exact_pad;  // 1 + (d + 4)·2⁻⁵², the float64 side's rounding

  STRAY_HOST_DEVICE static ExpandedBound make(int64_t d) {
    const double u = 1.0 / 16777216.0;
    return ExpandedBound{2.0 * static_cast<double>(d + 8) * u, 1.01 * u,
                         1.0 + static_cast<double>(d + 4) * 2.220446049250313e-16};
  }
  /// `root_bound` = √bound · exact_pad (once per query and bound change);
  /// `nx`, `ny` the float64 squared norms of the centred rows and `rx`, `ry`
  /// their square roots.
  ///
  /// The estimate a row must exceed to be ruled out: rules_out(a, ...) is
  /// a ≤ FLT_MAX and a > threshold(...). With nx, ny, rx, ry replaced by
  /// larger values (a tile's largest norms) the test stays sound, only
  /// looser, and one threshold serves the whole tile.
  STRAY_HOST_DEVICE double threshold(double root_bound, double nx, double ny, double rx,
                                     double ry) const {
    const double reach = root_bound + eta * (rx + ry);
    return kappa * (nx + ny) + reach * reach * (1.0 + 1.0 / 1099511627776.0);
  }
  STRAY_HOST_DEVICE bool rules_out(float a, double root_bound, double nx, double ny, double rx,
                                   double ry) const {
    // Branch-free, so a loop over a tile row vectorises. A NaN estimate is
    // never ruled out; nor is anything while the bound is +inf (a list not
    // yet full).
    return (a <= 3.4028234663852886e38f) &
           (static_cast<double>(a) > threshold(root_bound, nx, ny, rx, ry));
  }

  /// A threshold as a float32 that an estimate must exceed: rounded up, so
  /// comparing in float32 rules out nothing the float64 test keeps. (An
  /// estimate of +inf must still be kept by the caller.)
  STRAY_HOST_DEVICE static float threshold_float(double t) {
    float f = static_cast<float>(t);
    if (static_cast<double>(f) < t) f = nextafterf(f, INFINITY);
    return f;
  }
};

}  // namespace stray::internal
