// stray — how to make a backend: settings every backend reads, and each
// backend's own. The factory (make_backend) hands each backend only its
// part, so the seam itself (backend.hpp) names no backend's mechanics.
#pragma once

#include <cstddef>

namespace stray {

/// Settings of the CPU backend.
struct CpuOptions {
  /// Worker threads; 0 uses OpenMP's default (OMP_NUM_THREADS, else the
  /// cores). Results do not depend on it: every reduction's order is fixed
  /// by the data's shape.
  int threads = 0;
  /// Use the CPU's matrix tile unit (Intel AMX), where it has one, for Gram
  /// matrices and k-means distance products. Results agree with the float32
  /// path within rounding (near ties are re-checked in float32), not bit for
  /// bit: false gives the same bits on every x86 CPU.
  ///
  /// Opt-in because it changes the whole process: the first backend that
  /// uses it asks Linux for the tile state (arch_prctl ARCH_REQ_XCOMP_PERM),
  /// which is granted to the process, not the call; from then on every
  /// thread's signal frames are larger, and sigaltstack() refuses stacks
  /// below the larger minimum. A host that runs its own signal stacks, or
  /// wants none of this, leaves it false; the command-line tool, which owns
  /// its process, turns it on (--no-tile-unit turns it off).
  bool tile_unit = false;
  /// Form the Gram matrix's float32 blocks (PCA's covariance) with a
  /// single-threaded BLIS, or OpenBLAS, and solve whole symmetric
  /// eigenproblems with OpenBLAS's LAPACK, where they are installed
  /// (Debian's libblis4-serial and libopenblas0-serial, loaded at run time;
  /// faster than Eigen on CPUs without a tile unit). Results do not depend
  /// on the thread count either way, but differ in the last bits between
  /// machines with and without them: false keeps Eigen everywhere.
  bool tuned_blas = true;
};

/// Settings of the CUDA backend.
struct CudaOptions {
  /// Device ordinal.
  int device = 0;
  /// Take temporaries from a stream-ordered memory pool of the backend's
  /// own, kept across calls (no cudaMalloc per k-means iteration); false
  /// allocates each with cudaMalloc (for tools that track allocations).
  bool memory_pool = true;
};

struct BackendOptions {
  /// Budget for temporary tiles (distance tiles, Gram blocks), in bytes, on
  /// any backend. Tile heights are derived from it; nothing allocates n×k
  /// or n×n. At least 64 KiB.
  std::size_t workspace_bytes = std::size_t{256} << 20;
  CpuOptions cpu;    // read by the CPU backend only
  CudaOptions cuda;  // read by the CUDA backend only
};

}  // namespace stray
