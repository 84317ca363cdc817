// JSON Lines events: fields, defaults, and errors naming the exact line.
#include <gtest/gtest.h>

#include <sstream>

#include "stray/error.hpp"
#include "stray/events.hpp"

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
  expect_line(jsonl_error("{\"entity\":\"\",\"feature\":\"a\"}\n"), 1);
  expect_line(jsonl_error(good + "{\"entity\":\"h\"}\n"), 2);
  expect_line(jsonl_error(good + "{\"entity\":\"h\",\"feature\":1.5}\n"), 2);
  expect_line(jsonl_error(good + "{\"entity\":\"h\",\"feature\":\"a\",\"value\":\"3\"}\n"), 2);
  expect_line(jsonl_error(good + "{\"entity\":\"h\",\"feature\":\"a\",\"group\":7}\n"), 2);
  expect_line(jsonl_error(good + good + good + "{\"entity\":\"h\",\"feature\":\"a\",\"group\":\"x:y\"}\n"), 4);
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

TEST(EventsJsonl, DispatchByFormat) {
  std::istringstream in("{\"entity\":\"h\",\"feature\":\"a\"}\n");
  std::vector<EventRecord> ev;
  const ReadStats s = read_events(in, EventFormat::jsonl, collect_events(ev));
  EXPECT_EQ(s.events, 1);
  EXPECT_EQ(ev.size(), 1u);
}

}  // namespace
}  // namespace stray
