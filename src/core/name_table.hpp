// A hash table of names: short keys (entity, group and feature names),
// looked up once an event where a parsing thread interns a block's names
// (io/events/block_names.hpp) and once an entity where a FeatureBuilder
// gives entities their rows, so the hash and the probe are kept small.
//
// The table maps a key to its id, 0, 1, 2, ... in order of insertion; the
// keys themselves stay with the caller (a vector indexed by id), which
// tells the table whether id k is the key it looks for. A slot holds the
// high 32 bits of the key's hash (where it probes from, and a quick
// filter before comparing keys) and id + 1; 0 is empty.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace stray::internal {

namespace name_hash_detail {

inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint64_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// One word into the state: injective in `word` for a given state.
inline uint64_t step(uint64_t h, uint64_t word) {
  h = (h ^ word) * 0xff51afd7ed558ccdULL;
  return h ^ (h >> 32);
}

// murmur3's 64-bit finaliser: every input bit reaches every output bit.
inline uint64_t finish(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

}  // namespace name_hash_detail

/// A seed for hash_name that differs between runs (the clock, and
/// addresses that ASLR moves), the same for the whole process.
uint64_t name_hash_seed();

/// A hash of `name` for NameTable: 8 bytes a step (the last step's 8
/// overlapping the one before), names under 8 bytes in one step. `seed`
/// varies it: names are read from hosts that may be compromised, and a
/// seed they cannot know (name_hash_seed) keeps them from choosing names
/// that collide. Users give ids by first appearance, never by hash, so
/// nothing they compute depends on it.
inline uint64_t hash_name(std::string_view name, uint64_t seed) {
  using namespace name_hash_detail;
  const char* p = name.data();
  const std::size_t n = name.size();
  uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) h = step(h, load64(p + i));
    h = step(h, load64(p + n - 8));
  } else if (n >= 4) {  // two 4-byte reads cover the name
    h = step(h, load32(p) << 32 | load32(p + n - 4));
  } else if (n > 0) {  // so do three bytes
    const auto byte = [&](std::size_t i) { return uint64_t{static_cast<unsigned char>(p[i])}; };
    h = step(h, byte(0) << 16 | byte(n / 2) << 8 | byte(n - 1));
  }
  return finish(h);
}

/// The hasher of std::unordered_map and std::unordered_set keyed by names
/// read from telemetry: hash_name with the process's seed. std::hash of
/// libstdc++ hashes with a fixed seed, so a compromised host could send
/// names chosen to collide and make every insertion walk one long chain.
/// Transparent: string_view finds std::string keys.
struct SeededNameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view name) const noexcept {
    return static_cast<std::size_t>(hash_name(name, name_hash_seed()));
  }
};

/// Whether `a` and `b` hold the same bytes. Names of up to 16 bytes are
/// compared in two overlapping words inline: a call to memcmp for each of
/// an event's names cost more than hashing them.
inline bool same_name(std::string_view a, std::string_view b) {
  using namespace name_hash_detail;
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n > 16) return std::memcmp(p, q, n) == 0;
  if (n >= 8) return load64(p) == load64(q) && load64(p + n - 8) == load64(q + n - 8);
  if (n >= 4) return load32(p) == load32(q) && load32(p + n - 4) == load32(q + n - 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

class NameTable {
 public:
  /// Keys a table holds at most (ids are 32 bits, and one is empty).
  static constexpr uint32_t kMaxKeys = UINT32_MAX - 1;
  /// find_or_add's answer for a new key when the table holds max_keys.
  static constexpr uint32_t kFull = UINT32_MAX;

  /// The id of the key hashed to `hash` for which same(id) is true, or,
  /// when there is none, size() before the call: the key is added with
  /// that id, and the caller stores it — unless the table holds max_keys
  /// (at most kMaxKeys) already, which is kFull.
  template <typename Same>
  uint32_t find_or_add(uint64_t hash, Same&& same, uint32_t max_keys = kMaxKeys) {
    if (2 * (std::size_t{size_} + 1) > slots_.size()) grow();
    const auto tag = static_cast<uint32_t>(hash >> 32);
    for (std::size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const uint64_t slot = slots_[i];
      if (slot == 0) {
        if (size_ >= std::min(max_keys, kMaxKeys)) return kFull;
        slots_[i] = uint64_t{tag} << 32 | (size_ + 1);
        return size_++;
      }
      const auto id = static_cast<uint32_t>(slot) - 1;
      if (static_cast<uint32_t>(slot >> 32) == tag && same(id)) return id;
    }
  }

  uint32_t size() const { return size_; }

  /// Empties the table. Its room stays for the next block (whose names
  /// are about as many), unless it is far more than the last block used.
  void clear() {
    const std::size_t want = slots_for(size_);
    if (slots_.size() > 8 * want) {
      slots_.assign(want, 0);
      mask_ = want - 1;
    } else {
      std::fill(slots_.begin(), slots_.end(), uint64_t{0});
    }
    size_ = 0;
  }

 private:
  static constexpr std::size_t kMinSlots = 64;

  // A power of two at least twice `keys`: probes stay short.
  static std::size_t slots_for(std::size_t keys) {
    std::size_t n = kMinSlots;
    while (n < 2 * keys) n *= 2;
    return n;
  }

  void grow() {
    std::vector<uint64_t> old(slots_for(size_ + 1) * 2, 0);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const uint64_t slot : old) {
      if (slot == 0) continue;
      std::size_t i = static_cast<uint32_t>(slot >> 32) & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }

  std::vector<uint64_t> slots_;
  std::size_t mask_ = 0;
  uint32_t size_ = 0;
};

}  // namespace stray::internal
