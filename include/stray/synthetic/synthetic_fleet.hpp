// stray — a synthetic fleet with injected anomalies and their ground truth.
//
// For demos, tests and benchmarks: servers and containers in roles
// (web/nginx, java API, python workers, redis, memcached, postgres, mysql,
// haproxy load balancers, CI build runners), each role with a base set of
// real Debian package names on top of a shared base system, process launch
// counts (Poisson), listening ports, and outbound connections (remote port
// and remote /24 network). Natural noise: optional packages drawn with
// per-role probabilities, Poisson counts, and version drift (a few hosts on
// another version of a package, e.g. libssl1.1 instead of libssl3).
//
// Entities are named like hosts, `<role>-<index>` with the index counted per
// role and zero-padded to at least four digits (`web-0042`,
// `javaapi-0007`), so the prefix is a label for evaluation
// (synthetic_entity_role).
//
// Injected anomalies (each on hosts of the roles it makes sense for, none
// of which shows the signature naturally):
//
//   unique_package       one host alone has `lua5.3`           package:lua5.3 (+)
//   missing_build_tools  a host without make and g++ where      package:make (-), package:g++ (-),
//                        every peer has them                    package:g++-12 (-),
//                                                               package:build-essential (-)
//   tor                  tor on a server: package, process,     process:tor (+), net.port:9001 (+),
//                        ORPort 9001 and SOCKS 9050 listening   net.port:9050 (+)
//   log4j_callback       a java worker connecting out to an      net.remote:1389 (+),
//                        LDAP callback on port 1389             net.remote_net:198.51.100.0/24 (+)
//   unusual_destination  a build runner talking to a network    net.remote_net:203.0.113.0/24 (+)
//                        no runner talks to
//   crypto_miner         an `xmrig` process and its pool        process:xmrig (+), net.remote:3333 (+)
//                        connection on port 3333
//
// Deterministic: the same params give the same events, in the same order,
// on every run (stray's own random generator; no std:: distributions).
// Streaming: events are generated one entity at a time into a sink, so a
// fleet of millions never exists in memory as events.
//
// Thread safety: the functions keep no state (each generator is seeded per
// call) and call the sink on the calling thread; concurrent calls are safe.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "stray/io/events.hpp"

namespace stray {

enum class AnomalyKind {
  unique_package,
  missing_build_tools,
  tor,
  log4j_callback,
  unusual_destination,
  crypto_miner,
};

/// "unique_package" | "missing_build_tools" | "tor" | "log4j_callback" |
/// "unusual_destination" | "crypto_miner".
const char* to_string(AnomalyKind kind);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
AnomalyKind parse_anomaly_kind(const std::string& name);
/// Every kind, in declaration order.
std::vector<AnomalyKind> all_anomaly_kinds();

/// Role names (also the entity name prefixes), in a fixed order.
std::vector<std::string> synthetic_fleet_roles();

/// What changes overnight, for generate_synthetic_fleet_day_two (day one is
/// generate_synthetic_fleet's fleet, unchanged).
struct SyntheticDayTwoParams {
  /// Share of day one's hosts gone on day two (each drawn with this
  /// probability); as many new hosts join, numbered after their role's last
  /// host. In [0, 1].
  double churn = 0.05;
  /// The role whose hosts all change alike: their image moves to Debian 13
  /// (ten base libraries renamed, libssl3 -> libssl3t64, gcc-12-base ->
  /// gcc-14-base, ...) and they start sending telemetry to an OpenTelemetry
  /// collector (net.remote:4317, net.remote_net:10.40.0.0/24). "" = chosen
  /// from the seed among the roles with hosts; "none" = no role shifts.
  std::string shifted_role;
  /// Hosts that drift on their own: each is repurposed, taking on another
  /// role's packages, processes, listening ports and connections. Chosen
  /// among the hosts kept from day one, outside the shifted role and without
  /// an injected anomaly (fewer when not enough are left). ≥ 0.
  int64_t drifting_hosts = 3;
  /// Share of the other kept hosts with one small change (an optional
  /// package installed or removed), times `noise`. In [0, 1].
  double small_changes = 0.1;
};

struct SyntheticFleetParams {
  int64_t n_entities = 1000;
  uint64_t seed = 0;
  /// Relative share of each role, [synthetic_fleet_roles().size()]; empty =
  /// stray's default mix (web 20%, javaapi 16%, pyworker 14%, ...).
  std::vector<double> role_weights;
  /// Kinds to inject and hosts per kind. A kind is skipped (and listed in
  /// GroundTruth::not_injected) when the fleet has no eligible host left.
  std::vector<AnomalyKind> anomalies = all_anomaly_kinds();
  int64_t hosts_per_anomaly = 1;
  /// Scales the natural noise (optional-package probabilities, drift
  /// rates); 0 gives clean role templates (counts stay Poisson), 1 the default.
  double noise = 1.0;
  /// Day two only (generate_synthetic_fleet_day_two).
  SyntheticDayTwoParams day_two;
};

/// A feature an anomaly shows, with the expected sign of the difference
/// to its peers: +1 the host has it where peers do not, -1 the host lacks
/// it where peers have it.
struct SignatureFeature {
  std::string name;  // "group:feature"
  int sign = +1;
};

struct InjectedAnomaly {
  int64_t entity_index = 0;  // position in the generated order (= FeatureBuilder row)
  std::string entity;        // "javaapi-0007"
  std::string role;          // "javaapi"
  AnomalyKind kind = AnomalyKind::unique_package;
  std::vector<SignatureFeature> signature;
};

struct GroundTruth {
  int64_t n_entities = 0;
  uint64_t seed = 0;
  std::vector<std::string> roles;          // role names, as synthetic_fleet_roles()
  std::vector<int64_t> role_counts;        // [roles.size()] hosts per role
  std::vector<InjectedAnomaly> anomalies;  // sorted by entity_index
  std::vector<AnomalyKind> not_injected;   // kinds without an eligible host (one per missing host)
  int64_t n_events = 0;                    // events generated

  /// True when `entity` carries an injected anomaly.
  bool is_anomalous(std::string_view entity) const;
};

/// Generates the fleet entity by entity into `sink`; returns the ground
/// truth. Throws ErrorCode::invalid_argument for n_entities < 0, a
/// role_weights of the wrong length or with negative / all-zero weights,
/// hosts_per_anomaly < 0 or noise < 0.
GroundTruth generate_synthetic_fleet(const SyntheticFleetParams& params, const EventSink& sink);

/// A host that drifted on its own between the days.
struct DriftedHost {
  std::string entity;
  std::string role;          // its role (and name prefix)
  std::string adopted_role;  // the role whose software it took on
};

/// Ground truth of day two.
struct DayTwoTruth {
  /// Day two's fleet: its hosts, roles and anomalies (an anomalous host of
  /// day one keeps its anomaly; entity_index is the row on day two).
  GroundTruth fleet;
  std::vector<std::string> removed;  // day one's hosts gone, in day-one order
  std::vector<std::string> added;    // hosts new on day two, in day-two order
  std::string shifted_role;          // "" when no role shifted
  /// What each host of the shifted role gains (+1) and loses (-1).
  std::vector<SignatureFeature> shift_signature;
  std::vector<DriftedHost> drifted;  // in day-two order
  /// Kept hosts with one small change (an optional package installed or removed).
  std::vector<std::string> small_changes;
};

/// Generates day two of the fleet generate_synthetic_fleet(params) makes
/// (same seed, same hosts): day one's hosts in their order, less the
/// removed ones, then the added ones. A kept host's events are day one's
/// but for the changes above. Throws ErrorCode::invalid_argument as
/// generate_synthetic_fleet does, and for day_two parameters out of range
/// or an unknown shifted_role.
DayTwoTruth generate_synthetic_fleet_day_two(const SyntheticFleetParams& params,
                                             const EventSink& sink);

/// Day two's truth as JSON: write_ground_truth_json's object with "day": 2
/// and "removed", "added", "shifted_role" (null when none),
/// "shift_signature", "drifted" [{"entity", "role", "adopted_role"}] and
/// "small_changes". read_ground_truth_json reads its fleet part.
void write_day_two_truth_json(std::ostream& out, const DayTwoTruth& truth);

/// The role of a synthetic entity name: the text before its last '-'
/// ("web-0042" -> "web"); the whole name when it has no '-'.
std::string_view synthetic_entity_role(std::string_view entity);

/// Ground truth as JSON (a stable, documented shape for other tools):
/// {"n_entities":..,"seed":..,"roles":{"web":n,..},"anomalies":[{"entity":..,
///  "entity_index":..,"role":..,"kind":..,"signature":[{"feature":..,"sign":1}]}],
///  "not_injected":[..],"n_events":..}
void write_ground_truth_json(std::ostream& out, const GroundTruth& truth);
/// Reads what write_ground_truth_json wrote; throws ErrorCode::parse_error.
GroundTruth read_ground_truth_json(std::istream& in);

}  // namespace stray
