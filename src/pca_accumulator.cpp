// Mergeable PCA statistics: (n, mean, centred scatter) per batch from the
// backend, combined with Chan, Golub & LeVeque's pairwise update.
#include <algorithm>
#include <cmath>

#include "internal/check.hpp"
#include "pca_internal.hpp"
#include "stray/pca.hpp"

namespace stray {

using internal::require;

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
  std::vector<double> mean(static_cast<std::size_t>(d_)), var(static_cast<std::size_t>(d_));
  backend.column_stats(batch, nullptr, mean.data(), var.data());
  for (int64_t j = 0; j < d_; ++j) {
    require(std::isfinite(mean[j]) && std::isfinite(var[j]), ErrorCode::non_finite_input, where,
            "batch contains NaN or Inf in column ", j);
  }
  std::vector<double> scatter(static_cast<std::size_t>(d_ * d_));
  backend.gram(batch, nullptr, mean.data(), scatter.data());
  merge_moments(batch.rows(), mean.data(), scatter.data());
}

void PcaAccumulator::add(Backend& backend, MatrixView<const float> batch) {
  const char* where = "PcaAccumulator::add";
  require(batch.cols() == d_, ErrorCode::shape_mismatch, where, "batch has ", batch.cols(),
          " columns, the accumulator ", d_);
  const int64_t n = batch.rows();
  if (n == 0) return;
  // Stream row blocks through one backend buffer; each block's moments are
  // exact-centred (its own mean), then merged.
  const int64_t block = std::min(n, internal::pca_block_rows(backend, d_));
  DeviceArray<float> buf = backend.allocate<float>(block, d_);
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    const int64_t rows = std::min(block, n - b0);
    MatrixView<const float> part = batch.row_block(b0, rows);
    if (rows != buf.rows()) buf = backend.allocate<float>(rows, d_);
    if (part.contiguous()) {
      backend.copy_to_device(*buf.buffer(), 0, part.data(), buf.bytes());
    } else {
      buf = backend.upload(part);
    }
    try {
      add(backend, buf);
    } catch (const Error& e) {
      // Name the offending cell (slow path, errors only).
      if (e.code() == ErrorCode::non_finite_input) internal::check_finite_matrix(part, where);
      throw;
    }
  }
}

void PcaAccumulator::add(Backend& backend, const CsrView& batch) {
  const char* where = "PcaAccumulator::add";
  require(batch.cols == d_, ErrorCode::shape_mismatch, where, "batch has ", batch.cols,
          " columns, the accumulator ", d_);
  validate_csr(batch, where);
  const int64_t n = batch.rows, d = d_;
  if (n == 0) return;
  const int threads = backend.options().threads;
  // The batch mean straight from the CSR arrays (one pass over the
  // non-zeros, float64, fixed row chunks summed in order).
  const std::vector<double> mean = internal::csr_column_means(batch, threads);
  // Then the scatter about that mean, one dense row block at a time (the
  // whole matrix is never densified): densify on the host, copy into one
  // reused backend buffer, gram with the batch mean as the shift.
  const int64_t block = std::min(n, internal::pca_block_rows(backend, d));
  std::vector<float> host(static_cast<std::size_t>(block * d));
  std::vector<double> scatter(static_cast<std::size_t>(d * d), 0.0);
  std::vector<double> part(static_cast<std::size_t>(d * d));
  DeviceArray<float> buf = backend.allocate<float>(block, d);
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    const int64_t rows = std::min(block, n - b0);
    internal::densify_csr_rows(batch, b0, rows, host.data(), threads);
    if (rows != buf.rows()) buf = backend.allocate<float>(rows, d);
    backend.copy_to_device(*buf.buffer(), 0, host.data(), buf.bytes());
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
