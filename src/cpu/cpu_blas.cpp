#include "cpu/cpu_blas.hpp"

#include <dlfcn.h>

namespace stray::internal {
namespace {

#ifndef STRAY_OPENBLAS_SERIAL_PATH
#define STRAY_OPENBLAS_SERIAL_PATH ""
#endif

// CBLAS's enumerations (cblas.h): declared here, so building needs no BLAS.
constexpr int kCblasRowMajor = 101, kCblasTrans = 112, kCblasLower = 122;
using CblasSsyrk = void (*)(int order, int uplo, int trans, int n, int k, float alpha,
                            const float* a, int lda, float beta, float* c, int ldc);

CblasSsyrk g_ssyrk = nullptr;

void syrk(int n, int k, const float* a, float* c) {
  g_ssyrk(kCblasRowMajor, kCblasLower, kCblasTrans, n, k, 1.0f, a, n, 0.0f, c, n);
}

// The single-threaded build only: a threaded one would start threads of its
// own under the backend's, and its settings belong to whoever else uses it.
SyrkFn load() {
  const char* path = STRAY_OPENBLAS_SERIAL_PATH;
  if (path[0] == '\0') return nullptr;
  void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return nullptr;
  using GetParallel = int (*)();
  const auto parallel = reinterpret_cast<GetParallel>(dlsym(handle, "openblas_get_parallel"));
  g_ssyrk = reinterpret_cast<CblasSsyrk>(dlsym(handle, "cblas_ssyrk"));
  if (parallel == nullptr || parallel() != 0 || g_ssyrk == nullptr) {
    g_ssyrk = nullptr;
    dlclose(handle);
    return nullptr;
  }
  return &syrk;  // the handle stays open for the process's lifetime
}

}  // namespace

SyrkFn openblas_syrk() {
  static const SyrkFn fn = load();
  return fn;
}

const char* openblas_serial_path() { return STRAY_OPENBLAS_SERIAL_PATH; }

}  // namespace stray::internal
