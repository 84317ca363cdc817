// lof.hpp: Local Outlier Factor on Backend::knn's neighbour lists. The lists
// come to the host (n × k); k-distances, reachability densities and scores
// are O(n·k) host loops in scikit-learn's order of operations.
#include "stray/neighbors/lof.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/check.hpp"
#include "core/name_table.hpp"

namespace stray {
namespace {

/// scikit-learn's guard against a zero mean reachability distance.
constexpr double kLrdGuard = 1e-10;

struct Lists {
  Matrix<int64_t> indices;   // [q x k]
  Matrix<double> distances;  // [q x k]
};

/// The k used: n_neighbors, lowered to n − 1 as scikit-learn does (with
/// its warning); n < 2 has no neighbours to speak of.
int64_t neighbours_used(const LofParams& p, int64_t n, std::string* warning, const char* where) {
  internal::require(p.n_neighbors >= 1, ErrorCode::invalid_argument, where, "n_neighbors=",
                    p.n_neighbors, " must be at least 1");
  internal::require(n >= 2, ErrorCode::invalid_argument, where,
                    "LOF needs at least 2 rows (each row's neighbours are the others), got ", n);
  if (p.n_neighbors > n) {
    const char* samples = p.distinct_rows ? "distinct samples" : "total number of samples";
    *warning = "n_neighbors (" + std::to_string(p.n_neighbors) + ") is greater than the " +
               samples + " (" + std::to_string(n) +
               "); n_neighbors will be set to (n_samples - 1) for estimation";
  }
  return std::min(p.n_neighbors, n - 1);
}

void check_contamination(const LofParams& p, const char* where) {
  if (!p.contamination) return;
  const double c = *p.contamination;
  internal::require(c > 0.0 && c <= 0.5, ErrorCode::invalid_argument, where, "contamination=", c,
                    " must be in (0, 0.5] (or \"auto\")");
}

Lists neighbour_lists(Backend& backend, const DeviceArray<float>& reference,
                      const DeviceArray<float>* queries, int64_t k, const char* where) {
  const int64_t q = queries ? queries->rows() : reference.rows();
  internal::require_memory(where, "the neighbour lists", {q, k}, sizeof(int64_t) + sizeof(double),
                           "int64 + float64");
  DeviceArray<int64_t> indices = backend.allocate<int64_t>(q, k);
  DeviceArray<double> distances = backend.allocate<double>(q, k);
  backend.knn(reference, queries, k, indices, distances);
  return Lists{backend.download(indices), backend.download(distances)};
}

/// lrd of each listed row: 1 / (mean reach distance + 1e-10), the reach
/// distance to neighbour j being max(d, k_distance[j]).
std::vector<double> reachability_density(const Lists& lists, const std::vector<double>& k_distance) {
  const int64_t q = lists.indices.rows(), k = lists.indices.cols();
  std::vector<double> lrd(static_cast<std::size_t>(q));
  for (int64_t i = 0; i < q; ++i) {
    double sum = 0.0;
    for (int64_t c = 0; c < k; ++c) {
      const int64_t j = lists.indices(i, c);
      sum += std::max(lists.distances(i, c), k_distance[static_cast<std::size_t>(j)]);
    }
    lrd[static_cast<std::size_t>(i)] = 1.0 / (sum / static_cast<double>(k) + kLrdGuard);
  }
  return lrd;
}

/// −mean_j lrd(j) / lrd(i) over each listed row's neighbours j.
std::vector<double> negative_factor(const Lists& lists, const std::vector<double>& reference_lrd,
                                    const std::vector<double>& own_lrd) {
  const int64_t q = lists.indices.rows(), k = lists.indices.cols();
  std::vector<double> out(static_cast<std::size_t>(q));
  for (int64_t i = 0; i < q; ++i) {
    double sum = 0.0;
    for (int64_t c = 0; c < k; ++c) {
      sum += reference_lrd[static_cast<std::size_t>(lists.indices(i, c))] /
             own_lrd[static_cast<std::size_t>(i)];
    }
    out[static_cast<std::size_t>(i)] = -sum / static_cast<double>(k);
  }
  return out;
}

/// numpy.percentile's default ("linear"): rank p/100·(n − 1) between the
/// sorted values.
double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  const double t = rank - static_cast<double>(lo);
  return values[lo] + t * (values[hi] - values[lo]);
}

// The offset (scikit-learn's "auto" −1.5, or the contamination's
// percentile of the scores) and each row's label by it.
void label_outliers(const LofParams& params, LofResult& r) {
  r.offset = params.contamination ? percentile(r.negative_outlier_factor, 100.0 * *params.contamination)
                                  : -1.5;
  const std::size_t n = r.negative_outlier_factor.size();
  r.labels.assign(n, 1);
  r.n_outliers = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const bool outlier = r.negative_outlier_factor[i] < r.offset;
    r.labels[i] = outlier ? -1 : 1;
    r.n_outliers += outlier ? 1 : 0;
  }
}

LofResult fit_resident(Backend& backend, const LofParams& params, const DeviceArray<float>& X,
                       std::chrono::steady_clock::time_point start, const char* where) {
  check_contamination(params, where);
  LofResult r;
  const int64_t n = X.rows();
  const int64_t k = neighbours_used(params, n, &r.warning, where);
  Lists lists = neighbour_lists(backend, X, nullptr, k, where);
  r.n_neighbors = k;
  r.novelty = params.novelty;
  r.k_distance.resize(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) r.k_distance[static_cast<std::size_t>(i)] = lists.distances(i, k - 1);
  r.lrd = reachability_density(lists, r.k_distance);
  r.negative_outlier_factor = negative_factor(lists, r.lrd, r.lrd);
  label_outliers(params, r);
  const double lowest = *std::min_element(r.negative_outlier_factor.begin(), r.negative_outlier_factor.end());
  if (lowest < -1e7 && !params.novelty) {
    if (!r.warning.empty()) r.warning += "; ";
    r.warning += "duplicate values are leading to incorrect results (scores below -1e7); increase "
                 "the number of neighbors for more accurate results";
  }
  if (params.novelty) r.reference = backend.download(X);
  if (params.keep_neighbors) {
    r.neighbor_indices = std::move(lists.indices);
    r.neighbor_distances = std::move(lists.distances);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// The distinct rows of X: each row's index among them (by first
// appearance) and each distinct row's first copy. Rows are compared by
// value (−0 and +0 are the same row).
struct DistinctRows {
  std::vector<int64_t> of_row;  // [n]
  std::vector<int64_t> first;   // [distinct]
};

DistinctRows distinct_rows(MatrixView<const float> X) {
  const int64_t n = X.rows(), d = X.cols();
  std::vector<float> canonical(static_cast<std::size_t>(n * d));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t t = 0; t < d; ++t) {
      const float v = X(i, t);
      canonical[static_cast<std::size_t>(i * d + t)] = v == 0.0f ? 0.0f : v;
    }
  }
  DistinctRows out;
  out.of_row.resize(static_cast<std::size_t>(n));
  // Row bytes as keys, hashed with the process's seed: rows come from
  // telemetry.
  std::unordered_map<std::string_view, int64_t, internal::SeededNameHash> index;
  index.reserve(static_cast<std::size_t>(n));
  const std::size_t row_bytes = static_cast<std::size_t>(d) * sizeof(float);
  for (int64_t i = 0; i < n; ++i) {
    const std::string_view key(reinterpret_cast<const char*>(canonical.data() + i * d), row_bytes);
    const auto [it, fresh] = index.try_emplace(key, static_cast<int64_t>(out.first.size()));
    if (fresh) out.first.push_back(i);
    out.of_row[static_cast<std::size_t>(i)] = it->second;
  }
  return out;
}

// LofParams::distinct_rows: the fit over the distinct rows, its scores and
// neighbour lists spread back to every row.
LofResult fit_distinct(Backend& backend, const LofParams& params, MatrixView<const float> X,
                       std::chrono::steady_clock::time_point start, const char* where) {
  const DistinctRows rows = distinct_rows(X);
  const auto m = static_cast<int64_t>(rows.first.size());
  if (m < 2) return fit_resident(backend, params, backend.borrow_or_upload(X), start, where);
  Matrix<float> D(m, X.cols());  // the distinct rows
  for (int64_t q = 0; q < m; ++q) {
    std::copy(X.row(rows.first[q]), X.row(rows.first[q]) + X.cols(), D.view().row(q));
  }
  LofResult r = fit_resident(backend, params, backend.borrow_or_upload(std::as_const(D).view()), start, where);
  std::vector<double> factor(rows.of_row.size());
  for (std::size_t i = 0; i < factor.size(); ++i) {
    factor[i] = r.negative_outlier_factor[static_cast<std::size_t>(rows.of_row[i])];
  }
  r.negative_outlier_factor = std::move(factor);
  label_outliers(params, r);  // contamination is a share of every row
  if (params.keep_neighbors) {
    const int64_t n = X.rows(), k = r.n_neighbors;
    Matrix<int64_t> indices(n, k);
    Matrix<double> distances(n, k);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t q = rows.of_row[static_cast<std::size_t>(i)];
      for (int64_t j = 0; j < k; ++j) {
        indices(i, j) = rows.first[static_cast<std::size_t>(r.neighbor_indices(q, j))];
        distances(i, j) = r.neighbor_distances(q, j);
      }
    }
    r.neighbor_indices = std::move(indices);
    r.neighbor_distances = std::move(distances);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

LofResult lof_fit(Backend& backend, const LofParams& params, MatrixView<const float> X) {
  const auto start = std::chrono::steady_clock::now();
  internal::check_finite_matrix(X, "lof_fit");
  if (params.distinct_rows) return fit_distinct(backend, params, X, start, "lof_fit");
  const DeviceArray<float> resident = backend.borrow_or_upload(X);
  return fit_resident(backend, params, resident, start, "lof_fit");
}

LofResult lof_fit(Backend& backend, const LofParams& params, const DeviceArray<float>& X) {
  const auto start = std::chrono::steady_clock::now();
  const char* where = "lof_fit";
  internal::require(X.rows() > 0 && X.cols() > 0, ErrorCode::invalid_argument, where,
                    "X is empty (", X.rows(), " x ", X.cols(), ")");
  std::vector<double> mean(static_cast<std::size_t>(X.cols())), var(mean);
  backend.column_stats(X, nullptr, mean.data(), var.data());
  internal::check_stats_finite(mean, var, nullptr, where);
  if (params.distinct_rows) {
    const Matrix<float> host = backend.download(X);
    return fit_distinct(backend, params, host.view(), start, where);
  }
  return fit_resident(backend, params, X, start, where);
}

std::vector<double> lof_score_samples(Backend& backend, const LofModel& model,
                                      MatrixView<const float> X) {
  const char* where = "lof_score_samples";
  internal::require(model.novelty && !model.reference.empty(), ErrorCode::invalid_argument, where,
                    "the model keeps no training rows: fit it with novelty (LofParams::novelty, "
                    "`--novelty`) to score new rows; the training rows' scores are "
                    "negative_outlier_factor");
  internal::check_finite_matrix(X, where);
  internal::require(X.cols() == model.reference.cols(), ErrorCode::shape_mismatch, where,
                    "X has ", X.cols(), " features, the model ", model.reference.cols());
  internal::require(model.n_neighbors >= 1 && model.n_neighbors <= model.reference.rows() &&
                        model.k_distance.size() == static_cast<std::size_t>(model.reference.rows()) &&
                        model.lrd.size() == model.k_distance.size(),
                    ErrorCode::invalid_argument, where, "the model is inconsistent (n_neighbors ",
                    model.n_neighbors, ", ", model.reference.rows(), " training rows)");
  const DeviceArray<float> R = backend.borrow_or_upload(model.reference.view());
  const DeviceArray<float> Q = backend.borrow_or_upload(X);
  const Lists lists = neighbour_lists(backend, R, &Q, model.n_neighbors, where);
  return negative_factor(lists, model.lrd, reachability_density(lists, model.k_distance));
}

std::vector<double> lof_decision_function(Backend& backend, const LofModel& model,
                                          MatrixView<const float> X) {
  std::vector<double> scores = lof_score_samples(backend, model, X);
  for (double& s : scores) s -= model.offset;
  return scores;
}

std::vector<int32_t> lof_predict(Backend& backend, const LofModel& model,
                                 MatrixView<const float> X) {
  const std::vector<double> decision = lof_decision_function(backend, model, X);
  std::vector<int32_t> labels(decision.size());
  for (std::size_t i = 0; i < decision.size(); ++i) labels[i] = decision[i] < 0.0 ? -1 : 1;
  return labels;
}

}  // namespace stray
