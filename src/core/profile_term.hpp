// One feature's share of a row's score against its cluster's profile
// (Backend::csr_profile_scores), written once for the host and the device.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define STRAY_HOST_DEVICE __host__ __device__
#else
#define STRAY_HOST_DEVICE
#endif

namespace stray::internal {

/// x against the peers' mean and variance in feature j of cluster c; with
/// `loo` the row itself (value x) is first taken out of the cluster's
/// statistics. The arrays are ClusterProfiles' (host or device copies).
/// With shrinkage m > 0 the peers' variance becomes (n·σ² + m·prior_j) /
/// (n + m), n the peers counted: a few peers' variance is pulled toward
/// the fleet's. m = 0 skips that arithmetic, so the scores stay bit for bit.
struct ProfileTerm {
  const double* mean;     // [k x d]
  const double* sq_mean;  // [k x d]
  const double* scale;    // [d]
  const int64_t* sizes;   // [k]
  int64_t d;
  bool standardized;
  double tau;
  const double* prior = nullptr;  // [d] the fleet's variance; read only when shrinkage > 0
  double shrinkage = 0.0;

  STRAY_HOST_DEVICE double operator()(double x, int64_t c, int64_t j, bool loo) const {
    double mu = mean[c * d + j];
    double m2 = sq_mean[c * d + j];
    if (loo) {
      const auto n = static_cast<double>(sizes[c]);
      mu = (n * mu - x) / (n - 1.0);
      m2 = (n * m2 - x * x) / (n - 1.0);
    }
    const double diff = x - mu;
    if (!standardized) return diff * diff;
    const double spread = m2 - mu * mu;
    double var = spread < 0.0 ? 0.0 : spread;
    if (shrinkage > 0.0) {
      const double peers = static_cast<double>(sizes[c]) - (loo ? 1.0 : 0.0);
      var = (peers * var + shrinkage * prior[j]) / (peers + shrinkage);
    }
    return diff * diff / (var + tau * scale[j]);
  }
};

/// A row's score from its running sum s = zero sum + Σ (term(x) − term(0))
/// over its non-zeros. `magnitude` = the zero sum + Σ term(0): the sizes
/// that cancelled. Where the true score is 0 (a row equal to its peers'
/// mean: duplicated hosts, identical sessions) rounding leaves a residue of
/// a few ulps of `magnitude` per term, and a threshold of such residues
/// would flag every duplicate seen later; so that residue is 0.
STRAY_HOST_DEVICE inline float finish_profile_score(double s, double magnitude, int64_t terms) {
  constexpr double kUlp = 2.220446049250313e-16;
  const double slack = 4.0 * kUlp * static_cast<double>(terms) * magnitude;
  return static_cast<float>(s > slack ? s : 0.0);
}

/// Σ_j term(0) per cluster — every feature a row lacks — plain and with the
/// row left out (clusters of one member keep 0 there): a row then costs
/// only its non-zeros. `plain`, `loo`: [k].
inline void profile_zero_sums(const ProfileTerm& term, int64_t k, double* plain, double* loo) {
  for (int64_t c = 0; c < k; ++c) {
    plain[c] = 0.0;
    loo[c] = 0.0;
    const bool can_leave = term.sizes[c] > 1;
    for (int64_t j = 0; j < term.d; ++j) {
      plain[c] += term(0.0, c, j, false);
      if (can_leave) loo[c] += term(0.0, c, j, true);
    }
  }
}

}  // namespace stray::internal
