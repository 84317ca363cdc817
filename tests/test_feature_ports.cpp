// Ephemeral ports folded into one feature (FeatureParams::port_groups,
// ephemeral_port_min): which ports fold, in which groups, through
// add() and the block readers alike, and the same when a vocabulary is
// applied to a later snapshot.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "stray/core/error.hpp"
#include "stray/features/features.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

const std::vector<EventRecord> kPorts = {
    {"h1", "net.port", "443"},   {"h1", "net.port", "50000"},  {"h1", "net.port", "60999", 2},
    {"h1", "net.port", "32768"}, {"h1", "net.port", "32767"},  {"h1", "net.port", "65536"},
    {"h1", "net.port", "04443"}, {"h1", "net.port", "+40000"}, {"h1", "net.remote", "51000"},
    {"h1", "process", "50000"},  {"h2", "net.port", "443"},    {"h2", "net.remote", "1389"},
};

FeatureMatrix built(const FeatureParams& params, const std::vector<EventRecord>& events) {
  FeatureBuilder b(params);
  for (const auto& e : events) b.add(e.view());
  return b.build();
}

std::vector<std::string> names_of(const FeatureMatrix& m) { return m.feature_names; }

TEST(FeaturePorts, EphemeralPortsOfPortGroupsBecomeOneFeature) {
  FeatureParams p;
  p.normalization = Normalization::none;
  const FeatureMatrix m = built(p, kPorts);
  EXPECT_EQ(names_of(m), (std::vector<std::string>{
                             "net.port:+40000", "net.port:04443", "net.port:32767",
                             "net.port:443", "net.port:65536", "net.port:ephemeral",
                             "net.remote:1389", "net.remote:ephemeral", "process:50000"}));
  // h1's 50000, 60999 (twice) and 32768 sum into one column.
  const auto col = [&](const std::string& name) {
    for (int64_t j = 0; j < m.n_features(); ++j) {
      if (m.feature_names[static_cast<std::size_t>(j)] == name) return j;
    }
    return int64_t{-1};
  };
  EXPECT_FLOAT_EQ(m.value(0, col("net.port:ephemeral")), 4.0f);
  EXPECT_FLOAT_EQ(m.value(0, col("net.remote:ephemeral")), 1.0f);
  EXPECT_FLOAT_EQ(m.value(1, col("net.port:ephemeral")), 0.0f);
}

TEST(FeaturePorts, TheBoundAndTheGroupsAreTheCallers) {
  FeatureParams off;
  off.ephemeral_port_min = 0;
  EXPECT_EQ(built(off, kPorts).n_features(), 11);  // every port its own feature
  FeatureParams windows;
  windows.ephemeral_port_min = 49152;
  windows.port_groups = {"net.port"};
  const auto names = names_of(built(windows, kPorts));
  EXPECT_NE(std::find(names.begin(), names.end(), "net.port:32768"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "net.remote:51000"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "net.port:ephemeral"), names.end());
}

// The CSV reader hands blocks of interned names (add_block): the same
// matrix as add() an event at a time.
TEST(FeaturePorts, BlocksFoldAsAddDoes) {
  std::string csv = "entity,group,feature,value\n";
  for (const auto& e : kPorts) {
    csv += e.entity + "," + e.group + "," + e.feature + "," + std::to_string(e.value) + "\n";
  }
  FeatureBuilder b;
  std::istringstream in(csv);
  read_events_csv(in, b.sink());
  const FeatureMatrix blocks = b.build();
  const FeatureMatrix one_by_one = built(FeatureParams{}, kPorts);
  EXPECT_EQ(blocks.feature_names, one_by_one.feature_names);
  EXPECT_EQ(blocks.X.values, one_by_one.X.values);
}

TEST(FeaturePorts, AnAppliedVocabularyFoldsTheLaterSnapshot) {
  const FeatureMatrix base = built(FeatureParams{}, kPorts);
  FeatureBuilder apply(base.vocabulary);
  apply.add("h3", "net.port", "55555");  // another ephemeral port: the known column
  apply.add("h3", "net.port", "8080");   // new
  const FeatureMatrix later = apply.build();
  ASSERT_EQ(later.unseen.size(), 1u);
  EXPECT_EQ(later.unseen[0].name, "net.port:8080");
  EXPECT_EQ(later.feature_names, base.feature_names);
}

TEST(FeaturePorts, BadParametersAreRefused) {
  for (const int32_t min : {-1, 65536}) {
    FeatureParams p;
    p.ephemeral_port_min = min;
    EXPECT_THROW(FeatureBuilder{p}, Error) << min;
  }
  for (const char* group : {"", "net:port"}) {
    FeatureParams p;
    p.port_groups = {group};
    EXPECT_THROW(FeatureBuilder{p}, Error) << group;
  }
}

}  // namespace
}  // namespace stray
