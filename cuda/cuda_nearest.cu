// CUDA backend: the fused distance kernel (see cuda_nearest.hpp).
//
// One thread block owns kRows rows of X, copied once into shared memory
// (transposed, zero-padded to a multiple of kDepth features). Centres pass
// in tiles of kCentres, each staged kDepth features at a time; a thread
// (tx, ty) of the 16 × 16 block accumulates x·c for rows ty + 16i and
// centres tx + 16j (i, j < 4) in float32 FMAs, then folds those 16 products
// into its rows' running results before the next centre tile. Zero padding
// adds fma(0, 0, acc) = acc exactly, so the products do not depend on it.
//
// The folds are the CPU backend's expressions: ‖c‖² − 2x·c for the argmin
// (2·x·c is exact, so a contracted FMA rounds as the separate operations
// do), strict < so each thread keeps its lowest centre among equals, and
// the 16 threads of a row combine (value, index) pairs lexicographically,
// which gives the lowest index among equal minima whatever the split.
// ‖x‖² is summed in float64 from the block's shared copy of the rows.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cuda_check.hpp"
#include "cuda_kernels.cuh"
#include "cuda_nearest.hpp"
#include "core/check.hpp"

namespace stray::internal::cuda {
namespace {

constexpr int kRows = 64;            // rows of X per block, resident in shared memory
constexpr int kCentres = 64;         // centres per tile
constexpr int kDepth = 32;           // features of a centre tile staged at once
constexpr int kSide = 16;            // the block is kSide × kSide threads
constexpr int kPer = kRows / kSide;  // rows (and centres) per thread
constexpr int kStride = kRows + 1;   // padded: transposed stores hit distinct banks
static_assert(kSide * kSide == kBlockThreads, "one thread per (tx, ty)");
static_assert(kRows == kCentres, "threads own as many rows as centres");

enum class Fold { assign, closest, potential };

struct FusedArgs {
  const float* X;
  int64_t n;
  int d;
  int d_pad;  // d rounded up to kDepth
  const float* C;
  int k;
  const float* c_norms;
  int32_t* labels;        // assign
  float* dist;            // assign: out; closest: in/out
  const float* closest;   // potential
  const float* w;         // potential, or null
  double* partial;        // potential: [blocks x k]
};

// xs[f * kStride + r] = X[row0 + r, f], zero beyond n and d.
__device__ void load_rows(const FusedArgs& a, int64_t row0, float* xs) {
  for (int e = threadIdx.x; e < kRows * a.d_pad; e += kBlockThreads) {
    const int r = e / a.d_pad, f = e - r * a.d_pad;
    const int64_t row = row0 + r;
    xs[f * kStride + r] = (row < a.n && f < a.d) ? a.X[row * a.d + f] : 0.0f;
  }
}

// cs[kk * kStride + cc] = C[c0 + cc, f0 + kk], zero beyond k and d.
__device__ void load_centres(const FusedArgs& a, int c0, int f0, float* cs) {
  for (int e = threadIdx.x; e < kCentres * kDepth; e += kBlockThreads) {
    const int cc = e / kDepth, kk = e - cc * kDepth;
    const int c = c0 + cc, f = f0 + kk;
    cs[kk * kStride + cc] = (c < a.k && f < a.d) ? a.C[static_cast<int64_t>(c) * a.d + f] : 0.0f;
  }
}

// acc[i][j] = x_(ty + 16i) · c_(c0 + tx + 16j), features in increasing order.
__device__ void tile_products(const FusedArgs& a, const float* xs, float* cs, int c0, int tx,
                              int ty, float (&acc)[kPer][kPer]) {
  for (int i = 0; i < kPer; ++i)
    for (int j = 0; j < kPer; ++j) acc[i][j] = 0.0f;
  for (int f0 = 0; f0 < a.d_pad; f0 += kDepth) {
    __syncthreads();  // the previous slice has been read
    load_centres(a, c0, f0, cs);
    __syncthreads();
#pragma unroll 8
    for (int kk = 0; kk < kDepth; ++kk) {
      float x[kPer], c[kPer];
      for (int i = 0; i < kPer; ++i) x[i] = xs[(f0 + kk) * kStride + ty + kSide * i];
      for (int j = 0; j < kPer; ++j) c[j] = cs[kk * kStride + tx + kSide * j];
      for (int i = 0; i < kPer; ++i)
        for (int j = 0; j < kPer; ++j) acc[i][j] = fmaf(x[i], c[j], acc[i][j]);
    }
  }
}

// ‖x_r‖² in float64 over the shared copy, features in order.
__device__ float row_norm(const float* xs, int d, int r) {
  double s = 0.0;
  for (int f = 0; f < d; ++f) {
    const double v = xs[f * kStride + r];
    s += v * v;
  }
  return static_cast<float>(s);
}

// Each thread's rows: running minimum and its centre (assign), or the
// running minimum distance (closest).
struct RowBest {
  float value[kPer];
  int index[kPer];
};

__device__ void fold_assign(const FusedArgs& a, int c0, int tx, const float (&acc)[kPer][kPer],
                            RowBest& best) {
  for (int j = 0; j < kPer; ++j) {  // increasing centre index
    const int c = c0 + tx + kSide * j;
    if (c >= a.k) break;
    const float cn = a.c_norms[c];
    for (int i = 0; i < kPer; ++i) {
      const float v = cn - 2.0f * acc[i][j];
      if (v < best.value[i]) {  // strict: keep the lower index among equals
        best.value[i] = v;
        best.index[i] = c;
      }
    }
  }
}

__device__ void fold_closest(const FusedArgs& a, int c0, int tx, int ty, const float* xn,
                             const float (&acc)[kPer][kPer], RowBest& best) {
  for (int j = 0; j < kPer; ++j) {
    const int c = c0 + tx + kSide * j;
    if (c >= a.k) break;
    const float cn = a.c_norms[c];
    for (int i = 0; i < kPer; ++i) {
      const float v = fmaxf(0.0f, xn[ty + kSide * i] + cn - 2.0f * acc[i][j]);
      best.value[i] = fminf(best.value[i], v);
    }
  }
}

// partial[block, c] = Σ over the block's rows of w·min(closest, dist): a
// thread adds its 4 rows in order, then the 16 thread rows are added in
// order.
__device__ void fold_potential(const FusedArgs& a, int c0, int tx, int ty, const float* xn,
                               const float (&near)[kPer], const float (&weight)[kPer],
                               const float (&acc)[kPer][kPer], double* sums) {
  for (int j = 0; j < kPer; ++j) {
    const int c = c0 + tx + kSide * j;
    double s = 0.0;
    if (c < a.k) {
      const float cn = a.c_norms[c];
      for (int i = 0; i < kPer; ++i) {
        const float dist = fmaxf(0.0f, xn[ty + kSide * i] + cn - 2.0f * acc[i][j]);
        const double m = dist < near[i] ? dist : near[i];
        s += static_cast<double>(weight[i]) * m;  // weight 0 beyond n
      }
    }
    sums[ty * kCentres + tx + kSide * j] = s;
  }
  __syncthreads();
  const int cc = static_cast<int>(threadIdx.x);
  if (cc < kCentres && c0 + cc < a.k) {
    double total = 0.0;
    for (int y = 0; y < kSide; ++y) total += sums[y * kCentres + cc];
    a.partial[static_cast<int64_t>(blockIdx.x) * a.k + c0 + cc] = total;
  }
  __syncthreads();  // sums is rewritten by the next tile
}

// The 16 threads of a row (lanes tx of one half warp) combine their results.
__device__ void combine_assign(RowBest& best) {
  for (int i = 0; i < kPer; ++i) {
    for (int offset = kSide / 2; offset > 0; offset >>= 1) {
      const float v = __shfl_xor_sync(0xffffffffu, best.value[i], offset);
      const int j = __shfl_xor_sync(0xffffffffu, best.index[i], offset);
      if (v < best.value[i] || (v == best.value[i] && j < best.index[i])) {
        best.value[i] = v;
        best.index[i] = j;
      }
    }
  }
}

__device__ void combine_closest(RowBest& best) {
  for (int i = 0; i < kPer; ++i)
    for (int offset = kSide / 2; offset > 0; offset >>= 1)
      best.value[i] = fminf(best.value[i], __shfl_xor_sync(0xffffffffu, best.value[i], offset));
}

template <Fold kFold>
__global__ void __launch_bounds__(kBlockThreads) fused_kernel(FusedArgs a) {
  extern __shared__ double smem[];  // double first: keeps the sums aligned
  double* sums = smem;              // [kSide x kCentres], potential only
  float* xs = reinterpret_cast<float*>(smem + (kFold == Fold::potential ? kSide * kCentres : 0));
  float* cs = xs + a.d_pad * kStride;
  float* xn = cs + kDepth * kStride;
  const int tx = static_cast<int>(threadIdx.x) % kSide, ty = static_cast<int>(threadIdx.x) / kSide;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kRows;

  load_rows(a, row0, xs);
  __syncthreads();
  if (threadIdx.x < kRows) xn[threadIdx.x] = row_norm(xs, a.d, static_cast<int>(threadIdx.x));
  // xn is read only after the __syncthreads in tile_products (or below).
  if (a.d_pad == 0) __syncthreads();

  RowBest best;
  float near[kPer], weight[kPer];
  for (int i = 0; i < kPer; ++i) {
    best.value[i] = INFINITY;
    best.index[i] = INT_MAX;
    const int64_t row = row0 + ty + kSide * i;
    const bool in = row < a.n;
    near[i] = kFold == Fold::potential && in ? a.closest[row] : 0.0f;
    weight[i] = !in ? 0.0f : (a.w != nullptr ? a.w[row] : 1.0f);
  }
  for (int c0 = 0; c0 < a.k; c0 += kCentres) {
    float acc[kPer][kPer];
    tile_products(a, xs, cs, c0, tx, ty, acc);
    if constexpr (kFold == Fold::assign) fold_assign(a, c0, tx, acc, best);
    if constexpr (kFold == Fold::closest) fold_closest(a, c0, tx, ty, xn, acc, best);
    if constexpr (kFold == Fold::potential) fold_potential(a, c0, tx, ty, xn, near, weight, acc, sums);
  }
  if constexpr (kFold == Fold::potential) return;
  if constexpr (kFold == Fold::assign) combine_assign(best);
  if constexpr (kFold == Fold::closest) combine_closest(best);
  if (tx != 0) return;
  for (int i = 0; i < kPer; ++i) {
    const int64_t row = row0 + ty + kSide * i;
    if (row >= a.n) break;
    if constexpr (kFold == Fold::assign) {
      a.labels[row] = best.index[i] == INT_MAX ? 0 : best.index[i];
      a.dist[row] = fmaxf(0.0f, xn[ty + kSide * i] + best.value[i]);
    } else {
      a.dist[row] = fminf(a.dist[row], best.value[i]);
    }
  }
}

// Loader for segment_sums over the blocks' partial sums.
struct PartialLoad {
  const double* partial;  // [blocks x t]
  int64_t t;
  __device__ double operator()(int64_t b, int64_t j, int64_t) const { return partial[b * t + j]; }
};

int64_t block_count(int64_t n) { return ceil_div(n, kRows); }

FusedArgs make_args(const float* X, int64_t n, int64_t d, const float* C, int64_t k,
                    const float* c_norms, const char* where) {
  require(fused_distances_fit(d) && k <= INT_MAX && block_count(n) <= INT_MAX,
          ErrorCode::invalid_argument, where, "the fused distance kernel takes d <= ",
          kFusedMaxDim, " and fewer than 2^31 centres and row blocks (d=", d, ", k=", k, ")");
  const int di = static_cast<int>(d);
  const int d_pad = static_cast<int>(ceil_div(di, kDepth)) * kDepth;
  return FusedArgs{X,  n,       di,      d_pad,   C,       static_cast<int>(k),
                   c_norms, nullptr, nullptr, nullptr, nullptr, nullptr};
}

template <Fold kFold>
void launch(CudaBackend& be, const FusedArgs& a, const char* where) {
  const std::size_t shared =
      (kFold == Fold::potential ? sizeof(double) * kSide * kCentres : 0) +
      sizeof(float) * (static_cast<std::size_t>(a.d_pad) * kStride + kDepth * kStride + kRows);
  // Above 48 KiB a kernel must opt in to more dynamic shared memory.
  STRAY_CUDA_CHECK_AT(where, cudaFuncSetAttribute(fused_kernel<kFold>,
                                                  cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                  static_cast<int>(shared)));
  fused_kernel<kFold><<<static_cast<unsigned>(block_count(a.n)), kBlockThreads, shared,
                        be.stream()>>>(a);
  check_launch(where, "fused_kernel");
}

}  // namespace

void fused_nearest(CudaBackend& be, const float* X, int64_t n, int64_t d, const float* C,
                   int64_t k, const float* c_norms, int32_t* labels, float* dist,
                   const char* where) {
  if (n == 0) return;
  FusedArgs a = make_args(X, n, d, C, k, c_norms, where);
  a.labels = labels;
  a.dist = dist;
  launch<Fold::assign>(be, a, where);
}

void fused_closest(CudaBackend& be, const float* X, int64_t n, int64_t d, const float* C,
                   int64_t k, const float* c_norms, float* closest, const char* where) {
  if (n == 0) return;
  FusedArgs a = make_args(X, n, d, C, k, c_norms, where);
  a.dist = closest;
  launch<Fold::closest>(be, a, where);
}

void fused_potentials(CudaBackend& be, const float* X, int64_t n, int64_t d, const float* C,
                      int64_t t, const float* c_norms, const float* closest, const float* w,
                      double* out, const char* where) {
  if (n == 0) {
    STRAY_CUDA_CHECK_AT(where, cudaMemsetAsync(out, 0, static_cast<std::size_t>(t) * 8, be.stream()));
    return;
  }
  FusedArgs a = make_args(X, n, d, C, t, c_norms, where);
  const int64_t blocks = block_count(n);
  ScratchBuffer partial = be.scratch<double>(blocks * t);
  a.closest = closest;
  a.w = w;
  a.partial = partial.as<double>();
  launch<Fold::potential>(be, a, where);
  segment_sums(be, {0, blocks}, t, PartialLoad{partial.as<double>(), t}, out);
}

}  // namespace stray::internal::cuda
