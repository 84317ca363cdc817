// Recall of a pipeline run against a synthetic fleet's ground truth.
#include "stray/synthetic/recall.hpp"

#include <utility>

namespace stray {

RecallReport evaluate_recall(const FleetResult& result, const GroundTruth& truth) {
  RecallReport rep;
  rep.n_findings = static_cast<int64_t>(result.findings.size());
  std::vector<int64_t> position(static_cast<std::size_t>(result.features.n_entities()), -1);
  for (std::size_t i = 0; i < result.findings.size(); ++i) {
    position[static_cast<std::size_t>(result.findings[i].entity)] = static_cast<int64_t>(i);
  }
  for (const InjectedAnomaly& a : truth.anomalies) {
    AnomalyRecall ar;
    ar.anomaly = a;
    const int64_t row = result.features.row(a.entity);
    if (row >= 0) ar.finding = position[static_cast<std::size_t>(row)];
    if (ar.finding >= 0) {
      ++rep.flagged;
      const Finding& f = result.findings[static_cast<std::size_t>(ar.finding)];
      if (!f.features.empty()) {
        const FindingFeature& first = f.features.front();
        ar.first_feature = first.name;
        ar.first_difference = first.difference;
        for (const SignatureFeature& s : a.signature) {
          if (s.name == first.name && (s.sign > 0 ? first.difference > 0 : first.difference < 0)) {
            ar.signature_first = true;
          }
        }
      }
      if (ar.signature_first) ++rep.signature_first;
    }
    rep.anomalies.push_back(std::move(ar));
  }
  return rep;
}

}  // namespace stray
