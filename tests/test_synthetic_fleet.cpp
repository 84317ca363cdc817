// The synthetic fleet: determinism, host names, anomalies present in the
// ground truth and in the features, and readable in every event format.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "stray/core/error.hpp"
#include "stray/features/features.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"

namespace stray {
namespace {

std::vector<EventRecord> generate(const SyntheticFleetParams& p, GroundTruth* truth = nullptr) {
  std::vector<EventRecord> events;
  const GroundTruth t = generate_synthetic_fleet(p, collect_events(events));
  if (truth != nullptr) *truth = t;
  return events;
}

SyntheticFleetParams fleet(int64_t n, uint64_t seed = 7) {
  SyntheticFleetParams p;
  p.n_entities = n;
  p.seed = seed;
  return p;
}

TEST(SyntheticFleet, SameSeedSameEventsOtherSeedOtherEvents) {
  GroundTruth t1, t2, t3;
  const auto a = generate(fleet(300, 11), &t1);
  const auto b = generate(fleet(300, 11), &t2);
  const auto c = generate(fleet(300, 12), &t3);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(t1.n_events, static_cast<int64_t>(a.size()));
  ASSERT_EQ(t1.anomalies.size(), t2.anomalies.size());
  for (std::size_t k = 0; k < t1.anomalies.size(); ++k) {
    EXPECT_EQ(t1.anomalies[k].entity, t2.anomalies[k].entity);
  }
}

TEST(SyntheticFleet, HostNamesRolesAndEventsPerHost) {
  GroundTruth t;
  const auto events = generate(fleet(2000), &t);
  const std::regex name("(web|javaapi|pyworker|redis|memcached|postgres|mysql|lb|ci)-[0-9]{4}");
  std::map<std::string, int64_t> per_role;
  std::set<std::string> hosts;
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const auto& e : events) {
    if (hosts.insert(e.entity).second) {
      ASSERT_TRUE(std::regex_match(e.entity, name)) << e.entity;
      ++per_role[std::string(synthetic_entity_role(e.entity))];
    }
    // One event per (host, group, feature): counts are already summed.
    EXPECT_TRUE(seen.emplace(e.entity, e.group, e.feature).second)
        << e.entity << " " << e.group << ":" << e.feature;
    EXPECT_GT(e.value, 0.0);
  }
  EXPECT_EQ(static_cast<int64_t>(hosts.size()), 2000);
  ASSERT_EQ(t.roles, synthetic_fleet_roles());
  int64_t total = 0;
  for (std::size_t r = 0; r < t.roles.size(); ++r) {
    EXPECT_EQ(per_role[t.roles[r]], t.role_counts[r]) << t.roles[r];
    EXPECT_GT(t.role_counts[r], 30) << t.roles[r];  // every role present in a fleet this size
    total += t.role_counts[r];
  }
  EXPECT_EQ(total, 2000);
  const double per_host = static_cast<double>(events.size()) / 2000.0;
  EXPECT_GT(per_host, 100.0);
  EXPECT_LT(per_host, 400.0);
  EXPECT_TRUE(hosts.count("web-0000"));
  EXPECT_EQ(synthetic_entity_role("javaapi-0007"), "javaapi");
  EXPECT_EQ(synthetic_entity_role("plainhost"), "plainhost");
}

TEST(SyntheticFleet, AnomaliesInGroundTruthAndInTheFeatures) {
  SyntheticFleetParams p = fleet(3000, 3);
  p.hosts_per_anomaly = 2;
  GroundTruth t;
  FeatureParams fp;
  fp.normalization = Normalization::binary;
  FeatureBuilder builder(fp);
  t = generate_synthetic_fleet(p, builder.sink());
  const FeatureMatrix m = builder.build();
  ASSERT_EQ(m.n_entities(), 3000);
  EXPECT_TRUE(t.not_injected.empty());
  ASSERT_EQ(t.anomalies.size(), 12u);

  std::map<AnomalyKind, std::set<int64_t>> hosts_of;
  std::set<int64_t> anomalous;
  for (const auto& a : t.anomalies) {
    EXPECT_EQ(m.entity_names[static_cast<std::size_t>(a.entity_index)], a.entity);
    EXPECT_EQ(synthetic_entity_role(a.entity), a.role);
    EXPECT_TRUE(t.is_anomalous(a.entity));
    EXPECT_TRUE(anomalous.insert(a.entity_index).second) << "one anomaly per host";
    hosts_of[a.kind].insert(a.entity_index);
    EXPECT_FALSE(a.signature.empty());
  }
  EXPECT_EQ(hosts_of.size(), 6u);
  for (const auto i : hosts_of[AnomalyKind::log4j_callback]) {
    EXPECT_EQ(synthetic_entity_role(m.entity_names[i]), "javaapi");
  }
  for (const auto i : hosts_of[AnomalyKind::unusual_destination]) {
    EXPECT_EQ(synthetic_entity_role(m.entity_names[i]), "ci");
  }

  for (const auto& a : t.anomalies) {
    const auto& same_kind = hosts_of[a.kind];
    for (const auto& s : a.signature) {
      const int64_t col = m.column(s.name);
      ASSERT_GE(col, 0) << s.name;
      int64_t have = 0;
      for (int64_t i = 0; i < m.n_entities(); ++i) have += m.value(i, col) > 0 ? 1 : 0;
      if (s.sign > 0) {
        // Present on this host, and on no host outside this anomaly kind.
        EXPECT_GT(m.value(a.entity_index, col), 0.0f) << a.entity << " " << s.name;
        EXPECT_EQ(have, static_cast<int64_t>(same_kind.size())) << s.name;
      } else {
        // Absent here, where it is pervasive.
        EXPECT_EQ(m.value(a.entity_index, col), 0.0f) << a.entity << " " << s.name;
        EXPECT_GT(have, m.n_entities() * 7 / 10) << s.name;
        EXPECT_EQ(m.value(a.entity_index, m.column("package:libc6")), 1.0f);
      }
    }
  }
}

TEST(SyntheticFleet, NoiseZeroGivesCleanTemplates) {
  SyntheticFleetParams p = fleet(400);
  p.noise = 0.0;
  p.anomalies.clear();
  FeatureBuilder b;
  generate_synthetic_fleet(p, b.sink());
  const FeatureMatrix m = b.build();
  // Every package column is a template one: present on all hosts of a role or none.
  std::map<std::string, std::map<int64_t, int64_t>> count;  // role -> column -> hosts
  std::map<std::string, int64_t> role_size;
  for (int64_t i = 0; i < m.n_entities(); ++i) {
    const std::string role(synthetic_entity_role(m.entity_names[i]));
    ++role_size[role];
    for (int64_t q = m.X.indptr[i]; q < m.X.indptr[i + 1]; ++q) {
      if (m.feature_groups[m.X.indices[q]] == "package") ++count[role][m.X.indices[q]];
    }
  }
  for (const auto& [role, cols] : count) {
    for (const auto& [c, n] : cols) EXPECT_EQ(n, role_size[role]) << role << " " << m.feature_names[c];
  }
  EXPECT_EQ(m.column("package:lua5.3"), -1);
}

TEST(SyntheticFleet, TinyFleetsSkipAnomaliesWithoutEligibleHosts) {
  SyntheticFleetParams p = fleet(3);
  p.role_weights.assign(synthetic_fleet_roles().size(), 0.0);
  p.role_weights[0] = 1.0;  // web only: no java worker, no build runner
  GroundTruth t;
  generate(p, &t);
  EXPECT_EQ(t.role_counts[0], 3);
  std::multiset<AnomalyKind> missing(t.not_injected.begin(), t.not_injected.end());
  EXPECT_EQ(missing.count(AnomalyKind::log4j_callback), 1u);
  EXPECT_EQ(missing.count(AnomalyKind::unusual_destination), 1u);
  EXPECT_EQ(t.anomalies.size(), 3u);  // three hosts, one anomaly each
  EXPECT_EQ(missing.size(), 3u);

  GroundTruth empty;
  EXPECT_TRUE(generate(fleet(0), &empty).empty());
  EXPECT_EQ(empty.not_injected.size(), 6u);
}

TEST(SyntheticFleet, RejectsBadParams) {
  SyntheticFleetParams p = fleet(10);
  p.n_entities = -1;
  EXPECT_THROW(generate(p), Error);
  p = fleet(10);
  p.role_weights = {1.0};
  EXPECT_THROW(generate(p), Error);
  p.role_weights.assign(synthetic_fleet_roles().size(), 0.0);
  EXPECT_THROW(generate(p), Error);
  p = fleet(10);
  p.noise = -1;
  EXPECT_THROW(generate(p), Error);
  EXPECT_THROW(parse_anomaly_kind("rootkit"), Error);
  for (const auto k : all_anomaly_kinds()) EXPECT_EQ(parse_anomaly_kind(to_string(k)), k);
}

TEST(SyntheticFleet, GroundTruthJsonRoundTrip) {
  GroundTruth t;
  generate(fleet(500), &t);
  std::stringstream s;
  write_ground_truth_json(s, t);
  const GroundTruth back = read_ground_truth_json(s);
  EXPECT_EQ(back.n_entities, t.n_entities);
  EXPECT_EQ(back.seed, t.seed);
  EXPECT_EQ(back.roles, t.roles);
  EXPECT_EQ(back.role_counts, t.role_counts);
  EXPECT_EQ(back.n_events, t.n_events);
  ASSERT_EQ(back.anomalies.size(), t.anomalies.size());
  for (std::size_t k = 0; k < t.anomalies.size(); ++k) {
    EXPECT_EQ(back.anomalies[k].entity, t.anomalies[k].entity);
    EXPECT_EQ(back.anomalies[k].entity_index, t.anomalies[k].entity_index);
    EXPECT_EQ(back.anomalies[k].kind, t.anomalies[k].kind);
    ASSERT_EQ(back.anomalies[k].signature.size(), t.anomalies[k].signature.size());
    EXPECT_EQ(back.anomalies[k].signature[0].name, t.anomalies[k].signature[0].name);
    EXPECT_EQ(back.anomalies[k].signature[0].sign, t.anomalies[k].signature[0].sign);
  }
  std::istringstream bad("{\"n_entities\": 1}");
  EXPECT_THROW(read_ground_truth_json(bad), Error);
}

// Written in any format, the fleet reads back into the same matrix.
TEST(SyntheticFleet, EveryFormatReadsBackToTheSameMatrix) {
  const SyntheticFleetParams p = fleet(120, 5);
  FeatureParams fp;
  fp.normalization = Normalization::none;
  FeatureBuilder direct(fp);
  generate_synthetic_fleet(p, direct.sink());
  const FeatureMatrix expected = direct.build();
  for (const EventFormat f : {EventFormat::csv, EventFormat::jsonl, EventFormat::osquery,
                              EventFormat::osquery_snapshot}) {
    std::stringstream s;
    {
      EventWriter w(s, f);
      generate_synthetic_fleet(p, w.sink());
      w.finish();
    }
    FeatureBuilder back(fp);
    read_events(s, f, back.sink());
    const FeatureMatrix got = back.build();
    EXPECT_EQ(got.entity_names, expected.entity_names) << to_string(f);
    EXPECT_EQ(got.feature_names, expected.feature_names) << to_string(f);
    EXPECT_EQ(got.X.indices, expected.X.indices) << to_string(f);
    EXPECT_EQ(got.X.values, expected.X.values) << to_string(f);
  }
}

}  // namespace
}  // namespace stray
