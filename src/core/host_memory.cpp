// Host memory for large arrays (see include/stray/core/host_memory.hpp).
#include "stray/core/host_memory.hpp"

#include <cstdlib>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace stray {
namespace {

// Arrays from this size on get huge-page alignment and advice; below it a
// 2 MiB rounding would waste too much of the allocation.
constexpr std::size_t kHugeFrom = std::size_t{4} << 20;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::align_val_t kCacheLine{64};

std::size_t round_up(std::size_t bytes, std::size_t to) { return (bytes + to - 1) / to * to; }

}  // namespace

void* allocate_host_bytes(std::size_t bytes) {
  if (bytes < kHugeFrom) return ::operator new(bytes == 0 ? 1 : bytes, kCacheLine);
  const std::size_t rounded = round_up(bytes, kHugePage);
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (p == nullptr) throw std::bad_alloc();
#ifdef __linux__
  // Advice only: where huge pages are off or short, the range stays 4 KiB
  // pages and works the same.
  madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

void free_host_bytes(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  if (bytes < kHugeFrom) {
    ::operator delete(p, kCacheLine);
  } else {
    std::free(p);
  }
}

}  // namespace stray
