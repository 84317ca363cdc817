// CPU backend: per-cluster sums of sparse rows, and rows scored against
// their cluster's profile (the fleet's feature-space scores).
#include <algorithm>
#include <vector>

#include "core/check.hpp"
#include "core/profile_term.hpp"
#include "cpu/cpu_backend.hpp"

namespace stray::internal {

void CpuBackend::csr_cluster_sums(const DeviceCsr& A, const int32_t* labels, int64_t k,
                                  double* sums, double* sq_sums, double* stored) {
  require_host("csr_cluster_sums", {A.indptr.buffer(), A.indices.buffer(), A.values.buffer()});
  const int64_t n = A.rows, d = A.cols;
  require(k >= 1 && (n == 0 || labels != nullptr), ErrorCode::invalid_argument,
          "csr_cluster_sums", "k=", k, " with ", n, " labelled rows");
  std::fill(sums, sums + k * d, 0.0);
  std::fill(sq_sums, sq_sums + k * d, 0.0);
  std::fill(stored, stored + k * d, 0.0);
  const int64_t* ip = A.indptr.data();
  const int32_t* ix = A.indices.data();
  const float* v = A.values.data();
  // One pass in row order: the sums' order is the data's, whatever the
  // thread count. It is memory-bound over the non-zeros.
  for (int64_t i = 0; i < n; ++i) {
    const int32_t c = labels[i];
    require(c >= 0 && c < k, ErrorCode::invalid_argument, "csr_cluster_sums", "label of row ", i,
            " is ", c, ", outside [0, ", k, ")");
    double* s1 = sums + c * d;
    double* s2 = sq_sums + c * d;
    double* cnt = stored + c * d;
    for (int64_t p = ip[i]; p < ip[i + 1]; ++p) {
      const int32_t j = ix[p];
      const double x = v[p];
      s1[j] += x;
      s2[j] += x * x;
      cnt[j] += 1.0;
    }
  }
}

void CpuBackend::csr_profile_scores(const DeviceCsr& A, const ClusterProfiles& profiles,
                                    const int32_t* reference, const uint8_t* leave_out,
                                    float* out) {
  require_host("csr_profile_scores", {A.indptr.buffer(), A.indices.buffer(), A.values.buffer()});
  require(profiles.d == A.cols && profiles.k >= 1, ErrorCode::shape_mismatch,
          "csr_profile_scores", "profiles of ", profiles.k, " x ", profiles.d, " for a CSR with ",
          A.cols, " columns");
  const int64_t n = A.rows, k = profiles.k;
  require(profiles.shrinkage == 0.0 || profiles.prior_variance != nullptr,
          ErrorCode::invalid_argument, "csr_profile_scores", "shrinkage ", profiles.shrinkage,
          " without a prior variance");
  const ProfileTerm term{profiles.mean,           profiles.sq_mean, profiles.scale,
                         profiles.sizes,          profiles.d,       profiles.standardized,
                         profiles.variance_floor, profiles.prior_variance, profiles.shrinkage};
  std::vector<double> zero_plain(static_cast<std::size_t>(k)), zero_loo(zero_plain.size());
  profile_zero_sums(term, k, zero_plain.data(), zero_loo.data());
  for (int64_t i = 0; i < n; ++i) {
    require(reference[i] >= 0 && reference[i] < k, ErrorCode::invalid_argument,
            "csr_profile_scores", "reference of row ", i, " is ", reference[i], ", outside [0, ",
            k, ")");
  }
  const int64_t* ip = A.indptr.data();
  const int32_t* ix = A.indices.data();
  const float* v = A.values.data();
  // Rows of a few dozen non-zeros each: blocks of 4,096 rows.
  for_row_blocks(n, 4096, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      const int32_t r = reference[i];
      const bool loo = leave_out != nullptr && leave_out[i] != 0 && profiles.sizes[r] > 1;
      const auto c = static_cast<std::size_t>(r);
      double s = loo ? zero_loo[c] : zero_plain[c];
      double magnitude = s;
      for (int64_t p = ip[i]; p < ip[i + 1]; ++p) {
        const int32_t j = ix[p];
        const double absent = term(0.0, r, j, loo);
        s += term(v[p], r, j, loo) - absent;
        magnitude += absent;
      }
      out[i] = finish_profile_score(s, magnitude, profiles.d + ip[i + 1] - ip[i]);
    }
  });
}

}  // namespace stray::internal
