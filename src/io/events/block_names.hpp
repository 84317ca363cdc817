// A parsed block's names interned (EventBlock), for a block sink: done on
// the thread that parsed the block, which touches nothing shared, so the
// reading thread, which calls the sink, is left one lookup per distinct
// name of the block instead of one per event.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/name_table.hpp"
#include "stray/io/events.hpp"

namespace stray::fleet {

class BlockNames {
 public:
  BlockNames();

  /// Interns the names of `events` (forgetting the last block's).
  void intern(std::span<const Event> events);
  /// Whether intern() ran to its end on `events` (it may have run out of
  /// memory).
  bool covers(std::span<const Event> events) const {
    return complete_ && entity_of_.size() == events.size();
  }
  /// The block as a block sink receives it; views of `events` and of this.
  EventBlock block(std::span<const Event> events) const;
  void clear();

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  uint32_t intern_entity(std::string_view entity);
  uint32_t intern_group(std::string_view group);
  uint32_t intern_feature(uint32_t group, const Event& event);

  uint64_t seed_;
  bool complete_ = false;  // intern() ran to its end
  std::vector<uint32_t> entity_of_;   // [events]
  std::vector<uint32_t> feature_of_;  // [events]
  std::vector<std::string_view> entities_;
  std::vector<std::string_view> groups_;
  std::vector<EventBlockFeature> features_;
  std::vector<uint32_t> feature_group_;  // [features] index into groups_
  std::vector<uint32_t> next_;           // [features] the feature after it last time, or kNone
  internal::NameTable entity_table_, group_table_, feature_table_;
};

}  // namespace stray::fleet
