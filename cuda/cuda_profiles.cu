// CUDA backend: per-cluster sums of sparse rows (by a stable sort of the
// entries on (cluster, feature), then fixed-order segment sums, as
// accumulate_centroids does: csr_cluster_sums for the fleet's profiles,
// csr_centroid_sums with weights for k-means on sparse rows), and rows
// scored against their cluster's profile (one thread per row, the term
// shared with the CPU in core/profile_term.hpp).
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <vector>

#include "core/check.hpp"
#include "core/profile_term.hpp"
#include "cuda_backend.hpp"
#include "cuda_check.hpp"
#include "cuda_kernels.cuh"
#include "cuda_sort.hpp"

namespace stray::internal {
namespace cuda {
namespace {

// key[p] = labels[row of p] · d + column of p, one thread per row.
__global__ void cluster_feature_keys_kernel(const int64_t* indptr, const int32_t* indices,
                                            const int32_t* labels, int64_t rows, int64_t d,
                                            int32_t* keys) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < rows;
       i += stride) {
    const int64_t base = static_cast<int64_t>(labels[i]) * d;
    for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p)
      keys[p] = static_cast<int32_t>(base + indices[p]);
  }
}

struct SortedValueAndSquare {  // column 0: a_p, column 1: a_p², p = order[q]
  const float* values;
  const int64_t* order;
  __device__ double operator()(int64_t q, int64_t col, int64_t) const {
    const double v = values[order[q]];
    return col == 0 ? v : v * v;
  }
};

// wv[p] = w[row of p] · a_p in float64 (exact), one thread per row.
__global__ void weighted_values_kernel(const int64_t* indptr, const float* values,
                                       const float* weights, int64_t rows, double* wv) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < rows;
       i += stride) {
    const double w = weights != nullptr ? static_cast<double>(weights[i]) : 1.0;
    for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) wv[p] = w * static_cast<double>(values[p]);
  }
}

struct SortedWeightedValue {  // wv[order[q]]
  const double* wv;
  const int64_t* order;
  __device__ double operator()(int64_t q, int64_t, int64_t) const { return wv[order[q]]; }
};

__global__ void profile_scores_kernel(const int64_t* indptr, const int32_t* indices,
                                      const float* values, int64_t rows, ProfileTerm term,
                                      const int32_t* reference, const uint8_t* leave_out,
                                      const double* zero_plain, const double* zero_loo,
                                      float* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < rows;
       i += stride) {
    const int32_t r = reference[i];
    const bool loo = leave_out != nullptr && leave_out[i] != 0 && term.sizes[r] > 1;
    double s = loo ? zero_loo[r] : zero_plain[r];
    double magnitude = s;
    for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) {
      const int32_t j = indices[p];
      const double absent = term(0.0, r, j, loo);
      s += term(values[p], r, j, loo) - absent;
      magnitude += absent;
    }
    out[i] = finish_profile_score(s, magnitude, term.d + indptr[i + 1] - indptr[i]);
  }
}

}  // namespace
}  // namespace cuda

void CudaBackend::csr_cluster_sums(const DeviceCsr& A, const int32_t* labels, int64_t k,
                                   double* sums, double* sq_sums, double* stored) {
  const char* where = "csr_cluster_sums";
  const int64_t n = A.rows, d = A.cols, nnz = A.nnz;
  require(k >= 1 && k * d < INT_MAX, ErrorCode::invalid_argument, where, "k=", k, " x d=", d,
          " (cluster-feature keys must fit int32)");
  std::fill(sums, sums + k * d, 0.0);
  std::fill(sq_sums, sq_sums + k * d, 0.0);
  std::fill(stored, stored + k * d, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    require(labels[i] >= 0 && labels[i] < k, ErrorCode::invalid_argument, where, "label of row ",
            i, " is ", labels[i], ", outside [0, ", k, ")");
  }
  if (nnz == 0) return;
  cuda::DeviceGuard guard(device_);
  cuda::ScratchBuffer d_labels = upload_scratch(labels, static_cast<std::size_t>(n) * sizeof(int32_t));
  cuda::ScratchBuffer keys = scratch<int32_t>(nnz);
  cuda::cluster_feature_keys_kernel<<<blocks_for(n, cuda::kBlockThreads), cuda::kBlockThreads, 0,
                                      stream_>>>(ptr(A.indptr, where), ptr(A.indices, where),
                                                 d_labels.as<int32_t>(), n, d, keys.as<int32_t>());
  cuda::check_launch(where, "cluster_feature_keys_kernel");
  const cuda::SortedSegments sorted = cuda::sort_by_key(*this, keys.as<int32_t>(), nnz, k * d);
  cuda::ScratchBuffer both = scratch<double>(k * d * 2);
  cuda::segment_sums(*this, sorted.offsets, 2,
                     cuda::SortedValueAndSquare{ptr(A.values, where), sorted.order.as<int64_t>()},
                     both.as<double>());
  std::vector<double> host(static_cast<std::size_t>(k * d * 2));
  download_sync(host.data(), both.as<double>(), host.size() * sizeof(double));
  for (int64_t key = 0; key < k * d; ++key) {
    sums[key] = host[static_cast<std::size_t>(2 * key)];
    sq_sums[key] = host[static_cast<std::size_t>(2 * key + 1)];
    stored[key] = static_cast<double>(sorted.offsets[static_cast<std::size_t>(key + 1)] -
                                      sorted.offsets[static_cast<std::size_t>(key)]);
  }
}

void CudaBackend::csr_centroid_sums(const DeviceCsr& A, const DeviceArray<int32_t>& labels,
                                    const DeviceArray<float>* weights, int64_t k, double* sums,
                                    double* counts) {
  const char* where = "csr_centroid_sums";
  const int64_t n = A.rows, d = A.cols, nnz = A.nnz;
  require(k >= 1 && k * d < INT_MAX, ErrorCode::invalid_argument, where, "k=", k, " x d=", d,
          " (cluster-feature keys must fit int32)");
  require(labels.size() == n && (weights == nullptr || weights->size() == n),
          ErrorCode::shape_mismatch, where, "labels of ", labels.size(), " and weights of ",
          weights ? weights->size() : n, " for ", n, " rows");
  std::fill(sums, sums + k * d, 0.0);
  std::fill(counts, counts + k, 0.0);
  // The weights per cluster on the host, in row order (n labels, n weights).
  const std::vector<int32_t> host_labels = download_vector(labels);
  const std::vector<float> host_weights =
      weights ? download_vector(*weights) : std::vector<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t c = host_labels[static_cast<std::size_t>(i)];
    require(c >= 0 && c < k, ErrorCode::invalid_argument, where, "label of row ", i, " is ", c,
            ", outside [0, ", k, ")");
    counts[c] += weights ? static_cast<double>(host_weights[static_cast<std::size_t>(i)]) : 1.0;
  }
  if (nnz == 0) return;
  cuda::DeviceGuard guard(device_);
  cuda::ScratchBuffer keys = scratch<int32_t>(nnz);
  cuda::cluster_feature_keys_kernel<<<blocks_for(n, cuda::kBlockThreads), cuda::kBlockThreads, 0,
                                      stream_>>>(ptr(A.indptr, where), ptr(A.indices, where),
                                                 ptr(labels, where), n, d, keys.as<int32_t>());
  cuda::check_launch(where, "cluster_feature_keys_kernel");
  cuda::ScratchBuffer wv = scratch<double>(nnz);
  cuda::weighted_values_kernel<<<blocks_for(n, cuda::kBlockThreads), cuda::kBlockThreads, 0,
                                 stream_>>>(ptr(A.indptr, where), ptr(A.values, where),
                                            weights ? ptr(*weights, where) : nullptr, n,
                                            wv.as<double>());
  cuda::check_launch(where, "weighted_values_kernel");
  const cuda::SortedSegments sorted = cuda::sort_by_key(*this, keys.as<int32_t>(), nnz, k * d);
  cuda::ScratchBuffer out = scratch<double>(k * d);
  cuda::segment_sums(*this, sorted.offsets, 1,
                     cuda::SortedWeightedValue{wv.as<double>(), sorted.order.as<int64_t>()},
                     out.as<double>());
  download_sync(sums, out.as<double>(), static_cast<std::size_t>(k * d) * sizeof(double));
}

void CudaBackend::csr_profile_scores(const DeviceCsr& A, const ClusterProfiles& profiles,
                                     const int32_t* reference, const uint8_t* leave_out,
                                     float* out) {
  const char* where = "csr_profile_scores";
  const int64_t n = A.rows, k = profiles.k, d = profiles.d;
  require(d == A.cols && k >= 1, ErrorCode::shape_mismatch, where, "profiles of ", k, " x ", d,
          " for a CSR with ", A.cols, " columns");
  for (int64_t i = 0; i < n; ++i) {
    require(reference[i] >= 0 && reference[i] < k, ErrorCode::invalid_argument, where,
            "reference of row ", i, " is ", reference[i], ", outside [0, ", k, ")");
  }
  if (n == 0) return;
  // The zero sums on the host, with the host term: the same numbers as the CPU's.
  require(profiles.shrinkage == 0.0 || profiles.prior_variance != nullptr,
          ErrorCode::invalid_argument, where, "shrinkage ", profiles.shrinkage,
          " without a prior variance");
  const ProfileTerm host_term{profiles.mean,           profiles.sq_mean, profiles.scale,
                              profiles.sizes,          d,                profiles.standardized,
                              profiles.variance_floor, profiles.prior_variance, profiles.shrinkage};
  std::vector<double> zero_plain(static_cast<std::size_t>(k)), zero_loo(zero_plain.size());
  profile_zero_sums(host_term, k, zero_plain.data(), zero_loo.data());

  cuda::DeviceGuard guard(device_);
  const std::size_t table = static_cast<std::size_t>(k * d) * sizeof(double);
  cuda::ScratchBuffer mean = upload_scratch(profiles.mean, table);
  cuda::ScratchBuffer sq_mean = upload_scratch(profiles.sq_mean, table);
  cuda::ScratchBuffer scale = upload_scratch(profiles.scale, static_cast<std::size_t>(d) * sizeof(double));
  cuda::ScratchBuffer sizes = upload_scratch(profiles.sizes, static_cast<std::size_t>(k) * sizeof(int64_t));
  cuda::ScratchBuffer plain = upload_scratch(zero_plain);
  cuda::ScratchBuffer loo = upload_scratch(zero_loo);
  cuda::ScratchBuffer ref = upload_scratch(reference, static_cast<std::size_t>(n) * sizeof(int32_t));
  cuda::ScratchBuffer leave;
  if (leave_out != nullptr) leave = upload_scratch(leave_out, static_cast<std::size_t>(n));
  cuda::ScratchBuffer prior;
  if (profiles.shrinkage > 0.0) {
    prior = upload_scratch(profiles.prior_variance, static_cast<std::size_t>(d) * sizeof(double));
  }
  cuda::ScratchBuffer scores = scratch<float>(n);
  const ProfileTerm term{mean.as<double>(),
                         sq_mean.as<double>(),
                         scale.as<double>(),
                         sizes.as<int64_t>(),
                         d,
                         profiles.standardized,
                         profiles.variance_floor,
                         profiles.shrinkage > 0.0 ? prior.as<double>() : nullptr,
                         profiles.shrinkage};
  cuda::profile_scores_kernel<<<blocks_for(n, cuda::kBlockThreads), cuda::kBlockThreads, 0,
                                stream_>>>(
      ptr(A.indptr, where), ptr(A.indices, where), ptr(A.values, where), n, term,
      ref.as<int32_t>(), leave_out != nullptr ? leave.as<uint8_t>() : nullptr, plain.as<double>(),
      loo.as<double>(), scores.as<float>());
  cuda::check_launch(where, "profile_scores_kernel");
  download_sync(out, scores.as<float>(), static_cast<std::size_t>(n) * sizeof(float));
}

}  // namespace stray::internal
