// stray — value rarity: how rare each of an entity's feature values is in
// the baseline, feature by feature, summed.
//
// The peers' distance asks "how far from its role"; LOF "how lonely in the
// reduced space". Neither sees an entity whose oddity lies along a few
// original features that PCA discarded and its cluster's variance absorbs:
// a package three hosts of the fleet have, a syscall share no other trace
// reaches, a thyroid value past every patient's. Rarity scores each value
// against the feature's distribution over the whole baseline:
//
//     p_j(x) = min(1, 2 · min(P(X ≤ x), P(X ≥ x)))     (two-sided, mid-p)
//     rarity(entity) = Σ_j −ln p_j(x_j)
//
// P counted on the baseline's n entities as (below + equal/2 + 1) / (n + 1)
// (a conformal mid-p: a value no one has is 1/(n + 1) rare, never 0; ties
// count half, so a value many share is common). Every feature counts, the
// zeros too: lacking what 99% of the fleet has is rare. A feature's term is
// at most ln((n + 1)/2), so no single feature dominates by its units. This
// is the empirical-CDF outlier score of ECOD (Li et al., 2022), two-sided,
// without its skewness choice (docs/pipeline.md, "Value rarity").
//
// Thread safety: pure functions of their arguments; a FeatureRarity is only
// read when scoring, from any number of threads.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "stray/core/matrix.hpp"
#include "stray/features/features.hpp"

namespace stray {

/// One value of a feature's baseline distribution: how many of the
/// baseline's entities have exactly it and how many have less.
struct RarityKnot {
  float value = 0.0f;  // > 0: the zeros are counted by the first knot's `below`
  int64_t equal = 0;
  int64_t below = 0;
};

/// Every feature's distribution over a baseline of n_entities: its
/// positive values with their counts (stored features are positive; the
/// rest are zeros). A feature with more distinct values than the fit's
/// knot budget keeps its lowest and highest values exactly and evenly
/// spaced ones between, where counts are interpolated linearly in value.
struct FeatureRarity {
  int64_t n_entities = 0;
  std::vector<int64_t> offsets{0};  // [d + 1] into knots
  std::vector<RarityKnot> knots;    // per feature, ascending values

  int64_t n_features() const { return static_cast<int64_t>(offsets.size()) - 1; }
  bool empty() const { return n_entities == 0; }
};

/// Knots kept per feature unless asked otherwise: exact for any feature
/// with this many distinct values or fewer (every binary one).
inline constexpr int64_t kRarityKnots = 256;

/// The distributions of X's columns over its rows. max_knots ≥ 8.
/// Throws ErrorCode::invalid_argument for fewer than 1 row or max_knots < 8.
FeatureRarity fit_feature_rarity(const CsrView& X, int64_t max_knots = kRarityKnots);

/// −ln p_j(value) for one feature against the baseline (value ≥ 0), for
/// a rarity as fitted or validated (validate_feature_rarity: this call
/// checks only the feature's index).
double value_rarity(const FeatureRarity& rarity, int64_t feature, double value);

/// The rarity of every row of X (columns: the baseline's features); the
/// rarity is validated first (ErrorCode::invalid_argument if malformed).
/// `unseen` (sorted by entity, as FeatureMatrix::unseen) are features the
/// baseline never had: all zeros there, so each positive one adds
/// ln((n + 1) / 2). O(nnz · log knots + d).
std::vector<double> rarity_scores(const FeatureRarity& rarity, const CsrView& X,
                                  std::span<const UnseenFeature> unseen = {});

/// One feature's term of an entity's rarity: what makes it rare.
struct RareValue {
  int64_t feature = 0;        // column
  double value = 0.0;         // the entity's value (0 where it lacks the feature)
  double cost = 0.0;          // −ln p: the term of the sum
  /// The share of the baseline as far out on the value's side: P(X ≥ x)
  /// above the middle, P(X ≤ x) below it (mid-p, as above). A package 3 of
  /// 1,000 hosts have: about 0.25%; lacking one 999 of them have: 0.15%.
  double fleet_share = 1.0;
};

/// For each of `rows` (rows of X, each in [0, X.rows)), its `top` largest
/// rarity terms, largest first (ties: the lower column), zeros included,
/// terms of 0 left out. O(d + nnz of the row) per row after O(d) once.
std::vector<std::vector<RareValue>> rarest_values(const FeatureRarity& rarity, const CsrView& X,
                                                  std::span<const int64_t> rows, int64_t top);

/// Checks a FeatureRarity's structure (offsets monotone, knots ascending,
/// positive and finite, counts consistent with n_entities); throws
/// ErrorCode::invalid_argument naming `where` otherwise.
void validate_feature_rarity(const FeatureRarity& rarity, int64_t n_features, const char* where);

}  // namespace stray
