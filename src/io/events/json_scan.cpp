#include "io/events/json_scan.hpp"

#include "io/events/byte_scan.hpp"

namespace stray::fleet {

const char* JsonValue::type_name() const {
  switch (type) {
    case JsonType::null: return "null";
    case JsonType::boolean: return "boolean";
    case JsonType::number: return "number";
    case JsonType::string: return "string";
    case JsonType::object: return "object";
    case JsonType::array: return "array";
  }
  return "?";
}

bool JsonValue::is_integer_literal() const {
  return type == JsonType::number && text.find_first_of(".eE") == std::string_view::npos;
}

bool JsonValue::to_double(double* out) const {
  if (parse_digits(text, out)) return true;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(*out);
}

bool JsonScanner::fail(const char* what) {
  error_ = what;
  error_ += " at column ";
  error_ += std::to_string(pos_ + 1);
  return false;
}

bool JsonScanner::expect(char c) {
  if (peek() != c) {
    const std::string msg = std::string("expected '") + c + "'";
    return fail(msg.c_str());
  }
  ++pos_;
  return true;
}

bool JsonScanner::at_end() {
  skip_blanks();
  return pos_ == text_.size() || fail("unexpected text after the JSON value");
}

bool JsonScanner::value(JsonValue* out, int depth) {
  skip_blanks();
  const std::size_t start = pos_;
  switch (peek()) {
    case '"':
      out->type = JsonType::string;
      return string(&out->text);
    case '{':
      out->type = JsonType::object;
      if (!skip_container('{', '}', depth)) return false;
      break;
    case '[':
      out->type = JsonType::array;
      if (!skip_container('[', ']', depth)) return false;
      break;
    case 't':
      out->type = JsonType::boolean;
      if (!literal("true")) return false;
      break;
    case 'f':
      out->type = JsonType::boolean;
      if (!literal("false")) return false;
      break;
    case 'n':
      out->type = JsonType::null;
      if (!literal("null")) return false;
      break;
    case '\0':
      if (pos_ >= text_.size()) return fail("unexpected end of the text");
      return fail("unexpected character");
    default:
      out->type = JsonType::number;
      if (!number()) return false;
  }
  out->text = text_.substr(start, pos_ - start);
  return true;
}

bool JsonScanner::literal(std::string_view word) {
  if (text_.substr(pos_, word.size()) != word) return fail("invalid literal");
  pos_ += word.size();
  return true;
}

bool JsonScanner::number() {
  auto digit = [&] { return pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; };
  if (peek() == '-') ++pos_;
  if (peek() == '0') {
    ++pos_;
  } else if (digit()) {
    while (digit()) ++pos_;
  } else {
    return fail("invalid number");
  }
  if (peek() == '.') {
    ++pos_;
    if (!digit()) return fail("invalid number");
    while (digit()) ++pos_;
  }
  if (peek() == 'e' || peek() == 'E') {
    ++pos_;
    if (peek() == '+' || peek() == '-') ++pos_;
    if (!digit()) return fail("invalid number");
    while (digit()) ++pos_;
  }
  return true;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

bool JsonScanner::string(std::string_view* out) {
  ++pos_;  // the opening quote
  const std::size_t start = pos_;
  // Fast path: no escapes, the view points into the text.
  pos_ += plain_json_string_bytes(text_, pos_);
  if (pos_ >= text_.size()) return fail("string not closed");
  if (text_[pos_] == '"') {
    *out = text_.substr(start, pos_ - start);
    ++pos_;
    return true;
  }
  if (text_[pos_] != '\\') return fail("control character in a string");
  std::string& decoded = escaped_->emplace_back(text_.substr(start, pos_ - start));
  auto read_hex4 = [&](uint32_t* cp) {
    if (pos_ + 4 > text_.size()) return false;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = hex_value(text_[pos_ + static_cast<std::size_t>(k)]);
      if (h < 0) return false;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    pos_ += 4;
    *cp = v;
    return true;
  };
  while (pos_ < text_.size()) {
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') {
      *out = decoded;
      ++pos_;
      return true;
    }
    if (c < 0x20) return fail("control character in a string");
    if (c != '\\') {
      decoded.push_back(static_cast<char>(c));
      ++pos_;
      continue;
    }
    ++pos_;
    const char e = peek();
    ++pos_;
    switch (e) {
      case '"': decoded.push_back('"'); break;
      case '\\': decoded.push_back('\\'); break;
      case '/': decoded.push_back('/'); break;
      case 'b': decoded.push_back('\b'); break;
      case 'f': decoded.push_back('\f'); break;
      case 'n': decoded.push_back('\n'); break;
      case 'r': decoded.push_back('\r'); break;
      case 't': decoded.push_back('\t'); break;
      case 'u': {
        uint32_t cp = 0;
        if (!read_hex4(&cp)) return fail("invalid \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low = 0;
          if (text_.substr(pos_, 2) != "\\u") return fail("unpaired surrogate in \\u escape");
          pos_ += 2;
          if (!read_hex4(&low) || low < 0xDC00 || low > 0xDFFF) {
            return fail("invalid surrogate pair in \\u escape");
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return fail("unpaired surrogate in \\u escape");
        }
        append_utf8(decoded, cp);
        break;
      }
      default: return fail("invalid escape in a string");
    }
  }
  return fail("string not closed");
}

bool JsonScanner::skip_container(char open, char close, int depth) {
  if (depth > kMaxDepth) return fail("nested too deep");
  ++pos_;  // the opening bracket
  skip_blanks();
  if (peek() == close) {
    ++pos_;
    return true;
  }
  while (true) {
    skip_blanks();
    if (open == '{') {
      if (peek() != '"') return fail("expected a member name");
      std::string_view key;
      if (!string(&key)) return false;
      skip_blanks();
      if (!expect(':')) return false;
    }
    JsonValue v;
    if (!value(&v, depth + 1)) return false;
    skip_blanks();
    const char c = peek();
    ++pos_;
    if (c == close) return true;
    if (c != ',') {
      --pos_;
      return fail(open == '{' ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array");
    }
  }
}

}  // namespace stray::fleet
