// The dense ladder: Gaussian blobs [n x d] → covariance PCA to c
// components → k-means (k, a fixed number of Lloyd iterations from the
// first k projected rows, as the peers start) → scores (each row's squared
// distance to its centre and the 95th-percentile rule per cluster) → LOF
// on the projected rows where n is small enough. Data stay on the backend
// between steps, as in the library's own pipeline.
#include <algorithm>
#include <filesystem>

#include "scaling.hpp"

namespace scaling {

namespace {

stray::Matrix<float> make_data(const Options& o) {
  stray::BlobsParams p;
  p.n_samples = o.rows;
  p.n_features = o.cols;
  p.n_centers = 20;
  p.seed = o.seed;
  return stray::make_blobs(p).X;
}

stray::KMeansParams kmeans_params(const Options& o, stray::Backend& backend,
                                  const stray::DeviceArray<float>& Z) {
  stray::KMeansParams p;
  p.n_clusters = o.clusters;
  p.init = stray::KMeansInit::explicit_centers;
  p.initial_centers = stray::Matrix<float>(o.clusters, Z.cols());
  backend.copy_to_host(p.initial_centers.data(), *Z.buffer(), 0,
                       static_cast<std::size_t>(o.clusters * Z.cols()) * sizeof(float));
  p.max_iter = o.iterations;
  p.tol = 0.0;
  return p;
}

double flagged(const stray::OutlierResult& r) {
  return static_cast<double>(std::count(r.is_outlier.begin(), r.is_outlier.end(), 1));
}

}  // namespace

void run_dense(const Options& o, stray::Backend& backend, RowPrinter& out) {
  const double n = static_cast<double>(o.rows), d = static_cast<double>(o.cols);
  const double c = static_cast<double>(o.components), k = static_cast<double>(o.clusters);
  stray::Matrix<float> X;
  StepRow gen = timed_step("generate", backend, [&] { X = make_data(o); });
  out.print(gen);
  if (!o.write_data.empty()) {
    stray::write_npy((std::filesystem::path(o.write_data) / "X.npy").string(), X.view());
  }

  stray::DeviceArray<float> dX, Z;
  // A view of X on the CPU (no copy), a copy in device memory on a GPU.
  StepRow upload = timed_step("upload", backend, [&] {
    dX = backend.borrow_or_upload(stray::MatrixView<const float>(X.view()));
  });
  if (!backend.shares_host_memory()) {
    upload.work = n * d * sizeof(float);
    upload.unit = "GB/s";
  }
  out.print(upload);

  stray::PcaModel pca;
  StepRow pca_row = timed_step("pca", backend, [&] {
    stray::PcaParams p;
    p.n_components = o.components;
    p.solver = stray::PcaSolver::covariance;
    pca = stray::pca_fit(backend, p, dX);
    Z = stray::pca_transform(backend, pca, dX);
  });
  pca_row.work = n * d * (d + 1) + 2 * n * d * c;  // the Gram's half, the projection
  pca_row.unit = "GFLOP/s";
  pca_row.quality_name = "explained_variance_ratio";
  for (double r : pca.explained_variance_ratio) pca_row.quality += r;
  out.print(pca_row);

  const stray::KMeansParams kp = kmeans_params(o, backend, Z);
  stray::KMeansResult km;
  StepRow km_row = timed_step("kmeans", backend, [&] { km = stray::kmeans_fit(backend, kp, Z); });
  km_row.work = 2 * n * k * c * km.n_iter;  // Lloyd's distance products; pruning does less
  km_row.unit = "GFLOP/s";
  km_row.quality_name = "inertia";
  km_row.quality = km.inertia;
  km_row.iterations = km.n_iter;
  out.print(km_row);

  stray::OutlierResult outliers;
  StepRow score = timed_step("scores", backend, [&] {
    const stray::NearestCenters near = stray::kmeans_predict(backend, km, Z);
    outliers = stray::find_outliers(near.labels, near.sq_distances, {}, o.clusters);
  });
  score.work = 2 * n * k * c;
  score.unit = "GFLOP/s";
  score.quality_name = "flagged";
  score.quality = flagged(outliers);
  out.print(score);

  StepRow total;
  total.step = "pipeline";
  total.seconds = upload.seconds + pca_row.seconds + km_row.seconds + score.seconds;
  total.peak_mib = std::max({upload.peak_mib, pca_row.peak_mib, km_row.peak_mib, score.peak_mib});
  out.print(total);

  if (o.rows > o.lof_max_rows) return;
  stray::LofResult lof;
  StepRow lof_row = timed_step("lof", backend, [&] { lof = stray::lof_fit(backend, {}, Z); });
  lof_row.work = n * n * c * 2;  // brute force's distance products; the tree prunes most
  lof_row.unit = "GFLOP/s";
  lof_row.quality_name = "flagged";
  lof_row.quality = static_cast<double>(lof.n_outliers);
  out.print(lof_row);
}

}  // namespace scaling
