// Interning a parsed block's names on the thread that parsed it.
#include "io/events/block_names.hpp"

namespace stray::fleet {

using internal::hash_name;
using internal::same_name;

BlockNames::BlockNames() : seed_(internal::name_hash_seed()) {}

void BlockNames::clear() {
  complete_ = false;
  entity_of_.clear();
  feature_of_.clear();
  entities_.clear();
  groups_.clear();
  features_.clear();
  feature_group_.clear();
  next_.clear();
  entity_table_.clear();
  group_table_.clear();
  feature_table_.clear();
}

// An entity's events, and a group's, mostly come in runs: a name equal to
// the event before's is that event's, without hashing it. Features mostly
// come in the same order for every entity (inventories are sorted; hosts
// of a role share them): the feature that followed the event before's
// last time is tried first, again without hashing.
void BlockNames::intern(std::span<const Event> events) {
  clear();
  entity_of_.resize(events.size());
  feature_of_.resize(events.size());
  uint32_t entity = 0, group = 0, feature = kNone;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (i == 0 || !same_name(e.entity, events[i - 1].entity)) entity = intern_entity(e.entity);
    if (i == 0 || !same_name(e.group, events[i - 1].group)) group = intern_group(e.group);
    entity_of_[i] = entity;
    const uint32_t guess = feature == kNone ? kNone : next_[feature];
    const uint32_t f = guess != kNone && feature_group_[guess] == group &&
                               same_name(features_[guess].feature, e.feature)
                           ? guess
                           : intern_feature(group, e);
    if (feature != kNone) next_[feature] = f;
    feature_of_[i] = feature = f;
  }
  complete_ = true;
}

uint32_t BlockNames::intern_entity(std::string_view entity) {
  const uint32_t id = entity_table_.find_or_add(
      hash_name(entity, seed_), [&](uint32_t k) { return same_name(entities_[k], entity); });
  if (id == entities_.size()) entities_.push_back(entity);
  return id;
}

uint32_t BlockNames::intern_group(std::string_view group) {
  const uint32_t id = group_table_.find_or_add(
      hash_name(group, seed_), [&](uint32_t k) { return same_name(groups_[k], group); });
  if (id == groups_.size()) groups_.push_back(group);
  return id;
}

// A feature is known by its name and its group's id.
uint32_t BlockNames::intern_feature(uint32_t group, const Event& event) {
  const uint64_t hash = hash_name(event.feature, seed_ + group * 0x9e3779b97f4a7c15ULL);
  const uint32_t id = feature_table_.find_or_add(hash, [&](uint32_t k) {
    return feature_group_[k] == group && same_name(features_[k].feature, event.feature);
  });
  if (id == features_.size()) {
    features_.push_back({event.group, event.feature});
    feature_group_.push_back(group);
    next_.push_back(kNone);
  }
  return id;
}

EventBlock BlockNames::block(std::span<const Event> events) const {
  return EventBlock{events, entity_of_, feature_of_, entities_, features_};
}

}  // namespace stray::fleet
