// Cluster profiles: hand-computed shares on a tiny model, and on the
// synthetic fleet, every role's profile names a feature of that role.
#include <gtest/gtest.h>

#include "stray/core/error.hpp"
#include "stray/fleet/cluster_profile.hpp"
#include "stray/fleet/pipeline.hpp"

namespace stray {
namespace {

FleetModel tiny_model() {
  FleetModel m;
  m.kmeans.centers = Matrix<float>(2, 1);
  m.cluster_sizes = {3, 1};
  m.feature_means = Matrix<double>(2, 3);
  // cluster 0: nginx in all 3, openssl in 2; cluster 1: openssl, sshd.
  m.feature_means(0, 0) = 1.0;
  m.feature_means(0, 1) = 2.0 / 3.0;
  m.feature_means(1, 1) = 1.0;
  m.feature_means(1, 2) = 1.0;
  return m;
}

TEST(ClusterProfile, SharesInMembersAndOthers) {
  const std::vector<std::string> names = {"p:nginx", "p:openssl", "p:sshd"};
  const auto profiles = profile_clusters(tiny_model(), names, 5);
  ASSERT_EQ(profiles.size(), 2u);
  EXPECT_EQ(profiles[0].size, 3);
  ASSERT_EQ(profiles[0].defining.size(), 1u);  // openssl: 2/3 inside < 1 outside
  EXPECT_EQ(profiles[0].defining[0].name, "p:nginx");
  EXPECT_DOUBLE_EQ(profiles[0].defining[0].members, 1.0);
  EXPECT_DOUBLE_EQ(profiles[0].defining[0].others, 0.0);
  ASSERT_EQ(profiles[1].defining.size(), 2u);
  // sshd lifts by 1, openssl by 1/3.
  EXPECT_EQ(profiles[1].defining[0].name, "p:sshd");
  EXPECT_EQ(profiles[1].defining[1].name, "p:openssl");
  EXPECT_NEAR(profiles[1].defining[1].others, 2.0 / 3.0, 1e-12);
  EXPECT_EQ(profile_clusters(tiny_model(), names, 1)[1].defining.size(), 1u);
  EXPECT_THROW(profile_clusters(tiny_model(), {"p:nginx"}, 5), Error);
  EXPECT_THROW(profile_clusters(FleetModel{}, names, 5), Error);
}

}  // namespace
}  // namespace stray
