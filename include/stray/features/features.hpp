// stray — events to a feature matrix.
//
// A FeatureBuilder interns entities and (group, feature) pairs as events
// stream in, sums the values of repeated (entity, feature) pairs, and builds
// a CSR matrix [n_entities x n_features] with names kept:
//
//   entity_names[i]    "web-0042"
//   feature_names[j]   "package:lua5.3"  (group ':' feature)
//   feature_groups[j]  "package"
//
// Per-group normalisation of an entity's summed value v of a feature:
//
//   none      v
//   binary    1 (present)
//   fraction  v / (the entity's total over its features of that group)
//   log1p     log(1 + v)
//
// then times the group's weight (default 1; a weight w scales the group's
// share of squared distances by w²) and, when FeatureParams::idf is on, the
// column's inverse document frequency. Sums ≤ 0 count as absent (a
// differential osquery log read with removed rows as -1 nets out this way).
// Fraction totals run over everything the entity has in the group — also
// features the df filters drop and, when applying, features not in the
// vocabulary — so a dropped column never changes the other columns.
//
// Document-frequency filters never drop a rare feature silently; rare
// features are exactly what outliers have:
//   max_df  drops only too-common features (present in more than
//           max_df × n_entities entities). Beware: the *absence* of a
//           pervasive feature (a host without `make` where all have it) is a
//           finding too, and max_df < 1 hides it. Default 1: keep all.
//   min_df  opt-in (default 1: keep all); drops features present in fewer
//           than min_df entities.
// Every dropped feature is listed in FeatureMatrix::dropped with its reason.
//
// Ephemeral ports: in the groups of FeatureParams::port_groups (net.port,
// net.remote), a port from ephemeral_port_min up is the feature
// "ephemeral" (kEphemeralPortFeature) rather than its number. Such ports
// are the client side of connections — a server's inbound peers, Windows'
// dynamic RPC endpoints — drawn at random, so each number is a feature one
// host has once: noise that value rarity and explanations would otherwise
// rank first.
//
// Baselines: a builder fitted on one snapshot yields a FeatureVocabulary;
// `FeatureBuilder(vocabulary)` applies it to another snapshot: same columns
// in the same order, and features the vocabulary never saw are kept aside in
// FeatureMatrix::unseen, per entity — new software on a host is often the
// finding.
//
// Cost: events of one entity arriving together (as the generator and most
// collectors write them) build each row in one pass; interleaved entities
// work too and are merged at build(). Names are hashed once an event by
// add(), once per distinct name of a block by add_block(), which the CSV
// and JSON Lines readers call through sink() (the block's own names
// interned on the thread that parsed it): there the builder does a few
// nanoseconds of work an event on the reading thread.
//
// Thread safety: a FeatureBuilder is used by one thread at a time (one per
// snapshot); vocabularies and matrices are values that any number of
// threads may read. The free functions keep no state.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stray/io/events.hpp"
#include "stray/core/matrix.hpp"

namespace stray {

/// automatic ("auto"): decided when fitting, for every group left to it at
/// once — binary when one of them is a presence list (at least 90% of its
/// values 1: an inventory of packages), so all differences share one scale; fraction
/// when every one has counts (syscalls, log templates, event IDs), where
/// presence barely varies. The fitted vocabulary keeps each group's choice;
/// a group first seen when applying is binary.
enum class Normalization { none, binary, fraction, log1p, automatic };

/// "none" | "binary" | "fraction" | "log1p" | "auto".
const char* to_string(Normalization normalization);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
Normalization parse_normalization(const std::string& name);

/// The feature an ephemeral port becomes (FeatureParams::ephemeral_port_min).
inline constexpr std::string_view kEphemeralPortFeature = "ephemeral";

struct FeatureParams {
  /// Normalisation of every group not named in `group_normalization`.
  Normalization normalization = Normalization::fraction;
  /// Per-group normalisation, e.g. {"package", binary}, {"process", log1p}.
  std::map<std::string, Normalization, std::less<>> group_normalization;
  /// Per-group weights (finite, ≥ 0; default 1).
  std::map<std::string, double, std::less<>> group_weights;
  /// Fitting only: a group named in group_normalization or group_weights
  /// that no event has is an ErrorCode::invalid_argument naming the groups
  /// present (a typo such as "packages" for "package" would otherwise be
  /// ignored silently). Off by default: a product may configure groups a
  /// given snapshot lacks. Not kept in the model.
  bool require_named_groups = false;
  /// Fitting only: drop features present in more than max_df × n_entities
  /// entities. In (0, 1]; 1 keeps all.
  double max_df = 1.0;
  /// Fitting only, opt-in: drop features present in fewer than min_df
  /// entities. ≥ 1; 1 keeps all.
  int64_t min_df = 1;
  /// Multiply each column by its smoothed inverse document frequency,
  /// ln((1 + n) / (1 + df)) + 1 (scikit-learn's smooth idf), so a feature few
  /// entities have weighs more than one everybody has: a lone `lua5.3`
  /// stands out from optional packages half the fleet has. n and df are the
  /// fitting snapshot's; an unseen feature counts as df = 0. Off by default.
  bool idf = false;
  /// Groups whose features are port numbers, for ephemeral_port_min.
  std::vector<std::string> port_groups = {"net.port", "net.remote"};
  /// In port_groups, a port in [ephemeral_port_min, 65535] (a decimal
  /// number without sign or leading zero) becomes kEphemeralPortFeature;
  /// 0 keeps every port. 32768 covers Linux's ephemeral range
  /// (32768–60999) and RFC 6335's dynamic ports (49152–65535: Windows,
  /// BSD); a service listening above it is folded too — raise it, or set 0,
  /// where such services matter. At most 65535.
  int32_t ephemeral_port_min = 32768;

  Normalization normalization_of(std::string_view group) const;
  double weight_of(std::string_view group) const;
};

enum class DropReason { below_min_df, above_max_df };
/// "below_min_df" | "above_max_df".
const char* to_string(DropReason reason);

struct DroppedFeature {
  std::string name;                // "group:feature"
  int64_t document_frequency = 0;  // entities having it
  DropReason reason = DropReason::above_max_df;
};

/// A feature of an applied snapshot that the vocabulary never saw.
struct UnseenFeature {
  int64_t entity = 0;       // row index
  std::string name;         // "group:feature"
  double value = 0.0;       // summed event value
  double normalized = 0.0;  // after its group's normalisation and weight
};

/// The fitted state a builder applies to later snapshots.
struct FeatureVocabulary {
  FeatureParams params;
  std::vector<std::string> feature_names;   // [n_features] the columns, in order
  std::vector<int64_t> document_frequency;  // [n_features] in the fitting snapshot (needed for idf)
  std::vector<std::string> dropped_names;   // seen when fitting but filtered out
  int64_t n_entities = 0;                   // of the fitting snapshot
};

struct FeatureMatrix {
  /// [n_entities x n_features], normalised and weighted; within a row,
  /// column indices ascend. Only positive values are stored.
  CsrMatrix X;
  std::vector<std::string> entity_names;    // [n_entities] in order of first appearance
  std::vector<std::string> feature_names;   // [n_features] "group:feature", sorted by group, feature
  std::vector<std::string> feature_groups;  // [n_features]
  std::vector<int64_t> document_frequency;  // [n_features] entities of this matrix having it
  /// Fitting: features the df filters removed, by name.
  std::vector<DroppedFeature> dropped;
  /// Applying: features outside the vocabulary, sorted by entity, then name.
  std::vector<UnseenFeature> unseen;
  /// Fitting: the vocabulary to apply to other snapshots; applying: a copy
  /// of the one applied.
  FeatureVocabulary vocabulary;
  int64_t n_events = 0;  // events added

  int64_t n_entities() const { return X.rows; }
  int64_t n_features() const { return X.cols; }
  /// Column of "group:feature", or -1.
  int64_t column(std::string_view name) const;
  /// Row of an entity, or -1.
  int64_t row(std::string_view entity) const;
  /// The unseen features of row `entity` (a slice of `unseen`).
  std::span<const UnseenFeature> unseen_of(int64_t entity) const;
  /// Value at (row, column), 0 when absent.
  float value(int64_t row, int64_t column) const;
};

class FeatureBuilder {
 public:
  /// Fitting: the vocabulary grows with the events.
  explicit FeatureBuilder(FeatureParams params = {});
  /// Applying: columns fixed by a fitted vocabulary (its params apply).
  explicit FeatureBuilder(FeatureVocabulary vocabulary);
  ~FeatureBuilder();
  FeatureBuilder(FeatureBuilder&&) noexcept;
  FeatureBuilder& operator=(FeatureBuilder&&) noexcept;

  /// Adds one event. Throws ErrorCode::invalid_argument for an empty
  /// entity, group or feature or a group containing ':', and
  /// ErrorCode::non_finite_input for a NaN/Inf value.
  void add(const Event& event);
  void add(std::string_view entity, std::string_view group, std::string_view feature,
           double value = 1.0) {
    add(Event{entity, group, feature, value});
  }
  /// Adds a block's events, as add() on each in turn would (the same
  /// errors at the same event), looking each of the block's distinct
  /// names up once instead of once an event.
  void add_block(const EventBlock& block);
  /// Gives `entity` a row even if no event names it (an empty row).
  void add_entity(std::string_view entity);
  /// A sink adding to this builder (which must outlive it; after build(),
  /// take a new one). A block sink (block_sink): the CSV and JSON Lines
  /// readers hand it whole blocks, for add_block().
  EventSink sink();

  bool applying() const;
  int64_t n_entities() const;
  int64_t n_events() const;

  /// Threads for build()'s row normalisation: 0 (the default) takes
  /// OpenMP's count on the calling thread; a host that runs the CPU backend
  /// on T threads (BackendOptions::cpu.threads) passes T here too (fit_fleet
  /// and score_fleet hold their backend's count for all their steps). The
  /// matrix does not depend on it.
  /// Kept across build(). Throws ErrorCode::invalid_argument when negative.
  void set_threads(int threads);
  int threads() const { return threads_; }

  /// Builds the matrix and resets the builder to its initial state.
  FeatureMatrix build();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int threads_ = 0;
};

}  // namespace stray
