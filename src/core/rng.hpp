// The library's random generator. Every random draw happens on the host from
// this generator, so every backend starts from the same centres, and results
// do not depend on the standard library's distribution implementations
// (std::uniform_real_distribution differs between vendors).
#pragma once

#include <cstdint>
#include <vector>

namespace stray::internal {

/// xoshiro256** seeded through splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t s = seed;
    for (auto& word : state_) word = splitmix64(s);
  }

  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n), n > 0, without modulo bias.
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do {
      v = next();
    } while (v >= limit);
    return v % n;
  }

  /// Standard normal (Box–Muller; one value per call for simplicity).
  double normal();

  /// Poisson-distributed count with the given mean (Knuth for small means,
  /// a rounded normal approximation above 30).
  int64_t poisson(double mean);

  /// min(m, n) distinct indices of [0, n), uniformly, ascending (selection
  /// sampling, Knuth's algorithm S: one draw per index looked at).
  std::vector<int64_t> sample_in_order(int64_t n, int64_t m);

 private:
  static uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t state_[4];
};

}  // namespace stray::internal
