// Long-format CSV events: RFC 4180 quoting, optional columns, and errors
// naming the exact line.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "stray/core/error.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

std::vector<EventRecord> read_csv(const std::string& text, const EventReadOptions& options = {},
                                  ReadStats* stats = nullptr) {
  std::istringstream in(text);
  std::vector<EventRecord> out;
  const ReadStats s = read_events_csv(in, collect_events(out), options);
  if (stats != nullptr) *stats = s;
  return out;
}

// Runs the reader and returns the error (failing the test if none).
Error csv_error(const std::string& text) {
  try {
    read_csv(text);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return Error(ErrorCode::invalid_argument, "none");
}

TEST(EventsCsv, ReadsAllColumns) {
  ReadStats stats;
  const auto ev = read_csv(
      "entity,group,feature,value\n"
      "web-1,package,nginx,1\n"
      "web-1,process,nginx,4.5\n"
      "db-1,net.port,5432,\n",
      {}, &stats);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0], EventRecord("web-1", "package", "nginx", 1.0));
  EXPECT_EQ(ev[1], EventRecord("web-1", "process", "nginx", 4.5));
  EXPECT_EQ(ev[2], EventRecord("db-1", "net.port", "5432", 1.0));  // empty value = 1
  EXPECT_EQ(stats.lines, 4);
  EXPECT_EQ(stats.records, 3);
  EXPECT_EQ(stats.events, 3);
}

TEST(EventsCsv, OptionalColumnsAnyOrderExtraColumnsIgnored) {
  EventReadOptions opt;
  opt.default_group = "package";
  const auto ev = read_csv(
      "Feature,time,ENTITY\n"
      "lua5.3,2024-01-01,web-7\n",
      opt);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0], EventRecord("web-7", "package", "lua5.3", 1.0));
  // An empty group cell falls back to the default group too.
  const auto ev2 = read_csv("entity,group,feature\nh,,x\n", opt);
  EXPECT_EQ(ev2[0].group, "package");
}

TEST(EventsCsv, Rfc4180Quoting) {
  const auto ev = read_csv(
      "entity,group,feature,value\n"
      "\"web,1\",file,\"/etc/a \"\"b\"\"\",\"2\"\n"
      "h2,file,\"two\r\nlines\",1\n"
      "h3 , file ,  spaced  ,  3 \n");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0], EventRecord("web,1", "file", "/etc/a \"b\"", 2.0));
  EXPECT_EQ(ev[1], EventRecord("h2", "file", "two\nlines", 1.0));
  EXPECT_EQ(ev[2], EventRecord("h3", "file", "spaced", 3.0));  // unquoted blanks trimmed
}

TEST(EventsCsv, CrlfBomAndBlankLines) {
  const auto ev = read_csv("\xEF\xBB\xBF" "entity,feature\r\n\r\nh,a\r\n  \r\nh,b\r\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].entity, "h");
  EXPECT_EQ(ev[1].feature, "b");
  EXPECT_EQ(ev[1].group, "feature");  // the default default group
}

TEST(EventsCsv, EmptyInputIsAnEmptyFleet) {
  EXPECT_TRUE(read_csv("").empty());
  EXPECT_TRUE(read_csv("entity,feature\n").empty());
}

TEST(EventsCsv, WrongFieldCountNamesTheLine) {
  const Error e = csv_error("entity,group,feature,value\nh,g,f,1\nh,g,f,1\nh,g,f\n");
  EXPECT_EQ(e.code(), ErrorCode::parse_error);
  EXPECT_NE(std::string(e.what()).find("line 4:"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("expected 4 fields"), std::string::npos) << e.what();
}

TEST(EventsCsv, LineNumbersCountPhysicalLinesAfterQuotedBreaks) {
  // Record 1 spans lines 2-4; the bad value is on line 6 (line 5 is blank).
  const Error e = csv_error("entity,feature,value\nh,\"a\nb\nc\",1\n\nh,x,abc\n");
  EXPECT_EQ(e.code(), ErrorCode::parse_error);
  EXPECT_NE(std::string(e.what()).find("line 6:"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("'abc' is not a number"), std::string::npos) << e.what();
}

TEST(EventsCsv, UnterminatedQuoteNamesTheLineItStartsOn) {
  const Error e = csv_error("entity,feature\nh,a\nh,\"open\nmore\nstill\n");
  EXPECT_EQ(e.code(), ErrorCode::parse_error);
  EXPECT_NE(std::string(e.what()).find("line 3:"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("not closed"), std::string::npos) << e.what();
}

TEST(EventsCsv, MalformedQuotingNamesTheLine) {
  const Error stray_quote = csv_error("entity,feature\nh,a\"b\n");
  EXPECT_NE(std::string(stray_quote.what()).find("line 2:"), std::string::npos);
  EXPECT_NE(std::string(stray_quote.what()).find("quote inside unquoted field 2"),
            std::string::npos)
      << stray_quote.what();
  const Error after_close = csv_error("entity,feature\nh,a\nh,\"a\"b\n");
  EXPECT_NE(std::string(after_close.what()).find("line 3:"), std::string::npos);
  EXPECT_NE(std::string(after_close.what()).find("after a closing quote"), std::string::npos);
}

TEST(EventsCsv, BadHeaderAndFields) {
  const Error header = csv_error("host,feature\nh,a\n");
  EXPECT_NE(std::string(header.what()).find("line 1:"), std::string::npos) << header.what();
  const Error dup = csv_error("\n\nentity,feature,entity\n");
  EXPECT_NE(std::string(dup.what()).find("line 3:"), std::string::npos) << dup.what();
  const Error empty_entity = csv_error("entity,feature\nh,a\n,b\n");
  EXPECT_NE(std::string(empty_entity.what()).find("line 3: empty entity"), std::string::npos)
      << empty_entity.what();
  const Error empty_feature = csv_error("entity,feature\nh,\n");
  EXPECT_NE(std::string(empty_feature.what()).find("line 2: empty feature"), std::string::npos);
  const Error colon = csv_error("entity,group,feature\nh,a:b,c\n");
  EXPECT_NE(std::string(colon.what()).find("line 2:"), std::string::npos);
  EXPECT_NE(std::string(colon.what()).find("contains ':'"), std::string::npos);
}

TEST(EventsCsv, NonFiniteValue) {
  const Error e = csv_error("entity,feature,value\nh,a,1\nh,b,nan\n");
  EXPECT_EQ(e.code(), ErrorCode::non_finite_input);
  EXPECT_NE(std::string(e.what()).find("line 3:"), std::string::npos) << e.what();
  const Error inf = csv_error("entity,feature,value\nh,b,-inf\n");
  EXPECT_EQ(inf.code(), ErrorCode::non_finite_input);
}

TEST(EventsCsv, SinkExceptionsPassThrough) {
  std::istringstream in("entity,feature\nh,a\n");
  EXPECT_THROW(read_events_csv(in, [](const Event&) { throw std::logic_error("stop"); }),
               std::logic_error);
}

TEST(EventsCsv, PathOverloadNamesTheFile) {
  const auto path = std::filesystem::temp_directory_path() / "stray_test_events_csv.csv";
  {
    std::ofstream f(path);
    f << "entity,feature\nh,a\nh,\"b\n";
  }
  std::vector<EventRecord> ev;
  try {
    read_events_csv(path, collect_events(ev));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stray_test_events_csv.csv line 3:"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(ev.size(), 1u);  // streaming: the good record arrived before the error
  std::filesystem::remove(path);
  try {
    read_events_csv(path, collect_events(ev));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io_error);
  }
}

TEST(EventsCsv, WriterRoundTripsAwkwardStrings) {
  const std::vector<EventRecord> in_events = {
      {"web,1", "file", "/etc/\"x\"", 1.0},
      {"h2", "file", "multi\nline", 2.5},
      {" padded ", "package", "libc6", 1e-3},
      {"h3", "net.port", "443", 12345678.0},
  };
  std::ostringstream out;
  {
    EventWriter w(out, EventFormat::csv);
    for (const auto& e : in_events) w.write(e.view());
    w.finish();
    EXPECT_EQ(w.events_written(), 4);
  }
  EXPECT_EQ(out.str().rfind("entity,group,feature,value\n", 0), 0u);
  EXPECT_EQ(read_csv(out.str()), in_events);
}

// A header whose quoted field spans lines, each longer than the last, so
// the line buffer is reallocated while the record is assembled: the error
// must quote the record itself (it once quoted the freed first line).
TEST(EventsCsv, HeaderErrorAfterQuotedLineBreaksQuotesTheRecord) {
  std::string text = "\"head one, longer than a short string";
  for (int i = 1; i <= 40; ++i) text += "\n" + std::string(static_cast<std::size_t>(i) * 50, 'x');
  text += "\",feature\nh,a\n";
  const Error e = csv_error(text);
  EXPECT_EQ(e.code(), ErrorCode::parse_error);
  const std::string what = e.what();
  EXPECT_NE(what.find("line 1:"), std::string::npos) << what;
  EXPECT_NE(what.find("got '\"head one, longer than a short string\\x0axxxx"), std::string::npos)
      << what;
  EXPECT_EQ(what.find('\n'), std::string::npos) << "the message must stay one line";
}

TEST(EventsCsv, ErrorsEscapeControlBytesAndInvalidUtf8) {
  const Error e = csv_error("entity,feature,value\nh,a,\x1b[31m\xff\n");
  const std::string what = e.what();
  EXPECT_NE(what.find("'\\x1b[31m\\xff' is not a number"), std::string::npos) << what;
  EXPECT_EQ(what.find('\x1b'), std::string::npos);
  // Valid UTF-8 reads as written.
  const Error u = csv_error("entity,feature,value\nh,a,\xc3\xa9t\xc3\xa9\n");
  EXPECT_NE(std::string(u.what()).find("'\xc3\xa9t\xc3\xa9' is not a number"), std::string::npos)
      << u.what();
}

TEST(EventsCsv, NulBytesAreKeptInNames) {
  static const char kText[] = "entity,feature\nh\0st,f\0\xff\n";
  const auto ev = read_csv(std::string(kText, sizeof kText - 1));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].entity, std::string("h\0st", 4));
  EXPECT_EQ(ev[0].feature, std::string("f\0\xff", 3));
}

TEST(EventsCsv, LineLimitIsExactAndNamesTheLine) {
  EventReadOptions opt;
  opt.max_line_bytes = 16;
  const std::string ok_line = "h,abcdefghijklmn";  // 16 bytes
  ASSERT_EQ(ok_line.size(), 16u);
  EXPECT_EQ(read_csv("entity,feature\n" + ok_line + "\n", opt).size(), 1u);
  EXPECT_EQ(read_csv("entity,feature\n" + ok_line, opt).size(), 1u);  // no final newline
  for (const std::string tail : {"\n", ""}) {
    try {
      read_csv("entity,feature\n" + ok_line + "\n" + ok_line + "o" + tail, opt);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::parse_error);
      EXPECT_NE(std::string(e.what()).find("line 3: line longer than 16 bytes"), std::string::npos)
          << e.what();
    }
  }
  // A record spanning lines counts whole, line breaks included.
  try {
    read_csv("entity,feature\nh,\"abcdef\nghijkl\nmnop\"\n", opt);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::parse_error);
    EXPECT_NE(std::string(e.what()).find("line 2: record longer than 16 bytes"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_csv("entity,feature\nh,\"abcdef\nghijk\"\n", opt)[0].feature, "abcdef\nghijk");
}

TEST(EventsCsv, InputWithoutLineBreaksStopsAtTheDefaultLimit) {
  // 3 MiB without a newline: the reader stops after about 1 MiB.
  try {
    read_csv("entity,feature\n" + std::string(3u << 20, 'a'));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::parse_error);
    EXPECT_NE(std::string(e.what()).find("line 2: line longer than 1048576 bytes"),
              std::string::npos)
        << e.what();
  }
  if (std::filesystem::exists("/dev/zero")) {  // endless: only a bound ends it
    std::vector<EventRecord> ev;
    try {
      read_events_csv(std::filesystem::path("/dev/zero"), collect_events(ev));
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::parse_error);
      EXPECT_NE(std::string(e.what()).find("/dev/zero line 1: line longer than"),
                std::string::npos)
          << e.what();
    }
  }
}

// An open quote followed by many lines was split again from its start at
// every line (quadratic: 100k lines took minutes); now each line is scanned
// once. 300k lines end at the record limit, or at the end of the input.
TEST(EventsCsv, OpenQuoteOverManyLinesIsReadOnce) {
  std::string many = "entity,feature\nh,\"open";
  for (int i = 0; i < 300000; ++i) many += "\nline";
  try {
    read_csv(many + "\n");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2: record longer than"), std::string::npos)
        << e.what();
  }
  EventReadOptions big;
  big.max_line_bytes = 4u << 20;
  try {
    read_csv(many + "\n", big);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2: quoted field not closed before the end"),
              std::string::npos)
        << e.what();
  }
  const auto closed = read_csv(many + "\"\n", big);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].feature.size(), 4u + 300000u * 5u);
}

TEST(EventsCsv, FormatNames) {
  EXPECT_EQ(parse_event_format("csv"), EventFormat::csv);
  EXPECT_EQ(parse_event_format("osquery-snapshot"), EventFormat::osquery_snapshot);
  EXPECT_STREQ(to_string(EventFormat::jsonl), "jsonl");
  EXPECT_THROW(parse_event_format("xml"), Error);
  EXPECT_EQ(event_format_from_path("a/b.CSV"), EventFormat::csv);
  EXPECT_EQ(event_format_from_path("x.ndjson"), EventFormat::jsonl);
  EXPECT_EQ(event_format_from_path("osqueryd.results.log"), EventFormat::osquery);
  EXPECT_THROW(event_format_from_path("x.txt"), Error);
}

}  // namespace
}  // namespace stray
