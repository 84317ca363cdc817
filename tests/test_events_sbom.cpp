// SBOMs as events: SPDX 2.x, CycloneDX and syft JSON, hand-written corners
// (tests/fixtures/sbom/{spdx,cyclonedx,syft,bad}) and documents a real tool
// wrote (tests/fixtures/sbom/generated, from make_sbom_fixtures.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "stray/core/error.hpp"
#include "stray/io/events.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return fs::path(STRAY_FIXTURES_DIR) / "sbom" / name; }

std::vector<EventRecord> read_sbom(const std::string& name, const EventReadOptions& options = {},
                                   ReadStats* stats = nullptr) {
  std::vector<EventRecord> out;
  const ReadStats s = read_events_sbom(fixture(name), collect_events(out), options);
  if (stats != nullptr) *stats = s;
  return out;
}

std::vector<EventRecord> read_text(const std::string& text, const EventReadOptions& options = {}) {
  std::istringstream in(text);
  std::vector<EventRecord> out;
  read_events_sbom(in, collect_events(out), options);
  return out;
}

// "group:feature" of every event, sorted; all of `entity`, value 1.
std::vector<std::string> features_of(const std::vector<EventRecord>& ev, const std::string& entity) {
  std::vector<std::string> out;
  for (const auto& e : ev) {
    EXPECT_EQ(e.entity, entity);
    EXPECT_EQ(e.value, 1.0);
    out.push_back(e.group + ":" + e.feature);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::parse_error) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

std::string fixture_error(const std::string& name) {
  return error_of([&] { read_sbom(name); });
}

#define EXPECT_HAS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

TEST(EventsSbom, SpdxPackagesByPurlTypeWithoutTheImageFilesOrRelationships) {
  ReadStats stats;
  const auto ev = read_sbom("spdx/alpine.spdx.json", {}, &stats);
  EXPECT_EQ(features_of(ev, "alpine:3.19"),
            (std::vector<std::string>{"package.apk:busybox", "package.apk:musl",
                                      "package.go-module:golang.org/x/net", "package.os:alpine",
                                      "package.python:requests"}));
  EXPECT_EQ(stats.records, 7);
  EXPECT_EQ(stats.skipped, 2);  // the image itself, a file
  EXPECT_EQ(stats.events, 5);
}

TEST(EventsSbom, EntityFallsBackToTheFileName) {
  const auto ev = read_sbom("spdx/host-without-name.spdx.json");
  EXPECT_EQ(features_of(ev, "host-without-name"), (std::vector<std::string>{"package.deb:bash"}));
  // Or always, when asked.
  EventReadOptions opt;
  opt.sbom_entity_from_file_name = true;
  EXPECT_EQ(read_sbom("spdx/alpine.spdx.json", opt).at(0).entity, "alpine");
  EXPECT_EQ(read_sbom("syft/alpine.syft.json", opt).at(0).entity, "alpine");
  // Standard input or an unnamed stream has no name to fall back to.
  EXPECT_HAS(error_of([] { read_text(R"({"spdxVersion": "SPDX-2.3", "packages": []})"); }),
             "$.name: the document names no entity");
}

TEST(EventsSbom, DuplicatePackagesCountOnceAndVersionsAreAnOption) {
  ReadStats stats;
  const auto ev = read_sbom("spdx/duplicates.spdx.json", {}, &stats);
  EXPECT_EQ(features_of(ev, "dup-host"),
            (std::vector<std::string>{"package.deb:openssl", "package.rpm:openssl"}));
  EXPECT_EQ(stats.records, 4);
  EXPECT_EQ(stats.skipped, 2);
  EventReadOptions opt;
  opt.sbom_versions = true;
  EXPECT_EQ(features_of(read_sbom("spdx/duplicates.spdx.json", opt), "dup-host"),
            (std::vector<std::string>{"package.deb:openssl", "package.rpm:openssl",
                                      "version:openssl@1.1.1", "version:openssl@3.0.11",
                                      "version:openssl@3.0.13"}));
}

TEST(EventsSbom, PurlsWithoutAUsableTypeGiveThePlainPackageGroup) {
  EXPECT_EQ(features_of(read_sbom("spdx/purl-without-type.spdx.json"), "odd-purls"),
            (std::vector<std::string>{"package.python:upper-type", "package:no-refs",
                                      "package:no-slash", "package:no-type", "package:not-a-purl",
                                      "package:odd-type"}));
}

TEST(EventsSbom, EmptyPackageListIsNoEvents) {
  ReadStats stats;
  EXPECT_TRUE(read_sbom("spdx/empty.spdx.json", {}, &stats).empty());
  EXPECT_EQ(stats.records, 0);
  EXPECT_TRUE(read_text(R"({"bomFormat": "CycloneDX", "specVersion": "1.6",
                            "metadata": {"component": {"type": "container", "name": "x"}}})")
                  .empty());
  EXPECT_TRUE(read_text(R"({"artifacts": null, "source": {"name": "x"}})").empty());
}

TEST(EventsSbom, CycloneDxNestedComponentsOsAndGroupings) {
  ReadStats stats;
  const auto ev = read_sbom("cyclonedx/app-image.cdx.json", {}, &stats);
  EXPECT_EQ(features_of(ev, "registry.example/app:1.2"),
            (std::vector<std::string>{"package.deb:libc6", "package.java-archive:log4j-core",
                                      "package.npm:vendored-lib", "package.os:debian",
                                      "package.python:flask", "package.python:werkzeug",
                                      "package:mystery"}));
  EXPECT_EQ(stats.records, 9);
  EXPECT_EQ(stats.skipped, 2);  // the lock file grouping, a file
  EXPECT_EQ(read_sbom("cyclonedx/no-metadata.cdx.json").at(0).entity, "no-metadata");
}

TEST(EventsSbom, SyftTypesSourcesAndDistro) {
  ReadStats stats;
  const auto ev = read_sbom("syft/alpine.syft.json", {}, &stats);
  EXPECT_EQ(features_of(ev, "alpine:3.19"),
            (std::vector<std::string>{"package.apk:busybox", "package.binary:curl",
                                      "package.go-module:github.com/spf13/cobra",
                                      "package.java-archive:guava", "package.os:alpine",
                                      "package.python:click"}));
  EXPECT_EQ(stats.skipped, 1);  // click found twice
  EXPECT_EQ(features_of(read_sbom("syft/old-schema.syft.json"), "nginx:1.22"),
            (std::vector<std::string>{"package.deb:nginx"}));
  EXPECT_EQ(features_of(read_sbom("syft/directory.syft.json"), "/srv/app"),
            (std::vector<std::string>{"package.npm:express"}));
}

TEST(EventsSbom, GeneratedCycloneDxFromCyclonedxPy) {
  EXPECT_EQ(features_of(read_sbom("generated/web-01.cdx.json"), "web-01"),
            (std::vector<std::string>{"package.python:flask", "package.python:gunicorn",
                                      "package.python:jinja2", "package.python:requests"}));
  EXPECT_EQ(features_of(read_sbom("generated/worker-01.cdx.json"), "worker-01"),
            (std::vector<std::string>{"package.python:celery", "package.python:redis",
                                      "package.python:requests"}));
  const auto env = features_of(read_sbom("generated/python-env.cdx.json"), "python-env");
  EXPECT_TRUE(std::count(env.begin(), env.end(), "package.python:cyclonedx-bom") == 1);
  EXPECT_GT(env.size(), 10u);
}

TEST(EventsSbom, ErrorsNameTheFileAndTheJsonPath) {
  EXPECT_HAS(fixture_error("bad/package-name-number.spdx.json"),
             "package-name-number.spdx.json: $.packages[3].name: expected a string, got a number");
  EXPECT_HAS(fixture_error("bad/package-name-missing.spdx.json"), "$.packages[0].name: missing");
  EXPECT_HAS(fixture_error("bad/packages-not-array.spdx.json"),
             "$.packages: expected an array, got an object");
  EXPECT_HAS(fixture_error("bad/purl-not-string.cdx.json"),
             "$.components[0].purl: expected a string, got an array");
  EXPECT_HAS(fixture_error("bad/spdx-3.spdx.json"), "$.spdxVersion: 'SPDX-3.0' is not SPDX 2.x");
  EXPECT_HAS(fixture_error("bad/not-an-sbom.json"),
             "not-an-sbom.json: $: not an SPDX 2.x, CycloneDX or syft JSON document");
  EXPECT_HAS(fixture_error("bad/truncated.cdx.json"), "truncated.cdx.json: invalid JSON:");
  EXPECT_HAS(error_of([] { read_text(R"({"bomFormat": "SPDX", "components": []})"); }),
             "input: $.bomFormat: 'SPDX' is not \"CycloneDX\"");
  EXPECT_HAS(error_of([] { read_text("[1, 2]"); }), "$: expected an object");
  EXPECT_HAS(error_of([] { read_text(""); }), "invalid JSON");
}

TEST(EventsSbom, NonUtf8BytesAreRefusedWithAPrintableMessage) {
  const std::string message = fixture_error("bad/non-utf8.spdx.json");
  EXPECT_HAS(message, "non-utf8.spdx.json: invalid JSON:");
  EXPECT_HAS(message, "UTF-8");
  EXPECT_EQ(message.find('\xff'), std::string::npos);  // escaped, not passed on
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(EventsSbom, DeepNestingIsRefusedBeforeItIsHeld) {
  const int ok_depth = kMaxSbomDepth - 1;
  std::string fine = R"({"bomFormat": "CycloneDX", "metadata": {"component": {"name": "h"}}, "x": )";
  fine += std::string(ok_depth - 1, '[') + std::string(ok_depth - 1, ']') + "}";
  EXPECT_TRUE(read_text(fine).empty());  // dropped key, still parsed
  for (const std::string open : {"[", "{\"a\":"}) {
    std::string deep = R"({"artifacts": )";
    for (int i = 0; i < 100000; ++i) deep += open;
    EXPECT_HAS(error_of([&] { read_text(deep); }),
               "nested deeper than " + std::to_string(kMaxSbomDepth) + " levels");
  }
  // Nested CycloneDX components to the limit: read, not a stack overflow.
  std::string nested = R"({"bomFormat": "CycloneDX", "metadata": {"component": {"name": "h"}}, "components": [)";
  const int levels = (kMaxSbomDepth - 2) / 2;
  for (int i = 0; i < levels; ++i)
    nested += R"({"name": "c)" + std::to_string(i) + R"(", "purl": "pkg:npm/c@1", "components": [)";
  for (int i = 0; i < levels; ++i) nested += "]}";
  nested += "]}";
  EXPECT_EQ(read_text(nested).size(), static_cast<std::size_t>(levels));
}

TEST(EventsSbom, SizeLimit) {
  EventReadOptions opt;
  opt.max_sbom_bytes = 300;
  opt.source_name = "big.cdx.json";
  std::string doc = R"({"bomFormat": "CycloneDX", "components": [)";
  for (int i = 0; i < 20; ++i) {
    if (i > 0) doc += ",";
    doc += R"({"name": "p)" + std::to_string(i) + R"("})";
  }
  doc += "]}";
  ASSERT_GT(doc.size(), 300u);
  EXPECT_HAS(error_of([&] { read_text(doc, opt); }),
             "big.cdx.json: larger than 300 bytes, the SBOM size limit (EventReadOptions::max_sbom_bytes");
  opt.max_sbom_bytes = doc.size();
  EXPECT_EQ(read_text(doc, opt).size(), 20u);
}

// nlohmann-json's filtering parser took 10 minutes on 1.5 million tiny
// packages (it rescans the array after each element); the reader's own
// handler is linear. 400,000 take a fraction of a second; quadratic, over half a minute.
TEST(EventsSbom, LongPackageListsReadInLinearTime) {
  std::string doc = R"({"spdxVersion": "SPDX-2.3", "name": "h", "packages": [)";
  const int n = 400000;
  for (int i = 0; i < n; ++i) doc += i ? R"(,{"name":"a"})" : R"({"name":"a"})";
  doc += "]}";
  const auto start = std::chrono::steady_clock::now();
  std::istringstream in(doc);
  std::vector<EventRecord> ev;
  const ReadStats stats = read_events_sbom(in, collect_events(ev));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(stats.records, n);
  EXPECT_EQ(ev.size(), 1u);
  EXPECT_LT(seconds, 20.0);  // about 0.2 s optimised, 5 s under ASan at -O0
}

TEST(EventsSbom, FormatIsToldByNameAndContent) {
  EXPECT_EQ(parse_event_format("sbom"), EventFormat::sbom);
  EXPECT_EQ(std::string(to_string(EventFormat::sbom)), "sbom");
  EXPECT_EQ(event_format_from_path("a/web.spdx.json"), EventFormat::sbom);
  EXPECT_EQ(event_format_from_path("web.CDX.json.gz"), EventFormat::sbom);
  EXPECT_EQ(event_format_from_path("web.syft.json"), EventFormat::sbom);
  EXPECT_THROW(event_format_from_path("web.json"), Error);  // could be anything: sniffed
  EXPECT_EQ(sniff_event_format("{\n  \"spdxVersion\": \"SPDX-2.3\",\n"), EventFormat::sbom);
  EXPECT_EQ(sniff_event_format("{\n  \"$schema\": \"x\",\n  \"bomFormat\": \"CycloneDX\""),
            EventFormat::sbom);
  EXPECT_EQ(sniff_event_format("{\"artifacts\": ["), EventFormat::sbom);
  EXPECT_EQ(sniff_event_format("{\"entity\": \"h\", \"feature\": \"artifacts\"}"),
            EventFormat::jsonl);
  EventInput input(fixture("bad/not-an-sbom.json"));
  EXPECT_FALSE(input.guess_format().has_value());
  EventInput named(fixture("generated/web-01.cdx.json"));
  EXPECT_EQ(named.guess_format(), EventFormat::sbom);
  // Read through the generic entry point, as the command line does.
  std::vector<EventRecord> ev;
  read_events(fixture("syft/directory.syft.json"), EventFormat::sbom, collect_events(ev));
  EXPECT_EQ(ev.size(), 1u);
  std::ostringstream out;
  EXPECT_THROW(EventWriter(out, EventFormat::sbom), Error);
}

TEST(EventsSbom, ListsTheJsonFilesOfADirectory) {
  testing::TempDir dir;
  for (const char* name : {"b.spdx.json", "a.cdx.json.gz", "c.JSON", "notes.txt", "d.jsonl"}) {
    std::ofstream(dir.file(name)) << "{}";
  }
  fs::create_directory(dir.path() / "sub.json");
  std::vector<std::string> names;
  for (const auto& p : list_sbom_files(dir.path())) names.push_back(p.filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"a.cdx.json.gz", "b.spdx.json", "c.JSON"}));
  try {
    list_sbom_files(dir.path() / "missing");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io_error);
  }
}

}  // namespace
}  // namespace stray
