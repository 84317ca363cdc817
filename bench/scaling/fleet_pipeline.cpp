// The sparse ladder: the library's whole fleet pipeline (fit_fleet) on the
// built-in synthetic fleet — events → binary features → covariance PCA →
// k-means with k fixed (no choice of k, so every size does the same work) →
// scores → outlier rules → explanations — one row per step as the
// pipeline times it. The peers start from the feature matrix, written
// after the fit.
#include <algorithm>
#include <filesystem>
#include <map>

#include "scaling.hpp"

namespace scaling {

namespace {

stray::FleetPipelineParams fleet_params(const Options& o) {
  stray::FleetPipelineParams p;
  p.pca.n_components = o.components;
  p.pca.solver = stray::PcaSolver::covariance;
  p.kmeans.n_clusters = o.clusters;
  p.kmeans.n_init = 1;
  p.kmeans.max_iter = o.iterations;
  p.kmeans.tol = 0.0;
  p.kmeans.seed = o.seed;
  // The same steps at every size: the automatic detector adds LOF (exact
  // neighbours, n²) up to 100,000 entities only; the dense rows time LOF.
  p.detector = stray::Detector::centroid;
  return p;
}

// Each step's peak memory, from the pipeline's progress reports (0 when a
// step starts, 1 when it ends).
struct StepPeaks {
  std::map<std::string, double> mib;
  void operator()(std::string_view step, double fraction) {
    if (fraction == 0.0) reset_peak_memory();
    if (fraction == 1.0) mib[std::string(step)] = peak_memory_mib();
  }
};

// Rates where the work is known from the shapes: the Gram of the
// densified blocks and the projection; Lloyd's distance products.
void set_work(StepRow& row, const Options& o, const stray::FleetResult& r) {
  const double n = static_cast<double>(r.features.X.rows);
  const double d = static_cast<double>(r.features.X.cols);
  const double c = static_cast<double>(r.reduced.cols());
  if (row.step == "pca") {
    row.work = n * d * (d + 1) + 2 * n * d * c;
    row.unit = "GFLOP/s";
    row.quality_name = "explained_variance_ratio";
    for (double v : r.model.pca.explained_variance_ratio) row.quality += v;
  } else if (row.step == "kmeans") {
    row.work = 2 * n * static_cast<double>(o.clusters) * c * r.kmeans.n_iter;
    row.unit = "GFLOP/s";
    row.quality_name = "inertia";
    row.quality = r.kmeans.inertia;
    row.iterations = r.kmeans.n_iter;
  } else if (row.step == "outliers") {
    row.quality_name = "flagged";
    row.quality = static_cast<double>(r.findings.size());
  }
}

}  // namespace

void run_fleet(const Options& o, stray::Backend& backend, RowPrinter& out) {
  stray::FleetPipelineParams params = fleet_params(o);
  StepPeaks peaks;
  params.progress = std::ref(peaks);
  stray::SyntheticFleetParams sp;
  sp.n_entities = o.rows;
  sp.seed = o.seed;
  const stray::FleetResult r =
      stray::fit_fleet(backend, params, [&](const stray::EventSink& sink) {
        stray::generate_synthetic_fleet(sp, sink);
      });

  out.set_cols(r.features.X.cols);
  StepRow total;
  total.step = "pipeline";
  for (const stray::PipelineStep& s : r.steps) {
    StepRow row;
    row.step = s.name == "score" ? "scores" : s.name;
    row.seconds = s.seconds;
    row.peak_mib = peaks.mib.count(s.name) ? peaks.mib[s.name] : 0.0;
    set_work(row, o, r);
    out.print(row);
    total.seconds += s.seconds;
    total.peak_mib = std::max(total.peak_mib, row.peak_mib);
  }
  out.print(total);
  if (!o.write_data.empty()) {
    stray::write_npz_csr((std::filesystem::path(o.write_data) / "X.npz").string(), r.features.X);
  }
}

}  // namespace scaling
