// The tile unit (AMX) of Intel CPUs from Sapphire Rapids on: whether this
// process may use it, the one tile shape stray configures, and bfloat16
// rounding. Code that uses tiles is compiled with STRAY_AMX_TARGET (no
// global -m flags), so one binary runs everywhere and takes the tile path
// only where amx_available() says so.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define STRAY_AMX_POSSIBLE 1
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#define STRAY_AMX_TARGET \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512bf16,amx-tile,amx-bf16")))
// Plain AVX-512 code (no tile unit), run where avx512_available() says so.
#define STRAY_AVX512_TARGET __attribute__((target("avx512f")))
// AVX2 with FMA, run where avx2_fma_available() says so.
#define STRAY_AVX2_TARGET __attribute__((target("avx2,fma")))
#endif

namespace stray::internal {

/// Allocates on 64-byte boundaries. A tile load or store moves 16 rows of
/// 64 bytes; on buffers aligned to 16 bytes only (what the default
/// allocator gives) every row straddles two cache lines, and the Gram's
/// tile products ran markedly slower (see RESULTS.md, 'Figures moved from
/// source comments (2026-12-05)'). So every buffer the tile unit reads or
/// writes is a TileBuffer.
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), kAlignment));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlignment); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const { return true; }
};
template <class T>
using TileBuffer = std::vector<T, CacheLineAllocator<T>>;

/// True when the CPU has AMX-BF16 and AVX-512 (F, BW, DQ, BF16) and the
/// kernel granted this process the tile state. Checked once.
bool amx_available();

/// True when the CPU and the kernel support AVX-512F. Checked once.
bool avx512_available();

/// True when the CPU supports AVX2 and FMA. Checked once.
bool avx2_fma_available();

#ifdef STRAY_AMX_POSSIBLE
/// Configures this thread's eight tiles as 16 rows × 64 bytes (16 × 16
/// float32 accumulators, or 16 × 32 bfloat16 operands).
void amx_begin();
/// Releases this thread's tile state.
void amx_end();

/// bfloat16 → float32 for 16 values: the 16 bits become the float's high half.
STRAY_AMX_TARGET inline __m512 bf16_widen(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/// Accumulator tiles 0..3 (a 2 x 2 block of 16 x 16 float32) += left
/// operand tiles 4, 5 × right operand tiles 6, 7: 0 += 4·6, 1 += 4·7,
/// 2 += 5·6, 3 += 5·7 (bfloat16 pairs, float32 accumulation).
STRAY_AMX_TARGET inline void amx_product_2x2() {
  _tile_dpbf16ps(0, 4, 6);
  _tile_dpbf16ps(1, 4, 7);
  _tile_dpbf16ps(2, 5, 6);
  _tile_dpbf16ps(3, 5, 7);
}

/// One operand of a split product, as tiles: its high and low bfloat16
/// parts (16 rows of 64 bytes each, `stride` bytes apart), and `second` the
/// byte offset of the next 16-row block (tiles 5 / 7).
struct AmxSplitOperand {
  const void* hi;
  const void* lo;
  int stride;
  std::ptrdiff_t second;
};

/// Accumulator tiles 0..3 += a · bᵀ for a 2 x 2 block, each operand split
/// v ≈ h + l: h·h' + h·l' + l·h', and l·l' too when `lo_times_lo` (the
/// Gram keeps it on its diagonal blocks; the distance kernel's error
/// allowance covers its loss).
STRAY_AMX_TARGET inline void amx_split_product_2x2(const AmxSplitOperand& a,
                                                   const AmxSplitOperand& b, bool lo_times_lo) {
  auto next = [](const void* p, std::ptrdiff_t off) { return static_cast<const char*>(p) + off; };
  _tile_loadd(4, a.hi, a.stride);
  _tile_loadd(5, next(a.hi, a.second), a.stride);
  _tile_loadd(6, b.hi, b.stride);
  _tile_loadd(7, next(b.hi, b.second), b.stride);
  amx_product_2x2();
  _tile_loadd(6, b.lo, b.stride);
  _tile_loadd(7, next(b.lo, b.second), b.stride);
  amx_product_2x2();
  _tile_loadd(4, a.lo, a.stride);
  _tile_loadd(5, next(a.lo, a.second), a.stride);
  if (lo_times_lo) amx_product_2x2();
  _tile_loadd(6, b.hi, b.stride);
  _tile_loadd(7, next(b.hi, b.second), b.stride);
  amx_product_2x2();
}

// Transposes a 16 x 16 block of 32-bit words.
STRAY_AVX512_TARGET inline void transpose16(const uint32_t* src, int64_t src_stride, uint32_t* dst,
                                         int64_t dst_stride) {
  __m512i r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(src + i * src_stride);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int h = 0; h < 16; h += 8) {
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_shuffle_i32x4(r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_shuffle_i32x4(r[h + i], r[h + i + 4], 0xdd);
    }
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
  }
  for (int i = 0; i < 16; ++i) _mm512_storeu_si512(dst + i * dst_stride, r[i]);
}
#endif

}  // namespace stray::internal
