// The members of a JSON log line that a mapping reads, found in one pass.
//
// A mapping names members by JSON Pointers (RFC 6901). Looking each pointer
// up on its own would scan a line once per pointer; instead the pointers
// form a tree of their reference tokens, and a line is scanned once, going
// into an object or array only where some pointer leads. Where a line
// repeats a name, the last member counts (as Python's json module and most
// readers take it), also for what lies below it.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/events/json_scan.hpp"

namespace stray::fleet {

/// The reference tokens of `pointer`, "~1" and "~0" decoded; nullopt when
/// it is not a pointer to a member (empty, not starting with '/', or a '~'
/// not followed by 0 or 1).
std::optional<std::vector<std::string>> json_pointer_tokens(std::string_view pointer);

/// A member found in a line: its value, or absent.
struct FoundMember {
  bool present = false;
  JsonValue value;
};

class JsonFields {
 public:
  JsonFields();

  /// The slot of `pointer`: the same slot for the same pointer. `pointer`
  /// must be valid (json_pointer_tokens); std::invalid_argument otherwise.
  int add(std::string_view pointer);
  std::size_t slots() const { return n_slots_; }

  /// Finds the members of the object `line`: found[slot] for each pointer
  /// added. Escaped strings are decoded into `escaped` (their views stay
  /// valid as long as it holds them). False, with *error saying why, when
  /// the line is not a JSON object.
  bool find(std::string_view line, std::deque<std::string>* escaped,
            std::vector<FoundMember>& found, std::string* error) const;

 private:
  struct Node {
    std::vector<std::pair<std::string, int>> children;  // token -> node, sorted by token
    int slot = -1;
    std::vector<int> slots_below;  // its own slot and its descendants'
  };

  int child(int node, std::string_view token) const;
  bool enter(int node, const JsonValue& value, std::deque<std::string>* escaped,
             std::vector<FoundMember>& found) const;
  bool members(int node, std::string_view object, std::deque<std::string>* escaped,
               std::vector<FoundMember>& found, std::string* error) const;
  bool elements(int node, std::string_view array, std::deque<std::string>* escaped,
                std::vector<FoundMember>& found) const;

  std::vector<Node> nodes_;
  std::size_t n_slots_ = 0;
};

}  // namespace stray::fleet
