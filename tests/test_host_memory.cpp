// Host memory for large arrays (stray/core/host_memory.hpp): alignment by size,
// and Matrix storage drawn from it.
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>

#include "stray/core/host_memory.hpp"
#include "stray/core/matrix.hpp"

namespace stray {
namespace {

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

TEST(HostMemory, SmallArraysStartOnCacheLinesLargeOnHugePages) {
  for (const std::size_t bytes :
       {std::size_t{1}, std::size_t{100}, std::size_t{4096}, (std::size_t{4} << 20) - 1}) {
    void* p = allocate_host_bytes(bytes);
    EXPECT_EQ(address(p) % 64, 0u) << bytes;
    static_cast<char*>(p)[bytes - 1] = 1;  // the whole range is usable
    free_host_bytes(p, bytes);
  }
  for (const std::size_t bytes : {std::size_t{4} << 20, (std::size_t{5} << 20) + 3}) {
    void* p = allocate_host_bytes(bytes);
    EXPECT_EQ(address(p) % (std::size_t{2} << 20), 0u) << bytes;
    static_cast<char*>(p)[bytes - 1] = 1;
    free_host_bytes(p, bytes);
  }
  free_host_bytes(nullptr, 123);  // a no-op, like free(nullptr)
}

TEST(HostMemory, MatrixStorageComesFromIt) {
  Matrix<float> big(2048, 1024, 1.5f);  // 8 MiB
  EXPECT_EQ(address(big.data()) % (std::size_t{2} << 20), 0u);
  EXPECT_EQ(big(2047, 1023), 1.5f);
  Matrix<double> small(3, 5);
  EXPECT_EQ(address(small.data()) % 64, 0u);
  // Copies and moves keep working through the allocator.
  Matrix<float> copy = big;
  EXPECT_EQ(copy.storage(), big.storage());
  Matrix<float> moved = std::move(copy);
  EXPECT_EQ(moved(1, 1), 1.5f);
  HostVector<int> v(10);
  std::iota(v.begin(), v.end(), 0);
  v.resize(3u << 20);  // grows from a small allocation into a large one
  EXPECT_EQ(v[9], 9);
  EXPECT_EQ(address(v.data()) % (std::size_t{2} << 20), 0u);
}

}  // namespace
}  // namespace stray
