// A small, strict JSON scanner for the event readers' hot path.
//
// Why not a DOM: one JSON Lines event is a few short members, and building a
// tree per line (with an allocation per string) cost minutes for a fleet of
// a million hosts (bench/RESULTS.md, "Figures moved from source comments"). The scanner validates the full JSON
// grammar but hands out views: strings without escapes point into the line
// itself; escaped strings are decoded into `escaped` (stable addresses,
// cleared per line by the caller); containers come back as their raw text,
// to be scanned again when the caller needs what is inside.
#pragma once

#include <charconv>
#include <cmath>
#include <deque>
#include <string>
#include <string_view>

namespace stray::fleet {

enum class JsonType { null, boolean, number, string, object, array };

struct JsonValue {
  JsonType type = JsonType::null;
  /// string: the decoded text; number / true / false / null: the literal;
  /// object / array: the raw text, brackets included.
  std::string_view text;

  const char* type_name() const;
  /// Number literals only: integral spelling (no '.', 'e' or 'E').
  bool is_integer_literal() const;
  /// Number as double; false when out of double's range.
  bool to_double(double* out) const;
};

class JsonScanner {
 public:
  JsonScanner(std::string_view text, std::deque<std::string>* escaped)
      : text_(text), escaped_(escaped) {}

  /// Calls on_member(key, value) for each member of the object that makes
  /// up the whole text (blanks around it allowed). False on malformed JSON,
  /// with error() saying why; on_member returning false stops early (true).
  template <typename F>
  bool object(F&& on_member) {
    skip_blanks();
    if (!expect('{')) return false;
    skip_blanks();
    if (peek() == '}') {
      ++pos_;
      return at_end();
    }
    while (true) {
      skip_blanks();
      std::string_view key;
      if (peek() != '"') return fail("expected a member name");
      if (!string(&key)) return false;
      skip_blanks();
      if (!expect(':')) return false;
      JsonValue v;
      if (!value(&v, 1)) return false;
      if (!on_member(key, v)) return true;
      skip_blanks();
      const char c = peek();
      ++pos_;
      if (c == '}') return at_end();
      if (c != ',') return fail("expected ',' or '}' after a member");
    }
  }

  /// Calls on_element(value) for each element of the array that makes up
  /// the whole text.
  template <typename F>
  bool array(F&& on_element) {
    skip_blanks();
    if (!expect('[')) return false;
    skip_blanks();
    if (peek() == ']') {
      ++pos_;
      return at_end();
    }
    while (true) {
      JsonValue v;
      if (!value(&v, 1)) return false;
      if (!on_element(v)) return true;
      skip_blanks();
      const char c = peek();
      ++pos_;
      if (c == ']') return at_end();
      if (c != ',') return fail("expected ',' or ']' after an element");
    }
  }

  /// First of the text that is not blank: '{', '[', ... or 0 at the end.
  char first() {
    skip_blanks();
    return peek();
  }

  const std::string& error() const { return error_; }

 private:
  static constexpr int kMaxDepth = 64;

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_blanks() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool fail(const char* what);
  bool expect(char c);
  bool at_end();
  bool value(JsonValue* out, int depth);
  bool string(std::string_view* out);
  bool number();
  bool literal(std::string_view word);
  bool skip_container(char open, char close, int depth);

  std::string_view text_;
  std::deque<std::string>* escaped_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace stray::fleet
