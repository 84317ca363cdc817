// `stray fleet --sbom`: a directory of SBOMs (SPDX, CycloneDX and syft
// mixed, as a fleet's tools leave them) clustered like any events, and
// broken documents refused in one line naming the file and the JSON path.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "temp_dir.hpp"

#ifdef STRAY_CLI_PATH

namespace stray {
namespace {

using ::stray::testing::lines_of;
using ::stray::testing::run_cli;
using ::stray::testing::slurp;
using ::stray::testing::TempDir;

std::string spdx(const std::string& name, const std::vector<std::string>& debs) {
  std::string out = R"({"spdxVersion": "SPDX-2.3", "name": ")" + name + R"(", "packages": [)";
  for (std::size_t i = 0; i < debs.size(); ++i) {
    out += i ? "," : "";
    out += R"({"name": ")" + debs[i] + R"(", "versionInfo": "1.)" + std::to_string(i) +
           R"(", "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:deb/debian/)" +
           debs[i] + R"(@1"}]})";
  }
  return out + R"(], "relationships": []})";
}

std::string cyclonedx(const std::string& name, const std::vector<std::string>& debs) {
  std::string out = R"({"bomFormat": "CycloneDX", "specVersion": "1.5", "metadata": {"component": )"
                    R"({"type": "container", "name": ")" + name + R"("}}, "components": [)";
  for (std::size_t i = 0; i < debs.size(); ++i) {
    out += i ? "," : "";
    out += R"({"type": "library", "name": ")" + debs[i] + R"(", "purl": "pkg:deb/debian/)" +
           debs[i] + R"(@1"})";
  }
  return out + "]}";
}

class FleetSbom : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir.path() / "sboms");
    const std::vector<std::string> web = {"nginx", "openssl", "libc6", "ca-certificates"};
    const std::vector<std::string> db = {"postgresql-15", "libc6", "openssl", "libpq5", "tzdata"};
    for (int i = 0; i < 12; ++i) {
      std::vector<std::string> w = web, d = db;
      if (i % 3 == 0) w.push_back("curl");
      if (i % 4 == 0) d.push_back("less");
      write("sboms/web-" + std::to_string(i) + ".cdx.json", cyclonedx("web:" + std::to_string(i), w));
      write("sboms/db-" + std::to_string(i) + ".json", spdx("db:" + std::to_string(i), d));
    }
    std::vector<std::string> odd = web;
    odd.insert(odd.end(), {"xmrig", "tor", "netcat-openbsd", "socat"});
    write("odd.spdx.json", spdx("web:odd", odd));
    write("sboms/notes.txt", "not an SBOM: ignored by --sbom DIR");
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir.file(name)) << text;
  }
  // Scores CSV of `stray fleet <args>`.
  std::string scores(const std::string& args) {
    const std::string out = dir.file("scores-" + std::to_string(runs++) + ".csv");
    const auto r = run_cli("fleet " + args + " -k 2 --pca 0 --scores " + out);
    EXPECT_EQ(r.status, 0) << r.err;
    return slurp(out);
  }

  TempDir dir;
  int runs = 0;
};

// The entity with the highest score in a scores CSV (entity,cluster,score,outlier).
std::string top_entity(const std::string& csv) {
  std::istringstream in(csv);
  std::string line, best;
  double best_score = -1;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const auto c1 = line.find(','), c2 = line.find(',', c1 + 1), c3 = line.find(',', c2 + 1);
    const double score = std::stod(line.substr(c2 + 1, c3 - c2 - 1));
    if (score > best_score) {
      best_score = score;
      best = line.substr(0, c1);
    }
  }
  return best;
}

TEST_F(FleetSbom, DirectoryAndFilesOfSbomsAreAFleet) {
  const std::string s = scores("--sbom " + dir.file("sboms") + " --sbom " + dir.file("odd.spdx.json"));
  EXPECT_EQ(lines_of(s), 1 + 25) << s;
  EXPECT_NE(s.find("web:3,"), std::string::npos) << s;  // named by the documents
  EXPECT_NE(s.find("db:11,"), std::string::npos) << s;
  EXPECT_EQ(top_entity(s), "web:odd") << s;
  // The same files through --events, told by their names and first bytes.
  std::string events;
  for (int i = 0; i < 12; ++i) {
    events += " --events " + dir.file("sboms/db-" + std::to_string(i) + ".json");
    events += " --events " + dir.file("sboms/web-" + std::to_string(i) + ".cdx.json");
  }
  EXPECT_EQ(scores(events + " --events " + dir.file("odd.spdx.json")).size(), s.size());
  EXPECT_EQ(scores(events + " --events " + dir.file("odd.spdx.json") + " --format sbom").size(),
            s.size());
}

TEST_F(FleetSbom, EntityFromFileNameAndVersions) {
  const std::string s = scores("--sbom " + dir.file("sboms") + " --sbom-entity file");
  EXPECT_NE(s.find("\nweb-3,"), std::string::npos) << s;
  EXPECT_EQ(s.find("web:3"), std::string::npos) << s;
  const auto r = run_cli("fleet --sbom " + dir.file("sboms") + " --sbom-versions -k 2 --pca 0 --json");
  ASSERT_EQ(r.status, 0) << r.err;
}

TEST_F(FleetSbom, SizeLimitIsAFlag) {
  // A 1.2 MiB document: within the default limit, over a 1 MiB one.
  std::vector<std::string> many;
  for (int i = 0; i < 6000; ++i) many.push_back("package-with-a-long-name-" + std::to_string(i));
  write("big.spdx.json", spdx("big", many));
  ASSERT_GT(std::filesystem::file_size(dir.file("big.spdx.json")), std::size_t{1} << 20);
  const std::string inputs = " --sbom " + dir.file("sboms") + " --sbom " + dir.file("big.spdx.json");
  EXPECT_FALSE(scores(inputs).empty());
  auto r = run_cli("fleet" + inputs + " --sbom-max-mib 1 -k 2");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("big.spdx.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--sbom-max-mib"), std::string::npos) << r.err;
  for (const char* bad : {"0", "-3", "5000", "x"}) {
    r = run_cli("fleet" + inputs + " --sbom-max-mib " + bad);
    EXPECT_NE(r.status, 0) << bad;
    EXPECT_EQ(lines_of(r.err), 1) << bad << ": " << r.err;
  }
}

TEST_F(FleetSbom, ErrorsAreOneLineNamingFileAndPath) {
  write("sboms/zz-broken.spdx.json",
        R"({"spdxVersion": "SPDX-2.3", "name": "b", "packages": [{"name": "a"}, {"name": ["x"]}]})");
  auto r = run_cli("fleet --sbom " + dir.file("sboms") + " -k 2");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(lines_of(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("zz-broken.spdx.json: $.packages[1].name: expected a string"),
            std::string::npos)
      << r.err;

  std::filesystem::create_directories(dir.path() / "empty");
  r = run_cli("fleet --sbom " + dir.file("empty"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("holds no *.json files"), std::string::npos) << r.err;
  r = run_cli("fleet --sbom " + dir.file("odd.spdx.json") + " --events " + dir.file("odd.spdx.json"));
  EXPECT_NE(r.err.find("--events and --sbom exclude each other"), std::string::npos) << r.err;
  r = run_cli("fleet --sbom " + dir.file("odd.spdx.json") + " --format csv");
  EXPECT_NE(r.err.find("--format csv does not apply"), std::string::npos) << r.err;
  r = run_cli("fleet -k 2");
  EXPECT_NE(r.err.find("--events or --sbom is required"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace stray

#endif  // STRAY_CLI_PATH
