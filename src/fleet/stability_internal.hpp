// Stability across days, the pieces: both days over one vocabulary
// (stability_days.cpp), the per-entity drift (stability_drift.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stray/core/matrix.hpp"
#include "stray/features/features.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/fleet/stability.hpp"

namespace stray::internal {

/// The entities on both days, each day's rows over one set of columns.
struct SharedDays {
  DayOverlap overlap;
  std::vector<std::string> entities;       // [kept] in day-one order
  std::vector<std::string> feature_names;  // [d] "group:feature", by group, then feature
  std::vector<std::string> feature_groups; // [d]
  CsrMatrix day1;                          // [kept x d], row i = entities[i] on day one
  CsrMatrix day2;                          // [kept x d]
  FeatureParams params;                    // how the values were made (events only)
};

/// Reads both days into one FeatureBuilder (so both share normalisation
/// and, with idf, document frequencies over both days) and keeps the
/// entities present on both.
SharedDays shared_days_from_events(const FeatureParams& params, const EventSource& day1,
                                   const EventSource& day2, double min_overlap);
/// Aligns two matrices' columns by name (the union of both) and keeps the
/// entities present on both. Throws ErrorCode::invalid_argument when a
/// matrix names an entity twice or its names do not match its extents.
SharedDays shared_days_from_matrices(const FeatureMatrix& day1, const FeatureMatrix& day2,
                                     double min_overlap);

/// Per-cluster means of a day's rows in the normalised features.
struct ClusterMeans {
  std::vector<int64_t> sizes;  // [k]
  Matrix<double> means;        // [k x d], rows of empty clusters 0
};
ClusterMeans cluster_means(Backend& backend, const CsrMatrix& X, const std::vector<int32_t>& labels,
                           int64_t k);

/// Everything the drift needs, in both spaces.
struct DriftInputs {
  const SharedDays* days = nullptr;
  const Matrix<float>* reduced1 = nullptr;   // [kept x r] the shared space, day one
  const Matrix<float>* reduced2 = nullptr;   // day two
  const std::vector<int32_t>* labels1 = nullptr;
  const std::vector<int32_t>* labels2 = nullptr;
  const std::vector<int32_t>* partner = nullptr;  // [k] day-two partner of each day-one cluster
  int64_t peers = 10;         // StabilityParams::drift_peers
  int64_t peer_sample = 2000; // StabilityParams::drift_peer_sample
  uint64_t seed = 0;
};

/// Every kept entity's drift against its nearest day-one peers, ranked by
/// `space`, the changed features listed for the first `top`
/// (features_per_entity each).
std::vector<EntityDrift> entity_drift(const DriftInputs& in, DriftSpace space, int64_t top,
                                      int64_t features_per_entity);

/// The features that differ between two sorted CSR rows, largest
/// |day2 − day1| first (ties: the name), all of them; counts new, lost and
/// changed.
std::vector<FeatureChange> changed_features(const CsrMatrix& a, const CsrMatrix& b, int64_t row,
                                            const std::vector<std::string>& names,
                                            int64_t* n_new, int64_t* n_lost, int64_t* n_changed);

}  // namespace stray::internal
