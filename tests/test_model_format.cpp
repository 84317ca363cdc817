// The fleet model file's exact bytes (docs/model-format.md): a model saved
// by one stray must be the same file when saved by the next, so the writer
// is pinned to a golden payload, and its output must be exactly the
// compact JSON nlohmann writes (the form the format has always had), also
// where arrays are long enough to be written in several pieces. Saving
// streams to a temporary file: a save that fails half-way leaves neither a
// partial file nor a temporary, and the old destination stays.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "stray/core/error.hpp"
#include "stray/core/version.hpp"
#include "stray/fleet/pipeline.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using stray::testing::TempDir;

// A consistent model (it loads back) with a value of every kind the writer
// meets: names that are not UTF-8 or hold NUL and escapes, a group map with
// such a key (written as pairs), -0.0, denormals, 1e21, a NaN threshold,
// float32 values, PCA, the LOF detector's arrays and value rarity.
FleetModel golden_model() {
  FleetModel m;
  m.n_entities = 4;
  FeatureVocabulary& v = m.vocabulary;
  v.params.normalization = Normalization::binary;
  v.params.group_normalization = {{"net.port", Normalization::log1p},
                                  {"package", Normalization::binary}};
  v.params.group_weights = {{"grp\xff", 0.5}, {"package", 2.0}};
  v.params.max_df = 0.9;
  v.params.min_df = 1;
  v.params.idf = true;
  v.params.port_groups = {"net.port", "dport\xff"};
  v.params.ephemeral_port_min = 49152;
  v.n_entities = 4;
  v.feature_names = {"package:libc6", "package:caf\xc3\xa9", "package:latin1-\xe9",
                     std::string("package:nul\0x", 13), "net.port:esc\x1b[2J\"\\"};
  v.document_frequency = {4, 2, 1, 3, 2};
  v.dropped_names = {"package:rare", "grp\xff:x"};

  m.use_pca = true;
  PcaModel& p = m.pca;
  p.n_samples = 4;
  p.n_features = 5;
  p.n_components = 2;
  p.solver = PcaSolver::covariance;
  p.mean = {0.1, 1.0 / 3.0, 0.0, -0.0, 1e-300};
  p.components = Matrix<double>(2, 5);
  const double comps[] = {1e21, 1e-7, 123456789.125, 0.30000000000000004, 5e-324,
                          -2.5, 1.0, 1e15, 1e16, -1e-5};
  std::copy(std::begin(comps), std::end(comps), p.components.data());
  p.explained_variance = {2.5, 0.5};
  p.explained_variance_ratio = {0.75, 0.15};
  p.singular_values = {2.7386127875258306, 1.224744871391589};
  p.noise_variance = 0.0;
  p.total_variance = 10.0 / 3.0;

  m.kmeans.centers = Matrix<float>(2, 2);
  const float centers[] = {0.1f, -1.5f, 3.14159f, 1e-8f};
  std::copy(std::begin(centers), std::end(centers), m.kmeans.centers.data());
  m.cluster_sizes = {3, 1};
  m.feature_means = Matrix<double>(2, 5, 0.25);
  m.feature_means.data()[3] = 0.75;
  m.feature_sq_means = Matrix<double>(2, 5, 0.125);
  m.feature_scale = {1.0, 0.5, 2.0, 1e-3, 7.0};
  m.reference = {0, 0};
  m.thresholds = {2.25, std::numeric_limits<double>::quiet_NaN()};
  m.score.space = ScoreSpace::standardized;  // as fit_fleet decides it
  m.score.variance_floor = 1e-3;
  m.score.shrinkage = 2.5;
  m.outliers.top_fraction = 0.05;
  m.outliers.small_cluster_size = 1;
  m.explain.mode = ExplainMode::behavior;
  m.explain.top_features = 5;
  m.clustering = Clustering::agglomerative;
  m.linkage = Linkage::average;
  m.detector = Detector::both;
  m.lof.n_neighbors = 2;
  m.lof.offset = -1.5;
  m.lof.reference = Matrix<float>(4, 2);
  const float rows[] = {0.0f, 1.0f, 0.5f, -0.25f, 1.0f / 3.0f, 2.0f, 1e10f, 0.1f};
  std::copy(std::begin(rows), std::end(rows), m.lof.reference.data());
  m.lof.k_distance = {0.5, 0.75, 1.0, 12.5};
  m.lof.lrd = {2.0, 1.3333333333333333, 1.0, 0.08};
  m.calibration.scores = {0.0f, 0.5f, 2.25f, 7.5f};
  m.calibration.lof = {0.875f, 1.0f, 1.25f, 3.5f};
  m.calibration.rarity = {0.5f, 1.25f, 2.0f, 4.75f};
  // Feature 3 has two values, feature 4 none (all four entities at 0).
  m.rarity.n_entities = 4;
  m.rarity.offsets = {0, 1, 2, 3, 5, 5};
  m.rarity.knots = {{1.0f, 4, 0}, {1.0f, 2, 2}, {0.5f, 1, 3}, {0.25f, 1, 1}, {2.0f, 2, 2}};
  return m;
}

// golden_model()'s payload, as the writer has produced it since format
// version 8 (version 7's bytes with the port folding), with @VERSION@ for
// the library version that wrote it.
constexpr const char* kGoldenPayload =
    "{\"format\":\"stray-fleet-model\",\"version\":8,\"library_version\":\"@VERSION@\","
    "\"n_entities\":4,\"features\":{\"normalization\":\"binary\","
    "\"group_normalization\":{\"net.port\":\"log1p\",\"package\":\"binary\"},"
    "\"group_weights\":[[{\"hex\":\"677270ff\"},0.5],[\"package\",2.0]],\"max_df\":0.9,"
    "\"min_df\":1,\"idf\":true,"
    "\"port_groups\":[\"net.port\",{\"hex\":\"64706f7274ff\"}],\"ephemeral_port_min\":49152,"
    "\"n_entities\":4,"
    "\"names\":[\"package:libc6\",\"package:caf\xc3\xa9\","
    "{\"hex\":\"7061636b6167653a6c6174696e312de9\"},"
    "\"package:nul\\u0000x\",\"net.port:esc\\u001b[2J\\\"\\\\\"],"
    "\"document_frequency\":[4,2,1,3,2],\"dropped\":[\"package:rare\",{\"hex\":\"677270ff3a78\"}]},"
    "\"pca\":{\"n_samples\":4,\"n_features\":5,\"n_components\":2,\"solver\":\"covariance\","
    "\"whiten\":false,\"mean\":[0.1,0.3333333333333333,0.0,-0.0,1e-300],"
    "\"components\":[1e+21,1e-07,123456789.125,0.30000000000000004,5e-324,"
    "-2.5,1.0,1e+15,1e+16,-1e-05],"
    "\"explained_variance\":[2.5,0.5],\"explained_variance_ratio\":[0.75,0.15],"
    "\"singular_values\":[2.7386127875258306,1.224744871391589],\"noise_variance\":0.0,"
    "\"total_variance\":3.3333333333333335},\"kmeans\":{\"n_clusters\":2,"
    "\"dimensions\":2,"
    "\"centers\":[0.10000000149011612,-1.5,3.141590118408203,9.99999993922529e-09]},"
    "\"clusters\":{\"sizes\":[3,1],\"reference\":[0,0],\"thresholds\":[2.25,null],"
    "\"feature_means\":[0.25,0.25,0.25,0.75,0.25,0.25,0.25,0.25,0.25,0.25],"
    "\"feature_sq_means\":[0.125,0.125,0.125,0.125,0.125,0.125,0.125,0.125,0.125,0.125],"
    "\"feature_scale\":[1.0,0.5,2.0,0.001,7.0]},\"score\":{\"space\":\"standardized\","
    "\"variance_floor\":0.001,\"shrinkage\":2.5},\"grains\":null,\"outliers\":{\"percentile\":95.0,\"top_n\":0,"
    "\"top_fraction\":0.05,\"small_cluster_size\":1},\"explain\":{\"mode\":\"behavior\","
    "\"top_features\":5},\"clustering\":{\"method\":\"agglomerative\",\"linkage\":\"average\"},"
    "\"detector\":\"both\",\"lof\":{\"n_neighbors\":2,\"offset\":-1.5,\"rows\":4,"
    "\"reference\":[0.0,1.0,0.5,-0.25,0.3333333432674408,2.0,10000000000.0,0.10000000149011612],"
    "\"k_distance\":[0.5,0.75,1.0,12.5],\"lrd\":[2.0,1.3333333333333333,1.0,0.08]},"
    "\"calibration\":{\"scores\":[0.0,0.5,2.25,7.5],\"lof\":[0.875,1.0,1.25,3.5],"
    "\"rarity\":[0.5,1.25,2.0,4.75]},"
    "\"rarity\":{\"entities\":4,\"offsets\":[0,1,2,3,5,5],\"values\":[1.0,1.0,0.5,0.25,2.0],"
    "\"equal\":[4,2,1,1,2],\"below\":[0,2,3,1,2]}}";

uint32_t crc32_of(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (const unsigned char c : bytes) {
    crc ^= c;
    for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

constexpr const char* kGoldenCalibration =
    ",\"calibration\":{\"scores\":[0.0,0.5,2.25,7.5],\"lof\":[0.875,1.0,1.25,3.5]}";
constexpr const char* kGoldenRarity =
    ",\"rarity\":{\"entities\":4,\"offsets\":[0,1,2,3,5,5],\"values\":[1.0,1.0,0.5,0.25,2.0],"
    "\"equal\":[4,2,1,1,2],\"below\":[0,2,3,1,2]}";

constexpr const char* kGoldenPortFolding =
    "\"port_groups\":[\"net.port\",{\"hex\":\"64706f7274ff\"}],\"ephemeral_port_min\":49152,";

// The golden payload as version 7 wrote it: no port folding.
std::string golden_version_seven() {
  const std::string v8 = replaced(kGoldenPayload, "@VERSION@", version_string) + "\n";
  return replaced(replaced(v8, "\"version\":8", "\"version\":7"), kGoldenPortFolding, "");
}

// The golden payload as version 6 wrote it: version 7's but the number.
std::string golden_version_six() {
  return replaced(golden_version_seven(), "\"version\":7", "\"version\":6");
}

// golden_model() as a model of a version before port folding.
FleetModel golden_without_port_folding() {
  FleetModel m = golden_model();
  m.vocabulary.params.port_groups.clear();
  m.vocabulary.params.ephemeral_port_min = 0;
  return m;
}

// The golden payload as version 5 wrote it: no rarity.
std::string golden_version_five() {
  return replaced(replaced(replaced(golden_version_six(), "\"version\":6", "\"version\":5"),
                           kGoldenRarity, ""),
                  ",\"rarity\":[0.5,1.25,2.0,4.75]", "");
}

// The golden payload as version 4 wrote it: no calibration.
std::string golden_version_four() {
  return replaced(replaced(golden_version_five(), "\"version\":5", "\"version\":4"),
                  kGoldenCalibration, "");
}

// golden_model() as a file of a version before rarity: the same without it.
FleetModel golden_without_rarity() {
  FleetModel m = golden_without_port_folding();
  m.rarity = {};
  m.calibration.rarity.clear();
  return m;
}

std::string file_of(const std::string& payload, int version = kFleetModelVersion) {
  char head[96];
  std::snprintf(head, sizeof head, "stray-fleet-model %d %zu %08x\n", version, payload.size(),
                crc32_of(payload));
  return head + payload;
}

std::string written(const FleetModel& m) {
  std::ostringstream os;
  write_fleet_model(os, m);
  return os.str();
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ModelFormat, GoldenBytes) {
  const std::string payload = replaced(kGoldenPayload, "@VERSION@", version_string) + "\n";
  EXPECT_EQ(written(golden_model()), file_of(payload));
  TempDir dir;
  save_fleet_model(golden_model(), dir.file("golden.model"));
  EXPECT_EQ(read_all(dir.file("golden.model")), file_of(payload));
}

TEST(ModelFormat, GoldenModelLoadsBackToTheSameBytes) {
  const std::string bytes = written(golden_model());
  std::istringstream in(bytes);
  EXPECT_EQ(written(read_fleet_model(in)), bytes);
}

std::string load_error(const std::string& bytes) {
  std::istringstream in(bytes);
  try {
    read_fleet_model(in, "m.model");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::parse_error) << e.what();
    return e.what();
  }
  return "no error";
}

// Version 2 had no shrinkage: its files load as shrinkage 0 and are
// otherwise the same model; version 3 must say it.
TEST(ModelFormat, VersionTwoFilesLoadWithoutShrinkage) {
  const std::string v4 = golden_version_four();
  const std::string v3 = replaced(replaced(v4, "\"version\":4", "\"version\":3"),
                                  ",\"grains\":null", "");
  const std::string v2 = replaced(replaced(v3, "\"version\":3", "\"version\":2"),
                                  ",\"shrinkage\":2.5", "");
  ASSERT_NE(v2, v3);
  std::istringstream in(file_of(v2, 2));
  const FleetModel loaded = read_fleet_model(in);
  EXPECT_EQ(loaded.score.shrinkage, 0.0);
  FleetModel expected = golden_without_rarity();
  expected.score.shrinkage = 0.0;
  expected.calibration = {};
  EXPECT_EQ(written(loaded), written(expected));
  EXPECT_NE(load_error(file_of(replaced(v3, ",\"shrinkage\":2.5", ""), 3)).find("shrinkage"),
            std::string::npos);
  EXPECT_NE(load_error(file_of(replaced(v3, "\"shrinkage\":2.5", "\"shrinkage\":-1"), 3))
                .find("shrinkage"),
            std::string::npos);
}

// Version 3 had no grains: its files load without them; version 4 must
// say whether it has any (null or the grains).
TEST(ModelFormat, VersionThreeFilesLoadWithoutGrains) {
  const std::string v4 = golden_version_four();
  const std::string v3 = replaced(replaced(v4, "\"version\":4", "\"version\":3"),
                                  ",\"grains\":null", "");
  std::istringstream in(file_of(v3, 3));
  const FleetModel loaded = read_fleet_model(in);
  EXPECT_TRUE(loaded.grains.empty());
  FleetModel expected = golden_without_rarity();
  expected.calibration = {};
  EXPECT_EQ(written(loaded), written(expected));
  EXPECT_NE(load_error(file_of(replaced(v4, ",\"grains\":null", ""), 4)).find("grains"),
            std::string::npos);
}

// Version 4 had no calibration for detector both: its files load without
// one (ranked as version 4 ranked); version 5 must say (null or the
// calibration), and a calibration must be whole, finite, ascending and
// belong to detector both.
TEST(ModelFormat, VersionFourFilesLoadWithoutCalibration) {
  std::istringstream in(file_of(golden_version_four(), 4));
  const FleetModel loaded = read_fleet_model(in);
  EXPECT_TRUE(loaded.calibration.empty());
  FleetModel expected = golden_without_rarity();
  expected.calibration = {};
  EXPECT_EQ(written(loaded), written(expected));
  const std::string v5 = golden_version_five();
  EXPECT_NE(load_error(file_of(replaced(v5, kGoldenCalibration, ""), 5)).find("calibration"),
            std::string::npos);
  for (const auto& [from, to] :
       {std::pair{"\"lof\":[0.875,1.0,1.25,3.5]", "\"lof\":[0.875,1.0,1.25]"},
        std::pair{"\"scores\":[0.0,0.5,2.25,7.5]", "\"scores\":[0.0,2.25,0.5,7.5]"},
        std::pair{"\"scores\":[0.0,0.5,2.25,7.5]", "\"scores\":[0.0,0.5,2.25,null]"},
        std::pair{"\"scores\":[0.0,0.5,2.25,7.5]", "\"scores\":[0.0,0.5,2.25,1e300]"},
        std::pair{"\"detector\":\"both\"", "\"detector\":\"lof\""},
        std::pair{"\"detector\":\"both\"", "\"detector\":\"auto\""}}) {
    const std::string error = load_error(file_of(replaced(v5, from, to), 5));
    EXPECT_TRUE(error.find("calibration") != std::string::npos ||
                error.find("detector") != std::string::npos)
        << to << ": " << error;
  }
}

// Version 7 had no port folding: its files load with every port kept (the
// vocabulary was fitted so); version 8 must hold it, whole and in range.
TEST(ModelFormat, VersionSevenFilesLoadWithoutPortFolding) {
  std::istringstream in(file_of(golden_version_seven(), 7));
  const FleetModel seven = read_fleet_model(in);
  EXPECT_EQ(seven.vocabulary.params.ephemeral_port_min, 0);
  EXPECT_TRUE(seven.vocabulary.params.port_groups.empty());
  EXPECT_EQ(written(seven), written(golden_without_port_folding()));
  const std::string current = replaced(kGoldenPayload, "@VERSION@", version_string) + "\n";
  EXPECT_NE(load_error(file_of(replaced(current, kGoldenPortFolding, ""))).find("port_groups"),
            std::string::npos);
  EXPECT_NE(load_error(file_of(replaced(current, "\"ephemeral_port_min\":49152",
                                        "\"ephemeral_port_min\":65536")))
                .find("ephemeral_port_min"),
            std::string::npos);
  EXPECT_NE(load_error(file_of(replaced(current, "\"ephemeral_port_min\":49152",
                                        "\"ephemeral_port_min\":-1")))
                .find("ephemeral_port_min"),
            std::string::npos);
  EXPECT_NE(load_error(file_of(replaced(current, "[\"net.port\",{", "[\"net:port\",{")))
                .find("port_groups"),
            std::string::npos);
}

// Version 6 files load as they are (their LOF keeps every baseline row).
// Since version 7 the LOF may keep fewer rows than entities (the distinct
// ones), never more.
TEST(ModelFormat, VersionSixFilesAndDistinctLofRows) {
  std::istringstream in(file_of(golden_version_six(), 6));
  EXPECT_EQ(written(read_fleet_model(in)), written(golden_without_port_folding()));
  const std::string current = replaced(kGoldenPayload, "@VERSION@", version_string) + "\n";
  const std::string three_rows = replaced(
      replaced(replaced(replaced(current, "\"rows\":4,", "\"rows\":3,"),
                        ",10000000000.0,0.10000000149011612]", "]"),
               "\"k_distance\":[0.5,0.75,1.0,12.5]", "\"k_distance\":[0.5,0.75,1.0]"),
      "\"lrd\":[2.0,1.3333333333333333,1.0,0.08]", "\"lrd\":[2.0,1.3333333333333333,1.0]");
  std::istringstream fewer(file_of(three_rows));
  EXPECT_EQ(read_fleet_model(fewer).lof.reference.rows(), 3);
  const std::string five_rows = replaced(
      replaced(replaced(replaced(current, "\"rows\":4,", "\"rows\":5,"),
                        ",10000000000.0,0.10000000149011612]",
                        ",10000000000.0,0.10000000149011612,1.0,2.0]"),
               "\"k_distance\":[0.5,0.75,1.0,12.5]", "\"k_distance\":[0.5,0.75,1.0,12.5,1.0]"),
      "\"lrd\":[2.0,1.3333333333333333,1.0,0.08]", "\"lrd\":[2.0,1.3333333333333333,1.0,0.08,1.0]");
  EXPECT_NE(load_error(file_of(five_rows)).find("lof.rows exceeds n_entities"), std::string::npos);
}

// Version 5 had no value rarity: its files load without it (ranked as
// version 5 ranked); version 6 must say (null or the rarity), and a rarity
// must fit the features and the baseline and come with its calibration.
TEST(ModelFormat, VersionFiveFilesLoadWithoutRarity) {
  std::istringstream in(file_of(golden_version_five(), 5));
  const FleetModel loaded = read_fleet_model(in);
  EXPECT_TRUE(loaded.rarity.empty());
  EXPECT_TRUE(loaded.calibration.rarity.empty());
  EXPECT_EQ(written(loaded), written(golden_without_rarity()));
  const std::string current = replaced(kGoldenPayload, "@VERSION@", version_string) + "\n";
  EXPECT_NE(load_error(file_of(replaced(current, kGoldenRarity, ""))).find("rarity"),
            std::string::npos);
  for (const auto& [from, to] :
       {std::pair{"\"offsets\":[0,1,2,3,5,5]", "\"offsets\":[0,1,2,3,5]"},
        std::pair{"\"offsets\":[0,1,2,3,5,5]", "\"offsets\":[0,9,2,3,5,5]"},
        std::pair{"\"offsets\":[0,1,2,3,5,5]", "\"offsets\":[0,2,1,3,5,5]"},
        std::pair{"\"offsets\":[0,1,2,3,5,5]", "\"offsets\":[0,1,2,3,5,6]"},
        std::pair{"\"values\":[1.0,1.0,0.5,0.25,2.0]", "\"values\":[1.0,1.0,0.5,2.0,0.25]"},
        std::pair{"\"values\":[1.0,1.0,0.5,0.25,2.0]", "\"values\":[1.0,1.0,0.5,0.0,2.0]"},
        std::pair{"\"values\":[1.0,1.0,0.5,0.25,2.0]", "\"values\":[1.0,1.0,0.5,0.25,1e300]"},
        std::pair{"\"equal\":[4,2,1,1,2]", "\"equal\":[5,2,1,1,2]"},
        std::pair{"\"equal\":[4,2,1,1,2]", "\"equal\":[4,2,1,0,2]"},
        std::pair{"\"below\":[0,2,3,1,2]", "\"below\":[0,2,3,1,1]"},
        std::pair{"\"below\":[0,2,3,1,2]", "\"below\":[0,2,3,-1,2]"},
        std::pair{"\"entities\":4,\"offsets\"", "\"entities\":5,\"offsets\""},
        std::pair{"\"rarity\":[0.5,1.25,2.0,4.75]", "\"rarity\":[0.5,1.25,2.0]"},
        std::pair{"\"rarity\":[0.5,1.25,2.0,4.75]", "\"rarity\":[]"}}) {
    const std::string error = load_error(file_of(replaced(current, from, to)));
    EXPECT_NE(error.find("rarity"), std::string::npos) << to << ": " << error;
  }
  // Rarity needs its calibration; without rarity, the calibration has none.
  const std::string bare = replaced(current, ",\"calibration\":{", ",\"calibration\":null,\"x\":{");
  EXPECT_NE(load_error(file_of(bare)).find("calibration"), std::string::npos);
  const std::string stray_rarity = replaced(current, kGoldenRarity, ",\"rarity\":null");
  EXPECT_NE(load_error(file_of(stray_rarity)).find("calibration.rarity"), std::string::npos);
}

// A model with grains round-trips to the same bytes and the same grains;
// grains that do not fit the clustering space are refused, by name.
TEST(ModelFormat, GrainsRoundTripAndAreChecked) {
  FleetModel m = golden_model();
  m.score.grains = {2, 3};
  m.peer_median = 0.75;
  for (const int64_t k : m.score.grains) {
    ScoreGrain g;
    g.centers = Matrix<float>(k, m.kmeans.centers.cols());
    for (int64_t i = 0; i < g.centers.size(); ++i) g.centers.data()[i] = 0.5f * float(i) - 1.0f;
    g.median = 1.5 * double(k);
    m.grains.push_back(std::move(g));
  }
  const std::string bytes = written(m);
  std::istringstream in(bytes);
  const FleetModel back = read_fleet_model(in);
  EXPECT_EQ(back.score.grains, m.score.grains);
  EXPECT_EQ(back.peer_median, 0.75);
  ASSERT_EQ(back.grains.size(), 2u);
  EXPECT_EQ(back.grains[1].median, 4.5);
  EXPECT_TRUE(std::equal(back.grains[1].centers.data(),
                         back.grains[1].centers.data() + back.grains[1].centers.size(),
                         m.grains[1].centers.data()));
  EXPECT_EQ(written(back), bytes);
  const std::string payload = bytes.substr(bytes.find('\n') + 1);
  for (const auto& [from, to, field] :
       {std::tuple{"\"k\":[2,3]", "\"k\":[2,9]", "grains.k"},
        std::tuple{"\"k\":[2,3]", "\"k\":[2,4]", "grains.centers"},
        std::tuple{"\"peer_median\":0.75", "\"peer_median\":0.0", "grains.peer_median"},
        std::tuple{"\"dimensions\":2,\"k\"", "\"dimensions\":3,\"k\"", "grains.dimensions"}}) {
    const std::string e = load_error(file_of(replaced(payload, from, to)));
    EXPECT_NE(e.find(field), std::string::npos) << from << " -> " << to << ": " << e;
  }
}

// The loader parses the payload as it reads it, yet judges a file in the
// documented order: length, trailing bytes, CRC, and only then the JSON.
TEST(ModelFormat, LoaderChecksLengthAndCrcBeforeTheJson) {
  const std::string bytes = written(golden_model());
  const std::size_t start = bytes.find('\n') + 1;
  std::string not_json = bytes;
  not_json[start + 1] = '#';  // breaks the JSON and the CRC
  EXPECT_NE(load_error(not_json).find("CRC-32"), std::string::npos);
  EXPECT_NE(load_error(not_json.substr(0, start + 40)).find("truncated"), std::string::npos);
  EXPECT_NE(load_error(not_json + "x").find("unexpected data"), std::string::npos);
  const std::string payload = bytes.substr(start);
  const std::string broken = replaced(payload, "{", "{#");
  EXPECT_NE(load_error(file_of(broken)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(load_error(file_of(payload + "{}")).find("not valid JSON"), std::string::npos);
  EXPECT_NE(load_error(file_of("")).find("not valid JSON"), std::string::npos);
}

// A model whose arrays and group maps are much longer than the writer's
// pieces, with a name that is not UTF-8 among them (the maps then become
// [name, value] pairs).
FleetModel wide_model(int64_t d, int64_t n) {
  FleetModel m = golden_model();
  m.n_entities = n;
  FeatureVocabulary& v = m.vocabulary;
  v.n_entities = n;
  v.feature_names.clear();
  v.document_frequency.clear();
  for (int64_t i = 0; i < d; ++i) {
    v.feature_names.push_back("package:f" + std::to_string(i) + (i % 997 == 5 ? "\xfe" : ""));
    v.document_frequency.push_back(1 + i % n);
    if (i % 3 == 0) v.dropped_names.push_back("process:p" + std::to_string(i));
  }
  for (int64_t g = 0; g < 5000; ++g) {
    v.params.group_normalization["g" + std::to_string(g)] = Normalization::log1p;
    v.params.group_weights["g" + std::to_string(g)] = 1.0 + static_cast<double>(g) / 7.0;
  }
  const auto value = [](int64_t i) { return std::sin(static_cast<double>(i)) * 1e3; };
  PcaModel& p = m.pca;
  p.n_samples = n;
  p.n_features = d;
  p.mean.resize(static_cast<std::size_t>(d));
  for (int64_t i = 0; i < d; ++i) p.mean[static_cast<std::size_t>(i)] = value(i);
  p.components = Matrix<double>(2, d);
  for (int64_t i = 0; i < 2 * d; ++i) p.components.data()[i] = value(i + 1) / 1e6;
  m.cluster_sizes = {n - 1, 1};
  m.feature_means = Matrix<double>(2, d, 1.0 / 3.0);
  m.feature_sq_means = Matrix<double>(2, d, 0.1);
  m.feature_scale.assign(static_cast<std::size_t>(d), 0.7);
  m.lof.reference = Matrix<float>(n, 2);
  for (int64_t i = 0; i < 2 * n; ++i) m.lof.reference.data()[i] = static_cast<float>(value(i));
  m.lof.k_distance.assign(static_cast<std::size_t>(n), 0.5);
  m.lof.lrd.assign(static_cast<std::size_t>(n), 2.0);
  m.calibration.scores.resize(static_cast<std::size_t>(n));
  m.calibration.lof.resize(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    m.calibration.scores[static_cast<std::size_t>(i)] = static_cast<float>(i) / 3.0f;
    m.calibration.lof[static_cast<std::size_t>(i)] = 1.0f + static_cast<float>(i) / 7.0f;
  }
  m.calibration.rarity = m.calibration.lof;
  // Every feature with one value, held by 1 to n of the entities.
  m.rarity.n_entities = n;
  m.rarity.offsets.assign(1, 0);
  m.rarity.knots.clear();
  for (int64_t i = 0; i < d; ++i) {
    const int64_t having = 1 + i % n;
    m.rarity.knots.push_back({0.5f + static_cast<float>(i % 5), having, n - having});
    m.rarity.offsets.push_back(i + 1);
  }
  return m;
}

TEST(ModelFormat, LongArraysAreTheCompactJsonOfTheWholePayload) {
  const FleetModel m = wide_model(20000, 9000);
  const std::string bytes = written(m);
  const std::string payload = bytes.substr(bytes.find('\n') + 1);
  EXPECT_EQ(bytes, file_of(payload));
  EXPECT_EQ(payload, nlohmann::ordered_json::parse(payload).dump() + "\n");
  TempDir dir;
  save_fleet_model(m, dir.file("wide.model"));
  EXPECT_EQ(read_all(dir.file("wide.model")), bytes);
  const FleetModel back = load_fleet_model(dir.file("wide.model"));
  EXPECT_EQ(back.vocabulary.feature_names, m.vocabulary.feature_names);
  EXPECT_EQ(written(back), bytes);
}

// The file size limit makes the write fail half-way through the payload,
// in a child process so the limit stays there.
TEST(ModelFormat, SaveFailingHalfWayLeavesTheOldFileAndNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("m.model");
  std::ofstream(path) << "the old model";
  const FleetModel m = wide_model(20000, 100);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const rlimit limit{64 * 1024, 64 * 1024};
    std::signal(SIGXFSZ, SIG_IGN);
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(3);
    try {
      save_fleet_model(m, path);
    } catch (const Error& e) {
      ::_exit(e.code() == ErrorCode::io_error ? 0 : 1);
    }
    ::_exit(2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: another error, 2: no error, 3: no limit";
  EXPECT_EQ(read_all(path), "the old model");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "m.model");
  }
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace stray
