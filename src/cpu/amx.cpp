#include "cpu/amx.hpp"

#ifdef STRAY_AMX_POSSIBLE
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace stray::internal {

#ifdef STRAY_AMX_POSSIBLE
namespace {

bool detect_amx() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool avx512 = (b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 17));  // F, BW, DQ
  const bool amx = (d & (1u << 22)) && (d & (1u << 24));                          // BF16, TILE
  if (!avx512 || !amx) return false;
  // AVX512_BF16 (leaf 7, sub-leaf 1, EAX bit 5) converts float32 to bfloat16
  // in one instruction; every CPU with AMX-BF16 so far has it.
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || !(a & (1u << 5))) return false;
  // Linux hands out the tile state only on request (ARCH_REQ_XCOMP_PERM,
  // XFEATURE_XTILEDATA); a refusal means no AMX for this process.
  constexpr long kReqXcompPerm = 0x1023, kXtileData = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
}

}  // namespace

bool amx_available() {
  static const bool ok = detect_amx();
  return ok;
}

bool avx512_available() {
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
}

bool avx2_fma_available() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

// Not inlined, and filled byte by byte: LDTILECFG faults on any stray bit in
// the reserved fields, and the optimiser does not see it read the struct.
__attribute__((noinline)) STRAY_AMX_TARGET void amx_begin() {
  alignas(64) volatile unsigned char cfg[64];
  for (int i = 0; i < 64; ++i) cfg[i] = 0;
  cfg[0] = 1;  // palette
  for (int t = 0; t < 8; ++t) {
    cfg[16 + 2 * t] = 64;  // colsb[t] (little-endian uint16)
    cfg[48 + t] = 16;      // rows[t]
  }
  _tile_loadconfig(const_cast<const unsigned char*>(cfg));
}

STRAY_AMX_TARGET void amx_end() { _tile_release(); }

#else

bool amx_available() { return false; }
bool avx512_available() { return false; }
bool avx2_fma_available() { return false; }

#endif

}  // namespace stray::internal
