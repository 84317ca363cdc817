// CUDA backend: Backend::knn. UNVERIFIED ON A GPU: this file compiles and
// links in every CUDA build, but no GPU has run it yet (docs/neighbors.md).
//
// The same answer as the CPU (core/knn_exact.hpp), by brute force on the
// device: the rows are centred into float32 copies (so the expanded form's
// rounding scales with the data's spread, not its offset); for each block
// of query rows and each tile of reference rows, one cuBLAS SGEMM gives the
// float32 products (a tile sized from the workspace budget: never q×m),
// and a selection kernel consumes the tile at once — one warp per query
// row, each lane testing one reference row against the ExpandedBound and
// recomputing the survivors exactly, lane 0 inserting them in lane order
// into the query's sorted list, kept in the output arrays themselves. The
// host only queues work: nothing comes back per tile.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/check.hpp"
#include "core/knn_check.hpp"
#include "core/knn_exact.hpp"
#include "cuda_backend.hpp"
#include "cuda_check.hpp"
#include "cuda_kernels.cuh"
#include "cuda_knn_lists.hpp"

namespace stray::internal {
namespace cuda {
namespace {

constexpr int kKnnWarpsPerBlock = kBlockThreads / 32;
/// Reference rows per tile: wide enough for an efficient SGEMM, narrow
/// enough that many query rows fit the workspace beside it.
constexpr int64_t kReferenceTile = 4096;

/// A centred float32 copy of rows and, per row, ‖x'‖² (float64 and float32)
/// and ‖x'‖: what the ExpandedBound needs.
struct CentredRows {
  ScratchBuffer rows, sq, root, sq32;
};

// One warp per row: x'_t = fl32(x_t − μ_t), and the row's norms.
__global__ void centre_rows_kernel(const float* X, int64_t n, int64_t d, const double* mean,
                                   float* out, double* sq, double* root, float* sq32) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  for (int64_t i = global_warp(); i < n; i += warp_count()) {  // uniform per warp
    double s = 0.0;
    for (int64_t t = lane; t < d; t += 32) {
      const float v = static_cast<float>(static_cast<double>(X[i * d + t]) - mean[t]);
      out[i * d + t] = v;
      s += static_cast<double>(v) * v;
    }
    s = group_sum(s, 32);
    if (lane == 0) {
      sq[i] = s;
      root[i] = sqrt(s);
      sq32[i] = static_cast<float>(s);
    }
  }
}

/// What the selection kernel reads for one (query block, reference tile).
struct TileArgs {
  const float* dots;  // [rows x cols] products of the tile
  int64_t rows, cols;  // query rows in the block, reference rows in the tile
  int64_t q0, r0;      // the block's first query, the tile's first reference row
  const float* queries;    // original query rows [q x d]
  const float* reference;  // original reference rows [m x d]
  const double *q_sq, *q_root, *r_sq, *r_root;  // norms of the centred rows
  const float *q_sq32, *r_sq32;
  int64_t d, k;
  bool self;  // queries are the reference rows: leave each out of its list
  ExpandedBound bound;
  double* list_sq;      // [q x k] squared distances so far
  int64_t* list_index;  // [q x k]
};

// One warp per query row of the block: each lane tests one reference row of
// the tile per round, recomputes it exactly if the bound keeps it, and lane
// 0 offers the survivors to the list in lane (so index) order.
__global__ void select_kernel(TileArgs a) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  for (int64_t r = global_warp(); r < a.rows; r += warp_count()) {  // uniform per warp
    const int64_t i = a.q0 + r;
    KnnList list{a.list_sq + i * a.k, a.list_index + i * a.k, a.k};
    const float* x = a.queries + i * a.d;
    const double nx = a.q_sq[i], rx = a.q_root[i];
    const float nx32 = a.q_sq32[i];
    for (int64_t base = 0; base < a.cols; base += 32) {
      const double bound = list.bound();
      const int64_t last = list.index[a.k - 1];
      const double root = sqrt(bound) * a.bound.exact_pad;
      const int64_t jt = base + lane;
      const int64_t j = a.r0 + jt;
      bool keep = false;
      double s = 0.0;
      if (jt < a.cols) {
        const float est = nx32 + a.r_sq32[j] - 2.0f * a.dots[r * a.cols + jt];
        keep = !a.bound.rules_out(est, root, nx, a.r_sq[j], rx, a.r_root[j]);
        keep = keep && !(a.self && j == i);
        // A full list of exact duplicates admits only lower indices.
        keep = keep && !(bound == 0.0 && last >= 0 && j > last);
        if (keep) s = knn_exact_sq(x, a.reference + j * a.d, a.d);
      }
      offer_in_lane_order(list, keep, s, a.r0 + base);
    }
  }
}

CentredRows centre(CudaBackend& be, const float* X, int64_t n, int64_t d, const double* mean,
                   const char* where) {
  CentredRows c{be.scratch<float>(n * d), be.scratch<double>(n), be.scratch<double>(n),
                be.scratch<float>(n)};
  centre_rows_kernel<<<be.blocks_for(n, kKnnWarpsPerBlock), kBlockThreads, 0, be.stream()>>>(
      X, n, d, mean, c.rows.as<float>(), c.sq.as<double>(), c.root.as<double>(),
      c.sq32.as<float>());
  check_launch(where, "centre_rows_kernel");
  return c;
}

/// dots [rows x cols] (row-major) = Q[q0 : q0+rows] · R[r0 : r0+cols]ᵀ. Row-
/// major Q is column-major Qᵀ [d x q], so column-major dotsᵀ [cols x rows] =
/// (Rᵀ)ᵀ · Qᵀ: op(A) = T, op(B) = N.
void tile_products(CudaBackend& be, const float* Q, int64_t q0, int64_t rows, const float* R,
                   int64_t r0, int64_t cols, int64_t d, float* dots, const char* where) {
  const float one = 1.0f, zero = 0.0f;
  const int ld = static_cast<int>(d);
  STRAY_CUDA_CHECK_AT(where, cublasSgemm(be.cublas(), CUBLAS_OP_T, CUBLAS_OP_N,
                                         static_cast<int>(cols), static_cast<int>(rows),
                                         static_cast<int>(d), &one, R + r0 * d, ld, Q + q0 * d,
                                         ld, &zero, dots, static_cast<int>(cols)));
}

__global__ void clear_lists_kernel(double* sq, int64_t* index, int64_t total) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < total;
       p += stride) {
    sq[p] = INFINITY;
    index[p] = -1;
  }
}

__global__ void take_roots_kernel(double* sq, int64_t total) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < total;
       p += stride) {
    sq[p] = sqrt(sq[p]);
  }
}

}  // namespace

void clear_lists(CudaBackend& be, double* sq, int64_t* index, int64_t total, const char* where) {
  clear_lists_kernel<<<be.blocks_for(total, kBlockThreads), kBlockThreads, 0, be.stream()>>>(
      sq, index, total);
  check_launch(where, "clear_lists_kernel");
}

void take_roots(CudaBackend& be, double* sq, int64_t total, const char* where) {
  take_roots_kernel<<<be.blocks_for(total, kBlockThreads), kBlockThreads, 0, be.stream()>>>(sq,
                                                                                            total);
  check_launch(where, "take_roots_kernel");
}

}  // namespace cuda

void CudaBackend::knn(const DeviceArray<float>& reference, const DeviceArray<float>* queries,
                      int64_t k, DeviceArray<int64_t>& indices, DeviceArray<double>& distances) {
  const char* where = "knn";
  const int64_t q = check_knn_args(where, reference, queries, k, indices, distances);
  const int64_t m = reference.rows(), d = reference.cols();
  require(d <= INT_MAX, ErrorCode::invalid_argument, where, "d=", d, " exceeds 2^31-1");
  if (q == 0) return;
  cuda::DeviceGuard guard(device_);
  const float* ref = ptr(reference, where);
  const float* qry = queries ? ptr(*queries, where) : ref;
  int64_t* out_index = ptr(indices, where);
  double* out_sq = ptr(distances, where);

  // Centre on the reference rows' mean (any shift is correct; the mean
  // keeps the bound tight). column_stats hands it to the host once.
  std::vector<double> mean(static_cast<std::size_t>(d)), var(mean);
  column_stats(reference, nullptr, mean.data(), var.data());
  cuda::ScratchBuffer d_mean = upload_scratch(mean);
  const cuda::CentredRows rc = cuda::centre(*this, ref, m, d, d_mean.as<double>(), where);
  const cuda::CentredRows qc_own =
      queries ? cuda::centre(*this, qry, q, d, d_mean.as<double>(), where) : cuda::CentredRows{};
  const cuda::CentredRows& qc = queries ? qc_own : rc;

  cuda::clear_lists(*this, out_sq, out_index, q * k, where);

  const int64_t cols_max = std::min(m, cuda::kReferenceTile);
  // Query rows per block: as many as fit the workspace beside the tile (at
  // least 32), never more than there are, nor more than cuBLAS can index.
  const int64_t rows_max = std::min<int64_t>(
      std::max<int64_t>(static_cast<int64_t>(workspace_bytes_ / (sizeof(float) * cols_max)), 32),
      std::min<int64_t>(q, INT_MAX / cols_max));
  cuda::ScratchBuffer dots = scratch<float>(rows_max * cols_max);
  cuda::TileArgs args{};
  args.queries = qry;
  args.reference = ref;
  args.q_sq = qc.sq.as<double>();
  args.q_root = qc.root.as<double>();
  args.q_sq32 = qc.sq32.as<float>();
  args.r_sq = rc.sq.as<double>();
  args.r_root = rc.root.as<double>();
  args.r_sq32 = rc.sq32.as<float>();
  args.d = d;
  args.k = k;
  args.self = queries == nullptr;
  args.bound = ExpandedBound::make(d);
  args.list_sq = out_sq;
  args.list_index = out_index;
  args.dots = dots.as<float>();
  for (int64_t q0 = 0; q0 < q; q0 += rows_max) {
    args.q0 = q0;
    args.rows = std::min(rows_max, q - q0);
    // Reference tiles in index order: the duplicates' rule in the kernel
    // relies on it.
    for (int64_t r0 = 0; r0 < m; r0 += cols_max) {
      args.r0 = r0;
      args.cols = std::min(cols_max, m - r0);
      cuda::tile_products(*this, qc.rows.as<float>(), q0, args.rows, rc.rows.as<float>(), r0,
                          args.cols, d, dots.as<float>(), where);
      cuda::select_kernel<<<blocks_for(args.rows, cuda::kKnnWarpsPerBlock), cuda::kBlockThreads, 0,
                            stream_>>>(args);
      cuda::check_launch(where, "select_kernel");
    }
  }
  cuda::take_roots(*this, out_sq, q * k, where);
}

}  // namespace stray::internal
