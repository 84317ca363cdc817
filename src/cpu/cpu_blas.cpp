#include "cpu/cpu_blas.hpp"

#include <dlfcn.h>

#include <cstddef>
#include <mutex>
#include <vector>

namespace stray::internal {
namespace {

#ifndef STRAY_OPENBLAS_SERIAL_PATH
#define STRAY_OPENBLAS_SERIAL_PATH ""
#endif

// CBLAS's enumerations (cblas.h): declared here, so building needs no BLAS.
constexpr int kCblasRowMajor = 101, kCblasTrans = 112, kCblasLower = 122;
using CblasSsyrk = void (*)(int order, int uplo, int trans, int n, int k, float alpha,
                            const float* a, int lda, float beta, float* c, int ldc);

// LAPACK's Fortran entry, gfortran's convention: the two character
// arguments' lengths come last.
using LapackDsyevd = void (*)(const char* jobz, const char* uplo, const int* n, double* a,
                              const int* lda, double* w, double* work, const int* lwork,
                              int* iwork, const int* liwork, int* info, std::size_t jobz_len,
                              std::size_t uplo_len);

CblasSsyrk g_ssyrk = nullptr;
LapackDsyevd g_dsyevd = nullptr;

void syrk(int n, int k, const float* a, float* c) {
  g_ssyrk(kCblasRowMajor, kCblasLower, kCblasTrans, n, k, 1.0f, a, n, 0.0f, c, n);
}

// Workspace query, then the solve; `a` is overwritten by the eigenvectors.
// One call at a time in the process: the single-threaded build's LAPACK is
// not reentrant — fits on several of a caller's threads at once got one
// another's eigenvectors (tests/test_cpu_blas.cpp), most likely through
// state its Fortran routines keep between calls. SYRK, OpenBLAS's own C,
// is called from several threads at once safely.
int syevd(int n, double* a, double* w) {
  static std::mutex one_at_a_time;
  const std::lock_guard<std::mutex> lock(one_at_a_time);
  int lwork = -1, liwork = -1, info = 0, iwork_size = 0;
  double work_size = 0.0;
  g_dsyevd("V", "L", &n, a, &n, w, &work_size, &lwork, &iwork_size, &liwork, &info, 1, 1);
  if (info != 0) return info;
  lwork = static_cast<int>(work_size);
  liwork = iwork_size;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  g_dsyevd("V", "L", &n, a, &n, w, work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  return info;
}

struct Loaded {
  SyrkFn syrk = nullptr;
  SyevdFn syevd = nullptr;
};

// The single-threaded build only: a threaded one would start threads of its
// own under the backend's, and its settings belong to whoever else uses it.
// Debian builds LAPACK into the same library.
Loaded load() {
  const char* path = STRAY_OPENBLAS_SERIAL_PATH;
  if (path[0] == '\0') return {};
  void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return {};
  using GetParallel = int (*)();
  const auto parallel = reinterpret_cast<GetParallel>(dlsym(handle, "openblas_get_parallel"));
  if (parallel == nullptr || parallel() != 0) {
    dlclose(handle);
    return {};
  }
  g_ssyrk = reinterpret_cast<CblasSsyrk>(dlsym(handle, "cblas_ssyrk"));
  g_dsyevd = reinterpret_cast<LapackDsyevd>(dlsym(handle, "dsyevd_"));
  if (g_ssyrk == nullptr && g_dsyevd == nullptr) {
    dlclose(handle);
    return {};
  }
  // The handle stays open for the process's lifetime.
  return {g_ssyrk ? &syrk : nullptr, g_dsyevd ? &syevd : nullptr};
}

const Loaded& loaded() {
  static const Loaded fns = load();
  return fns;
}

}  // namespace

SyrkFn openblas_syrk() { return loaded().syrk; }

SyevdFn openblas_syevd() { return loaded().syevd; }

const char* openblas_serial_path() { return STRAY_OPENBLAS_SERIAL_PATH; }

}  // namespace stray::internal
