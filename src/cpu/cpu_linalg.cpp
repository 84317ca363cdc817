// CPU backend: Gram matrices, GEMM, thin QR, the symmetric eigensolver and
// sparse (CSR) products — the primitives behind PCA.
//
// Determinism: every reduction is split into blocks whose boundaries depend
// on the shapes alone, never on the thread count, and block results are
// combined in block order; Eigen (and a single-threaded BLIS or OpenBLAS)
// runs inside the backend's own loops (core/work_team.hpp). So results are
// bit-identical for any `threads` setting.

#include <Eigen/Dense>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <tuple>
#include <type_traits>
#include <vector>

#include "cpu/amx.hpp"
#include "cpu/cpu_backend.hpp"
#include "cpu/cpu_blas.hpp"
#include "cpu/cpu_gram_amx.hpp"
#include "core/check.hpp"

namespace stray::internal {
namespace {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapF = Eigen::Map<RowMatF>;
using CMapF = Eigen::Map<const RowMatF>;
using MapD = Eigen::Map<RowMatD>;
using CMapD = Eigen::Map<const RowMatD>;
using StrideMapF =
    Eigen::Map<const RowMatF, Eigen::Unaligned, Eigen::OuterStride<Eigen::Dynamic>>;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Gram: groups of consecutive row blocks reduced in parallel (fixed by the
// shape, not the thread count), and the column tile of the lower-triangular
// output handled by one task when d is too wide for per-thread partials.
constexpr int64_t kGramGroups = 8;
constexpr int64_t kGramTile = 128;

// GEMM: output tiles handled by one task; tall reductions (few output tiles,
// long inner dimension) are split into fixed chunks summed in order.
constexpr int64_t kGemmTileRows = 256;
constexpr int64_t kGemmTileCols = 512;
constexpr int64_t kGemmReduceChunk = 16384;
constexpr int64_t kGemmSplitBelowTiles = 4;

// Sparse: rows per chunk of a reduction over the rows of A.
constexpr int64_t kSparseChunkRows = 4096;
// Sparse Aᵀ·B: the output is cut into slices of at most this size (a
// core's L2 holds one with room for the rows streaming through).
constexpr std::size_t kScatterSliceBytes = std::size_t{1} << 20;
// ... and not into more slices than this: each slice reads all of B again.
constexpr int64_t kMaxScatterSlices = 16;

}  // namespace

// ---- Gram -------------------------------------------------------------------

namespace {

// Writes rows [r0, r0 + rows) of X, shifted (in float64) and scaled by
// sqrt(w), as float32 into buf [rows x d]. Centring first keeps the float32
// products accurate: the large common offset is removed in float64.
void shifted_block(const float* x, const float* w, const double* shift, int64_t d, int64_t r0,
                   int64_t rows, float* buf) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = x + (r0 + r) * d;
    float* dst = buf + r * d;
    if (w) {
      const double s = std::sqrt(static_cast<double>(w[r0 + r]));
      for (int64_t j = 0; j < d; ++j) dst[j] = static_cast<float>((src[j] - shift[j]) * s);
    } else {
      for (int64_t j = 0; j < d; ++j) dst[j] = static_cast<float>(src[j] - shift[j]);
    }
  }
}

// Adds the column sums of buf [rows x d] into sums [d] (float64).
void add_column_sums(const float* buf, int64_t rows, int64_t d, double* sums) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = buf + r * d;
    for (int64_t j = 0; j < d; ++j) sums[j] += row[j];
  }
}

// How a Gram call is split: row blocks of `block_rows` (the last shorter),
// and `groups` groups of consecutive blocks reduced in parallel. The
// result goes to `out` [d x d] (lower triangle) and, when set, the shifted
// rows' column sums to `sums` [d].
struct GramPlan {
  const float* x;  // [n x d]
  const float* w;  // [n] row weights, or null
  const double* shift;
  int64_t n, d, block_rows, nblocks, groups;
  double* out;
  double* sums;
};

// Adds the lower triangle of `src` (row stride `ld`) into `dst` [d x d].
void add_lower_to(int64_t d, double* dst, const float* src, int64_t ld) {
  for (int64_t i = 0; i < d; ++i) {
    const float* s = src + i * ld;
    double* t = dst + i * d;
    for (int64_t j = 0; j <= i; ++j) t[j] += s[j];
  }
}

void add_lower_d(int64_t d, double* dst, const double* src) {
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j <= i; ++j) dst[i * d + j] += src[i * d + j];
}

void add_d(int64_t d, double* dst, const double* src) {
  for (int64_t j = 0; j < d; ++j) dst[j] += src[j];
}

// Group g covers blocks [g·nblocks/groups, (g+1)·nblocks/groups); its
// blocks' float32 partials are added into a float64 part of its own, and
// the parts into `out` in group order, so the bits depend on the shape
// alone. A block's column sums (float64 [d], when `sums` is set) take the
// same route. `block_partial(state, b)` returns {ptr, ld, block sums},
// with `state` the worker's own (made by `make_state`). Parts are held a
// few per thread at a time, within `budget` bytes where it allows.
template <typename State, typename BlockPartial>
void reduce_groups(const GramPlan& g, WorkTeam& team, std::size_t budget,
                   std::function<State()> make_state, BlockPartial&& block_partial) {
  const int64_t d = g.d;
  const auto part_size = static_cast<std::size_t>(d * d + d);
  const auto fit = static_cast<int64_t>(budget / (part_size * sizeof(double)));
  const int64_t wave = std::clamp<int64_t>(fit, 1, 4 * team.threads());
  PerWorker<State> states(team, std::move(make_state));
  run_ordered(
      team, g.groups, part_size, wave,
      [&](int64_t grp, double* part, int worker) {
        State& state = states[worker];
        const int64_t b0 = grp * g.nblocks / g.groups, b1 = (grp + 1) * g.nblocks / g.groups;
        for (int64_t b = b0; b < b1; ++b) {
          const auto [p, ld, bs] = block_partial(state, b);
          add_lower_to(d, part, p, ld);
          if (g.sums) add_d(d, part + d * d, bs);
        }
      },
      [&](int64_t, const double* part) {
        add_lower_d(d, g.out, part);
        if (g.sums) add_d(d, g.sums, part + d * d);
      });
}

using BlockResult = std::tuple<const float*, int64_t, const double*>;

#ifdef STRAY_AMX_POSSIBLE
// Each block's partial from the tile unit (AmxGram).
void gram_on_tile_unit(const GramPlan& g, WorkTeam& team, std::size_t budget) {
  reduce_groups<AmxGram>(g, team, budget, [&] { return AmxGram(g.d, g.shift); },
                         [&](AmxGram& tiles, int64_t b) {
    const int64_t r0 = b * g.block_rows, rows = std::min(g.block_rows, g.n - r0);
    amx_begin();  // the tile state is per thread, and cheap to set
    tiles.block(g.x, g.w, r0, rows, g.sums != nullptr);
    amx_end();
    return BlockResult(tiles.acc(), tiles.ld(), tiles.block_sums());
  });
}
#endif

// One worker's buffers for float32 block partials.
struct Float32Block {
  std::vector<float> buf;
  std::vector<double> sums;
  RowMatF g32;  // row-major: its lower triangle is read row by row
};

// Each block's partial from a float32 rank update of its shifted rows: by
// the tuned SYRK when `syrk` is set (cpu/cpu_blas.hpp), else by Eigen.
void gram_float32(const GramPlan& g, WorkTeam& team, std::size_t budget, SyrkFn syrk) {
  const int64_t d = g.d;
  reduce_groups<Float32Block>(
      g, team, budget,
      [&] {
        return Float32Block{
            std::vector<float>(static_cast<std::size_t>(std::min(g.block_rows, g.n) * d)),
            std::vector<double>(g.sums ? static_cast<std::size_t>(d) : 0), RowMatF(d, d)};
      },
      [&](Float32Block& s, int64_t b) {
        const int64_t r0 = b * g.block_rows, rows = std::min(g.block_rows, g.n - r0);
        shifted_block(g.x, g.w, g.shift, d, r0, rows, s.buf.data());
        if (g.sums) {
          std::fill(s.sums.begin(), s.sums.end(), 0.0);
          add_column_sums(s.buf.data(), rows, d, s.sums.data());
        }
        if (syrk) {
          syrk(static_cast<int>(d), static_cast<int>(rows), s.buf.data(), s.g32.data());
        } else {
          CMapF B(s.buf.data(), rows, d);
          s.g32.triangularView<Eigen::Lower>().setZero();
          s.g32.selfadjointView<Eigen::Lower>().rankUpdate(B.transpose());
        }
        return BlockResult(s.g32.data(), d, s.sums.data());
      });
}

// Very wide d (a float32 partial and a float64 part would exceed the
// budget): parallelise inside each block over lower-triangular output
// tiles, each added straight into the result (one tile, one task).
void gram_wide(const GramPlan& g, WorkTeam& team) {
  const int64_t d = g.d;
  std::vector<float> buf(static_cast<std::size_t>(g.block_rows * d));
  const int64_t nt = ceil_div(d, kGramTile);
  std::vector<std::pair<int64_t, int64_t>> tiles;
  for (int64_t ti = 0; ti < nt; ++ti)
    for (int64_t tj = 0; tj <= ti; ++tj) tiles.emplace_back(ti, tj);
  const int64_t ntiles = static_cast<int64_t>(tiles.size());
  MapD G(g.out, d, d);
  PerWorker<RowMatF> tile_buf(team, [] { return RowMatF(kGramTile, kGramTile); });
  for (int64_t b = 0; b < g.nblocks; ++b) {
    const int64_t r0 = b * g.block_rows, rows = std::min(g.block_rows, g.n - r0);
    team.run(ceil_div(rows, 64), [&](int64_t part, int) {
      const int64_t first = part * 64, count = std::min<int64_t>(64, rows - first);
      shifted_block(g.x, g.w, g.shift, d, r0 + first, count, buf.data() + first * d);
    });
    // Blocks in order, on one thread (d·rows adds against the tiles' d²·rows).
    if (g.sums) add_column_sums(buf.data(), rows, d, g.sums);
    CMapF B(buf.data(), rows, d);
    team.run(ntiles, [&](int64_t t, int worker) {
      const auto [ti, tj] = tiles[static_cast<std::size_t>(t)];
      const int64_t i0 = ti * kGramTile, j0 = tj * kGramTile;
      const int64_t ni = std::min(kGramTile, d - i0), nj = std::min(kGramTile, d - j0);
      auto T = tile_buf[worker].topLeftCorner(ni, nj);
      T.noalias() = B.middleCols(i0, ni).transpose() * B.middleCols(j0, nj);
      G.block(i0, j0, ni, nj) += T.cast<double>();
    });
  }
}

// Mirrors the lower triangle of out [d x d], in tiles (a column walk over
// d x d doubles would miss the cache and the TLB on every element).
void mirror_lower(double* out, int64_t d) {
  constexpr int64_t kT = 32;
  for (int64_t i0 = 0; i0 < d; i0 += kT)
    for (int64_t j0 = i0; j0 < d; j0 += kT)
      for (int64_t i = i0; i < std::min(d, i0 + kT); ++i)
        for (int64_t j = std::max(j0, i + 1); j < std::min(d, j0 + kT); ++j)
          out[i * d + j] = out[j * d + i];
}

}  // namespace

void CpuBackend::gram(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                      const double* shift, double* out) {
  require_host("gram", {X.buffer(), weights ? weights->buffer() : nullptr});
  const int64_t n = X.rows();
  require(weights == nullptr || weights->size() == n, ErrorCode::shape_mismatch, "gram",
          "weights has ", weights ? weights->size() : 0, " entries for n=", n);
  gram_kernel(X, weights ? weights->data() : nullptr, shift, out, nullptr);
}

void CpuBackend::gram_with_sums(const DeviceArray<float>& X, const double* shift, double* out,
                                double* sums) {
  require_host("gram_with_sums", {X.buffer()});
  require(sums != nullptr || X.cols() == 0, ErrorCode::invalid_argument, "gram_with_sums",
          "sums is null");
  gram_kernel(X, nullptr, shift, out, sums);
}

// The Gram matrix about `shift`, and with `sums` (weights null) the column
// sums of the shifted rows, reduced in the same fixed block order.
void CpuBackend::gram_kernel(const DeviceArray<float>& X, const float* w, const double* shift,
                             double* out, double* sums) {
  const int64_t n = X.rows(), d = X.cols();
  require(shift != nullptr || d == 0, ErrorCode::invalid_argument, "gram", "shift is null");
  std::fill(out, out + d * d, 0.0);
  if (sums) std::fill(sums, sums + d, 0.0);
  if (n == 0 || d == 0) return;

  // Row blocks of ~4 MiB: float32 partial sums over at most 2048 centred
  // rows, added into a float64 partial per group of consecutive blocks;
  // groups (at most kGramGroups, fixed by the shape) are computed in
  // parallel and added into the result in group order. So the result
  // depends on the shape alone, never on the thread count, and a call has
  // only a handful of hand-offs between threads (each one can cost a
  // scheduler round trip on a busy machine).
  const int64_t block_rows = std::clamp<int64_t>((int64_t{1} << 20) / d, 256, 2048);
  const int64_t nblocks = ceil_div(n, block_rows);
  const GramPlan plan{.x = X.data(), .w = w, .shift = shift, .n = n, .d = d,
                      .block_rows = block_rows, .nblocks = nblocks,
                      .groups = std::min(nblocks, kGramGroups), .out = out, .sums = sums};
  // Wide: a float32 partial and a float64 part per worker, for four,
  // would not fit the budget (by the shape alone, so that the path, and
  // the bits, are the same for any thread count).
  const bool wide =
      static_cast<std::size_t>(d) * d * (sizeof(float) + sizeof(double)) * 4 > workspace_bytes_;
#ifdef STRAY_AMX_POSSIBLE
  // The tile unit pays off from a few thousand rows and 64 features up;
  // smaller problems keep the float32 path (the choice depends on the
  // shape only).
  if (options_.tile_unit && !wide && n >= 2048 && d >= 64 && amx_available()) {
    gram_on_tile_unit(plan, *team_, workspace_bytes_);
  } else
#endif
  if (!wide) {
    // SYRK takes int sizes: d and the block's rows are far below 2^31.
    gram_float32(plan, *team_, workspace_bytes_, options_.tuned_blas ? tuned_syrk() : nullptr);
  } else {
    gram_wide(plan, *team_);
  }
  mirror_lower(out, d);
}

// ---- GEMM -------------------------------------------------------------------

void CpuBackend::gemm(bool transpose_a, bool transpose_b, float alpha, const DeviceArray<float>& A,
                      const DeviceArray<float>& B, float beta, DeviceArray<float>& C) {
  require_host("gemm", {A.buffer(), B.buffer(), C.buffer()});
  const int64_t m = transpose_a ? A.cols() : A.rows();
  const int64_t ka = transpose_a ? A.rows() : A.cols();
  const int64_t kb = transpose_b ? B.cols() : B.rows();
  const int64_t n = transpose_b ? B.rows() : B.cols();
  require(ka == kb, ErrorCode::shape_mismatch, "gemm", "inner dimensions differ: op(A) is ", m,
          " x ", ka, ", op(B) is ", kb, " x ", n);
  require(C.rows() == m && C.cols() == n, ErrorCode::shape_mismatch, "gemm", "C is ", C.rows(),
          " x ", C.cols(), ", expected ", m, " x ", n);
  const int64_t k = ka;
  if (m == 0 || n == 0) return;
  MapF Cm(C.data(), m, n);
  if (k == 0) {
    if (beta == 0.0f) Cm.setZero(); else Cm *= beta;
    return;
  }
  CMapF Am(A.data(), A.rows(), A.cols());
  CMapF Bm(B.data(), B.rows(), B.cols());

  // op(A) rows [r0, r0+nr) times op(B) columns [c0, c0+nc), inner [k0, k0+nk).
  auto product = [&](int64_t r0, int64_t nr, int64_t c0, int64_t nc, int64_t k0, int64_t nk,
                     auto&& dst) {
    if (!transpose_a && !transpose_b)
      dst.noalias() = Am.block(r0, k0, nr, nk) * Bm.block(k0, c0, nk, nc);
    else if (transpose_a && !transpose_b)
      dst.noalias() = Am.block(k0, r0, nk, nr).transpose() * Bm.block(k0, c0, nk, nc);
    else if (!transpose_a && transpose_b)
      dst.noalias() = Am.block(r0, k0, nr, nk) * Bm.block(c0, k0, nc, nk).transpose();
    else
      dst.noalias() = Am.block(k0, r0, nk, nr).transpose() * Bm.block(c0, k0, nc, nk).transpose();
  };
  auto finish = [&](auto&& dst_block, const auto& prod) {
    if (beta == 0.0f)
      dst_block = alpha * prod;
    else
      dst_block = alpha * prod + beta * dst_block;
  };

  const int64_t tr = ceil_div(m, kGemmTileRows), tc = ceil_div(n, kGemmTileCols);
  const int64_t tiles = tr * tc;
  const int64_t chunks = ceil_div(k, kGemmReduceChunk);
  // The path, and so the summation order, depends on the shape alone: the
  // same bits for any thread count. (kGemmSplitBelowTiles is the tile count
  // under which two threads would otherwise idle.)
  if (tiles >= kGemmSplitBelowTiles || chunks == 1) {
    // Independent output tiles, each with the full inner dimension.
    PerWorker<RowMatF> tmp(*team_, [] { return RowMatF(); });
    team_->run(tiles, [&](int64_t t, int worker) {
      const int64_t r0 = (t / tc) * kGemmTileRows, c0 = (t % tc) * kGemmTileCols;
      const int64_t nr = std::min(kGemmTileRows, m - r0), nc = std::min(kGemmTileCols, n - c0);
      RowMatF& out = tmp[worker];
      out.resize(nr, nc);
      product(r0, nr, c0, nc, 0, k, out);
      finish(Cm.block(r0, c0, nr, nc), out);
    });
    return;
  }
  // A small output with a long inner dimension (e.g. Qᵀ·X): fixed inner
  // chunks, partial products summed in chunk order.
  std::vector<RowMatF> partial(static_cast<std::size_t>(chunks));
  team_->run(chunks, [&](int64_t c, int) {
    const int64_t k0 = c * kGemmReduceChunk, nk = std::min(kGemmReduceChunk, k - k0);
    RowMatF& P = partial[static_cast<std::size_t>(c)];
    P.resize(m, n);
    product(0, m, 0, n, k0, nk, P);
  });
  for (int64_t c = 1; c < chunks; ++c) partial[0] += partial[static_cast<std::size_t>(c)];
  finish(Cm, partial[0]);
}

// ---- thin QR ----------------------------------------------------------------

namespace {

// Householder thin QR (the robust path): Q overwrites A.
void householder_orthonormalize(MapF& Am) {
  const int64_t n = Am.rows(), l = Am.cols();
  Eigen::MatrixXf M = Am;  // column-major copy for the factorisation
  Eigen::HouseholderQR<Eigen::Ref<Eigen::MatrixXf>> qr(M);
  Eigen::MatrixXf Q = Eigen::MatrixXf::Identity(n, l);
  Q.applyOnTheLeft(qr.householderQ());
  Am = Q;
}

}  // namespace

void CpuBackend::orthonormalize_columns(DeviceArray<float>& A) {
  require_host("orthonormalize_columns", {A.buffer()});
  const int64_t n = A.rows(), l = A.cols();
  require(n >= l, ErrorCode::shape_mismatch, "orthonormalize_columns", "A is ", n, " x ", l,
          ", needs rows >= cols");
  if (l == 0 || n == 0) return;
  MapF Am(A.data(), n, l);
  // Tall and skinny: CholeskyQR2 — G = AᵀA (float64 accumulation, parallel),
  // A ← A·R⁻¹ with G = RᵀR, twice (the second pass restores orthogonality
  // to rounding). Two passes over A instead of a sequential Householder
  // sweep. When A is too ill-conditioned for it (κ ≳ 10³, where float32
  // Gram entries no longer determine R), fall back to Householder.
  if (n >= 4 * l && l <= 512) {
    std::vector<double> G(static_cast<std::size_t>(l * l));
    const std::vector<double> zero(static_cast<std::size_t>(l), 0.0);
    bool ok = true;
    for (int pass = 0; pass < 2 && ok; ++pass) {
      gram(A, nullptr, zero.data(), G.data());
      Eigen::LLT<Eigen::MatrixXd> llt(CMapD(G.data(), l, l));
      if (llt.info() != Eigen::Success) { ok = false; break; }
      const Eigen::MatrixXd R = llt.matrixU();
      const double dmax = R.diagonal().maxCoeff(), dmin = R.diagonal().minCoeff();
      if (!(dmin > 0.0) || (pass == 0 && dmin < 1e-3 * dmax) || (pass == 1 && dmin < 0.5 * dmax)) {
        ok = false;
        break;
      }
      const RowMatF Rinv = R.triangularView<Eigen::Upper>()
                               .solve(Eigen::MatrixXd::Identity(l, l))
                               .cast<float>();
      // A ← A·R⁻¹ in row blocks small enough (≤ 64 KiB) for Eigen's GEMM
      // to keep its packing buffers on the stack: heap blocks freed and
      // re-allocated by several threads at once are slow to get back.
      const int64_t rows_per = std::max<int64_t>(16, (int64_t{16} << 10) / l);
      const int64_t blocks = ceil_div(n, rows_per);
      PerWorker<RowMatF> tmp(*team_, [&] { return RowMatF(rows_per, l); });
      team_->run(blocks, [&](int64_t b, int worker) {
        const int64_t r0 = b * rows_per, rows = std::min(rows_per, n - r0);
        auto t = tmp[worker].topRows(rows);
        t.noalias() = Am.middleRows(r0, rows) * Rinv;  // R⁻¹ is upper triangular
        Am.middleRows(r0, rows) = t;
      });
    }
    if (ok) return;
    // A may be partly transformed: still the same column space, so the
    // Householder fallback below gives a valid basis.
  }
  householder_orthonormalize(Am);
}

// ---- symmetric eigensolver --------------------------------------------------

// LAPACK's divide and conquer (dsyevd) where the single-threaded OpenBLAS
// is loaded: blocked reduction and merges by matrix products, where Eigen's
// tridiagonal QR accumulates rotations one by one (figures in
// bench/RESULTS.md). It solves in the caller's arrays:
// S is symmetric, so its array is the same row-major or column-major, and
// LAPACK's column-major eigenvectors are then transposed in place. False
// where it is off, absent, too large for LAPACK's int workspace, or fails;
// S is left intact for the Eigen solver, which then rewrites both arrays.
namespace {

bool lapack_symmetric_eigen(bool tuned_blas, int64_t d, const Eigen::MatrixXd& S,
                            double* eigenvalues, double* eigenvectors) {
  const SyevdFn syevd = tuned_blas ? openblas_syevd() : nullptr;
  const double workspace = 1.0 + 6.0 * static_cast<double>(d) + 2.0 * static_cast<double>(d * d);
  if (syevd == nullptr || workspace > static_cast<double>(std::numeric_limits<int>::max())) {
    return false;
  }
  std::copy(S.data(), S.data() + d * d, eigenvectors);
  if (syevd(static_cast<int>(d), eigenvectors, eigenvalues) != 0) return false;
  MapD(eigenvectors, d, d).transposeInPlace();  // column j: eigenvector j
  return true;
}

}  // namespace

void CpuBackend::symmetric_eigen(int64_t d, const double* A, double* eigenvalues,
                                 double* eigenvectors) {
  require(d >= 0, ErrorCode::invalid_argument, "symmetric_eigen", "d=", d);
  if (d == 0) return;
  for (int64_t i = 0; i < d * d; ++i)
    require(std::isfinite(A[i]), ErrorCode::non_finite_input, "symmetric_eigen",
            "entry ", i, " is not finite");
  CMapD Am(A, d, d);
  // Symmetrise explicitly: the solver reads one triangle only.
  Eigen::MatrixXd S = 0.5 * (Am + Am.transpose());
  if (lapack_symmetric_eigen(options_.tuned_blas, d, S, eigenvalues, eigenvectors)) return;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(S, Eigen::ComputeEigenvectors);
  require(es.info() == Eigen::Success, ErrorCode::device_error, "symmetric_eigen",
          "eigensolver did not converge (d=", d, ")");
  Eigen::Map<Eigen::VectorXd>(eigenvalues, d) = es.eigenvalues();
  MapD(eigenvectors, d, d) = es.eigenvectors();
}

// ---- sparse -----------------------------------------------------------------

DeviceCsr CpuBackend::upload_csr(const CsrView& host) {
  check_csr_arrays(host, "upload_csr");
  DeviceCsr out;
  out.rows = host.rows;
  out.cols = host.cols;
  out.nnz = host.nnz();
  out.indptr = allocate<int64_t>(host.rows + 1);
  out.indices = allocate<int32_t>(out.nnz);
  out.values = allocate<float>(out.nnz);
  std::memcpy(out.indptr.data(), host.indptr, out.indptr.bytes());
  if (out.nnz > 0) {
    std::memcpy(out.indices.data(), host.indices, out.indices.bytes());
    std::memcpy(out.values.data(), host.values, out.values.bytes());
  }
  return out;
}

void CpuBackend::csr_column_stats(const DeviceCsr& A, double* mean, double* var) {
  require_host("csr_column_stats", {A.indptr.buffer(), A.indices.buffer(), A.values.buffer()});
  const int64_t n = A.rows, d = A.cols;
  require(n > 0, ErrorCode::invalid_argument, "csr_column_stats", "matrix has no rows");
  const int64_t* ip = A.indptr.data();
  const int32_t* ix = A.indices.data();
  const float* v = A.values.data();
  // Fixed row chunks, each with its own float64 accumulators, summed in
  // chunk order. The chunk count is bounded so the partials stay small.
  int64_t chunks = ceil_div(n, kSparseChunkRows);
  const int64_t max_chunks = std::max<int64_t>(
      1, static_cast<int64_t>(workspace_bytes_ / (8 * static_cast<std::size_t>(d) + 8)));
  chunks = std::clamp<int64_t>(chunks, 1, std::min<int64_t>(64, max_chunks));
  const int64_t rows_per = ceil_div(n, chunks);
  std::vector<double> partial(static_cast<std::size_t>(chunks * d));
  std::vector<int64_t> count_partial(static_cast<std::size_t>(chunks * d));

  auto reduce = [&](bool squares) {
    std::fill(partial.begin(), partial.end(), 0.0);
    if (squares) std::fill(count_partial.begin(), count_partial.end(), 0);
    team_->run(chunks, [&](int64_t c, int) {
      double* acc = partial.data() + c * d;
      int64_t* cnt = count_partial.data() + c * d;
      const int64_t end = std::min(n, (c + 1) * rows_per);
      for (int64_t i = c * rows_per; i < end; ++i) {
        for (int64_t p = ip[i]; p < ip[i + 1]; ++p) {
          const int32_t j = ix[p];
          if (squares) {
            const double dv = static_cast<double>(v[p]) - mean[j];
            acc[j] += dv * dv;
            ++cnt[j];
          } else {
            acc[j] += v[p];
          }
        }
      }
    });
  };
  reduce(false);
  for (int64_t j = 0; j < d; ++j) {
    double s = 0.0;
    for (int64_t c = 0; c < chunks; ++c) s += partial[c * d + j];
    mean[j] = s / static_cast<double>(n);
  }
  // Centred squares over stored entries, plus the implicit zeros' share.
  // (Duplicate column indices in a row count as separate entries here.)
  reduce(true);
  for (int64_t j = 0; j < d; ++j) {
    double s = 0.0;
    int64_t cnt = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      s += partial[c * d + j];
      cnt += count_partial[c * d + j];
    }
    const double zeros = static_cast<double>(std::max<int64_t>(0, n - cnt));
    var[j] = (s + zeros * mean[j] * mean[j]) / static_cast<double>(n);
  }
}

namespace {

// Register-blocked sparse kernels over a panel of W columns [col0, col0+W)
// of the dense operands (W a multiple of 16 known at compile time, so the
// accumulators stay in vector registers). B rows are prefetched a few
// entries ahead: the gathers are latency-bound.
constexpr int64_t kPrefetch = 12;

template <int W>
void gather_panel(const int64_t* ip, const int32_t* ix, const float* v, const float* b,
                  int64_t ldb, int64_t col0, float* c, int64_t ldc, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    float acc[W] = {};
    const int64_t p0 = ip[i], p1 = ip[i + 1];
    for (int64_t p = p0; p < p1; ++p) {
      if (p + kPrefetch < p1) {
        const float* ahead = b + static_cast<int64_t>(ix[p + kPrefetch]) * ldb + col0;
        for (int t = 0; t < W; t += 16) __builtin_prefetch(ahead + t);
      }
      const float a = v[p];
      const float* bj = b + static_cast<int64_t>(ix[p]) * ldb + col0;
#pragma omp simd
      for (int t = 0; t < W; ++t) acc[t] += a * bj[t];
    }
    float* ci = c + i * ldc + col0;
#pragma omp simd
    for (int t = 0; t < W; ++t) ci[t] = acc[t];
  }
}

// Columns [col0, col0 + w) for any w (the tail after the full panels).
void gather_tail(const int64_t* ip, const int32_t* ix, const float* v, const float* b, int64_t ldb,
                 int64_t col0, int64_t w, float* c, int64_t ldc, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    float* ci = c + i * ldc + col0;
    std::fill(ci, ci + w, 0.0f);
    for (int64_t p = ip[i]; p < ip[i + 1]; ++p) {
      const float a = v[p];
      const float* bj = b + static_cast<int64_t>(ix[p]) * ldb + col0;
#pragma omp simd
      for (int64_t t = 0; t < w; ++t) ci[t] += a * bj[t];
    }
  }
}

// Row i's entries are [first[i], last[i]): the whole row with first = ip,
// last = ip + 1, or the part of it within a column range.
template <int W>
void scatter_panel(const int64_t* first, const int64_t* last, const int32_t* ix, const float* v,
                   const float* b, int64_t ldb, int64_t col0, float* c, int64_t ldc, int64_t i0,
                   int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t p0 = first[i], p1 = last[i];
    if (p0 == p1) continue;
    float bi[W];
    const float* src = b + i * ldb + col0;
#pragma omp simd
    for (int t = 0; t < W; ++t) bi[t] = src[t];
    for (int64_t p = p0; p < p1; ++p) {
      if (p + kPrefetch < p1) {
        float* ahead = c + static_cast<int64_t>(ix[p + kPrefetch]) * ldc + col0;
        for (int t = 0; t < W; t += 16) __builtin_prefetch(ahead + t, 1);
      }
      const float a = v[p];
      float* cj = c + static_cast<int64_t>(ix[p]) * ldc + col0;
#pragma omp simd
      for (int t = 0; t < W; ++t) cj[t] += a * bi[t];
    }
  }
}

void scatter_tail(const int64_t* first, const int64_t* last, const int32_t* ix, const float* v,
                  const float* b, int64_t ldb, int64_t col0, int64_t w, float* c, int64_t ldc,
                  int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    const float* bi = b + i * ldb + col0;
    for (int64_t p = first[i]; p < last[i]; ++p) {
      const float a = v[p];
      float* cj = c + static_cast<int64_t>(ix[p]) * ldc + col0;
#pragma omp simd
      for (int64_t t = 0; t < w; ++t) cj[t] += a * bi[t];
    }
  }
}

// Runs a panel kernel over all k columns: 64-wide panels, then one of 48,
// 32 or 16, then a scalar-width tail. `panel(W, col)` takes W as an
// std::integral_constant so each width is its own unrolled instance.
template <typename Panel, typename Tail>
void for_each_panel(int64_t k, Panel&& panel, Tail&& tail) {
  int64_t col = 0;
  for (; col + 64 <= k; col += 64) panel(std::integral_constant<int, 64>{}, col);
  if (k - col >= 48) { panel(std::integral_constant<int, 48>{}, col); col += 48; }
  if (k - col >= 32) { panel(std::integral_constant<int, 32>{}, col); col += 32; }
  if (k - col >= 16) { panel(std::integral_constant<int, 16>{}, col); col += 16; }
  if (col < k) tail(col, k - col);
}

// C[i0:i1, :] = A[i0:i1, :] · B, all k columns, panel by panel.
void gather_rows(const int64_t* ip, const int32_t* ix, const float* v, const float* b, int64_t k,
                 float* c, int64_t i0, int64_t i1) {
  for_each_panel(
      k,
      [&](auto width, int64_t col) {
        gather_panel<decltype(width)::value>(ip, ix, v, b, k, col, c, k, i0, i1);
      },
      [&](int64_t col, int64_t w) { gather_tail(ip, ix, v, b, k, col, w, c, k, i0, i1); });
}

// acc[:, :] += A[i0:i1, :]ᵀ · B[i0:i1, :] (acc is [A.cols x k], zeroed by
// the caller), row i's entries being [first[i], last[i]).
void scatter_rows(const int64_t* first, const int64_t* last, const int32_t* ix, const float* v,
                  const float* b, int64_t k, float* acc, int64_t i0, int64_t i1) {
  for_each_panel(
      k,
      [&](auto width, int64_t col) {
        scatter_panel<decltype(width)::value>(first, last, ix, v, b, k, col, acc, k, i0, i1);
      },
      [&](int64_t col, int64_t w) {
        scatter_tail(first, last, ix, v, b, k, col, w, acc, k, i0, i1);
      });
}

// Where each of A's [m x n] rows lists its columns in ascending order: into
// starts[s * m + i], the first entry of row i at or past column s·n/slices,
// for s = 0..slices (so slice s of row i is [starts[s·m + i],
// starts[(s+1)·m + i])). False, with starts unspecified, when a row is out
// of order.
bool column_slice_starts(const int64_t* ip, const int32_t* ix, int64_t m, int64_t n,
                         int64_t slices, const CpuBackend& be, int64_t* starts) {
  std::atomic<bool> ordered{true};
  be.for_row_blocks(m, kSparseChunkRows, [&](int64_t first, int64_t last, int) {
    bool ok = true;
    for (int64_t i = first; i < last; ++i) {
      int64_t p = ip[i];
      const int64_t end = ip[i + 1];
      for (int64_t e = p + 1; e < end; ++e) ok = ok && ix[e - 1] < ix[e];
      for (int64_t s = 0; s <= slices; ++s) {
        const int64_t bound = s * n / slices;
        while (p < end && ix[p] < bound) ++p;
        starts[s * m + i] = p;
      }
    }
    if (!ok) ordered.store(false, std::memory_order_relaxed);
  });
  return ordered.load();
}

// One sparse product's operands, as raw pointers: A [m x n] in CSR, B
// with k columns, C the output.
struct SpmmOperands {
  const int64_t* ip;
  const int32_t* ix;
  const float* v;
  int64_t m, n;
  const float* b;
  int64_t k;
  float* c;
};

// Aᵀ·B: each entry (i, j) of A adds v·B[i, :] to C[j, :]. When C is
// larger than a core's L2 (up to 16 times) and A's rows list their
// columns in order, C is cut into slices of consecutive rows that fit L2,
// a task each: a task walks all of A's rows but only their entries in its
// slice, so its writes stay in L2 (instead of going to L3 or memory on
// every entry) at the price of reading B once per slice. Each C row sums
// its entries in A's row order, so the result is the same for any number
// of slices or threads. False (nothing written) where it does not apply.
bool spmm_transposed_sliced(const CpuBackend& be, const SpmmOperands& o) {
  const std::size_t c_bytes = static_cast<std::size_t>(o.n) * o.k * sizeof(float);
  if (c_bytes <= kScatterSliceBytes || o.m == 0) return false;
  int64_t slices = static_cast<int64_t>((c_bytes + kScatterSliceBytes - 1) / kScatterSliceBytes);
  slices = std::min(ceil_div(slices, be.threads()) * be.threads(), o.n);  // whole rounds of threads
  const std::size_t starts_bytes = static_cast<std::size_t>((slices + 1) * o.m) * sizeof(int64_t);
  if (slices > kMaxScatterSlices || starts_bytes > be.workspace_bytes()) return false;
  std::vector<int64_t> starts(static_cast<std::size_t>((slices + 1) * o.m));
  if (!column_slice_starts(o.ip, o.ix, o.m, o.n, slices, be, starts.data())) return false;
  be.team().run(slices, [&](int64_t s, int) {
    const int64_t j0 = s * o.n / slices, j1 = (s + 1) * o.n / slices;
    std::fill(o.c + j0 * o.k, o.c + j1 * o.k, 0.0f);
    scatter_rows(starts.data() + s * o.m, starts.data() + (s + 1) * o.m, o.ix, o.v, o.b, o.k, o.c,
                 0, o.m);
  });
  return true;
}

// Aᵀ·B otherwise: fixed row chunks of A each scatter into their own
// partial (chunk 0 straight into C), then partials are added in chunk
// order — deterministic for any thread count. (An explicit transpose and a
// gather was tried for the randomized PCA fit and was slower at
// 100,000 x 20,000 with 300 non-zeros a row, the transposed rows long and
// the gather reading a large operand; see RESULTS.md, 'Figures moved from
// source comments (2026-12-05)'.)
void spmm_transposed_chunked(const CpuBackend& be, const SpmmOperands& o) {
  const int64_t n = o.n, k = o.k;
  const std::size_t partial_bytes = static_cast<std::size_t>(n) * k * sizeof(float);
  int64_t chunks = ceil_div(o.m, kSparseChunkRows);
  const int64_t by_memory =
      1 + static_cast<int64_t>(be.workspace_bytes() / std::max<std::size_t>(partial_bytes, 1));
  chunks = std::clamp<int64_t>(chunks, 1, std::min<int64_t>(by_memory, 4));
  const int64_t rows_per = ceil_div(o.m, chunks);
  std::vector<std::vector<float>> partial(static_cast<std::size_t>(chunks > 1 ? chunks - 1 : 0));
  be.team().run(chunks, [&](int64_t ch, int) {
    float* acc = o.c;
    if (ch > 0) {
      auto& p = partial[static_cast<std::size_t>(ch - 1)];
      p.resize(static_cast<std::size_t>(n * k));
      acc = p.data();
    }
    std::fill(acc, acc + n * k, 0.0f);
    scatter_rows(o.ip, o.ip + 1, o.ix, o.v, o.b, k, acc, ch * rows_per,
                 std::min(o.m, (ch + 1) * rows_per));
  });
  if (chunks == 1) return;
  // Sum partials in chunk order, parallel over output rows.
  be.for_row_blocks(n, CpuBackend::elementwise_block_rows(k), [&](int64_t first, int64_t last, int) {
    for (int64_t j = first; j < last; ++j) {
      float* cj = o.c + j * k;
      for (int64_t ch = 1; ch < chunks; ++ch) {
        const float* pj = partial[static_cast<std::size_t>(ch - 1)].data() + j * k;
#pragma omp simd
        for (int64_t t = 0; t < k; ++t) cj[t] += pj[t];
      }
    }
  });
}

}  // namespace

void CpuBackend::spmm(bool transpose_a, const DeviceCsr& A, const DeviceArray<float>& B,
                      DeviceArray<float>& C) {
  require_host("spmm", {A.indptr.buffer(), A.indices.buffer(), A.values.buffer(), B.buffer(), C.buffer()});
  const int64_t m = A.rows, n = A.cols;
  const int64_t inner = transpose_a ? m : n, outer = transpose_a ? n : m;
  require(B.rows() == inner, ErrorCode::shape_mismatch, "spmm", "op(A) is ", outer, " x ", inner,
          ", B has ", B.rows(), " rows");
  const int64_t k = B.cols();
  require(C.rows() == outer && C.cols() == k, ErrorCode::shape_mismatch, "spmm", "C is ",
          C.rows(), " x ", C.cols(), ", expected ", outer, " x ", k);
  if (outer == 0 || k == 0) return;
  const SpmmOperands o{A.indptr.data(), A.indices.data(), A.values.data(), m, n,
                       B.data(),        k,                C.data()};
  if (!transpose_a) {
    // Row-parallel gathers: each output row is a sum over its row's entries.
    constexpr int64_t kRows = 64;
    team_->run(ceil_div(m, kRows), [&](int64_t blk, int) {
      gather_rows(o.ip, o.ix, o.v, o.b, k, o.c, blk * kRows, std::min(m, (blk + 1) * kRows));
    });
    return;
  }
  if (!spmm_transposed_sliced(*this, o)) spmm_transposed_chunked(*this, o);
}

}  // namespace stray::internal
