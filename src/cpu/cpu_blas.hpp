// Tuned BLAS where the machine has one: the CPU backend's float32 Gram
// blocks through a SYRK, and its whole symmetric eigenproblems through
// LAPACK's eigensolvers, from single-threaded builds loaded at run time.
//
// Eigen's rank update reaches about two thirds of the float32 rate of an
// AVX-512 core that has no tile unit; a tuned SYRK runs near it (see
// bench/RESULTS.md, 'PCA against scikit-learn' on AMD). The library loads
// Debian's single-threaded BLIS (libblis4-serial) and OpenBLAS
// (libopenblas0-serial) by their paths, on first use: nothing to link, so
// programs and the installed package need no BLAS, and the threaded BLAS a
// host may also load (or the system's default BLAS) is never touched, so
// its thread settings stay the host's.
//
// The backend's threads call SYRK at once, one block each. BLIS guards its
// shared buffers with locks in every build, so its SYRK runs on all of
// them in parallel. Debian's single-threaded OpenBLAS has no such locks:
// its calls run one at a time in the process, and it serves the SYRK only
// where BLIS is missing. Its LAPACK (BLIS has none) solves the
// eigenproblems, one at a time too. Where neither is installed, Eigen.
#pragma once

namespace stray::internal {

/// C = Aᵀ·A (lower triangle) for A [k x n] row-major (lda = n), into C
/// [n x n] row-major (ldc = n), overwriting it: cblas_ssyrk(RowMajor,
/// Lower, Trans, n, k, 1, A, n, 0, C, n).
using SyrkFn = void (*)(int n, int k, const float* a, float* c);

/// BLIS's SYRK where the single-threaded BLIS could be loaded, else
/// OpenBLAS's, else null. Loaded once per process; safe to call from any
/// thread.
SyrkFn tuned_syrk();

/// LAPACK's dsyevd (divide and conquer) on the symmetric A [n x n], lower
/// triangle read, column-major (the same array as row-major for a
/// symmetric matrix): eigenvalues ascending into w [n], A overwritten by the
/// unit eigenvectors as its columns (column-major). Returns LAPACK's info
/// (0: done). Its workspace, 1 + 6n + 2n² doubles, must fit an int. Calls
/// from several threads run one at a time.
using SyevdFn = int (*)(int n, double* a, double* w);

/// dsyevd from the single-threaded OpenBLAS, else null.
SyevdFn openblas_syevd();

/// LAPACK's dsytrd (blocked Householder tridiagonalisation) on the
/// symmetric A [n x n] (column-major, lower triangle): the diagonal into d
/// [n], the subdiagonal into e [n − 1], the reflectors' factors into tau
/// [n − 1], the reflectors below A's subdiagonal (Eigen's Tridiagonalization
/// storage). Returns LAPACK's info (0: done); n² must fit an int. Calls from
/// several threads run one at a time.
using SytrdFn = int (*)(int n, double* a, double* d, double* e, double* tau);

/// dsytrd from the single-threaded OpenBLAS, else null.
SytrdFn openblas_sytrd();

/// LAPACK's dsterf: every eigenvalue of the symmetric tridiagonal matrix
/// with diagonal d [n] and subdiagonal e [n − 1], ascending, into d (e is
/// destroyed), by a root-free QL/QR without vectors. Returns LAPACK's info
/// (0: done). Calls from several threads run one at a time.
using SterfFn = int (*)(int n, double* d, double* e);

/// dsterf from the single-threaded OpenBLAS, else null.
SterfFn openblas_sterf();

/// LAPACK's dstedc (divide and conquer) with COMPZ = "I": every eigenvalue
/// of the symmetric tridiagonal matrix with diagonal d [n] and subdiagonal
/// e [n − 1], ascending, into d (e is destroyed), and the unit eigenvectors
/// of that tridiagonal matrix as the columns of z [n x n] (column-major).
/// Returns LAPACK's info (0: done). Its workspace, 1 + 4n + n² doubles,
/// must fit an int. Calls from several threads run one at a time.
using StedcFn = int (*)(int n, double* d, double* e, double* z);

/// dstedc from the single-threaded OpenBLAS, else null.
StedcFn openblas_stedc();

/// Each library's SYRK alone (null where it is not loaded), for tests and
/// benchmarks; OpenBLAS's runs one call at a time.
SyrkFn blis_syrk();
SyrkFn openblas_syrk();

/// Where the libraries are looked for, for messages and documentation.
const char* blis_serial_path();
const char* openblas_serial_path();

}  // namespace stray::internal
