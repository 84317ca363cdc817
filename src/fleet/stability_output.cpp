// Stability across days as JSON, text and CSV.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "stray/fleet/stability.hpp"
#include "stray/report/fleet_report.hpp"

namespace stray {
namespace {

using Json = nlohmann::ordered_json;

const char* change_kind(const FeatureChange& c) {
  return c.day1 == 0.0 ? "new" : c.day2 == 0.0 ? "lost" : "changed";
}

// A non-finite number (none is expected) becomes null, as findings_json does.
Json number(double x) { return std::isfinite(x) ? Json(x) : Json(nullptr); }

Json changes_json(const std::vector<FeatureChange>& changes, bool kind) {
  Json out = Json::array();
  for (const auto& c : changes) {
    Json f;
    f["feature"] = c.name;
    if (kind) f["change"] = change_kind(c);
    f["day1"] = number(c.day1);
    f["day2"] = number(c.day2);
    out.push_back(std::move(f));
  }
  return out;
}

Json pairs_json(const StabilityReport& r) {
  Json out = Json::array();
  for (const auto& p : r.pairs) {
    Json j;
    j["day1"] = p.day1;
    j["day2"] = p.day2;
    j["day1_size"] = p.day1_size;
    j["day2_size"] = p.day2_size;
    j["common"] = p.common;
    j["jaccard"] = number(p.jaccard);
    j["shift"] = number(p.shift);
    j["feature_shift"] = number(p.feature_shift);
    j["features"] = changes_json(p.features, false);
    out.push_back(std::move(j));
  }
  return out;
}

Json drifted_json(const StabilityReport& r) {
  Json out = Json::array();
  for (int64_t t = 0; t < r.top_drift && t < static_cast<int64_t>(r.drift.size()); ++t) {
    const EntityDrift& e = r.drift[static_cast<std::size_t>(t)];
    Json j;
    j["entity"] = e.entity;
    j["day1"] = e.day1;
    j["day2"] = e.day2;
    j["day2_partner"] = e.day2_partner;
    j["changed_cluster"] = e.changed_cluster;
    j["drift"] = number(e.drift);
    j["moved"] = number(e.moved);
    j["reduced_drift"] = number(e.reduced_drift);
    j["reduced_moved"] = number(e.reduced_moved);
    j["new"] = e.n_new;
    j["lost"] = e.n_lost;
    j["changed"] = e.n_changed;
    j["features"] = changes_json(e.features, true);
    out.push_back(std::move(j));
  }
  return out;
}

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

std::string general(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

std::string short_value(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

void write_pairs_text(std::ostream& out, const StabilityReport& r) {
  out << "clusters, day one -> day two (matched on the distance between centres):\n";
  out << "  day1  day2  size1  size2  common  jaccard    shift  feature shift  changed most\n";
  for (const auto& p : r.pairs) {
    char line[160];
    std::snprintf(line, sizeof line, "  %4d  %4d  %5lld  %5lld  %6lld  %7.3f  %7.3f  %13.3f  ",
                  p.day1, p.day2, static_cast<long long>(p.day1_size),
                  static_cast<long long>(p.day2_size), static_cast<long long>(p.common), p.jaccard,
                  p.shift, p.feature_shift);
    out << line;
    for (std::size_t f = 0; f < p.features.size() && f < 2; ++f) {
      const auto& c = p.features[f];
      out << (f ? ", " : "") << display_text(c.name) << ' ' << fixed(c.day1, 2) << " -> "
          << fixed(c.day2, 2);
    }
    out << '\n';
  }
}

void write_moved_text(std::ostream& out, const StabilityReport& r, int64_t max_moved) {
  out << r.moved.size() << (r.moved.size() == 1 ? " entity" : " entities")
      << " changed cluster" << (r.moved.empty() ? ".\n" : ":\n");
  const std::size_t shown =
      max_moved > 0 ? std::min(r.moved.size(), static_cast<std::size_t>(max_moved)) : r.moved.size();
  for (std::size_t i = 0; i < shown; ++i) {
    const MovedEntity& m = r.moved[i];
    out << "  " << display_text(m.entity) << "  cluster " << m.day1 << " -> " << m.day2;
    if (m.day2_partner >= 0) out << " (the match of day one's " << m.day2_partner << ")";
    out << '\n';
  }
  if (shown < r.moved.size()) out << "  ... and " << r.moved.size() - shown << " more\n";
}

void write_drift_text(std::ostream& out, const StabilityReport& r) {
  const char* space = r.drift_space == DriftSpace::features ? "the normalised features"
                                                            : "the shared clustering space";
  out << "drift, the top " << r.top_drift << " of " << r.drift.size()
      << " (movement beyond what its nearest day-one peers did, in " << space << "):\n";
  for (int64_t t = 0; t < r.top_drift && t < static_cast<int64_t>(r.drift.size()); ++t) {
    const EntityDrift& e = r.drift[static_cast<std::size_t>(t)];
    const double key = r.drift_space == DriftSpace::features ? e.drift : e.reduced_drift;
    const double moved = r.drift_space == DriftSpace::features ? e.moved : e.reduced_moved;
    out << "  " << display_text(e.entity) << "  drift " << fixed(key, 3) << " (moved "
        << fixed(moved, 3) << "), cluster " << e.day1 << " -> " << e.day2;
    if (e.changed_cluster) out << " (changed: the match of day one's " << e.day2_partner << ")";
    out << "; " << e.n_new << " new, " << e.n_lost
        << " lost, " << e.n_changed << " changed feature"
        << (e.n_new + e.n_lost + e.n_changed == 1 ? "" : "s") << '\n';
    for (const auto& c : e.features) {
      const char mark = c.day1 == 0.0 ? '+' : c.day2 == 0.0 ? '-' : '~';
      out << "      " << mark << ' ' << display_text(c.name) << "  " << short_value(c.day1)
          << " -> " << short_value(c.day2) << '\n';
    }
  }
}

}  // namespace

std::string stability_json(const StabilityReport& r, int indent) {
  Json j;
  const DayOverlap& o = r.overlap;
  j["day1_entities"] = o.day1_entities;
  j["day2_entities"] = o.day2_entities;
  j["kept"] = o.kept;
  j["dropped"] = {{"day1", o.only_day1.size()},
                  {"day2", o.only_day2.size()},
                  {"only_day1", o.only_day1},
                  {"only_day2", o.only_day2}};
  j["warning"] = o.warning.empty() ? Json(nullptr) : Json(o.warning);
  j["space"] = to_string(r.space);
  j["n_features"] = r.n_features;
  j["n_components"] = r.n_components;
  j["n_clusters"] = r.n_clusters;
  j["k_chosen"] = r.k_chosen;
  Json curve = Json::array();
  for (const auto& c : r.cluster_choice) {
    curve.push_back({{"k", c.k}, {"silhouette", number(c.silhouette)}, {"inertia", number(c.inertia)}});
  }
  j["cluster_choice"] = curve;
  j["rand"] = number(r.rand);
  j["adjusted_rand"] = number(r.adjusted_rand);
  j["adjusted_mutual_info"] = number(r.adjusted_mutual_info);
  j["pairs"] = pairs_json(r);
  Json moved = Json::array();
  for (const auto& m : r.moved) {
    moved.push_back({{"entity", m.entity}, {"day1", m.day1}, {"day2", m.day2},
                     {"day2_partner", m.day2_partner}});
  }
  j["moved"] = moved;
  j["drift_space"] = to_string(r.drift_space);
  j["drifted"] = drifted_json(r);
  j["seconds"] = number(r.seconds);
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

void write_stability_text(std::ostream& out, const StabilityReport& r, int64_t max_moved) {
  const DayOverlap& o = r.overlap;
  out << "stray stability: " << o.kept << " entities on both days (day one " << o.day1_entities
      << ", day two " << o.day2_entities << "; " << o.only_day1.size() << " only on day one, "
      << o.only_day2.size() << " only on day two)\n";
  if (!o.warning.empty()) out << "warning: " << o.warning << '\n';
  out << "space: " << r.n_features << " features over both days, ";
  if (r.n_components > 0) {
    out << "PCA " << r.n_components << " components fitted on "
        << (r.space == StabilitySpace::union_of_days ? "both days" : "day one");
  } else {
    out << "no PCA";
  }
  out << "; k = " << r.n_clusters << (r.k_chosen ? " (chosen on day one)" : "") << '\n';
  out << "agreement between the days: adjusted Rand " << fixed(r.adjusted_rand, 3) << ", Rand "
      << fixed(r.rand, 3) << ", adjusted mutual information " << fixed(r.adjusted_mutual_info, 3)
      << "\n\n";
  write_pairs_text(out, r);
  out << '\n';
  write_moved_text(out, r, max_moved);
  out << '\n';
  write_drift_text(out, r);
}

std::string stability_pairs_csv(const StabilityReport& r) {
  std::ostringstream out;
  out << "day1,day2,day1_size,day2_size,common,jaccard,shift,feature_shift\n";
  for (const auto& p : r.pairs) {
    out << p.day1 << ',' << p.day2 << ',' << p.day1_size << ',' << p.day2_size << ',' << p.common
        << ',' << general(p.jaccard) << ',' << general(p.shift) << ','
        << general(p.feature_shift) << '\n';
  }
  return out.str();
}

std::string stability_moved_csv(const StabilityReport& r) {
  std::ostringstream out;
  out << "entity,day1,day2,day2_partner\n";
  for (const auto& m : r.moved) {
    out << csv_field(m.entity) << ',' << m.day1 << ',' << m.day2 << ',' << m.day2_partner << '\n';
  }
  return out.str();
}

std::string stability_drift_csv(const StabilityReport& r) {
  std::ostringstream out;
  out << "rank,entity,day1,day2,changed_cluster,drift,moved,reduced_drift,reduced_moved,new,lost,"
         "changed\n";
  for (std::size_t t = 0; t < r.drift.size(); ++t) {
    const EntityDrift& e = r.drift[t];
    out << t + 1 << ',' << csv_field(e.entity) << ',' << e.day1 << ',' << e.day2 << ','
        << (e.changed_cluster ? 1 : 0) << ',' << general(e.drift) << ',' << general(e.moved)
        << ',' << general(e.reduced_drift) << ',' << general(e.reduced_moved) << ',' << e.n_new
        << ',' << e.n_lost << ',' << e.n_changed << '\n';
  }
  return out.str();
}

std::string stability_changes_csv(const StabilityReport& r) {
  std::ostringstream out;
  out << "entity,feature,change,day1,day2\n";
  for (int64_t t = 0; t < r.top_drift && t < static_cast<int64_t>(r.drift.size()); ++t) {
    const EntityDrift& e = r.drift[static_cast<std::size_t>(t)];
    for (const auto& c : e.features) {
      out << csv_field(e.entity) << ',' << csv_field(c.name) << ',' << change_kind(c) << ','
          << general(c.day1) << ',' << general(c.day2) << '\n';
    }
  }
  return out.str();
}

}  // namespace stray
