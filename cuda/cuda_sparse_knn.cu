// CUDA backend: Backend::csr_knn — exact neighbours of sparse rows by brute
// force. UNVERIFIED ON A GPU: this file compiles and links in every CUDA
// build, but no GPU has run it yet (docs/neighbors.md).
//
// The same answer as the CPU (the distance of core/sparse_distance.hpp,
// lists of core/knn_exact.hpp): a block of query rows is scattered into
// dense rows in scratch (as many as the workspace holds), and one warp per
// query row takes 32 reference rows a round, a row per lane, each lane
// adding its row's entries times the dense query in stored order; lane 0
// offers the round's candidates to the query's list in lane (so index)
// order. The dense rows are cleared entry by entry after their block.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/check.hpp"
#include "core/knn_check.hpp"
#include "core/knn_exact.hpp"
#include "core/sparse_distance.hpp"
#include "cuda_backend.hpp"
#include "cuda_check.hpp"
#include "cuda_kernels.cuh"
#include "cuda_knn_lists.hpp"

namespace stray::internal {
namespace cuda {
namespace {

constexpr int kWarpsPerBlock = kBlockThreads / 32;

struct Rows {
  const int64_t* indptr;
  const int32_t* indices;
  const float* values;
  int64_t rows;
};

__global__ void sq_norms_kernel(Rows a, double* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < a.rows;
       i += stride) {
    out[i] = sparse_row_sq_norm(a.indptr, a.values, i);
  }
}

// dense[(i − q0) * d + column] = value (or 0 when clearing) for the entries
// of query rows [q0, q0 + count): one thread per row.
__global__ void scatter_kernel(Rows q, int64_t q0, int64_t count, int64_t d, bool clear,
                               float* dense) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < count;
       r += stride) {
    const int64_t i = q0 + r;
    for (int64_t p = q.indptr[i]; p < q.indptr[i + 1]; ++p) {
      dense[r * d + q.indices[p]] = clear ? 0.0f : q.values[p];
    }
  }
}

struct SearchArgs {
  Rows reference;
  const float* dense;  // [count x d] the block's query rows
  int64_t q0, count, d, k;
  const double *query_sq, *reference_sq;
  bool self;
  double* list_sq;
  int64_t* list_index;
};

// One warp per query row of the block, 32 reference rows a round.
__global__ void search_kernel(SearchArgs a) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  for (int64_t r = global_warp(); r < a.count; r += warp_count()) {  // uniform per warp
    const int64_t i = a.q0 + r;
    KnnList list{a.list_sq + i * a.k, a.list_index + i * a.k, a.k};
    const float* x = a.dense + r * a.d;
    for (int64_t base = 0; base < a.reference.rows; base += 32) {
      const int64_t j = base + lane;
      bool keep = false;
      double s = 0.0;
      if (j < a.reference.rows && !(a.self && j == i)) {
        double dot = 0.0;
        for (int64_t p = a.reference.indptr[j]; p < a.reference.indptr[j + 1]; ++p) {
          dot += static_cast<double>(a.reference.values[p]) *
                 static_cast<double>(x[a.reference.indices[p]]);
        }
        s = sparse_sq_distance(a.query_sq[i], a.reference_sq[j], dot);
        keep = !(s > list.bound());
      }
      offer_in_lane_order(list, keep, s, base);
    }
  }
}

Rows rows_of(const CudaBackend& be, const DeviceCsr& A, const char* where) {
  return Rows{be.ptr(A.indptr, where), be.ptr(A.indices, where), be.ptr(A.values, where), A.rows};
}

}  // namespace
}  // namespace cuda

void CudaBackend::csr_knn(const DeviceCsr& reference, const DeviceCsr* queries, int64_t k,
                          DeviceArray<int64_t>& indices, DeviceArray<double>& distances) {
  const char* where = "csr_knn";
  const int64_t q = check_knn_args(where, reference, queries, k, indices, distances);
  if (q == 0) return;
  const int64_t d = reference.cols;
  require(static_cast<double>(d) * sizeof(float) <= static_cast<double>(workspace_bytes_),
          ErrorCode::out_of_memory, where, "one dense query row of ", d,
          " float32 columns does not fit the workspace (", workspace_bytes_, " bytes)");
  cuda::DeviceGuard guard(device_);
  const cuda::Rows ref = cuda::rows_of(*this, reference, where);
  const cuda::Rows qry = queries ? cuda::rows_of(*this, *queries, where) : ref;
  cuda::ScratchBuffer ref_sq = scratch<double>(ref.rows);
  cuda::ScratchBuffer own_query_sq = queries ? scratch<double>(q) : cuda::ScratchBuffer{};
  cuda::sq_norms_kernel<<<blocks_for(ref.rows, cuda::kBlockThreads), cuda::kBlockThreads, 0,
                          stream_>>>(ref, ref_sq.as<double>());
  cuda::check_launch(where, "sq_norms_kernel");
  if (queries) {
    cuda::sq_norms_kernel<<<blocks_for(q, cuda::kBlockThreads), cuda::kBlockThreads, 0, stream_>>>(
        qry, own_query_sq.as<double>());
    cuda::check_launch(where, "sq_norms_kernel");
  }
  cuda::clear_lists(*this, ptr(distances, where), ptr(indices, where), q * k, where);

  // Dense query rows per block: as many as the workspace holds, at least one.
  const int64_t rows_max = std::clamp<int64_t>(
      static_cast<int64_t>(workspace_bytes_ / (sizeof(float) * static_cast<std::size_t>(d))), 1, q);
  cuda::ScratchBuffer dense = scratch<float>(rows_max * d);
  STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(dense.as<float>(), 0,
                                             static_cast<std::size_t>(rows_max * d) * sizeof(float),
                                             stream_));
  cuda::SearchArgs args{ref, dense.as<float>(), 0, 0, d, k,
                        queries ? own_query_sq.as<double>() : ref_sq.as<double>(),
                        ref_sq.as<double>(), queries == nullptr, ptr(distances, where),
                        ptr(indices, where)};
  for (int64_t q0 = 0; q0 < q; q0 += rows_max) {
    args.q0 = q0;
    args.count = std::min(rows_max, q - q0);
    const unsigned scatter_blocks = blocks_for(args.count, cuda::kBlockThreads);
    cuda::scatter_kernel<<<scatter_blocks, cuda::kBlockThreads, 0, stream_>>>(
        qry, q0, args.count, d, false, dense.as<float>());
    cuda::check_launch(where, "scatter_kernel");
    cuda::search_kernel<<<blocks_for(args.count, cuda::kWarpsPerBlock), cuda::kBlockThreads, 0,
                          stream_>>>(args);
    cuda::check_launch(where, "search_kernel");
    cuda::scatter_kernel<<<scatter_blocks, cuda::kBlockThreads, 0, stream_>>>(
        qry, q0, args.count, d, true, dense.as<float>());
    cuda::check_launch(where, "scatter_kernel");
  }
  cuda::take_roots(*this, ptr(distances, where), q * k, where);
}

}  // namespace stray::internal
