// The CSV and JSON Lines readers on several threads read exactly what one
// thread reads: the same events in the same order, the same statistics,
// and for bad input the same first error with the same line. Small blocks
// put block boundaries everywhere in small inputs: inside quoted fields
// spanning lines, between a '\r' and its '\n', on blank lines, after a BOM.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "io/events/event_blocks.hpp"
#include "stray/core/error.hpp"
#include "stray/io/events.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

struct Outcome {
  std::vector<EventRecord> events;  // those the sink got, also before an error
  ReadStats stats;
  std::optional<ErrorCode> code;
  std::string error;

  bool operator==(const Outcome& o) const {
    return events == o.events && stats.lines == o.stats.lines &&
           stats.records == o.stats.records && stats.events == o.stats.events &&
           code == o.code && error == o.error;
  }
};

enum class Format { csv, jsonl };

Outcome read(Format format, const std::string& text, int threads, std::size_t block_bytes,
             EventReadOptions options = {}) {
  options.threads = threads;
  std::istringstream in(text);
  Outcome o;
  try {
    const EventSink sink = collect_events(o.events);
    o.stats = format == Format::csv
                  ? fleet::read_events_csv_blocks(in, sink, options, block_bytes)
                  : fleet::read_events_jsonl_blocks(in, sink, options, block_bytes);
  } catch (const Error& e) {
    o.code = e.code();
    o.error = e.what();
  }
  return o;
}

// One thread and one block (the line-by-line reading) against every mix of
// threads and block sizes.
void expect_same_everywhere(Format format, const std::string& text,
                            const EventReadOptions& options = {}) {
  const Outcome serial = read(format, text, 1, text.size() + 1, options);
  for (const int threads : {1, 2, 3, 8}) {
    for (const std::size_t block : {1, 2, 3, 7, 16, 61, 256, 4096}) {
      const Outcome o = read(format, text, threads, block, options);
      ASSERT_TRUE(o == serial) << threads << " threads, blocks of " << block << " bytes: "
                               << o.events.size() << " events, error '" << o.error
                               << "'; one thread: " << serial.events.size()
                               << " events, error '" << serial.error << "'\ninput:\n"
                               << text;
    }
  }
}

std::string pick(std::mt19937& rng, const std::vector<std::string>& from) {
  return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
}

// An input with the events a correct reader finds in it (built alongside,
// so that a mistake shared by every thread count shows too).
struct Written {
  std::string text;
  std::vector<EventRecord> events;
  int64_t lines() const {
    const auto breaks = static_cast<int64_t>(std::count(text.begin(), text.end(), '\n'));
    return breaks + (text.empty() || text.back() == '\n' ? 0 : 1);
  }
};

struct Field {
  std::string written, read;
};

// A CSV field as a writer might quote it: plain, or quoted with commas,
// doubled quotes and line breaks (LF or CRLF: the reader drops a '\r'
// before a line break) inside, blanks around the quotes.
Field csv_field(std::mt19937& rng, const std::string& plain) {
  switch (rng() % 6) {
    case 0: return {"\"" + plain + ",x\"", plain + ",x"};
    case 1: return {"\"" + plain + "\"\"q\"\"\"", plain + "\"q\""};
    case 2: return {"\"" + plain + "\nline two\"", plain + "\nline two"};
    case 3: return {" \"" + plain + "\r\n\r\nthree\" ", plain + "\n\nthree"};
    default: return {plain, plain};
  }
}

Written random_csv(std::mt19937& rng, int records) {
  Written w;
  w.text = rng() % 3 == 0 ? "\xEF\xBB\xBF" : "";
  const std::string eol = rng() % 2 ? "\r\n" : "\n";
  const bool entity_first = rng() % 2 == 0;
  w.text += "\n  \n";
  w.text += entity_first ? "entity,group,feature,value" : "Feature, time ,\"ENTITY\",value";
  w.text += eol;
  const std::vector<Field> groups = {{"package", "package"}, {"", "feature"},
                                     {"net.port", "net.port"}, {"\"pro,cess\"", "pro,cess"}};
  const std::vector<std::pair<std::string, double>> values = {
      {"1", 1}, {"", 1}, {"2.5", 2.5}, {" 3 ", 3}, {"-1e3", -1000}, {"\"4\"", 4}};
  for (int r = 0; r < records; ++r) {
    if (rng() % 7 == 0) w.text += rng() % 2 ? eol : " \t" + eol;
    const Field entity = csv_field(rng, "host-" + std::to_string(rng() % 50));
    const Field feature = csv_field(rng, pick(rng, {"nginx", "lua5.3", "22", "a b"}));
    const auto& value = values[rng() % values.size()];
    if (entity_first) {
      const Field& group = groups[rng() % groups.size()];
      w.text += entity.written + "," + group.written + "," + feature.written + "," +
                value.first + eol;
      w.events.emplace_back(entity.read, group.read, feature.read, value.second);
    } else {
      w.text += feature.written + ",t" + std::to_string(r) + "," + entity.written + "," +
                value.first + eol;
      w.events.emplace_back(entity.read, "feature", feature.read, value.second);
    }
  }
  if (rng() % 2) {
    w.text += "last,package,no-line-break,1";
    w.events.push_back(entity_first ? EventRecord("last", "package", "no-line-break")
                                    : EventRecord("no-line-break", "feature", "last"));
  }
  return w;
}

// `text` with a line inserted in its second half that the reader must
// refuse, in one of several ways.
std::string with_error(std::mt19937& rng, std::string text) {
  static const std::vector<std::string> bad = {
      "h,package,a\"b,1\n",      "h,package,\"a\"b,1\n", "h,package,f\n",
      "h,package,f,abc\n",       "h,package,f,inf\n",    ",package,f,1\n",
      "h,gr:oup,f,1\n",          "h,package,\"open\nnever closed,1\n",
  };
  std::size_t at = text.size() / 2 + rng() % (text.size() / 2 + 1);
  at = text.find('\n', std::min(at, text.size()));
  if (at == std::string::npos) return text + "\n" + pick(rng, bad);
  return text.insert(at + 1, pick(rng, bad));
}

TEST(EventsParallel, CsvMatchesOneThreadWhereverBlocksEnd) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    SCOPED_TRACE(trial);
    const Written w = random_csv(rng, 1 + static_cast<int>(rng() % 40));
    const Outcome serial = read(Format::csv, w.text, 1, w.text.size() + 1);
    ASSERT_EQ(serial.error, "");
    EXPECT_EQ(serial.events, w.events) << w.text;
    EXPECT_EQ(serial.stats.lines, w.lines());
    EXPECT_EQ(serial.stats.records, static_cast<int64_t>(w.events.size()));
    expect_same_everywhere(Format::csv, w.text);
  }
}

TEST(EventsParallel, CsvFirstErrorWinsWhereverBlocksEnd) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 40; ++trial) {
    SCOPED_TRACE(trial);
    std::string text = with_error(rng, random_csv(rng, 2 + static_cast<int>(rng() % 40)).text);
    if (trial % 4 == 0) text = with_error(rng, text);  // two errors: the first counts
    expect_same_everywhere(Format::csv, text);
  }
  // A bad header ends the reading: the blocks after it are not parsed with
  // what it half set up (a good header later once read a column past the
  // record's fields; the sanitizer build would see it).
  expect_same_everywhere(Format::csv, "group,x,feature\n\n\n\n\n\nentity,x\nh,1\nh,2\n");
}

TEST(EventsParallel, ErrorInALateBlockNamesItsLineInTheInput) {
  std::string text = "entity,feature,value\n";
  for (int i = 0; i < 200000; ++i) {
    text += "host-" + std::to_string(i % 997) + ",\"f\n" + std::to_string(i) + "\",1\n";
  }
  text += "h,f,abc\n";  // line 400002
  for (int i = 0; i < 1000; ++i) text += "h,f,1\n";
  for (const int threads : {1, 2, 4}) {
    const Outcome o = read(Format::csv, text, threads, fleet::kBlockBytes);
    EXPECT_EQ(o.code, ErrorCode::parse_error);
    EXPECT_EQ(o.error, "read_events_csv: line 400002: value 'abc' is not a number");
    EXPECT_EQ(o.events.size(), 200000u);
  }
}

TEST(EventsParallel, CsvLimitsHoldWhereverBlocksEnd) {
  EventReadOptions small;
  small.max_line_bytes = 24;
  expect_same_everywhere(Format::csv,
                         "entity,feature\nh,\"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\"\nh,f\n",
                         small);
  expect_same_everywhere(Format::csv, "entity,feature\nh,\"open\n" + std::string(200, 'x'), small);
  expect_same_everywhere(Format::csv, "entity,feature\nh,f\n" + std::string(300, 'y'), small);
  expect_same_everywhere(Format::csv, "entity,feature\nh,a\"b\n" + std::string(300, '\n'),
                         small);
  // Open quotes over many short lines end at the record limit, with or
  // without CRLF (the limit counts the record as joined, without '\r').
  std::string open = "entity,feature\nh,\"o";
  for (int i = 0; i < 100; ++i) open += i % 2 ? "\r\n" : "\n";
  expect_same_everywhere(Format::csv, open, small);
}

Written random_jsonl(std::mt19937& rng, int records) {
  Written w;
  w.text = rng() % 3 == 0 ? "\xEF\xBB\xBF" : "";
  const std::string eol = rng() % 2 ? "\r\n" : "\n";
  const std::vector<Field> groups = {
      {"\"package\"", "package"}, {"null", "feature"}, {"\"p\\u00e9\\n\"", "p\xC3\xA9\n"}};
  const std::vector<Field> features = {
      {"\"nginx\"", "nginx"}, {"22", "22"}, {"\"a\\\"b\"", "a\"b"}, {"\"lua5.3\"", "lua5.3"}};
  const std::vector<std::pair<std::string, double>> values = {
      {"", 1}, {",\"value\":2", 2}, {",\"value\":1.5e2", 150}, {",\"x\":[1,{\"y\":2}]", 1}};
  for (int r = 0; r < records; ++r) {
    if (rng() % 7 == 0) w.text += rng() % 2 ? eol : " \t" + eol;
    const std::string entity = "host-" + std::to_string(rng() % 50);
    const Field& group = groups[rng() % groups.size()];
    const Field& feature = features[rng() % features.size()];
    const auto& value = values[rng() % values.size()];
    w.text += "{\"entity\":\"" + entity + "\",\"group\":" + group.written +
              ",\"feature\":" + feature.written + value.first + "}" + eol;
    w.events.emplace_back(entity, group.read, feature.read, value.second);
  }
  return w;
}

TEST(EventsParallel, JsonlMatchesOneThreadWhereverBlocksEnd) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 40; ++trial) {
    SCOPED_TRACE(trial);
    const Written w = random_jsonl(rng, 1 + static_cast<int>(rng() % 40));
    std::string text = w.text;
    if (trial % 2 == 0) {
      const Outcome serial = read(Format::jsonl, text, 1, text.size() + 1);
      EXPECT_EQ(serial.events, w.events) << text;
      EXPECT_EQ(serial.stats.lines, w.lines());
    } else {
      const std::size_t at = text.find('\n', text.size() / 2);
      text.insert(at == std::string::npos ? text.size() : at + 1,
                  pick(rng, {"{\"entity\":\"h\"}\n", "[1]\n",
                             "{\"entity\":\"h\",\"feature\":\"f\"\n",
                             "{\"entity\":\"h\",\"feature\":\"f\",\"value\":1e999}\n"}));
    }
    expect_same_everywhere(Format::jsonl, text);
  }
  EventReadOptions small;
  small.max_line_bytes = 40;
  expect_same_everywhere(Format::jsonl, random_jsonl(rng, 5).text + std::string(100, ' '), small);
}

TEST(EventsParallel, SinkExceptionsStopEveryThread) {
  std::string text = "entity,feature\n";
  for (int i = 0; i < 100000; ++i) text += "h" + std::to_string(i) + ",f\n";
  for (const int threads : {2, 4}) {
    EventReadOptions options;
    options.threads = threads;
    std::istringstream in(text);
    int64_t seen = 0;
    EXPECT_THROW(fleet::read_events_csv_blocks(
                     in,
                     [&](const Event&) {
                       if (++seen == 50000) throw std::runtime_error("enough");
                     },
                     options, 4096),
                 std::runtime_error);
    EXPECT_EQ(seen, 50000);
  }
}

TEST(EventsParallel, ThreadCountMustNotBeNegative) {
  EventReadOptions options;
  options.threads = -1;
  std::istringstream in("entity,feature\nh,f\n");
  testing::expect_error([&] { read_events_csv(in, [](const Event&) {}, options); },
                        ErrorCode::invalid_argument, {"threads=-1"});
}

}  // namespace
}  // namespace stray
