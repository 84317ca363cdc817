// Fleet model files against hostile content: names of any bytes round-trip
// (not UTF-8, NUL, terminal escapes), and crafted payloads with a valid
// CRC are parse errors naming the field, never overflows or wild
// conversions (the sanitizer build checks the "never").
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "stray/core/error.hpp"
#include "stray/fleet/pipeline.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using stray::testing::TempDir;

// Names a compromised host could report.
const std::vector<std::string>& odd_names() {
  static const std::vector<std::string> names = {
      std::string("nul\0byte", 8), "latin1-\xe9t\xe9", "esc\x1b[2J\x1b]0;title\x07",
      "overlong-\xc0\xaf", "surrogate-\xed\xa0\x80", "quote\"back\\slash", "caf\xc3\xa9",
  };
  return names;
}

// Two roles of 20 hosts; every odd name is a package of the first role.
EventSource fleet_with_odd_names() {
  return [](const EventSink& sink) {
    for (int h = 0; h < 40; ++h) {
      const std::string host = (h < 20 ? "web-" : "db-") + std::to_string(h);
      const std::vector<std::string> common = {"libc6", "openssl", h < 20 ? "nginx" : "postgres"};
      for (const std::string& f : common) sink(Event{host, "package", f, 1.0});
      if (h < 20) {
        for (const std::string& f : odd_names()) sink(Event{host, "package", f, 1.0});
      }
      if (h % 7 == 0) sink(Event{host, "grp\xff", "x", 1.0});
    }
  };
}

FleetModel small_model() {
  auto backend = make_backend("cpu");
  FleetPipelineParams params;
  params.pca.n_components = 0;
  params.kmeans.n_clusters = 2;
  params.kmeans.seed = 3;
  params.features.group_weights["grp\xff"] = 0.5;
  return fit_fleet(*backend, params, fleet_with_odd_names()).model;
}

uint32_t crc32_of(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (const unsigned char c : bytes) {
    crc ^= c;
    for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

std::string with_payload(const std::string& payload) {
  char head[96];
  std::snprintf(head, sizeof head, "stray-fleet-model %d %zu %08x\n", kFleetModelVersion,
                payload.size(), crc32_of(payload));
  return std::string(head) + payload;
}

std::string payload_of(const FleetModel& m) {
  std::ostringstream os;
  write_fleet_model(os, m);
  const std::string bytes = os.str();
  return bytes.substr(bytes.find('\n') + 1);
}

// The payload with the value at `pointer` (e.g. "/clusters/sizes") replaced
// by the JSON text `value`.
std::string with_value(const std::string& payload, const std::string& pointer,
                       const std::string& value) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(payload);
  j[nlohmann::ordered_json::json_pointer(pointer)] = nlohmann::ordered_json::parse(value);
  return j.dump() + "\n";
}

Error load_error(const std::string& bytes) {
  std::istringstream in(bytes);
  try {
    read_fleet_model(in, "crafted.model");
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(ErrorCode::invalid_argument, "none");
}

TEST(HostileModel, NamesOfAnyBytesRoundTrip) {
  const FleetModel m = small_model();
  for (const std::string& name : odd_names()) {
    EXPECT_NE(std::find(m.vocabulary.feature_names.begin(), m.vocabulary.feature_names.end(),
                        "package:" + name),
              m.vocabulary.feature_names.end());
  }
  TempDir dir;
  const std::string path = dir.file("odd.model");
  save_fleet_model(m, path);
  const FleetModel back = load_fleet_model(path);
  EXPECT_EQ(back.vocabulary.feature_names, m.vocabulary.feature_names);
  EXPECT_EQ(back.vocabulary.dropped_names, m.vocabulary.dropped_names);
  EXPECT_EQ(back.vocabulary.params.group_weights, m.vocabulary.params.group_weights);
  ASSERT_EQ(back.vocabulary.params.group_weights.count("grp\xff"), 1u);
  // The payload is JSON any parser reads, and saving again gives the same bytes.
  const std::string payload = payload_of(back);
  EXPECT_TRUE(nlohmann::json::accept(payload));
  EXPECT_EQ(payload, payload_of(m));
  // Valid UTF-8 names stay plain strings; the others are written as hex.
  EXPECT_NE(payload.find("\"package:caf\xc3\xa9\""), std::string::npos);
  EXPECT_NE(payload.find("{\"hex\":\"7061636b6167653a6c6174696e312de974e9\"}"), std::string::npos);
}

TEST(HostileModel, MalformedHexNamesAreParseErrors) {
  const std::string payload = payload_of(small_model());
  for (const std::string bad : {"{\"hex\":\"7\"}", "{\"hex\":\"zz\"}", "{\"hex\":1}", "{}", "3"}) {
    const std::string names = with_value(payload, "/features/names", "[" + bad + "]");
    const Error e = load_error(with_payload(names));
    EXPECT_EQ(e.code(), ErrorCode::parse_error);
    EXPECT_NE(std::string(e.what()).find("features.names"), std::string::npos) << e.what();
  }
}

// Cluster sizes summing past INT64_MAX once overflowed the reader's sum.
TEST(HostileModel, ClusterSizesCannotOverflow) {
  const std::string payload = payload_of(small_model());
  for (const std::string sizes :
       {"[9223372036854775807,9223372036854775807]", "[40,9223372036854775807]", "[-1,41]",
        "[18446744073709551615,1]", "[1e300,1]", "[20.5,19.5]"}) {
    const Error e = load_error(with_payload(with_value(payload, "/clusters/sizes", sizes)));
    EXPECT_EQ(e.code(), ErrorCode::parse_error);
    EXPECT_NE(std::string(e.what()).find("clusters.sizes"), std::string::npos) << e.what();
  }
}

// Integers are taken only when they are integers of the field's range: a
// double far outside int32 was converted (undefined behaviour).
TEST(HostileModel, IntegerFieldsRejectNumbersOutsideTheirRange) {
  const std::string payload = payload_of(small_model());
  for (const std::string reference : {"[1e300,0]", "[4294967296,0]", "[-2147483649,0]", "[0.5,1]",
                                      "[\"0\",1]"}) {
    const Error e = load_error(with_payload(with_value(payload, "/clusters/reference", reference)));
    EXPECT_NE(std::string(e.what()).find("clusters.reference"), std::string::npos) << e.what();
  }
  const Error df = load_error(with_payload(with_value(payload, "/features/document_frequency", "[1e300]")));
  EXPECT_NE(std::string(df.what()).find("features.document_frequency"), std::string::npos)
      << df.what();
}

TEST(HostileModel, HeaderBytesInErrorsAreEscaped) {
  const Error e = load_error("stray-fleet-model 1 x\x1b[31m\r\n{}");
  const std::string what = e.what();
  EXPECT_NE(what.find("malformed header line"), std::string::npos) << what;
  EXPECT_NE(what.find("\\x1b[31m\\x0d"), std::string::npos) << what;
  EXPECT_EQ(what.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace stray
