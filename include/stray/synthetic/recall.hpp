// stray — how a fleet pipeline run fared against a synthetic fleet's ground
// truth: which injected anomalies it flagged, and whether each explanation
// leads with the anomaly's signature.
//
// A test and demo harness (docs/pipeline.md, "What found means"): products
// that only run the pipeline need stray/fleet/pipeline.hpp, not this.
//
// Thread safety: evaluate_recall keeps no state and only reads its inputs;
// concurrent calls are safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stray/fleet/pipeline.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"

namespace stray {

/// How one injected anomaly of a synthetic fleet fared.
struct AnomalyRecall {
  InjectedAnomaly anomaly;
  /// Position in FleetResult::findings (highest score first), -1 when not flagged.
  int64_t finding = -1;
  /// The explanation's first feature is one of the anomaly's signature
  /// features, with the signature's sign.
  bool signature_first = false;
  std::string first_feature;     // "" when not flagged or nothing explained
  float first_difference = 0.0f;
};

struct RecallReport {
  std::vector<AnomalyRecall> anomalies;  // in ground-truth order
  int64_t flagged = 0;                   // anomalies among the findings
  int64_t signature_first = 0;           // ... explained by their signature first
  int64_t n_findings = 0;
  bool all_found() const {
    return flagged == static_cast<int64_t>(anomalies.size()) &&
           signature_first == static_cast<int64_t>(anomalies.size());
  }
};

/// Compares the findings with a synthetic fleet's ground truth (entities
/// matched by name).
RecallReport evaluate_recall(const FleetResult& result, const GroundTruth& truth);

}  // namespace stray
