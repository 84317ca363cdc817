// JSON Lines events: fields, defaults, and errors naming the exact line.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "stray/core/error.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

std::vector<EventRecord> read_jsonl(const std::string& text, const EventReadOptions& options = {}) {
  std::istringstream in(text);
  std::vector<EventRecord> out;
  read_events_jsonl(in, collect_events(out), options);
  return out;
}

Error jsonl_error(const std::string& text) {
  try {
    read_jsonl(text);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return Error(ErrorCode::invalid_argument, "none");
}

void expect_line(const Error& e, int line, ErrorCode code = ErrorCode::parse_error) {
  EXPECT_EQ(e.code(), code) << e.what();
  EXPECT_NE(std::string(e.what()).find("line " + std::to_string(line) + ":"), std::string::npos)
      << e.what();
}

TEST(EventsJsonl, NulAndOtherBytesInNamesAreKept) {
  const auto ev = read_jsonl(
      "{\"entity\": \"h\\u0000st\", \"feature\": \"a\\u0000\\u001b[2J\"}\n"
      "{\"entity\": \"\xff\xfe\", \"feature\": \"b\"}\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].entity, std::string("h\0st", 4));
  EXPECT_EQ(ev[0].feature, std::string("a\0\x1b[2J", 6));
  EXPECT_EQ(ev[1].entity, "\xff\xfe");  // bytes as they came, even when not UTF-8
}

TEST(EventsJsonl, LineLimit) {
  EventReadOptions opt;
  opt.max_line_bytes = 40;
  const std::string line = "{\"entity\": \"h\", \"feature\": \"abcdefghij\"}";  // 40 bytes
  ASSERT_EQ(line.size(), 40u);
  EXPECT_EQ(read_jsonl(line + "\n" + line + "\n", opt).size(), 2u);
  try {
    read_jsonl(line + "\n" + line + " \n", opt);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    expect_line(e, 2);
    EXPECT_NE(std::string(e.what()).find("line longer than 40 bytes"), std::string::npos);
  }
  // The default: 1 MiB.
  try {
    read_jsonl("{\"entity\": \"" + std::string((1u << 20) + 1, 'a') + "\", \"feature\": \"x\"}\n");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    expect_line(e, 1);
    EXPECT_NE(std::string(e.what()).find("line longer than 1048576 bytes"), std::string::npos);
  }
}

TEST(EventsJsonl, ReadsFieldsAndDefaults) {
  EventReadOptions opt;
  opt.default_group = "misc";
  const auto ev = read_jsonl(
      "{\"entity\":\"web-1\",\"group\":\"package\",\"feature\":\"nginx\",\"value\":2}\n"
      "\n"
      "{\"feature\":\"x\",\"entity\":\"web-2\"}\r\n"
      "{\"entity\":\"db\",\"group\":\"net.port\",\"feature\":5432,\"value\":null,\"t\":[1]}\n"
      "{\"entity\":\"db\",\"group\":null,\"feature\":\"y\",\"value\":0.25}\n",
      opt);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0], EventRecord("web-1", "package", "nginx", 2.0));
  EXPECT_EQ(ev[1], EventRecord("web-2", "misc", "x", 1.0));
  EXPECT_EQ(ev[2], EventRecord("db", "net.port", "5432", 1.0));  // integer feature as text
  EXPECT_EQ(ev[3], EventRecord("db", "misc", "y", 0.25));
}

TEST(EventsJsonl, ErrorsNameTheLine) {
  const std::string good = "{\"entity\":\"h\",\"feature\":\"a\"}\n";
  expect_line(jsonl_error(good + good + "{\"entity\":\"h\",\"feature\":\n"), 3);
  expect_line(jsonl_error(good + "\n[1,2]\n"), 3);
  expect_line(jsonl_error(good + "{\"feature\":\"a\"}\n"), 2);
  // A collector's own log named .jsonl: the error says how it reads.
  const Error falco = jsonl_error(R"({"hostname":"node-1","rule":"Drift","output_fields":{}})");
  expect_line(falco, 1);
  EXPECT_NE(std::string(falco.what()).find("--json-map FILE"), std::string::npos) << falco.what();
  expect_line(jsonl_error("{\"entity\":\"\",\"feature\":\"a\"}\n"), 1);
  expect_line(jsonl_error(good + "{\"entity\":\"h\"}\n"), 2);
  expect_line(jsonl_error(good + "{\"entity\":\"h\",\"feature\":1.5}\n"), 2);
  expect_line(jsonl_error(good + "{\"entity\":\"h\",\"feature\":\"a\",\"value\":\"3\"}\n"), 2);
  expect_line(jsonl_error(good + "{\"entity\":\"h\",\"feature\":\"a\",\"group\":7}\n"), 2);
  expect_line(jsonl_error(good + good + good + "{\"entity\":\"h\",\"feature\":\"a\",\"group\":\"x:y\"}\n"), 4);
  // Malformed JSON the scanner must refuse, like any full parser.
  for (const std::string bad : {
           "{\"entity\":\"h\",\"feature\":\"a\"} x",        // trailing text
           "{\"entity\":\"h\" \"feature\":\"a\"}",          // missing comma
           "{\"entity\":\"h\",\"feature\":\"a\",}",         // trailing comma
           "{\"entity\":\"h\\q\",\"feature\":\"a\"}",      // bad escape
           "{\"entity\":\"\\ud800\",\"feature\":\"a\"}",  // lone surrogate
           "{\"entity\":\"h\",\"feature\":\"a\",\"v\":01}",  // leading zero
           "{\"entity\":\"h\",\"feature\":\"a\",\"v\":[1,}", // broken nested array
           "{\"entity\":\"h\",\"feature\":\"a\",\"v\":tru}", // bad literal
           "{\"entity\":\"h\",\"feature\":\"a\"",          // not closed
           "{\"entity\":\"h\tb\",\"feature\":\"a\"}",      // raw control character
       }) {
    expect_line(jsonl_error(good + good + bad + "\n"), 3);
  }
  std::string deep = "{\"entity\":\"h\",\"feature\":\"a\",\"v\":";
  deep += std::string(200, '[') + std::string(200, ']') + "}";
  expect_line(jsonl_error(deep + "\n"), 1);
  const Error e = jsonl_error(good + "{\"entity\":\"h\",\"feature\":\"a\",\"value\":1e999}\n");
  EXPECT_NE(std::string(e.what()).find("line 2:"), std::string::npos) << e.what();
}

TEST(EventsJsonl, WriterRoundTrips) {
  const std::vector<EventRecord> in_events = {
      {"web \"1\"", "file", "C:\\temp\\a\tb", 1.0},
      {"h\u00e9", "package", "libc6", 0.1},
      {"h", "ctl", std::string("bell\x07", 5), 3.0},
  };
  std::ostringstream out;
  EventWriter w(out, EventFormat::jsonl);
  for (const auto& e : in_events) w.write(e.view());
  w.finish();
  EXPECT_EQ(read_jsonl(out.str()), in_events);
}

// The reader's own scanner against nlohmann-json: random objects with
// escapes, non-ASCII text, nested extra members and odd spacing.
TEST(EventsJsonl, AgreesWithAFullJsonParser) {
  std::mt19937 rng(5);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> pieces = {"a", "Z", "\"", "\\", "/", "\n", "\t", "\x01",
                                           "\u00e9", "\u4e2d", "\U0001F600", " ", ",", "{", "]"};
  auto random_string = [&] {
    std::string s = "x";
    for (int k = pick(6); k > 0; --k) s += pieces[static_cast<std::size_t>(pick(static_cast<int>(pieces.size())))];
    return s;
  };
  std::string text;
  std::vector<EventRecord> expected;
  for (int i = 0; i < 300; ++i) {
    nlohmann::json j;
    EventRecord e(random_string(), random_string(), random_string(), 1.0);
    for (auto& ch : e.group) {
      if (ch == ':') ch = ';';
    }
    j["entity"] = e.entity;
    if (pick(3) == 0) j["extra"] = {{"nested", {1, 2.5e-3, nullptr, true, {{"k", random_string()}}}}};
    j["feature"] = e.feature;
    j["group"] = e.group;
    if (pick(2) == 0) {
      e.value = std::ldexp(static_cast<double>(pick(1 << 20)) - 5000.0, pick(40) - 20);
      j["value"] = e.value;
    }
    if (pick(4) == 0) j["z"] = nlohmann::json::array();
    // Compact or spaced out; non-ASCII as UTF-8 or as \u escapes (surrogate pairs too).
    std::string line = j.dump(pick(2) == 0 ? -1 : pick(3), ' ', pick(2) == 0);
    std::replace(line.begin(), line.end(), '\n', ' ');         // raw breaks are only layout
    text += line + "\n";
    expected.push_back(e);
  }
  EXPECT_EQ(read_jsonl(text), expected);
}

TEST(EventsJsonl, DispatchByFormat) {
  std::istringstream in("{\"entity\":\"h\",\"feature\":\"a\"}\n");
  std::vector<EventRecord> ev;
  const ReadStats s = read_events(in, EventFormat::jsonl, collect_events(ev));
  EXPECT_EQ(s.events, 1);
  EXPECT_EQ(ev.size(), 1u);
}

}  // namespace
}  // namespace stray
