// Silhouette: distances in row tiles from the backend's GEMM, per-cluster
// distance sums per row, then a and b. See
// include/stray/metrics/silhouette.hpp.
#include "stray/metrics/silhouette.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <unordered_map>

#include "core/check.hpp"
#include "core/rng.hpp"

namespace stray {
namespace {

// Labels as dense cluster ids 0..k-1 in first-seen order, and each cluster's
// size.
struct DenseLabels {
  std::vector<int32_t> id;
  std::vector<int64_t> size;
};

DenseLabels densify(const std::vector<int32_t>& labels, int64_t n, const char* where) {
  internal::require(static_cast<int64_t>(labels.size()) == n, ErrorCode::shape_mismatch, where,
                    labels.size(), " labels for ", n, " rows");
  DenseLabels out;
  out.id.resize(labels.size());
  std::unordered_map<int32_t, int32_t> seen;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto [it, fresh] = seen.emplace(labels[i], static_cast<int32_t>(out.size.size()));
    if (fresh) out.size.push_back(0);
    out.id[i] = it->second;
    ++out.size[static_cast<std::size_t>(it->second)];
  }
  const auto k = static_cast<int64_t>(out.size.size());
  internal::require(k >= 2 && k <= n - 1, ErrorCode::invalid_argument, where, k,
                    " distinct labels for ", n,
                    " rows; the silhouette needs between 2 and n - 1 of them");
  return out;
}

// Calls visit(begin, end, D) for row tiles of X, D [end-begin x n] holding the
// Euclidean distances of those rows to every row.
void for_each_distance_tile(Backend& backend, MatrixView<const float> X,
                            const std::function<void(int64_t, int64_t, const float*)>& visit) {
  const int64_t n = X.rows(), d = X.cols();
  // Centring keeps ‖x‖² small next to the cross term's rounding.
  Matrix<float> centred(n, d);
  std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean[static_cast<std::size_t>(j)] += X(i, j);
  for (double& m : mean) m /= static_cast<double>(n);
  std::vector<double> norm(static_cast<std::size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      const float v = static_cast<float>(X(i, j) - mean[static_cast<std::size_t>(j)]);
      centred(i, j) = v;
      norm[static_cast<std::size_t>(i)] += static_cast<double>(v) * v;
    }
  }
  const DeviceArray<float> all = backend.upload(centred.view());
  const auto budget_rows = static_cast<int64_t>(backend.workspace_bytes() / 2 /
                                                (static_cast<std::size_t>(n) * sizeof(float)));
  const int64_t tile = std::clamp<int64_t>(budget_rows, 1, n);
  DeviceArray<float> cross = backend.allocate<float>(tile, n);
  std::vector<float> host(static_cast<std::size_t>(tile * n));
  for (int64_t begin = 0; begin < n; begin += tile) {
    const int64_t rows = std::min(tile, n - begin);
    const DeviceArray<float> part =
        backend.upload(MatrixView<const float>(centred.view().row_block(begin, rows)));
    DeviceArray<float> out = rows == tile ? std::move(cross) : backend.allocate<float>(rows, n);
    backend.gemm(false, true, 1.0f, part, all, 0.0f, out);
    backend.download(out, host.data());
    for (int64_t r = 0; r < rows; ++r) {
      const double ni = norm[static_cast<std::size_t>(begin + r)];
      float* row = host.data() + r * n;
      for (int64_t j = 0; j < n; ++j) {
        const double sq = ni + norm[static_cast<std::size_t>(j)] - 2.0 * row[j];
        row[j] = j == begin + r ? 0.0f : static_cast<float>(std::sqrt(std::max(sq, 0.0)));
      }
    }
    visit(begin, begin + rows, host.data());
    if (rows == tile) cross = std::move(out);
  }
}

// s(i) from row i's distances to every row.
double silhouette_of_row(const float* distances, int64_t n, int32_t own, const DenseLabels& L,
                         std::vector<double>& sums) {
  std::fill(sums.begin(), sums.end(), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    sums[static_cast<std::size_t>(L.id[static_cast<std::size_t>(j)])] += distances[j];
  }
  const int64_t own_size = L.size[static_cast<std::size_t>(own)];
  if (own_size <= 1) return 0.0;
  const double a = sums[static_cast<std::size_t>(own)] / static_cast<double>(own_size - 1);
  double b = std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < sums.size(); ++c) {
    if (static_cast<int32_t>(c) != own) b = std::min(b, sums[c] / static_cast<double>(L.size[c]));
  }
  const double m = std::max(a, b);
  return m > 0.0 ? (b - a) / m : 0.0;
}

}  // namespace

std::vector<double> silhouette_samples(Backend& backend, MatrixView<const float> X,
                                       const std::vector<int32_t>& labels) {
  constexpr const char* where = "silhouette_samples";
  internal::check_finite_matrix(X, where);
  const int64_t n = X.rows();
  const DenseLabels L = densify(labels, n, where);
  std::vector<double> s(static_cast<std::size_t>(n));
  std::vector<double> sums(L.size.size());
  for_each_distance_tile(backend, X, [&](int64_t begin, int64_t end, const float* D) {
    for (int64_t i = begin; i < end; ++i) {
      s[static_cast<std::size_t>(i)] =
          silhouette_of_row(D + (i - begin) * n, n, L.id[static_cast<std::size_t>(i)], L, sums);
    }
  });
  return s;
}

double silhouette_score(Backend& backend, MatrixView<const float> X,
                        const std::vector<int32_t>& labels, int64_t sample_size, uint64_t seed) {
  constexpr const char* where = "silhouette_score";
  internal::require(sample_size >= 0, ErrorCode::invalid_argument, where,
                    "sample_size=", sample_size, " < 0");
  const int64_t n = X.rows();
  internal::require(static_cast<int64_t>(labels.size()) == n, ErrorCode::shape_mismatch, where,
                    labels.size(), " labels for ", n, " rows");
  std::vector<double> s;
  if (sample_size == 0 || sample_size >= n) {
    s = silhouette_samples(backend, X, labels);
  } else {
    // A uniform sample without replacement, in row order (Knuth's algorithm S).
    internal::Rng rng(seed);
    Matrix<float> S(sample_size, X.cols());
    std::vector<int32_t> sample_labels;
    sample_labels.reserve(static_cast<std::size_t>(sample_size));
    int64_t taken = 0;
    for (const int64_t i : rng.sample_in_order(n, sample_size)) {
      std::copy(X.row(i), X.row(i) + X.cols(), S.row(taken++));
      sample_labels.push_back(labels[static_cast<std::size_t>(i)]);
    }
    s = silhouette_samples(backend, S.view(), sample_labels);
  }
  double total = 0.0;
  for (const double v : s) total += v;
  return total / static_cast<double>(s.size());
}

std::vector<double> silhouette_samples_precomputed(MatrixView<const float> D,
                                                   const std::vector<int32_t>& labels) {
  constexpr const char* where = "silhouette_samples_precomputed";
  const int64_t n = D.rows();
  internal::require(D.cols() == n, ErrorCode::shape_mismatch, where, "D is ", D.rows(), " x ",
                    D.cols(), ", not square");
  const DenseLabels L = densify(labels, n, where);
  std::vector<double> s(static_cast<std::size_t>(n));
  std::vector<double> sums(L.size.size());
  for (int64_t i = 0; i < n; ++i) {
    s[static_cast<std::size_t>(i)] =
        silhouette_of_row(D.row(i), n, L.id[static_cast<std::size_t>(i)], L, sums);
  }
  return s;
}

Matrix<float> pairwise_distances(Backend& backend, MatrixView<const float> X) {
  constexpr const char* where = "pairwise_distances";
  internal::check_finite_matrix(X, where);
  const int64_t n = X.rows();
  internal::require_memory(where, "the distance matrix", {n, n}, sizeof(float), "float32");
  Matrix<float> D(n, n);
  for_each_distance_tile(backend, X, [&](int64_t begin, int64_t end, const float* tile) {
    std::copy(tile, tile + (end - begin) * n, D.row(begin));
  });
  return D;
}

}  // namespace stray
