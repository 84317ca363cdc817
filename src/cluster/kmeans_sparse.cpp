// k-means on sparse rows (CSR): the dense fit's Lloyd iterations, stopping
// rules, empty-cluster relocation and n_init loop (kmeans.cpp), with the
// distances and sums of Backend's "k-means on sparse rows", so nothing is
// densified and an iteration costs O(nnz · k). Rows are not centred
// (centring fills them); the distances are taken in float64 instead, so
// their expanded form loses nothing float32 would keep. Every row is
// assigned each iteration: the rows a sparse fit meets are wide, and the
// bounds of pruned Lloyd would cost a second pass over them.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "cluster/kmeans_data.hpp"
#include "core/check.hpp"
#include "core/csr_canonical.hpp"
#include "stray/cluster/kmeans.hpp"

namespace stray {
namespace {

using internal::require;

// The rows on the backend (canonical), the weights, and host access to
// single rows for initialisation and relocation.
class SparseRows {
 public:
  SparseRows(const SparseRows&) = delete;
  SparseRows& operator=(const SparseRows&) = delete;
  SparseRows(Backend& be, const CsrView& X, const std::vector<float>* w, const char* where)
      : backend(be), weights_(w), canonical_(X, where) {
    // The caller checked the weights (validate_kmeans_params).
    device_ = backend.borrow_or_upload_csr(canonical_.view());
    if (weights_) device_weights_ = backend.upload(*weights_);
  }

  Backend& backend;
  int64_t n() const { return canonical_.view().rows; }
  int64_t d() const { return canonical_.view().cols; }
  const DeviceCsr& A() const { return device_; }
  const DeviceArray<float>* w() const { return weights_ ? &device_weights_ : nullptr; }
  double weight(int64_t i) const {
    return weights_ ? (*weights_)[static_cast<std::size_t>(i)] : 1.0;
  }

  /// Row i written densely into out [d].
  void row(int64_t i, float* out) const {
    std::fill(out, out + d(), 0.0f);
    const CsrView& X = canonical_.view();
    for (int64_t p = X.indptr[i]; p < X.indptr[i + 1]; ++p) {
      out[X.indices[p]] = X.values[p];
    }
  }
  /// Rows `ids` as dense rows [ids.size() x d].
  Matrix<float> rows(const std::vector<int64_t>& ids) const {
    Matrix<float> out(static_cast<int64_t>(ids.size()), d());
    for (std::size_t r = 0; r < ids.size(); ++r) row(ids[r], out.row(static_cast<int64_t>(r)));
    return out;
  }
  /// Squared distances of every row to each row of C [t x d]: [n x t].
  Matrix<float> distances_to(const Matrix<float>& C) {
    const DeviceArray<float> device_c = backend.upload(C.view());
    DeviceArray<float> out = backend.allocate<float>(n(), C.rows());
    backend.csr_sq_distances(device_, device_c, out);
    return backend.download(out);
  }
  /// Running float64 sums of weight × mass[i] (mass null = 1).
  std::vector<double> cumulative(const float* mass) const {
    return internal::cumulative_mass([this](int64_t i) { return weight(i); }, n(), mass);
  }

 private:
  const std::vector<float>* weights_;
  internal::CanonicalRows canonical_;  // X, or its rows made canonical
  DeviceCsr device_;
  DeviceArray<float> device_weights_;
};

// Greedy k-means++ (as the dense fit's): D² sampling of 2 + ⌊ln k⌋
// candidates per centre, the one that lowers the potential most kept.
Matrix<float> init_kmeans_plus_plus(SparseRows& rows, int64_t k, internal::Rng& rng) {
  const int64_t n = rows.n(), d = rows.d();
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  Matrix<float> centres(k, d);
  rows.row(internal::draw_index(rows.cumulative(nullptr), rng), centres.row(0));
  const Matrix<float> first = rows.distances_to(Matrix<float>::copy_of(
      MatrixView<const float>(centres.row(0), 1, d)));
  std::vector<float> closest(first.storage().begin(), first.storage().end());
  std::vector<int64_t> ids(static_cast<std::size_t>(trials));
  for (int64_t c = 1; c < k; ++c) {
    const std::vector<double> cumulative = rows.cumulative(closest.data());
    for (int64_t& id : ids) {
      id = cumulative.back() > 0.0 ? internal::draw_index(cumulative, rng)
                                   : static_cast<int64_t>(rng.below(n));
    }
    const Matrix<float> candidates = rows.rows(ids);
    const Matrix<float> dist = rows.distances_to(candidates);  // [n x trials]
    int best = 0;
    double best_potential = 0.0;
    for (int t = 0; t < trials; ++t) {
      double potential = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        potential += rows.weight(i) * std::min(closest[i], dist(i, t));
      }
      if (t == 0 || potential < best_potential) {
        best = t;
        best_potential = potential;
      }
    }
    for (int64_t i = 0; i < n; ++i) closest[i] = std::min(closest[i], dist(i, best));
    std::copy(candidates.row(best), candidates.row(best) + d, centres.row(c));
  }
  return centres;
}

// k distinct rows, drawn with probability proportional to weight.
Matrix<float> init_random(SparseRows& rows, int64_t k, internal::Rng& rng) {
  return rows.rows(internal::draw_distinct_rows([&](int64_t i) { return rows.weight(i); },
                                                rows.n(), k, rng));
}

Matrix<float> initial_centres(SparseRows& rows, const KMeansParams& params, internal::Rng& rng) {
  switch (params.init) {
    case KMeansInit::kmeans_plus_plus: return init_kmeans_plus_plus(rows, params.n_clusters, rng);
    case KMeansInit::random: return init_random(rows, params.n_clusters, rng);
    case KMeansInit::explicit_centers: return params.initial_centers;
    case KMeansInit::kmeans_parallel: break;
  }
  internal::fail(ErrorCode::invalid_argument, "kmeans_fit",
                 "init k-means|| is for dense rows; use k-means++, random or explicit centres "
                 "for sparse rows");
}

// sklearn's rule, as the dense fit's: clusters left empty take the rows
// farthest from their centres, largest first; the sums move with them.
void relocate_empty_clusters(const SparseRows& rows, const std::vector<float>& sq_dist,
                             const std::vector<int32_t>& labels, std::vector<double>& sums,
                             std::vector<double>& counts) {
  const std::vector<int64_t> empty = internal::empty_clusters(counts);
  if (empty.empty()) return;
  const int64_t d = rows.d();
  const std::vector<int64_t> far = internal::farthest_rows(sq_dist, empty.size());
  std::vector<float> row(static_cast<std::size_t>(d));
  for (std::size_t e = 0; e < far.size(); ++e) {
    rows.row(far[e], row.data());
    internal::move_row_to_empty(sums, counts, d, labels[static_cast<std::size_t>(far[e])],
                                empty[e], rows.weight(far[e]), row.data());
  }
}

// Lloyd's iterations from `centers`: each assigns every row; the labels
// stay on the backend (as the dense fit's), k x d sums come back.
internal::LloydOutcome lloyd(SparseRows& rows, Matrix<float> centers, const KMeansParams& p,
                             double tol_abs) {
  Backend& be = rows.backend;
  const int64_t n = rows.n(), d = rows.d(), k = p.n_clusters;
  DeviceArray<float> device_centers = be.upload(centers.view());
  DeviceArray<int32_t> labels = be.allocate<int32_t>(n);
  DeviceArray<float> dist = be.allocate<float>(n);
  // The previous iteration's labels; -1 before the first.
  DeviceArray<int32_t> previous = be.upload(std::vector<int32_t>(static_cast<std::size_t>(n), -1));
  std::vector<double> sums(static_cast<std::size_t>(k * d)), counts(static_cast<std::size_t>(k));
  std::vector<double> center_shift(static_cast<std::size_t>(k));
  Matrix<float> new_centers(k, d);

  internal::LloydOutcome out;
  bool strict = false;
  for (int it = 0; it < p.max_iter; ++it) {
    be.csr_nearest_centroid(rows.A(), device_centers, labels, dist);
    be.csr_centroid_sums(rows.A(), labels, rows.w(), k, sums.data(), counts.data());
    if (!internal::empty_clusters(counts).empty()) {
      relocate_empty_clusters(rows, be.download_vector(dist), be.download_vector(labels), sums,
                              counts);
    }
    const double shift =
        internal::update_kmeans_centers(sums, counts, centers, new_centers, center_shift);
    std::swap(centers, new_centers);
    be.copy_to_device(*device_centers.buffer(), 0, centers.data(), device_centers.bytes());
    out.n_iter = it + 1;
    if (be.count_label_changes(labels, previous) == 0) {  // previous := labels
      strict = out.converged = true;  // a fixed point: the centres did not move
      break;
    }
    if (shift <= tol_abs) {
      out.converged = true;
      break;
    }
  }
  // The final E-step, so the labels and distances belong to the returned
  // centres (at a fixed point they already do).
  if (!strict) be.csr_nearest_centroid(rows.A(), device_centers, labels, dist);
  out.labels = be.download_vector(labels);
  const std::vector<float> sq_dist = be.download_vector(dist);
  out.sizes.assign(static_cast<std::size_t>(k), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    out.inertia += rows.weight(i) * sq_dist[static_cast<std::size_t>(i)];
    out.sizes[static_cast<std::size_t>(out.labels[static_cast<std::size_t>(i)])] += rows.weight(i);
  }
  out.centers = std::move(centers);
  return out;
}

// Column variances for tol (unweighted, as sklearn's).
std::vector<double> column_variances(SparseRows& rows) {
  std::vector<double> mean(static_cast<std::size_t>(rows.d())), var(mean.size());
  rows.backend.csr_column_stats(rows.A(), mean.data(), var.data());
  return var;
}

}  // namespace

KMeansResult kmeans_fit(Backend& backend, const KMeansParams& params, const CsrView& X,
                        const std::vector<float>* sample_weight) {
  const auto start = std::chrono::steady_clock::now();
  internal::validate_kmeans_params(params, X.rows, X.cols, sample_weight);
  // Centres, their float64 sums and the backend's copies are k x d dense,
  // however few entries the rows store: refused where no memory holds them.
  internal::require_memory("kmeans_fit", "the centres and their sums",
                           {4, params.n_clusters, X.cols}, sizeof(double), "float64");
  SparseRows rows(backend, X, sample_weight, "kmeans_fit");
  const double tol_abs = internal::absolute_tol(params, column_variances(rows));
  KMeansResult best = internal::best_of_runs(params, [&](internal::Rng& rng) {
    return lloyd(rows, initial_centres(rows, params, rng), params, tol_abs);
  });
  best.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return best;
}

NearestCenters kmeans_predict(Backend& backend, MatrixView<const float> centers, const CsrView& X) {
  const char* where = "kmeans_predict";
  require(X.rows > 0 && X.cols > 0, ErrorCode::invalid_argument, where, "X is empty (", X.rows,
          " x ", X.cols, ")");
  internal::check_kmeans_centers(centers, X.cols, where);
  SparseRows rows(backend, X, nullptr, where);
  const DeviceArray<float> device_centers = backend.upload(centers);
  DeviceArray<int32_t> labels = backend.allocate<int32_t>(rows.n());
  DeviceArray<float> dist = backend.allocate<float>(rows.n());
  backend.csr_nearest_centroid(rows.A(), device_centers, labels, dist);
  NearestCenters out;
  out.labels = backend.download_vector(labels);
  out.sq_distances = backend.download_vector(dist);
  return out;
}

NearestCenters kmeans_predict(Backend& backend, const KMeansModel& model, const CsrView& X) {
  return kmeans_predict(backend, model.centers.view(), X);
}

}  // namespace stray
