// The synthetic fleet's second day: day one unchanged, churn, the shifted
// role, drifting hosts and small changes as the ground truth says.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "stray/core/error.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using Features = std::map<std::string, double>;  // "group:feature" -> value
using Hosts = std::map<std::string, Features>;

SyntheticFleetParams fleet(int64_t n, uint64_t seed) {
  SyntheticFleetParams p;
  p.n_entities = n;
  p.seed = seed;
  return p;
}

Hosts by_host(const std::vector<EventRecord>& events) {
  Hosts h;
  for (const auto& e : events) h[e.entity][e.group + ":" + e.feature] += e.value;
  return h;
}

std::vector<EventRecord> day_one(const SyntheticFleetParams& p) {
  std::vector<EventRecord> events;
  generate_synthetic_fleet(p, collect_events(events));
  return events;
}

std::vector<EventRecord> day_two(const SyntheticFleetParams& p, DayTwoTruth* truth) {
  std::vector<EventRecord> events;
  *truth = generate_synthetic_fleet_day_two(p, collect_events(events));
  return events;
}

// FNV-1a over every event's fields, as they stream out.
std::pair<int64_t, uint64_t> day_one_hash(int64_t n, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL;
  int64_t count = 0;
  const auto mix = [&](std::string_view s) {
    for (const unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  generate_synthetic_fleet(fleet(n, seed), [&](const Event& e) {
    mix(e.entity);
    mix(e.group);
    mix(e.feature);
    char value[32];
    std::snprintf(value, sizeof value, "%.17g", e.value);
    mix(value);
    ++count;
  });
  return {count, h};
}

TEST(SyntheticDayTwo, DayOneIsTheFleetItWasBeforeDayTwoExisted) {
  // Hashes taken from the generator before day two was added to it: tests
  // and stored benchmarks rely on day one's events staying the same.
  EXPECT_EQ(day_one_hash(300, 0), std::make_pair(int64_t{56007}, uint64_t{0xaba01cf761e06c2dULL}));
  EXPECT_EQ(day_one_hash(2000, 3), std::make_pair(int64_t{378868}, uint64_t{0x6fd741e7ddacea8cULL}));
}

TEST(SyntheticDayTwo, DeterministicAndNotDayOne) {
  DayTwoTruth a, b;
  const auto e1 = day_two(fleet(400, 5), &a);
  const auto e2 = day_two(fleet(400, 5), &b);
  EXPECT_EQ(e1, e2);
  EXPECT_EQ(a.drifted.size(), b.drifted.size());
  EXPECT_NE(e1, day_one(fleet(400, 5)));
  EXPECT_EQ(a.fleet.n_events, static_cast<int64_t>(e1.size()));
}

TEST(SyntheticDayTwo, ChurnRemovesAndAddsAsManyHosts) {
  for (const uint64_t seed : {0, 1, 2}) {
    const SyntheticFleetParams p = fleet(1000, seed);
    DayTwoTruth t;
    const Hosts one = by_host(day_one(p));
    const Hosts two = by_host(day_two(p, &t));
    EXPECT_GT(t.removed.size(), 20u);  // 5% of 1000, give or take
    EXPECT_LT(t.removed.size(), 90u);
    EXPECT_EQ(t.added.size(), t.removed.size());
    EXPECT_EQ(t.fleet.n_entities, 1000);
    EXPECT_EQ(static_cast<int64_t>(two.size()), 1000);
    int64_t per_role = 0;
    for (const int64_t c : t.fleet.role_counts) per_role += c;
    EXPECT_EQ(per_role, 1000);
    for (const auto& r : t.removed) {
      EXPECT_TRUE(one.count(r)) << r;
      EXPECT_FALSE(two.count(r)) << r;
    }
    for (const auto& a : t.added) {
      EXPECT_FALSE(one.count(a)) << a;
      EXPECT_TRUE(two.count(a)) << a;
    }
    for (const auto& [host, f] : one) {
      const bool removed = std::find(t.removed.begin(), t.removed.end(), host) != t.removed.end();
      EXPECT_EQ(two.count(host) == 0, removed) << host;
    }
  }
}

TEST(SyntheticDayTwo, KeptHostsChangeOnlyAsTheTruthSays) {
  const SyntheticFleetParams p = fleet(1000, 4);
  DayTwoTruth t;
  const Hosts one = by_host(day_one(p));
  const auto events = day_two(p, &t);
  const Hosts two = by_host(events);
  ASSERT_FALSE(t.shifted_role.empty());
  ASSERT_EQ(t.drifted.size(), 3u);
  EXPECT_GT(t.small_changes.size(), 50u);  // 10% of the kept hosts, give or take
  std::set<std::string> drifted, small(t.small_changes.begin(), t.small_changes.end());
  for (const auto& d : t.drifted) {
    drifted.insert(d.entity);
    EXPECT_EQ(std::string(synthetic_entity_role(d.entity)), d.role);
    EXPECT_NE(d.role, d.adopted_role);
    EXPECT_NE(d.role, t.shifted_role);
    EXPECT_FALSE(t.fleet.is_anomalous(d.entity));
  }
  // One event per (host, group, feature), as on day one.
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const auto& e : events) EXPECT_TRUE(seen.emplace(e.entity, e.group, e.feature).second);

  int64_t shifted = 0;
  for (const auto& [host, f2] : two) {
    if (!one.count(host)) continue;
    const Features& f1 = one.at(host);
    if (synthetic_entity_role(host) == t.shifted_role) {
      ++shifted;
      for (const auto& s : t.shift_signature) {
        if (s.sign < 0) EXPECT_FALSE(f2.count(s.name)) << host << " " << s.name;
      }
      EXPECT_TRUE(f2.count("net.remote:4317")) << host;
      EXPECT_TRUE(f2.count("package:libapt-pkg7.0")) << host;
    } else if (drifted.count(host)) {
      for (const auto& [name, v] : f1) {
        if (name.rfind("package:", 0) == 0) EXPECT_TRUE(f2.count(name)) << host << " " << name;
      }
      EXPECT_GE(f2.size(), f1.size() + 8) << host;  // another role's software on top
    } else if (small.count(host)) {
      std::vector<std::string> diff;
      for (const auto& [name, v] : f1) {
        if (!f2.count(name)) diff.push_back(name);
      }
      for (const auto& [name, v] : f2) {
        if (!f1.count(name)) diff.push_back(name);
      }
      ASSERT_EQ(diff.size(), 1u) << host;
      EXPECT_EQ(diff[0].rfind("package:", 0), 0u) << diff[0];
    } else {
      EXPECT_EQ(f1, f2) << host;
    }
  }
  EXPECT_GT(shifted, 10);
}

TEST(SyntheticDayTwo, ParametersChooseWhatChanges) {
  SyntheticFleetParams p = fleet(300, 1);
  p.day_two.shifted_role = "none";
  p.day_two.churn = 0.0;
  p.day_two.drifting_hosts = 0;
  p.day_two.small_changes = 0.0;
  DayTwoTruth t;
  EXPECT_EQ(by_host(day_two(p, &t)), by_host(day_one(p)));  // nothing changes
  EXPECT_TRUE(t.shifted_role.empty());
  EXPECT_TRUE(t.shift_signature.empty());
  EXPECT_TRUE(t.removed.empty() && t.added.empty() && t.drifted.empty());

  p.day_two.shifted_role = "web";
  p.day_two.drifting_hosts = 1000;  // more than there are: every eligible host, once
  day_two(p, &t);
  EXPECT_EQ(t.shifted_role, "web");
  std::set<std::string> unique;
  for (const auto& d : t.drifted) {
    EXPECT_TRUE(unique.insert(d.entity).second);
    EXPECT_NE(d.role, "web");
  }
  EXPECT_GT(t.drifted.size(), 100u);

  const auto bad = [](auto change, const char* fragment) {
    SyntheticFleetParams q = fleet(50, 0);
    change(q.day_two);
    testing::expect_error([&] { generate_synthetic_fleet_day_two(q, [](const Event&) {}); },
                          ErrorCode::invalid_argument, {fragment});
  };
  bad([](SyntheticDayTwoParams& d) { d.churn = 1.5; }, "churn");
  bad([](SyntheticDayTwoParams& d) { d.small_changes = -0.1; }, "small_changes");
  bad([](SyntheticDayTwoParams& d) { d.drifting_hosts = -1; }, "drifting_hosts");
  bad([](SyntheticDayTwoParams& d) { d.shifted_role = "mainframe"; }, "mainframe");
}

TEST(SyntheticDayTwo, TruthJsonCarriesDayTwoAndReadsBackAsAFleet) {
  DayTwoTruth t;
  day_two(fleet(500, 2), &t);
  std::stringstream ss;
  write_day_two_truth_json(ss, t);
  const nlohmann::json j = nlohmann::json::parse(ss.str());
  EXPECT_EQ(j.at("day"), 2);
  EXPECT_EQ(j.at("shifted_role"), t.shifted_role);
  EXPECT_EQ(j.at("removed").size(), t.removed.size());
  EXPECT_EQ(j.at("added").size(), t.added.size());
  ASSERT_EQ(j.at("drifted").size(), t.drifted.size());
  EXPECT_EQ(j.at("drifted")[0].at("adopted_role"), t.drifted[0].adopted_role);
  EXPECT_EQ(j.at("shift_signature").size(), t.shift_signature.size());
  const GroundTruth back = read_ground_truth_json(ss);
  EXPECT_EQ(back.n_entities, t.fleet.n_entities);
  EXPECT_EQ(back.anomalies.size(), t.fleet.anomalies.size());
}

}  // namespace
}  // namespace stray
