// Mergeable PCA statistics: (n, mean, centred scatter) per batch from the
// backend, combined with Chan, Golub & LeVeque's pairwise update.
#include <algorithm>
#include <cmath>

#include "core/check.hpp"
#include "decomposition/pca_internal.hpp"
#include "stray/decomposition/pca.hpp"

namespace stray {

using internal::require;

namespace {

// A batch's moments take one pass over it: gram_with_sums about a guess s
// of its mean gives the mean s + δ and, in float64, the scatter G − n·δδᵀ
// (δ = Σ(x − s)/n). The float32 rounding in G grows by 1 + δ²/var per
// column, so when the guess is off by more than a quarter of a standard
// deviation in some column (drifting or sorted data) the pass is repeated
// about the mean just found — as accurate as centring on the batch's own
// mean, which is what the second pass does.
constexpr double kMaxGuessOffsetSq = 1.0 / 16;
// Rows whose mean is the first guess for a batch (a later host block's
// guess is the block before's mean).
constexpr int64_t kGuessRows = 1024;

std::vector<double> head_mean(MatrixView<const float> X) {
  const int64_t rows = std::min(X.rows(), kGuessRows), d = X.cols();
  std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = X.row(i);
    for (int64_t j = 0; j < d; ++j) mean[j] += row[j];
  }
  for (double& m : mean) m /= static_cast<double>(std::max<int64_t>(rows, 1));
  return mean;
}

// Mean and centred scatter of X [n x d] (n ≥ 1): `shift` holds the guess on
// entry and the mean on return. Non-finite data are an error.
void batch_moments(Backend& backend, const DeviceArray<float>& X, std::vector<double>& shift,
                   std::vector<double>& scatter, const char* where) {
  const int64_t n = X.rows(), d = X.cols();
  const double rows = static_cast<double>(n);
  std::vector<double> sums(static_cast<std::size_t>(d)), delta(sums.size());
  for (int pass = 0;; ++pass) {
    backend.gram_with_sums(X, shift.data(), scatter.data(), sums.data());
    bool near = true;
    for (int64_t j = 0; j < d; ++j) {
      const double g = scatter[j * d + j];
      require(std::isfinite(sums[j]) && std::isfinite(g), ErrorCode::non_finite_input, where,
              "column ", j, "'s sums are not finite: ", internal::kProductsOverflow);
      delta[j] = sums[j] / rows;
      const double var = std::max(0.0, g / rows - delta[j] * delta[j]);
      near = near && delta[j] * delta[j] <= kMaxGuessOffsetSq * var;
    }
    for (int64_t j = 0; j < d; ++j) shift[j] += delta[j];
    if (near || pass == 1) break;
  }
  for (int64_t a = 0; a < d; ++a) {
    const double da = rows * delta[a];
    double* row = scatter.data() + a * d;
    for (int64_t b = 0; b < d; ++b) row[b] -= da * delta[b];
  }
}

}  // namespace

PcaAccumulator::PcaAccumulator(int64_t n_features) : d_(n_features) {
  require(n_features >= 1, ErrorCode::invalid_argument, "PcaAccumulator", "n_features=",
          n_features, " must be >= 1");
  const int64_t cells = checked_mul(n_features, n_features, "PcaAccumulator");
  mean_.assign(static_cast<std::size_t>(n_features), 0.0);
  scatter_.assign(static_cast<std::size_t>(cells), 0.0);
}

void PcaAccumulator::merge_moments(int64_t n, const double* mean, const double* scatter) {
  if (n == 0) return;
  const int64_t d = d_;
  if (n_ == 0) {
    n_ = n;
    std::copy(mean, mean + d, mean_.begin());
    std::copy(scatter, scatter + d * d, scatter_.begin());
    return;
  }
  const double na = static_cast<double>(n_), nb = static_cast<double>(n);
  const double total = na + nb;
  std::vector<double> delta(static_cast<std::size_t>(d));
  for (int64_t j = 0; j < d; ++j) delta[j] = mean[j] - mean_[j];
  const double f = na * nb / total;
  for (int64_t a = 0; a < d; ++a) {
    double* row = scatter_.data() + a * d;
    const double* other = scatter + a * d;
    const double da = f * delta[a];
    for (int64_t b = 0; b < d; ++b) row[b] += other[b] + da * delta[b];
  }
  for (int64_t j = 0; j < d; ++j) mean_[j] += delta[j] * (nb / total);
  n_ += n;
}

void PcaAccumulator::add(Backend& backend, const DeviceArray<float>& batch) {
  const char* where = "PcaAccumulator::add";
  require(d_ > 0, ErrorCode::invalid_argument, where, "accumulator has no features");
  require(batch.cols() == d_, ErrorCode::shape_mismatch, where, "batch has ", batch.cols(),
          " columns, the accumulator ", d_);
  if (batch.rows() == 0) return;
  // The first guess from the batch's first rows, read back to the host.
  Matrix<float> head(std::min(batch.rows(), kGuessRows), d_);
  backend.copy_to_host(head.data(), *batch.buffer(), 0,
                       static_cast<std::size_t>(head.size()) * sizeof(float));
  std::vector<double> mean = head_mean(head.view());
  std::vector<double> scatter(static_cast<std::size_t>(d_ * d_));
  batch_moments(backend, batch, mean, scatter, where);
  merge_moments(batch.rows(), mean.data(), scatter.data());
}

void PcaAccumulator::add(Backend& backend, MatrixView<const float> batch) {
  const char* where = "PcaAccumulator::add";
  require(batch.cols() == d_, ErrorCode::shape_mismatch, where, "batch has ", batch.cols(),
          " columns, the accumulator ", d_);
  const int64_t n = batch.rows();
  if (n == 0) return;
  // Stream row blocks through the backend; each block's moments (one pass
  // when the guess holds, see batch_moments) are merged in turn. A backend
  // that shares host memory reads the blocks in place; others get them
  // copied into one reused buffer.
  // Blocks read in place take no memory, so they are 4x larger: each block
  // has a fixed cost (zeroing, mirroring and merging d x d in float64;
  // see RESULTS.md, 'Figures moved from source comments (2026-12-05)')
  // that 16,384-row blocks paid 13 times in a 200,000-row fit. Each block
  // still gets its own mean guess.
  // Blocks copied to a device bring back a d x d float64 scatter each: past
  // a few hundred features that download (and its merge on the host)
  // outweighs the block's own upload unless the block has many rows. There
  // the block grows to 16·d rows (an upload of 8x the scatter's bytes),
  // within the whole workspace budget; the backend's gram tiles it again
  // and merges the tiles on the device.
  const bool in_place = backend.shares_host_memory();
  int64_t copy_block = internal::pca_block_rows(backend, d_);
  if (!in_place) {
    const int64_t budget_rows = std::max<int64_t>(
        1, static_cast<int64_t>(backend.workspace_bytes() / (sizeof(float) * d_)));
    copy_block = std::max(copy_block, std::min(16 * d_, budget_rows));
  }
  const int64_t block = std::min(n, in_place ? 4 * copy_block : copy_block);
  DeviceArray<float> buf;
  if (!in_place) buf = backend.allocate<float>(block, d_);
  std::vector<double> mean = head_mean(batch);  // then each block's, the next one's guess
  std::vector<double> scatter(static_cast<std::size_t>(d_ * d_));
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    const int64_t rows = std::min(block, n - b0);
    MatrixView<const float> part = batch.row_block(b0, rows);
    if (in_place) {
      buf = backend.borrow_or_upload(part);
    } else if (!part.contiguous()) {
      buf = backend.upload(part);
    } else {
      if (rows != buf.rows()) buf = backend.allocate<float>(rows, d_);
      backend.copy_to_device(*buf.buffer(), 0, part.data(), buf.bytes());
    }
    try {
      batch_moments(backend, buf, mean, scatter, where);
      merge_moments(rows, mean.data(), scatter.data());
    } catch (const Error& e) {
      // Name the offending cell (slow path, errors only), its row counted
      // over every row added so far: the block's own index would mislead.
      if (e.code() == ErrorCode::non_finite_input) {
        internal::check_finite_matrix(part, where, "X", n_);
      }
      throw;
    }
  }
}

void PcaAccumulator::add(Backend& backend, const CsrView& batch) {
  validate_csr(batch, "PcaAccumulator::add");
  add(backend, backend.borrow_or_upload_csr(batch));
}

void PcaAccumulator::add(Backend& backend, const DeviceCsr& batch) {
  const char* where = "PcaAccumulator::add";
  require(batch.cols == d_, ErrorCode::shape_mismatch, where, "batch has ", batch.cols,
          " columns, the accumulator ", d_);
  const int64_t n = batch.rows, d = d_;
  if (n == 0) return;
  // The batch mean from the CSR itself, then the scatter about it one
  // dense row block at a time (the whole matrix is never densified), all
  // on the backend.
  std::vector<double> mean(static_cast<std::size_t>(d)), var(static_cast<std::size_t>(d));
  backend.csr_column_stats(batch, mean.data(), var.data());
  const int64_t block = std::min(n, internal::pca_block_rows(backend, d));
  std::vector<double> scatter(static_cast<std::size_t>(d * d), 0.0);
  std::vector<double> part(static_cast<std::size_t>(d * d));
  DeviceArray<float> buf = backend.allocate<float>(block, d);
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    const int64_t rows = std::min(block, n - b0);
    if (rows != buf.rows()) buf = backend.allocate<float>(rows, d);
    backend.csr_rows_to_dense(batch, b0, buf);
    backend.gram(buf, nullptr, mean.data(), part.data());
    for (std::size_t i = 0; i < scatter.size(); ++i) scatter[i] += part[i];
  }
  merge_moments(n, mean.data(), scatter.data());
}

void PcaAccumulator::merge(const PcaAccumulator& other) {
  require(other.d_ == d_, ErrorCode::shape_mismatch, "PcaAccumulator::merge", "other has ",
          other.d_, " features, this one ", d_);
  if (other.n_ == 0) return;
  merge_moments(other.n_, other.mean_.data(), other.scatter_.data());
}

PcaModel PcaAccumulator::finalize(Backend& backend, const PcaParams& params) const {
  const char* where = "PcaAccumulator::finalize";
  require(d_ > 0, ErrorCode::invalid_argument, where, "accumulator has no features");
  return internal::pca_model_from_scatter(backend, params, n_, mean_, scatter_, where);
}

std::vector<double> PcaAccumulator::sum() const {
  std::vector<double> s(mean_);
  for (double& v : s) v *= static_cast<double>(n_);
  return s;
}

std::vector<double> PcaAccumulator::sum_outer() const {
  std::vector<double> s(scatter_);
  const double n = static_cast<double>(n_);
  for (int64_t a = 0; a < d_; ++a)
    for (int64_t b = 0; b < d_; ++b) s[a * d_ + b] += n * mean_[a] * mean_[b];
  return s;
}

PcaAccumulator PcaAccumulator::from_sums(int64_t n_samples, const std::vector<double>& sum,
                                         const std::vector<double>& sum_outer) {
  const char* where = "PcaAccumulator::from_sums";
  const int64_t d = static_cast<int64_t>(sum.size());
  require(n_samples >= 0, ErrorCode::invalid_argument, where, "n_samples=", n_samples);
  require(static_cast<int64_t>(sum_outer.size()) == checked_mul(d, d, where),
          ErrorCode::shape_mismatch, where, "sum_outer has ", sum_outer.size(),
          " entries for n_features=", d);
  PcaAccumulator acc(d);
  acc.n_ = n_samples;
  if (n_samples == 0) return acc;
  const double n = static_cast<double>(n_samples);
  for (int64_t j = 0; j < d; ++j) acc.mean_[j] = sum[j] / n;
  for (int64_t a = 0; a < d; ++a)
    for (int64_t b = 0; b < d; ++b)
      acc.scatter_[a * d + b] = sum_outer[a * d + b] - n * acc.mean_[a] * acc.mean_[b];
  return acc;
}

PcaAccumulator PcaAccumulator::from_moments(int64_t n_samples, std::vector<double> mean,
                                            std::vector<double> scatter) {
  const char* where = "PcaAccumulator::from_moments";
  const int64_t d = static_cast<int64_t>(mean.size());
  require(n_samples >= 0, ErrorCode::invalid_argument, where, "n_samples=", n_samples);
  require(static_cast<int64_t>(scatter.size()) == checked_mul(d, d, where),
          ErrorCode::shape_mismatch, where, "scatter has ", scatter.size(),
          " entries for n_features=", d);
  PcaAccumulator acc(d);
  acc.n_ = n_samples;
  acc.mean_ = std::move(mean);
  acc.scatter_ = std::move(scatter);
  return acc;
}

}  // namespace stray
