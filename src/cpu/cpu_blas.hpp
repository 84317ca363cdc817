// A tuned BLAS where the machine has one: the CPU backend's float32 Gram
// blocks through OpenBLAS's SYRK, and its whole symmetric eigenproblems
// through the LAPACK built into it (dsyevd), single-threaded build.
//
// Eigen's rank update reaches about two thirds of the float32 rate of an
// AVX-512 core that has no tile unit; OpenBLAS's SYRK runs near it (see
// bench/RESULTS.md, 'PCA against scikit-learn' on AMD). The library loads
// Debian's single-threaded OpenBLAS (libopenblas0-serial) by its path, at
// run time, on first use: nothing to link, so programs and the installed
// package need no BLAS, and the threaded OpenBLAS a host may also load (or
// the system's default BLAS) is never touched, so its thread settings stay
// the host's. Where it is not installed the Gram uses Eigen. Calls come
// from the backend's own threads, one block each: the serial build keeps
// its buffers per thread.
#pragma once

namespace stray::internal {

/// C = Aᵀ·A (lower triangle) for A [k x n] row-major (lda = n), into C
/// [n x n] row-major (ldc = n), overwriting it: cblas_ssyrk(RowMajor,
/// Lower, Trans, n, k, 1, A, n, 0, C, n).
using SyrkFn = void (*)(int n, int k, const float* a, float* c);

/// OpenBLAS's SYRK when a single-threaded OpenBLAS could be loaded, else
/// null. Loaded once per process; safe to call from any thread.
SyrkFn openblas_syrk();

/// LAPACK's dsyevd (divide and conquer) on the symmetric A [n x n], lower
/// triangle read, column-major (the same array as row-major for a
/// symmetric matrix): eigenvalues ascending into w [n], A overwritten by the
/// unit eigenvectors as its columns (column-major). Returns LAPACK's info
/// (0: done). Its workspace, 1 + 6n + 2n² doubles, must fit an int. Calls
/// from several threads run one at a time.
using SyevdFn = int (*)(int n, double* a, double* w);

/// dsyevd from the same single-threaded OpenBLAS, else null.
SyevdFn openblas_syevd();

/// Where openblas_syrk looks, for messages and documentation.
const char* openblas_serial_path();

}  // namespace stray::internal
