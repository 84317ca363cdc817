// The score's grains (ScoreParams::grains): finer k-means partitions of the
// clustering space whose distances also rank each entity. Each distance —
// to the peers, and to the own centre in each grain — is divided by its
// median over the baseline, and the score is the largest: an entity is as
// unusual as the scale that finds it most so. Medians, not per-cluster
// percentiles: a per-cluster scale ranks each cluster's tail alike, and
// the grains' point is to rank across the fleet (bench/RESULTS.md, "The
// score space decided from the features").
#include <algorithm>
#include <cmath>

#include "fleet/pipeline_internal.hpp"
#include "stray/cluster/kmeans.hpp"

namespace stray::internal {
namespace {

// The baseline's median of a distance: its scale. Where half the fleet or
// more sits at distance 0 (duplicates), the mean; 1 where both are 0.
double median_scale(std::vector<float> d) {
  if (d.empty()) return 1.0;
  const auto mid = d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2);
  std::nth_element(d.begin(), mid, d.end());
  if (std::isfinite(*mid) && *mid > 0.0f) return *mid;
  double sum = 0.0;
  for (const float x : d) sum += x;
  const double mean = sum / static_cast<double>(d.size());
  return std::isfinite(mean) && mean > 0.0 ? mean : 1.0;
}

// Each row's squared distance to its nearest centre of the grain.
std::vector<float> grain_distances(Backend& backend, const ScoreGrain& grain,
                                   const DeviceArray<float>& reduced) {
  KMeansModel partition;
  partition.centers = grain.centers;
  return kmeans_predict(backend, partition, reduced).sq_distances;
}

// scores ← max(scores / peer_median, each grain's distance / its median).
void combine(const FleetModel& model, const std::vector<std::vector<float>>& grain_distances,
             std::vector<float>& scores) {
  for (std::size_t i = 0; i < scores.size(); ++i) {
    double s = static_cast<double>(scores[i]) / model.peer_median;
    for (std::size_t g = 0; g < model.grains.size(); ++g) {
      s = std::max(s, static_cast<double>(grain_distances[g][i]) / model.grains[g].median);
    }
    scores[i] = static_cast<float>(s);
  }
}

}  // namespace

void fit_grains(Backend& backend, const KMeansParams& kmeans, const DeviceArray<float>& reduced,
                FleetModel& model, std::vector<float>& scores) {
  model.grains.clear();
  if (model.score.grains.empty()) return;
  std::vector<std::vector<float>> distances;
  for (const int64_t k : model.score.grains) {
    KMeansParams kp = kmeans;
    kp.n_clusters = k;
    ScoreGrain grain;
    grain.centers = kmeans_fit(backend, kp, reduced).centers;
    distances.push_back(grain_distances(backend, grain, reduced));
    grain.median = median_scale(distances.back());
    model.grains.push_back(std::move(grain));
  }
  model.peer_median = median_scale(scores);
  combine(model, distances, scores);
}

void apply_grains(Backend& backend, const FleetModel& model, const DeviceArray<float>& reduced,
                  std::vector<float>& scores) {
  if (model.grains.empty() || scores.empty()) return;
  std::vector<std::vector<float>> distances;
  for (const ScoreGrain& grain : model.grains) {
    distances.push_back(grain_distances(backend, grain, reduced));
  }
  combine(model, distances, scores);
}

}  // namespace stray::internal
