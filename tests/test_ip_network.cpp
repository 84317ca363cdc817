// Remote addresses to networks: against Python's `ipaddress`
// (tests/fixtures/network_golden.csv, made by make_network_fixtures.py),
// then through the osquery reader and writer.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/events/ip_network.hpp"
#include "stray/core/error.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

struct GoldenRow {
  std::string text;
  int ipv4_prefix = 0, ipv6_prefix = 0;
  std::string kind, network;
};

std::vector<std::string> split_commas(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) return fields;
    start = comma + 1;
  }
}

std::vector<GoldenRow> golden_rows() {
  std::ifstream in(std::string(STRAY_FIXTURES_DIR) + "/network_golden.csv");
  std::string line;
  std::getline(in, line);  // header
  std::vector<GoldenRow> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> f = split_commas(line);
    if (f.size() != 5) {
      ADD_FAILURE() << "bad fixture line: " << line;
      continue;
    }
    rows.push_back({f[0], std::stoi(f[1]), std::stoi(f[2]), f[3], f[4]});
  }
  return rows;
}

const char* kind_name(fleet::AddressFeature kind) {
  switch (kind) {
    case fleet::AddressFeature::verbatim: return "verbatim";
    case fleet::AddressFeature::network: return "network";
    case fleet::AddressFeature::unspecified: return "unspecified";
  }
  return "?";
}

TEST(IpNetwork, AgreesWithPythonsIpaddress) {
  const std::vector<GoldenRow> rows = golden_rows();
  ASSERT_GT(rows.size(), 2000u);
  int networks = 0, unspecified = 0, verbatim = 0;
  for (const GoldenRow& row : rows) {
    std::string network = "untouched";
    const fleet::AddressFeature kind =
        fleet::address_feature(row.text, row.ipv4_prefix, row.ipv6_prefix, &network);
    ASSERT_EQ(kind_name(kind), row.kind)
        << "'" << row.text << "' /" << row.ipv4_prefix << " /" << row.ipv6_prefix;
    if (kind == fleet::AddressFeature::network) {
      EXPECT_EQ(network, row.network) << "'" << row.text << "'";
      ++networks;
    } else {
      EXPECT_EQ(network, "untouched") << "'" << row.text << "'";
      (kind == fleet::AddressFeature::unspecified ? unspecified : verbatim) += 1;
    }
  }
  // The fixture exercises every outcome, not only the common one.
  EXPECT_GT(networks, 1000);
  EXPECT_GT(unspecified, 50);
  EXPECT_GT(verbatim, 300);
}

TEST(IpNetwork, HostileTextIsNotAnAddress) {
  std::string network;
  const std::string long_colons(100000, ':');
  EXPECT_EQ(fleet::address_feature(long_colons, 24, 64, &network), fleet::AddressFeature::verbatim);
  EXPECT_EQ(fleet::address_feature(std::string("1.2.3.4\0", 8), 24, 64, &network),
            fleet::AddressFeature::verbatim);
  EXPECT_EQ(fleet::address_feature("::1.2.3.4.5", 24, 64, &network),
            fleet::AddressFeature::verbatim);
  EXPECT_EQ(fleet::address_feature("9999999999.1.1.1", 24, 64, &network),
            fleet::AddressFeature::verbatim);
}

std::vector<EventRecord> read_sockets(const std::vector<std::string>& addresses) {
  std::string text;
  for (const std::string& a : addresses) {
    text += "{\"name\":\"process_open_sockets\",\"hostIdentifier\":\"h\",\"columns\":"
            "{\"remote_address\":\"" + a + "\",\"remote_port\":\"0\"},\"action\":\"added\"}\n";
  }
  std::istringstream in(text);
  std::vector<EventRecord> out;
  read_events_osquery(in, collect_events(out));
  return out;
}

TEST(IpNetwork, TheDefaultRuleMakesNetworksOfBothFamilies) {
  const auto ev = read_sockets({"2001:DB8:0:1:ffff::9", "::ffff:198.51.100.23", "0000::",
                                "::ffff:0.0.0.0", "fe80::1%eth0", "not-an-address"});
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0], EventRecord("h", "net.remote_net", "2001:db8:0:1::/64", 1.0));
  EXPECT_EQ(ev[1], EventRecord("h", "net.remote_net", "198.51.100.0/24", 1.0));  // dual stack
  EXPECT_EQ(ev[2], EventRecord("h", "net.remote_net", "fe80::/64", 1.0));
  EXPECT_EQ(ev[3], EventRecord("h", "net.remote_net", "not-an-address", 1.0));
}

// The evented socket tables map as process_open_sockets does.
TEST(IpNetwork, TheEventedSocketTablesMapAsOpenSocketsDo) {
  for (const std::string table : {"socket_events", "bpf_socket_events"}) {
    std::istringstream in("{\"name\":\"pack/net/" + table +
                          "\",\"hostIdentifier\":\"h\",\"columns\":{\"remote_address\":"
                          "\"::ffff:203.0.113.9\",\"remote_port\":\"4444\"},"
                          "\"action\":\"added\"}\n");
    std::vector<EventRecord> ev;
    read_events_osquery(in, collect_events(ev));
    ASSERT_EQ(ev.size(), 2u) << table;
    EXPECT_EQ(ev[0], EventRecord("h", "net.remote", "4444", 1.0));
    EXPECT_EQ(ev[1], EventRecord("h", "net.remote_net", "203.0.113.0/24", 1.0));
  }
}

TEST(IpNetwork, ARuleOutsideThePrefixRangesIsRefused) {
  for (const auto& [p4, p6] : {std::pair{33, 0}, std::pair{-1, 0}, std::pair{24, 129}}) {
    EventReadOptions options;
    options.osquery.rules = {{"s", "a", "net", p4, {}, p6}};
    std::istringstream in("");
    std::vector<EventRecord> out;
    EXPECT_THROW(read_events_osquery(in, collect_events(out), options), Error) << p4 << " " << p6;
  }
}

// A network written as an osquery log reads back as the same network, for
// both families; a feature that is not a network of the rule's prefix is
// written verbatim and reads back unchanged.
TEST(IpNetwork, NetworksRoundTripThroughTheOsqueryWriter) {
  const std::vector<std::string> features = {"10.10.2.0/24", "2001:db8:0:1::/64", "fe80::/64",
                                             "10.10.2.5/24", "2001:db8::/48", "office-vpn"};
  std::ostringstream out;
  {
    EventWriter w(out, EventFormat::osquery);
    for (const std::string& f : features) w.write(Event{"h", "net.remote_net", f, 1});
  }
  std::istringstream in(out.str());
  std::vector<EventRecord> back;
  read_events(in, EventFormat::osquery, collect_events(back));
  ASSERT_EQ(back.size(), features.size());
  for (std::size_t i = 0; i < features.size(); ++i) EXPECT_EQ(back[i].feature, features[i]);
  EXPECT_NE(out.str().find("\"remote_address\":\"2001:db8:0:1::\""), std::string::npos);
}

}  // namespace
}  // namespace stray
