// The fleet pipeline's detectors: the centroid rules' outliers, LOF's, or
// both, value rarity beside any of them, and the one score the findings
// are ranked by. The scores live on unrelated scales (a standardized
// distance runs to 10^6, a LOF near 1, a rarity in nats), so each is read
// as the share of the baseline scoring as high, and a finding is as rare
// as the rarest of them says: percentile ranks combined by their maximum
// kept each detector's wins across the quality table where ratios to
// thresholds let the heavier-tailed one decide (bench/RESULTS.md, "LOF
// beside the peers for event telemetry", "Value rarity").
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "fleet/pipeline_internal.hpp"

namespace stray {

double tail_fraction(const std::vector<float>& sorted, double value) {
  const double n = static_cast<double>(sorted.size());
  if (sorted.empty() || std::isnan(value)) return 1.0;
  // Compared at the calibration's precision, so a baseline value meets
  // itself; past float's range (a LOF of extreme raw amounts) as its largest.
  constexpr double kLargest = std::numeric_limits<float>::max();
  const auto v = static_cast<float>(std::clamp(value, -kLargest, kLargest));
  const auto at_or_above = static_cast<double>(
      sorted.end() - std::lower_bound(sorted.begin(), sorted.end(), v));
  const auto above = static_cast<double>(
      sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), v));
  // Ties count half (a mid-p value): counted whole, a group of identical
  // entities shields its members, counted not at all, the baseline's many
  // duplicates at 0 would look rare.
  if (at_or_above > 0.0) return (above + 0.5 * (at_or_above - above) + 1.0) / (n + 1.0);
  const double top = sorted.back(), x = v;
  const double beyond = top > 0.0 ? top / x : 1.0 / (1.0 + x);
  return std::max(beyond / (n + 1.0), std::numeric_limits<double>::min());
}

}  // namespace stray

namespace stray::internal {
namespace {

// Calibrated: 1 / the smallest tail fraction of the scores that ran (the
// distance unless the detector is LOF alone, LOF unless it is the
// centroid, rarity where it is on), and into `ties` the key that orders
// equal scores (ScoreTails::joint), from one reading of each entity.
std::vector<double> calibrated_scores(const FleetModel& model, const std::vector<float>& distances,
                                      const std::vector<double>& lof,
                                      const std::vector<double>& rarity,
                                      std::vector<double>& ties) {
  std::vector<double> out(distances.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const ScoreTails t = score_tails(model, distances[i], lof.empty() ? 0.0 : lof[i],
                                     rarity.empty() ? 0.0 : rarity[i]);
    out[i] = 1.0 / t.smallest;
    ties[i] = t.joint;
  }
  return out;
}

// Detector both without calibration (model files of version 4 and older):
// each score over its own threshold.
std::vector<double> ratio_scores(const std::vector<int32_t>& labels,
                                 const std::vector<float>& distances,
                                 const std::vector<double>& thresholds,
                                 const std::vector<double>& lof, double lof_threshold) {
  std::vector<double> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double d = distance_ratio(distances[i], thresholds[static_cast<std::size_t>(labels[i])]);
    // No percentile threshold for the cluster (an empty one): LOF alone.
    out[i] = std::isnan(d) ? lof[i] / lof_threshold : std::max(d, lof[i] / lof_threshold);
  }
  return out;
}

// Every row's place in the whole fleet: the higher score first, then the
// higher tie key, then the lower row; a NaN score (no score at all) last,
// so the order stays strict.
std::vector<int64_t> ranks_in_fleet(const std::vector<double>& scores,
                                    const std::vector<double>& ties) {
  const auto key = [&](std::size_t i) { return std::isnan(scores[i]) ? -HUGE_VAL : scores[i]; };
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (key(a) != key(b)) return key(a) > key(b);
    return ties[a] > ties[b];
  });
  std::vector<int64_t> rank(scores.size());
  for (std::size_t t = 0; t < order.size(); ++t) rank[order[t]] = static_cast<int64_t>(t);
  return rank;
}

// Every row's place within its cluster, in the fleet's order.
std::vector<int64_t> ranks_within_clusters(const std::vector<int32_t>& labels,
                                           const std::vector<int64_t>& fleet_rank) {
  std::vector<std::size_t> by_rank(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    by_rank[static_cast<std::size_t>(fleet_rank[i])] = i;
  }
  std::vector<int64_t> seen;  // per cluster, members placed so far
  std::vector<int64_t> rank(labels.size());
  for (const std::size_t i : by_rank) {
    const auto c = static_cast<std::size_t>(labels[i]);
    if (c >= seen.size()) seen.resize(c + 1, 0);
    rank[i] = seen[c]++;
  }
  return rank;
}

}  // namespace

ScoreTails score_tails(const FleetModel& model, double distance, double lof, double rarity) {
  const DetectorCalibration& c = model.calibration;
  ScoreTails t;
  const auto add = [&t](double tail) {
    t.smallest = std::min(t.smallest, tail);
    t.joint -= std::log(tail);
  };
  if (model.detector != Detector::lof) add(tail_fraction(c.scores, distance));
  if (model.detector != Detector::centroid) add(tail_fraction(c.lof, lof));
  if (!c.rarity.empty()) add(tail_fraction(c.rarity, rarity));
  return t;
}

double distance_ratio(double distance, double threshold) {
  if (!std::isfinite(threshold)) return std::numeric_limits<double>::quiet_NaN();  // no rule here
  if (threshold > 0.0) return distance / threshold;
  // A zero threshold: most of the cluster is identical. Anything apart from
  // them is past the edge, ordered by its distance.
  return distance > 0.0 ? 1.0 + distance : 0.0;
}

DetectorCalibration calibrate(const std::vector<float>& scores, const std::vector<double>& lof,
                              const std::vector<double>& rarity) {
  // A score past float's range (a distance of extreme raw amounts) would be
  // written as null and refused on loading, and a NaN would break the
  // sort's ordering: both count as the largest value there is.
  const auto finite = [](double v) {
    constexpr float kLargest = std::numeric_limits<float>::max();
    return std::isfinite(v) && v <= kLargest ? static_cast<float>(v) : kLargest;
  };
  DetectorCalibration c;
  c.scores.reserve(scores.size());
  c.lof.reserve(lof.size());
  c.rarity.reserve(rarity.size());
  for (const float v : scores) c.scores.push_back(finite(v));
  for (const double v : lof) c.lof.push_back(finite(v));
  for (const double v : rarity) c.rarity.push_back(finite(v));
  std::sort(c.scores.begin(), c.scores.end());
  std::sort(c.lof.begin(), c.lof.end());
  std::sort(c.rarity.begin(), c.rarity.end());
  return c;
}

void apply_detector(const FleetModel& model, const std::vector<int32_t>& labels,
                    const std::vector<float>& distances, const std::vector<double>& lof,
                    const std::vector<double>& rarity, OutlierResult& outliers,
                    std::vector<double>& outlier_scores, std::vector<int64_t>& fleet_rank) {
  const bool calibrated = !model.calibration.empty();
  if (model.detector == Detector::centroid && !calibrated) {
    outlier_scores.assign(distances.begin(), distances.end());
    fleet_rank = ranks_in_fleet(outlier_scores, std::vector<double>(labels.size(), 0.0));
    return;
  }
  const double lof_threshold = -model.lof.offset;
  const bool rules_flag = model.detector != Detector::lof;
  const bool lof_flags = model.detector != Detector::centroid;
  // Ties (on a fit, each score's top entity is as rare as the others'):
  // the one rarer on all the scores together first; by row without calibration.
  std::vector<double> ties(labels.size(), 0.0);
  if (calibrated) {
    outlier_scores = calibrated_scores(model, distances, lof, rarity, ties);
  } else if (model.detector == Detector::lof) {
    outlier_scores = lof;
  } else {
    outlier_scores = ratio_scores(labels, distances, model.thresholds, lof, lof_threshold);
  }
  // Beside the rules, LOF flags only the baseline's top 100 − p % of LOFs
  // (its offset alone flagged 12-17% of some event sets; LOF alone keeps
  // its offset), rarity only the top (100 − p) / 2 %: at 100 − p it
  // doubled the findings on the synthetic fleet for no injected anomaly
  // more (bench/RESULTS.md, "Value rarity").
  const double p = model.outliers.percentile;
  const bool both = model.detector == Detector::both;
  const double tail = both && calibrated && p > 0.0 ? 1.0 - p / 100.0 : 1.0;
  const bool rarity_flags = !rarity.empty() && p > 0.0;
  const double rarity_tail = (1.0 - p / 100.0) / 2.0;
  // The rules' flags (unless LOF alone), then LOF's, then rarity's.
  std::vector<uint32_t> rules(labels.size(), 0);
  if (rules_flag) {
    for (const Outlier& o : outliers.outliers) rules[static_cast<std::size_t>(o.entity)] = o.rules;
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (lof_flags && lof[i] > lof_threshold &&
        (tail >= 1.0 || tail_fraction(model.calibration.lof, lof[i]) <= tail)) {
      rules[i] |= kOutlierLof;
    }
    if (rarity_flags && tail_fraction(model.calibration.rarity, rarity[i]) <= rarity_tail) {
      rules[i] |= kOutlierRarity;
    }
  }
  fleet_rank = ranks_in_fleet(outlier_scores, ties);
  const std::vector<int64_t> rank = ranks_within_clusters(labels, fleet_rank);
  outliers.outliers.clear();
  outliers.is_outlier.assign(labels.size(), 0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (rules[i] == 0) continue;
    const auto c = static_cast<std::size_t>(labels[i]);
    outliers.outliers.push_back({static_cast<int64_t>(i), labels[i], outlier_scores[i], rank[i],
                                 outliers.cluster_sizes[c], rules[i]});
    outliers.is_outlier[i] = 1;
  }
  // By cluster, then rank, as the rules order them.
  std::stable_sort(outliers.outliers.begin(), outliers.outliers.end(),
                   [](const Outlier& a, const Outlier& b) {
                     return a.cluster != b.cluster ? a.cluster < b.cluster : a.rank < b.rank;
                   });
}

}  // namespace stray::internal
