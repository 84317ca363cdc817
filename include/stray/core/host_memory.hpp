// stray — host memory for large arrays.
//
// Every pass over a large matrix walks its pages; with 4 KiB pages a
// 51 MB matrix is 12,500 pages, too many for the TLB, and each pass pays
// page walks. HostAllocator gives arrays of 4 MiB and more 2 MiB alignment
// and asks Linux for transparent huge pages on them (madvise; numpy does
// the same for its large arrays): k-means fits on large inputs ran faster
// on them (bench/RESULTS.md, the huge-pages entries). Smaller arrays
// get 64-byte alignment. Matrix stores its elements with it; arrays you
// allocate yourself can do the same (madvise(MADV_HUGEPAGE) before first
// touch) where the system's transparent_hugepage setting is "madvise".
//
// Thread safety: allocate_host_bytes and free_host_bytes may be called from
// any thread, as malloc and free; HostAllocator holds no state.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace stray {

/// Allocates `bytes` of host memory as HostAllocator does; throws
/// std::bad_alloc on failure. Release with free_host_bytes(p, bytes).
void* allocate_host_bytes(std::size_t bytes);
/// Releases memory from allocate_host_bytes (the same `bytes`).
void free_host_bytes(void* p, std::size_t bytes) noexcept;

/// Standard allocator over allocate_host_bytes (stateless: all compare equal).
template <class T>
struct HostAllocator {
  using value_type = T;
  HostAllocator() = default;
  template <class U>
  HostAllocator(const HostAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_host_bytes(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { free_host_bytes(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const HostAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const HostAllocator<U>&) const noexcept { return false; }
};

/// A std::vector whose storage comes from HostAllocator.
template <class T>
using HostVector = std::vector<T, HostAllocator<T>>;

}  // namespace stray
