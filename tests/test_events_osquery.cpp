// osquery result logs: differential, batched and snapshot lines, the
// (query, column) -> (group, feature) mapping, and errors naming the line.
#include <gtest/gtest.h>

#include <sstream>

#include "stray/core/error.hpp"
#include "stray/io/events.hpp"
#include "stray/features/features.hpp"

namespace stray {
namespace {

std::vector<EventRecord> read_osq(const std::string& text, const EventReadOptions& options = {},
                                  ReadStats* stats = nullptr) {
  std::istringstream in(text);
  std::vector<EventRecord> out;
  const ReadStats s = read_events_osquery(in, collect_events(out), options);
  if (stats != nullptr) *stats = s;
  return out;
}

Error osq_error(const std::string& text) {
  try {
    read_osq(text);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return Error(ErrorCode::invalid_argument, "none");
}

std::string diff_line(const std::string& name, const std::string& host, const std::string& columns,
                      const std::string& action = "added") {
  return "{\"name\":\"" + name + "\",\"hostIdentifier\":\"" + host +
         "\",\"calendarTime\":\"Tue Nov 14 22:13:20 2023 UTC\",\"unixTime\":1700000000,"
         "\"epoch\":0,\"counter\":1,\"numerics\":false,\"decorations\":{\"hostname\":\"" +
         host + ".example\"},\"columns\":" + columns + ",\"action\":\"" + action + "\"}\n";
}

TEST(EventsOsquery, DifferentialLinesWithPackPrefixes) {
  ReadStats stats;
  const auto ev = read_osq(
      diff_line("pack/linux/deb_packages", "web-1", "{\"name\":\"nginx\",\"version\":\"1.22\"}") +
          diff_line("pack_incident_response_processes", "web-1",
                    "{\"name\":\"nginx\",\"pid\":\"12\"}") +
          diff_line("listening_ports", "web-1", "{\"port\":\"443\",\"address\":\"0.0.0.0\"}") +
          diff_line("rpm_packages", "web-1", "{\"name\":\"bash\"}", "removed") +
          diff_line("pack/x/osquery_info", "web-1", "{\"version\":\"5.9\"}"),
      {}, &stats);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0], EventRecord("web-1", "package", "nginx", 1.0));
  EXPECT_EQ(ev[1], EventRecord("web-1", "process", "nginx", 1.0));
  EXPECT_EQ(ev[2], EventRecord("web-1", "net.port", "443", 1.0));
  EXPECT_EQ(stats.records, 5);
  EXPECT_EQ(stats.skipped, 2);  // the removed row and the unmapped query
}

TEST(EventsOsquery, SocketsMapToRemotePortAndNetwork) {
  ReadStats stats;
  const auto ev = read_osq(
      diff_line("process_open_sockets", "java-1",
                "{\"remote_address\":\"198.51.100.23\",\"remote_port\":\"1389\",\"pid\":\"7\"}") +
          diff_line("process_open_sockets", "java-1",
                    "{\"remote_address\":\"0.0.0.0\",\"remote_port\":\"0\"}") +
          diff_line("process_open_sockets", "java-1",
                    "{\"remote_address\":\"2001:db8::1\",\"remote_port\":\"443\"}"),
      {}, &stats);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0], EventRecord("java-1", "net.remote", "1389", 1.0));
  EXPECT_EQ(ev[1], EventRecord("java-1", "net.remote_net", "198.51.100.0/24", 1.0));
  EXPECT_EQ(ev[2], EventRecord("java-1", "net.remote", "443", 1.0));
  EXPECT_EQ(ev[3], EventRecord("java-1", "net.remote_net", "2001:db8::/64", 1.0));
  EXPECT_EQ(stats.skipped, 2);  // the listening socket's "0" port and 0.0.0.0 address
}

TEST(EventsOsquery, SnapshotAndBatchedLines) {
  const std::string snapshot =
      "{\"snapshot\":[{\"name\":\"libc6\"},{\"name\":\"lua5.3\"}],\"action\":\"snapshot\","
      "\"name\":\"pack/base/deb_packages\",\"hostIdentifier\":\"web-2\",\"unixTime\":1,"
      "\"numerics\":false}\n";
  const std::string batched =
      "{\"diffResults\":{\"added\":[{\"port\":9050}],\"removed\":[{\"port\":\"22\"}]},"
      "\"name\":\"listening_ports\",\"hostIdentifier\":\"web-2\",\"numerics\":true}\n";
  ReadStats stats;
  const auto ev = read_osq(snapshot + batched, {}, &stats);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0], EventRecord("web-2", "package", "libc6", 1.0));
  EXPECT_EQ(ev[1], EventRecord("web-2", "package", "lua5.3", 1.0));
  EXPECT_EQ(ev[2], EventRecord("web-2", "net.port", "9050", 1.0));  // numerics: true
  EXPECT_EQ(stats.skipped, 1);

  EventReadOptions opt;
  opt.osquery_removed_as_negative = true;
  const auto net = read_osq(batched + diff_line("deb_packages", "h", "{\"name\":\"a\"}", "removed"),
                            opt);
  ASSERT_EQ(net.size(), 3u);
  EXPECT_EQ(net[1], EventRecord("web-2", "net.port", "22", -1.0));
  EXPECT_EQ(net[2], EventRecord("h", "package", "a", -1.0));
}

TEST(EventsOsquery, CustomMappingAndDecorationEntity) {
  EventReadOptions opt;
  opt.osquery.rules = {{"shell_history", "command", "command", 0, {}}};
  opt.osquery_entity_decoration = "hostname";
  const auto ev = read_osq(diff_line("pack/h/shell_history", "uuid-1", "{\"command\":\"curl x | sh\"}") +
                               diff_line("deb_packages", "uuid-1", "{\"name\":\"bash\"}"),
                           opt);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0], EventRecord("uuid-1.example", "command", "curl x | sh", 1.0));
}

TEST(EventsOsquery, LongSnapshotLinesAndTheLineLimit) {
  // A snapshot line carries a host's whole table: past CSV's 1 MiB is fine.
  std::string rows;
  for (int i = 0; i < 40000; ++i) {
    if (i > 0) rows += ",";
    rows += "{\"name\":\"package-number-" + std::to_string(i) + "\",\"version\":\"1.0\"}";
  }
  const std::string line = "{\"name\":\"deb_packages\",\"hostIdentifier\":\"h\",\"snapshot\":[" +
                           rows + "]}\n";
  ASSERT_GT(line.size(), std::size_t{1} << 20);
  EXPECT_EQ(read_osq(line).size(), 40000u);
  EventReadOptions opt;
  opt.max_line_bytes = 1u << 20;
  try {
    read_osq(diff_line("deb_packages", "h", "{\"name\":\"a\"}") + line, opt);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::parse_error);
    EXPECT_NE(std::string(e.what()).find("line 2: line longer than 1048576 bytes"),
              std::string::npos)
        << e.what();
  }
}

TEST(EventsOsquery, NulInNamesIsKeptAndErrorsEscapeBytes) {
  const auto ev = read_osq(diff_line("deb_packages", "h\\u0000x", "{\"name\":\"a\\u0000b\"}"));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].entity, std::string("h\0x", 3));
  EXPECT_EQ(ev[0].feature, std::string("a\0b", 3));
  const Error e = osq_error(diff_line("deb_packages", "h", "{\"name\":\"a\"}", "\\u001b]0;x\\u0007"));
  EXPECT_NE(std::string(e.what()).find("got '\\x1b]0;x\\x07'"), std::string::npos) << e.what();
}

TEST(EventsOsquery, ErrorsNameTheLine) {
  const std::string good = diff_line("deb_packages", "h", "{\"name\":\"a\"}");
  auto expect_line = [](const Error& e, int line) {
    EXPECT_EQ(e.code(), ErrorCode::parse_error);
    EXPECT_NE(std::string(e.what()).find("line " + std::to_string(line) + ":"), std::string::npos)
        << e.what();
  };
  expect_line(osq_error(good + "{\"name\":\"deb_packages\",\"columns\":{}}\n"), 2);  // no host
  expect_line(osq_error(good + good + "not json\n"), 3);
  expect_line(osq_error(good + "\n" + diff_line("deb_packages", "h", "{\"name\":\"a\"}", "moved")), 3);
  expect_line(osq_error(good + "{\"name\":\"x\",\"hostIdentifier\":\"h\"}\n"), 2);
  expect_line(osq_error("{\"hostIdentifier\":\"h\",\"snapshot\":[]}\n"), 1);  // no name
  expect_line(osq_error(good + "{\"name\":\"deb_packages\",\"hostIdentifier\":\"h\",\"snapshot\":{}}\n"), 2);
  expect_line(osq_error(good + good + "{\"name\":\"deb_packages\",\"hostIdentifier\":\"h\",\"snapshot\":[1]}\n"), 3);
  const Error e = osq_error(good + "{\"name\":\"deb_packages\",\"hostIdentifier\":\"h\",\"columns\":{\"name\":[1]},\"action\":\"added\"}\n");
  expect_line(e, 2);
}

// Written as osquery differential or snapshot logs, events read back into
// the same feature matrix as the events themselves (counts become rows).
TEST(EventsOsquery, WriterRoundTripsThroughTheFeatureBuilder) {
  const std::vector<EventRecord> events = {
      {"web-1", "package", "nginx", 1},          {"web-1", "process", "nginx", 3},
      {"web-1", "net.port", "443", 1},           {"web-1", "net.remote", "8080", 2},
      {"web-1", "net.remote_net", "10.10.2.0/24", 2}, {"db-1", "package", "postgresql-15", 1},
      {"db-1", "process", "postgres", 5},       {"db-1", "net.port", "5432", 1},
  };
  FeatureParams params;
  params.normalization = Normalization::none;
  FeatureBuilder direct(params);
  for (const auto& e : events) direct.add(e.view());
  const FeatureMatrix expected = direct.build();

  for (const EventFormat format : {EventFormat::osquery, EventFormat::osquery_snapshot}) {
    std::ostringstream out;
    {
      EventWriter w(out, format);
      for (const auto& e : events) w.write(e.view());
    }  // the destructor finishes
    FeatureBuilder back(params);
    std::istringstream in(out.str());
    read_events(in, format, back.sink());
    const FeatureMatrix got = back.build();
    EXPECT_EQ(got.entity_names, expected.entity_names) << to_string(format);
    EXPECT_EQ(got.feature_names, expected.feature_names) << to_string(format);
    EXPECT_EQ(got.X.indptr, expected.X.indptr) << to_string(format);
    EXPECT_EQ(got.X.indices, expected.X.indices) << to_string(format);
    EXPECT_EQ(got.X.values, expected.X.values) << to_string(format);
  }
  std::ostringstream out;
  EventWriter w(out, EventFormat::osquery);
  EXPECT_THROW(w.write(Event{"h", "syscall", "ptrace", 1}), Error);  // no rule for the group
}

}  // namespace
}  // namespace stray
