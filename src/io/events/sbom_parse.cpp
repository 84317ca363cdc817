// A SAX handler that builds the filtered DOM of an SBOM in one pass.
#include "io/events/sbom_parse.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

#include "core/check.hpp"

namespace stray::fleet {

namespace {

constexpr const char* kWhere = "read_events_sbom";

// Whether the key `key` of an object at nesting `depth` (1: the document's
// own keys) is kept. Only a memory saving: keeping everything reads the same.
bool keep_key(std::size_t depth, std::string_view key) {
  static constexpr std::array<std::string_view, 10> kTopLevel{
      "spdxVersion", "name", "packages", "bomFormat", "specVersion",
      "metadata", "components", "artifacts", "source", "distro"};
  static constexpr std::array<std::string_view, 16> kBulky{
      "metadata", "files", "hasFiles", "locations", "licenses", "licenseConcluded",
      "licenseDeclared", "licenseInfoFromFiles", "checksums", "hashes", "evidence",
      "properties", "cpes", "description", "copyrightText", "annotations"};
  if (depth == 1) return std::find(kTopLevel.begin(), kTopLevel.end(), key) != kTopLevel.end();
  if (depth >= 3) return std::find(kBulky.begin(), kBulky.end(), key) == kBulky.end();
  return true;
}

class FilteringBuilder : public nlohmann::json_sax<Json> {
 public:
  explicit FilteringBuilder(const std::string& source) : source_(source) {}
  Json take() { return std::move(root_); }
  const std::string& error() const { return error_; }

  bool null() override { return add(Json(nullptr)); }
  bool boolean(bool v) override { return add(Json(v)); }
  bool number_integer(number_integer_t v) override { return add(Json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return add(Json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return add(Json(v)); }
  bool string(string_t& v) override { return add(Json(std::move(v))); }
  bool binary(binary_t&) override { return add(Json(nullptr)); }  // not in JSON text
  bool start_object(std::size_t) override { return open(Json::object()); }
  bool start_array(std::size_t) override { return open(Json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    if (skipping_ == 0) {
      key_ = std::move(k);
      drop_next_ = !keep_key(stack_.size(), key_);
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    std::string_view what = e.what();
    if (const auto bracket = what.find("] "); bracket != std::string_view::npos)
      what.remove_prefix(bracket + 2);
    error_ = internal::printable(what);  // it quotes the input
    return false;
  }

 private:
  // A scalar: into its container, or dropped with its key.
  bool add(Json&& v) {
    if (skipping_ > 0) return true;
    if (drop_next_) {
      drop_next_ = false;
      return true;
    }
    place(std::move(v));
    return true;
  }
  bool open(Json&& container) {
    if (stack_.size() + skipping_ >= static_cast<std::size_t>(kMaxSbomDepth)) {
      internal::fail(ErrorCode::parse_error, kWhere, source_, ": nested deeper than ",
                     kMaxSbomDepth, " levels");
    }
    if (skipping_ > 0 || drop_next_) {
      drop_next_ = false;
      ++skipping_;
      return true;
    }
    stack_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    if (skipping_ > 0) {
      --skipping_;
    } else {
      stack_.pop_back();
    }
    return true;
  }
  Json* place(Json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    Json& slot = parent[key_];  // a repeated key: the last one wins
    slot = std::move(v);
    return &slot;
  }

  const std::string& source_;
  Json root_;
  std::vector<Json*> stack_;  // the open containers being kept
  std::size_t skipping_ = 0;  // nesting inside a dropped value
  bool drop_next_ = false;    // the value after a dropped key
  std::string key_;
  std::string error_;
};

}  // namespace

Json parse_sbom_json(const std::string& text, const std::string& source) {
  FilteringBuilder builder(source);
  if (!Json::sax_parse(text, &builder)) {
    internal::fail(ErrorCode::parse_error, kWhere, source, ": invalid JSON: ", builder.error());
  }
  return builder.take();
}

}  // namespace stray::fleet
