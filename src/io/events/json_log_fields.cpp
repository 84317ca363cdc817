#include "io/events/json_log_fields.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace stray::fleet {

std::optional<std::vector<std::string>> json_pointer_tokens(std::string_view pointer) {
  if (pointer.empty() || pointer.front() != '/') return std::nullopt;
  std::vector<std::string> tokens;
  std::string token;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
    } else if (pointer[i] == '~') {
      if (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) {
        return std::nullopt;
      }
      token.push_back(pointer[++i] == '0' ? '~' : '/');
    } else {
      token.push_back(pointer[i]);
    }
  }
  return tokens;
}

JsonFields::JsonFields() : nodes_(1) {}

namespace {

// Orders a node's children by token, for lower_bound.
bool token_before(const std::pair<std::string, int>& entry, std::string_view token) {
  return entry.first < token;
}

}  // namespace

int JsonFields::child(int node, std::string_view token) const {
  const auto& c = nodes_[static_cast<std::size_t>(node)].children;
  const auto it = std::lower_bound(c.begin(), c.end(), token, token_before);
  return it != c.end() && it->first == token ? it->second : -1;
}

int JsonFields::add(std::string_view pointer) {
  const auto tokens = json_pointer_tokens(pointer);
  if (!tokens) throw std::invalid_argument("JsonFields::add: not a JSON pointer to a member");
  std::vector<int> path{0};
  for (const std::string& token : *tokens) {
    int next = child(path.back(), token);
    if (next < 0) {
      next = static_cast<int>(nodes_.size());
      nodes_.emplace_back();
      auto& c = nodes_[static_cast<std::size_t>(path.back())].children;
      const auto at = std::lower_bound(c.begin(), c.end(), std::string_view(token), token_before);
      c.insert(at, {token, next});
    }
    path.push_back(next);
  }
  Node& leaf = nodes_[static_cast<std::size_t>(path.back())];
  if (leaf.slot >= 0) return leaf.slot;
  leaf.slot = static_cast<int>(n_slots_++);
  const int slot = leaf.slot;
  for (const int n : path) nodes_[static_cast<std::size_t>(n)].slots_below.push_back(slot);
  return slot;
}

bool JsonFields::find(std::string_view line, std::deque<std::string>* escaped,
                      std::vector<FoundMember>& found, std::string* error) const {
  found.assign(n_slots_, FoundMember{});
  JsonScanner scan(line, escaped);
  if (scan.first() != '{') {
    *error = "expected a JSON object";
    return false;
  }
  return members(0, line, escaped, found, error);
}

// The line itself is scanned (and so validated) whole; what lies below a
// member is scanned again only where a pointer leads.
bool JsonFields::members(int node, std::string_view object, std::deque<std::string>* escaped,
                         std::vector<FoundMember>& found, std::string* error) const {
  JsonScanner scan(object, escaped);
  bool inner_ok = true;
  const bool ok = scan.object([&](std::string_view key, const JsonValue& v) {
    const int c = child(node, key);
    if (c >= 0) inner_ok = inner_ok && enter(c, v, escaped, found);
    return true;
  });
  if (!ok) *error = scan.error();
  return ok && inner_ok;
}

bool JsonFields::elements(int node, std::string_view array, std::deque<std::string>* escaped,
                          std::vector<FoundMember>& found) const {
  JsonScanner scan(array, escaped);
  std::size_t index = 0;
  bool inner_ok = true;
  const bool ok = scan.array([&](const JsonValue& v) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, index++).ptr;
    const int c = child(node, std::string_view(digits, static_cast<std::size_t>(end - digits)));
    if (c >= 0) inner_ok = inner_ok && enter(c, v, escaped, found);
    return true;
  });
  return ok && inner_ok;
}

bool JsonFields::enter(int node, const JsonValue& value, std::deque<std::string>* escaped,
                       std::vector<FoundMember>& found) const {
  const Node& n = nodes_[static_cast<std::size_t>(node)];
  // A repeated name replaces everything found under the earlier one.
  for (const int s : n.slots_below) found[static_cast<std::size_t>(s)] = FoundMember{};
  if (n.slot >= 0) found[static_cast<std::size_t>(n.slot)] = FoundMember{true, value};
  if (n.children.empty()) return true;
  std::string ignored;
  if (value.type == JsonType::object) return members(node, value.text, escaped, found, &ignored);
  if (value.type == JsonType::array) return elements(node, value.text, escaped, found);
  return true;
}

}  // namespace stray::fleet
