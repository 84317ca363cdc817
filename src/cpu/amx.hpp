// The tile unit (AMX) of Intel CPUs from Sapphire Rapids on: whether this
// process may use it, the one tile shape stray configures, and bfloat16
// rounding. Code that uses tiles is compiled with STRAY_AMX_TARGET (no
// global -m flags), so one binary runs everywhere and takes the tile path
// only where amx_available() says so.
#pragma once

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define STRAY_AMX_POSSIBLE 1
#include <immintrin.h>
#define STRAY_AMX_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,amx-tile,amx-bf16")))
#endif

namespace stray::internal {

/// True when the CPU has AMX-BF16 and AVX-512 (F, BW, DQ) and the kernel
/// granted this process the tile state. Checked once.
bool amx_available();

#ifdef STRAY_AMX_POSSIBLE
/// Configures this thread's eight tiles as 16 rows × 64 bytes (16 × 16
/// float32 accumulators, or 16 × 32 bfloat16 operands).
void amx_begin();
/// Releases this thread's tile state.
void amx_end();

/// Round-to-nearest-even to bfloat16, returned as float32 bits whose low 16
/// bits are zero (inputs are finite).
STRAY_AMX_TARGET inline __m512i bf16_bits(__m512 x) {
  const __m512i b = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(b, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF)));
  return _mm512_and_si512(r, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u)));
}
#endif

}  // namespace stray::internal
