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
#ifndef STRAY_BLIS_SERIAL_PATH
#define STRAY_BLIS_SERIAL_PATH ""
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

using LapackDsytrd = void (*)(const char* uplo, const int* n, double* a, const int* lda, double* d,
                              double* e, double* tau, double* work, const int* lwork, int* info,
                              std::size_t uplo_len);

using LapackDsterf = void (*)(const int* n, double* d, double* e, int* info);

using LapackDstedc = void (*)(const char* compz, const int* n, double* d, double* e, double* z,
                              const int* ldz, double* work, const int* lwork, int* iwork,
                              const int* liwork, int* info, std::size_t compz_len);

CblasSsyrk g_openblas_ssyrk = nullptr, g_blis_ssyrk = nullptr;
LapackDsyevd g_dsyevd = nullptr;
LapackDsytrd g_dsytrd = nullptr;
LapackDsterf g_dsterf = nullptr;
LapackDstedc g_dstedc = nullptr;

// One call into OpenBLAS at a time in the process. Debian builds the
// single-threaded OpenBLAS without its locks (USE_LOCKING): every level-3
// call takes a work buffer from one shared pool, unguarded, so two threads
// calling at once can be handed the same buffer and compute with each
// other's data. Concurrent SYRKs returned wrong Grams now and then, and
// fits on several of a caller's threads at once got one another's
// eigenvectors (tests/test_cpu_blas.cpp). Only the call is serialised: the
// backend's threads still pack their blocks and merge the results in
// parallel.
std::mutex& library_lock() {
  static std::mutex one_at_a_time;
  return one_at_a_time;
}

void call_openblas_syrk(int n, int k, const float* a, float* c) {
  const std::lock_guard<std::mutex> lock(library_lock());
  g_openblas_ssyrk(kCblasRowMajor, kCblasLower, kCblasTrans, n, k, 1.0f, a, n, 0.0f, c, n);
}

void call_blis_syrk(int n, int k, const float* a, float* c) {
  g_blis_ssyrk(kCblasRowMajor, kCblasLower, kCblasTrans, n, k, 1.0f, a, n, 0.0f, c, n);
}

// Workspace query, then the solve; `a` is overwritten by the eigenvectors.
int call_syevd(int n, double* a, double* w) {
  const std::lock_guard<std::mutex> lock(library_lock());
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

// Workspace query, then the reduction.
int call_sytrd(int n, double* a, double* d, double* e, double* tau) {
  const std::lock_guard<std::mutex> lock(library_lock());
  int lwork = -1, info = 0;
  double work_size = 0.0;
  g_dsytrd("L", &n, a, &n, d, e, tau, &work_size, &lwork, &info, 1);
  if (info != 0) return info;
  lwork = static_cast<int>(work_size);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  g_dsytrd("L", &n, a, &n, d, e, tau, work.data(), &lwork, &info, 1);
  return info;
}

int call_sterf(int n, double* d, double* e) {
  const std::lock_guard<std::mutex> lock(library_lock());
  int info = 0;
  g_dsterf(&n, d, e, &info);
  return info;
}

// Workspace query, then the solve ("I": the tridiagonal's own vectors).
int call_stedc(int n, double* d, double* e, double* z) {
  const std::lock_guard<std::mutex> lock(library_lock());
  int lwork = -1, liwork = -1, info = 0, iwork_size = 0;
  double work_size = 0.0;
  g_dstedc("I", &n, d, e, z, &n, &work_size, &lwork, &iwork_size, &liwork, &info, 1);
  if (info != 0) return info;
  lwork = static_cast<int>(work_size);
  liwork = iwork_size;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  g_dstedc("I", &n, d, e, z, &n, work.data(), &lwork, iwork.data(), &liwork, &info, 1);
  return info;
}

struct Loaded {
  SyrkFn blis_syrk = nullptr, openblas_syrk = nullptr;
  SyevdFn syevd = nullptr;
  SytrdFn sytrd = nullptr;
  SterfFn sterf = nullptr;
  StedcFn stedc = nullptr;
};

// The single-threaded builds only: a threaded one would start threads of
// its own under the backend's, and its settings belong to whoever else uses
// it. Debian builds LAPACK into OpenBLAS. A library's handle stays open for
// the process's lifetime.
void load_openblas(Loaded& out) {
  const char* path = STRAY_OPENBLAS_SERIAL_PATH;
  void* handle = path[0] == '\0' ? nullptr : dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return;
  using GetParallel = int (*)();
  const auto parallel = reinterpret_cast<GetParallel>(dlsym(handle, "openblas_get_parallel"));
  g_openblas_ssyrk = reinterpret_cast<CblasSsyrk>(dlsym(handle, "cblas_ssyrk"));
  g_dsyevd = reinterpret_cast<LapackDsyevd>(dlsym(handle, "dsyevd_"));
  g_dsytrd = reinterpret_cast<LapackDsytrd>(dlsym(handle, "dsytrd_"));
  g_dsterf = reinterpret_cast<LapackDsterf>(dlsym(handle, "dsterf_"));
  g_dstedc = reinterpret_cast<LapackDstedc>(dlsym(handle, "dstedc_"));
  if (parallel == nullptr || parallel() != 0 ||
      (g_openblas_ssyrk == nullptr && g_dsyevd == nullptr && g_dsytrd == nullptr &&
       g_dsterf == nullptr && g_dstedc == nullptr)) {
    g_openblas_ssyrk = nullptr;
    g_dsyevd = nullptr;
    g_dsytrd = nullptr;
    g_dsterf = nullptr;
    g_dstedc = nullptr;
    dlclose(handle);
    return;
  }
  if (g_openblas_ssyrk != nullptr) out.openblas_syrk = &call_openblas_syrk;
  if (g_dsyevd != nullptr) out.syevd = &call_syevd;
  if (g_dsytrd != nullptr) out.sytrd = &call_sytrd;
  if (g_dsterf != nullptr) out.sterf = &call_sterf;
  if (g_dstedc != nullptr) out.stedc = &call_stedc;
}

void load_blis(Loaded& out) {
  const char* path = STRAY_BLIS_SERIAL_PATH;
  void* handle = path[0] == '\0' ? nullptr : dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return;
  using Flag = int (*)();
  const auto openmp = reinterpret_cast<Flag>(dlsym(handle, "bli_info_get_enable_openmp"));
  const auto pthreads = reinterpret_cast<Flag>(dlsym(handle, "bli_info_get_enable_pthreads"));
  g_blis_ssyrk = reinterpret_cast<CblasSsyrk>(dlsym(handle, "cblas_ssyrk"));
  if (openmp == nullptr || pthreads == nullptr || openmp() != 0 || pthreads() != 0 ||
      g_blis_ssyrk == nullptr) {
    g_blis_ssyrk = nullptr;
    dlclose(handle);
    return;
  }
  out.blis_syrk = &call_blis_syrk;
}

Loaded load() {
  Loaded out;
  load_openblas(out);
  load_blis(out);
  return out;
}

const Loaded& loaded() {
  static const Loaded fns = load();
  return fns;
}

}  // namespace

SyrkFn tuned_syrk() {
  const Loaded& l = loaded();
  return l.blis_syrk != nullptr ? l.blis_syrk : l.openblas_syrk;
}

SyrkFn blis_syrk() { return loaded().blis_syrk; }

SyrkFn openblas_syrk() { return loaded().openblas_syrk; }

SyevdFn openblas_syevd() { return loaded().syevd; }

SytrdFn openblas_sytrd() { return loaded().sytrd; }

SterfFn openblas_sterf() { return loaded().sterf; }

StedcFn openblas_stedc() { return loaded().stedc; }

const char* openblas_serial_path() { return STRAY_OPENBLAS_SERIAL_PATH; }

const char* blis_serial_path() { return STRAY_BLIS_SERIAL_PATH; }

}  // namespace stray::internal
