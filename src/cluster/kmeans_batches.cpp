// k-means over batches of rows: a first pass for the shape, the column
// variances and a uniform sample; kmeans_fit on the sample for the initial
// centres; then Lloyd's iterations as merged statistics, one pass each.
#include "stray/cluster/kmeans_batches.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "cluster/kmeans_batch_bounds.hpp"
#include "cluster/kmeans_data.hpp"
#include "core/check.hpp"
#include "core/csr_canonical.hpp"
#include "core/rng.hpp"
#include "stray/cluster/kmeans_statistics.hpp"

namespace stray {

using internal::require;

namespace {

constexpr const char* kWhere = "kmeans_fit_batches";
// The sample's generator is the fit's seed moved to a stream of its own, so
// that the sample's k-means draws what kmeans_fit would on the same rows.
constexpr uint64_t kSampleStream = 0x9E3779B97F4A7C15ULL;

// What every pass must agree on.
struct Shape {
  int64_t n = 0;
  int64_t d = -1;
  bool sparse = false;
};

void check_batch(const RowBatch& b, Shape& shape, bool first_pass) {
  if (shape.d < 0 && first_pass) {
    shape.d = b.cols();
    shape.sparse = b.sparse != nullptr;
  }
  require(b.cols() == shape.d && (b.sparse != nullptr) == shape.sparse, ErrorCode::shape_mismatch,
          kWhere, "a batch of ", b.cols(), b.sparse ? " sparse" : " dense", " columns among ",
          shape.sparse ? "sparse" : "dense", " batches of ", shape.d);
  require(!b.weights || static_cast<int64_t>(b.weights->size()) == b.rows(),
          ErrorCode::shape_mismatch, kWhere, "a batch of ", b.rows(), " rows has ",
          b.weights ? b.weights->size() : 0, " sample weights");
}

// Column means and scatter merged batch by batch (Chan et al.), for tol's
// mean variance; each batch's own moments are taken in two passes.
class ColumnMoments {
 public:
  void add(const RowBatch& b) {
    if (mean_.empty()) {
      mean_.assign(static_cast<std::size_t>(b.cols()), 0.0);
      m2_ = mean_;
    }
    std::vector<double> mean(mean_.size(), 0.0), m2(mean_.size(), 0.0);
    const double nb = static_cast<double>(b.rows());
    if (b.sparse) {
      sparse_moments(*b.sparse, nb, mean, m2);
    } else {
      dense_moments(b.dense, nb, mean, m2);
    }
    const double na = static_cast<double>(n_), total = na + nb;
    for (std::size_t j = 0; j < mean_.size(); ++j) {
      const double delta = mean[j] - mean_[j];
      mean_[j] += delta * nb / total;
      m2_[j] += m2[j] + delta * delta * na * nb / total;
    }
    n_ += b.rows();
  }
  std::vector<double> variance() const {
    std::vector<double> var(m2_.size());
    for (std::size_t j = 0; j < var.size(); ++j) var[j] = m2_[j] / static_cast<double>(n_);
    return var;
  }

 private:
  static void dense_moments(MatrixView<const float> X, double nb, std::vector<double>& mean,
                            std::vector<double>& m2) {
    for (int64_t i = 0; i < X.rows(); ++i) {
      for (std::size_t j = 0; j < mean.size(); ++j) mean[j] += X(i, static_cast<int64_t>(j));
    }
    for (double& m : mean) m /= nb;
    for (int64_t i = 0; i < X.rows(); ++i) {
      for (std::size_t j = 0; j < mean.size(); ++j) {
        const double diff = X(i, static_cast<int64_t>(j)) - mean[j];
        m2[j] += diff * diff;
      }
    }
  }
  // Unstored entries are zeros: each adds mean² to its column's scatter.
  static void sparse_moments(const CsrView& X, double nb, std::vector<double>& mean,
                             std::vector<double>& m2) {
    const internal::CanonicalRows rows(X, kWhere);  // one entry a column a row
    const CsrView& A = rows.view();
    std::vector<double> stored(mean.size(), 0.0);
    for (int64_t p = 0; p < A.nnz(); ++p) {
      mean[A.indices[p]] += A.values[p];
      stored[A.indices[p]] += 1.0;
    }
    for (double& m : mean) m /= nb;
    for (int64_t p = 0; p < A.nnz(); ++p) {
      const double diff = A.values[p] - mean[A.indices[p]];
      m2[A.indices[p]] += diff * diff;
    }
    for (std::size_t j = 0; j < mean.size(); ++j) m2[j] += (nb - stored[j]) * mean[j] * mean[j];
  }

  int64_t n_ = 0;
  std::vector<double> mean_, m2_;
};

// A uniform sample of the rows seen, in one pass (Vitter's algorithm R).
// While no more rows than it holds have passed, it holds them all, in order.
// Dense rows are kept as they are, sparse rows as their entries.
class Reservoir {
 public:
  Reservoir(int64_t capacity, uint64_t seed) : capacity_(capacity), rng_(seed ^ kSampleStream) {}

  void offer(const RowBatch& b, int64_t i) {
    int64_t slot = seen_++;
    if (slot >= capacity_) {
      slot = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(seen_)));
      if (slot >= capacity_) return;
    }
    if (slot == rows()) weights_.push_back(0.0f);
    weights_[static_cast<std::size_t>(slot)] =
        b.weights ? (*b.weights)[static_cast<std::size_t>(i)] : 1.0f;
    if (b.sparse) {
      store_sparse(slot, *b.sparse, i);
    } else {
      store_dense(slot, b.dense.row(i), b.cols());
    }
  }
  int64_t rows() const { return static_cast<int64_t>(weights_.size()); }
  const std::vector<float>& weights() const { return weights_; }
  /// The sampled dense rows, in slot order (a view of the sample).
  MatrixView<const float> dense(int64_t d) const {
    return MatrixView<const float>(dense_.data(), rows(), d);
  }
  /// The sampled sparse rows, in slot order.
  CsrMatrix csr(int64_t d) const {
    CsrMatrix out;
    out.rows = rows();
    out.cols = d;
    for (const Entries& e : entries_) {
      out.indices.insert(out.indices.end(), e.columns.begin(), e.columns.end());
      out.values.insert(out.values.end(), e.values.begin(), e.values.end());
      out.indptr.push_back(static_cast<int64_t>(out.indices.size()));
    }
    return out;
  }

 private:
  struct Entries {
    std::vector<int32_t> columns;
    std::vector<float> values;
  };
  void store_dense(int64_t slot, const float* row, int64_t d) {
    const auto at = static_cast<std::size_t>(slot * d);
    if (at == dense_.size()) dense_.resize(at + static_cast<std::size_t>(d));
    std::copy(row, row + d, dense_.begin() + static_cast<std::ptrdiff_t>(at));
  }
  void store_sparse(int64_t slot, const CsrView& X, int64_t i) {
    if (slot == static_cast<int64_t>(entries_.size())) entries_.emplace_back();
    Entries& e = entries_[static_cast<std::size_t>(slot)];
    e.columns.assign(X.indices + X.indptr[i], X.indices + X.indptr[i + 1]);
    e.values.assign(X.values + X.indptr[i], X.values + X.indptr[i + 1]);
  }

  int64_t capacity_;
  int64_t seen_ = 0;
  internal::Rng rng_;
  std::vector<float> dense_;      // [rows x d], dense sources
  std::vector<Entries> entries_;  // [rows], sparse sources
  std::vector<float> weights_;
};

int64_t sample_capacity(const BatchKMeansParams& params) {
  require(params.init_sample_rows >= 0, ErrorCode::invalid_argument, kWhere,
          "init_sample_rows=", params.init_sample_rows, " must be >= 0 (0 = auto)");
  const int64_t k = params.kmeans.n_clusters;
  if (params.init_sample_rows > 0) return std::max(params.init_sample_rows, k);
  return std::max<int64_t>(10000, checked_mul(k, 100, kWhere));
}

struct FirstPass {
  Shape shape;
  std::vector<double> variance;
  double total_weight = 0.0;
  bool weighted = false;
};

// The first pass: shape, variances and weights checked and learnt, the
// sample drawn.
FirstPass first_pass(RowBatches& batches, Reservoir& sample) {
  FirstPass out;
  ColumnMoments moments;
  batches.for_each([&](const RowBatch& b) {
    check_batch(b, out.shape, true);
    if (b.rows() == 0) return;
    if (!b.sparse) internal::check_finite_matrix(b.dense, kWhere, "X", out.shape.n);
    moments.add(b);  // validates sparse rows before the sample reads them
    for (int64_t i = 0; i < b.rows(); ++i) {
      const double w = b.weights ? (*b.weights)[static_cast<std::size_t>(i)] : 1.0;
      require(std::isfinite(w) && w >= 0.0, ErrorCode::invalid_argument, kWhere,
              "sample weight ", w, " of row ", out.shape.n + i, " is not finite and >= 0");
      out.total_weight += w;
      sample.offer(b, i);
    }
    out.weighted = out.weighted || b.weights != nullptr;
    out.shape.n += b.rows();
  });
  require(out.shape.n > 0 && out.shape.d > 0, ErrorCode::invalid_argument, kWhere,
          "the batches hold no rows (", out.shape.n, " x ", std::max<int64_t>(out.shape.d, 0), ")");
  require(out.total_weight > 0.0, ErrorCode::invalid_argument, kWhere, "sample_weight sums to 0");
  out.variance = moments.variance();
  return out;
}

// The statistics of every row against `centers`: one pass. With `bounds`
// (dense rows), each batch keeps its labels and bounds for the next pass,
// which then skips the rows they settle; `previous` are the centres of the
// pass before.
KMeansStatistics statistics_pass(Backend& backend, const Matrix<float>& centers,
                                 const Matrix<float>& previous, RowBatches& batches, Shape shape,
                                 std::vector<internal::BatchBounds>* bounds) {
  KMeansStatistics total(centers.rows(), centers.cols());
  int64_t row = 0;
  std::size_t ordinal = 0;
  batches.for_each([&](const RowBatch& b) {
    check_batch(b, shape, false);
    if (b.rows() == 0) return;
    if (b.sparse) {
      total.merge(kmeans_statistics(backend, centers, *b.sparse, b.weights, row));
    } else if (!bounds) {
      total.merge(kmeans_statistics(backend, centers, b.dense, b.weights, row));
    } else {
      if (ordinal == bounds->size()) bounds->emplace_back();
      internal::BatchBounds& kept = (*bounds)[ordinal++];
      require(kept.labels.empty() || kept.labels.rows() == b.rows(), ErrorCode::shape_mismatch,
              kWhere, "a batch of ", b.rows(), " rows where the first pass had ",
              kept.labels.rows(), " (the source must repeat its rows)");
      total.merge(internal::pruned_statistics(backend, centers, previous, b.dense, b.weights, row,
                                              kept));
    }
    row += b.rows();
  });
  require(row == shape.n, ErrorCode::shape_mismatch, kWhere, "a pass over the batches gave ",
          row, " rows, the first gave ", shape.n, " (the source must repeat its rows)");
  return total;
}

// The initial centres: explicit, or k-means fitted to the sample.
Matrix<float> initial_centres(Backend& backend, const BatchKMeansParams& params,
                              const Reservoir& sample, const FirstPass& first,
                              BatchKMeansResult& out) {
  const KMeansParams& p = params.kmeans;
  if (p.init == KMeansInit::explicit_centers) return p.initial_centers;
  // A sample of rows that happen to weigh nothing is fitted unweighted.
  const std::vector<float>& w = sample.weights();
  const bool weighted = first.weighted && std::accumulate(w.begin(), w.end(), 0.0) > 0.0;
  const std::vector<float>* sample_weight = weighted ? &w : nullptr;
  const KMeansResult fit =
      first.shape.sparse
          ? kmeans_fit(backend, p, sample.csr(first.shape.d).view(), sample_weight)
          : kmeans_fit(backend, p, sample.dense(first.shape.d), sample_weight);
  out.sample_rows = sample.rows();
  out.sample_iter = fit.n_iter;
  return fit.centers;
}

}  // namespace

BatchKMeansResult kmeans_fit_batches(Backend& backend, const BatchKMeansParams& params,
                                     RowBatches& batches) {
  const auto start = std::chrono::steady_clock::now();
  const KMeansParams& p = params.kmeans;
  Reservoir sample(sample_capacity(params), p.seed);
  const FirstPass first = first_pass(batches, sample);
  internal::validate_kmeans_params(p, first.shape.n, first.shape.d, nullptr);
  BatchKMeansResult out;
  out.n_samples = first.shape.n;
  out.passes = 1;
  Matrix<float> centers = initial_centres(backend, params, sample, first, out);

  const double tol_abs = internal::absolute_tol(p, first.variance);
  std::vector<internal::BatchBounds> kept;  // per dense batch, with keep_bounds
  std::vector<internal::BatchBounds>* bounds = params.keep_bounds ? &kept : nullptr;
  Matrix<float> previous;  // the centres of the pass before
  KMeansStatistics last;   // against `centers`, while they have not moved since
  bool last_is_current = false;
  for (int it = 0; it < p.max_iter; ++it) {
    last = statistics_pass(backend, centers, previous, batches, first.shape, bounds);
    ++out.passes;
    KMeansUpdate update = kmeans_update(centers.view(), last);
    const bool moved = update.squared_shift > 0.0 || !update.relocated.empty();
    previous = std::move(centers);
    centers = std::move(update.centers);
    out.n_iter = it + 1;
    last_is_current = !moved;
    if (update.squared_shift <= tol_abs) {
      out.converged = true;
      break;
    }
  }
  if (!last_is_current) {
    last = statistics_pass(backend, centers, previous, batches, first.shape, bounds);
    ++out.passes;
  }
  // Rows are checked on the first pass; a source whose values turned
  // non-finite later shows here, not as a model.
  internal::check_finite_matrix(centers.view(), kWhere,
                                "the centres (did the rows change between passes?)");
  out.centers = std::move(centers);
  out.inertia = last.inertia;
  out.cluster_sizes = last.weights;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace stray
