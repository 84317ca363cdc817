// lof.hpp: Local Outlier Factor on Backend::knn's neighbour lists (dense
// rows) or Backend::csr_knn's (sparse rows). The lists come to the host
// (n × k); k-distances, reachability densities and scores are O(n·k) host
// loops in scikit-learn's order of operations.
#include "stray/neighbors/lof.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/check.hpp"
#include "core/csr_canonical.hpp"
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

// The rows LOF reads, on the backend: dense (Backend::knn) or sparse and
// canonical (Backend::csr_knn); one of the two is set.
struct LofRows {
  const DeviceArray<float>* dense = nullptr;
  const DeviceCsr* sparse = nullptr;
  int64_t rows() const { return dense ? dense->rows() : sparse->rows; }
};

// The k nearest neighbours of each query row (null: of each row of
// `reference`, leaving itself out), on the host. Queries come in the
// reference rows' form.
Lists neighbour_lists(Backend& backend, const LofRows& reference, const LofRows* queries,
                      int64_t k, const char* where) {
  const int64_t q = queries ? queries->rows() : reference.rows();
  internal::require_memory(where, "the neighbour lists", {q, k}, sizeof(int64_t) + sizeof(double),
                           "int64 + float64");
  DeviceArray<int64_t> indices = backend.allocate<int64_t>(q, k);
  DeviceArray<double> distances = backend.allocate<double>(q, k);
  if (reference.dense) {
    backend.knn(*reference.dense, queries ? queries->dense : nullptr, k, indices, distances);
  } else {
    backend.csr_knn(*reference.sparse, queries ? queries->sparse : nullptr, k, indices, distances);
  }
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

// The fit on rows resident on the backend (the caller keeps a novelty
// model's rows and times the fit).
LofResult fit_rows(Backend& backend, const LofParams& params, const LofRows& X,
                   const char* where) {
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
  if (params.keep_neighbors) {
    r.neighbor_indices = std::move(lists.indices);
    r.neighbor_distances = std::move(lists.distances);
  }
  return r;
}

LofResult fit_dense(Backend& backend, const LofParams& params, const DeviceArray<float>& X,
                    const char* where) {
  LofResult r = fit_rows(backend, params, LofRows{&X, nullptr}, where);
  if (params.novelty) r.reference = backend.download(X);
  return r;
}

// X canonical.
LofResult fit_sparse(Backend& backend, const LofParams& params, const CsrView& X,
                     const char* where) {
  const DeviceCsr A = backend.borrow_or_upload_csr(X);
  LofResult r = fit_rows(backend, params, LofRows{nullptr, &A}, where);
  if (params.novelty) {
    r.sparse_reference.rows = X.rows;
    r.sparse_reference.cols = X.cols;
    r.sparse_reference.indptr.assign(X.indptr, X.indptr + X.rows + 1);
    r.sparse_reference.indices.assign(X.indices, X.indices + X.nnz());
    r.sparse_reference.values.assign(X.values, X.values + X.nnz());
  }
  return r;
}

// The distinct rows of n rows, compared by key bytes (`key(i)`: row i's
// canonical bytes): each row's index among them (by first appearance) and
// each distinct row's first copy.
struct DistinctRows {
  std::vector<int64_t> of_row;  // [n]
  std::vector<int64_t> first;   // [distinct]
};

template <class Key>
DistinctRows distinct_by_key(int64_t n, Key&& key) {
  DistinctRows out;
  out.of_row.resize(static_cast<std::size_t>(n));
  // Row bytes as keys, hashed with the process's seed: rows come from
  // telemetry.
  std::unordered_map<std::string_view, int64_t, internal::SeededNameHash> index;
  index.reserve(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto [it, fresh] = index.try_emplace(key(i), static_cast<int64_t>(out.first.size()));
    if (fresh) out.first.push_back(i);
    out.of_row[static_cast<std::size_t>(i)] = it->second;
  }
  return out;
}

// Dense rows by value (−0 and +0 are the same row).
DistinctRows distinct_rows(MatrixView<const float> X) {
  const int64_t n = X.rows(), d = X.cols();
  std::vector<float> canonical(static_cast<std::size_t>(n * d));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t t = 0; t < d; ++t) {
      const float v = X(i, t);
      canonical[static_cast<std::size_t>(i * d + t)] = v == 0.0f ? 0.0f : v;
    }
  }
  const std::size_t row_bytes = static_cast<std::size_t>(d) * sizeof(float);
  return distinct_by_key(n, [&](int64_t i) {
    return std::string_view(reinterpret_cast<const char*>(canonical.data() + i * d), row_bytes);
  });
}

// Canonical sparse rows by value: the (column, value) pairs of the
// non-zero entries (a stored zero is no entry).
DistinctRows distinct_rows(const CsrView& X) {
  std::string bytes;
  std::vector<std::size_t> offsets{0};
  offsets.reserve(static_cast<std::size_t>(X.rows + 1));
  for (int64_t i = 0; i < X.rows; ++i) {
    for (int64_t p = X.indptr[i]; p < X.indptr[i + 1]; ++p) {
      if (X.values[p] == 0.0f) continue;
      bytes.append(reinterpret_cast<const char*>(&X.indices[p]), sizeof(int32_t));
      bytes.append(reinterpret_cast<const char*>(&X.values[p]), sizeof(float));
    }
    offsets.push_back(bytes.size());
  }
  return distinct_by_key(X.rows, [&](int64_t i) {
    return std::string_view(bytes.data() + offsets[i], offsets[i + 1] - offsets[i]);
  });
}

// LofParams::distinct_rows: `r`, fitted on the distinct rows, with its
// scores, labels and neighbour lists spread back to every row.
LofResult spread_to_rows(const LofParams& params, const DistinctRows& rows, LofResult r) {
  std::vector<double> factor(rows.of_row.size());
  for (std::size_t i = 0; i < factor.size(); ++i) {
    factor[i] = r.negative_outlier_factor[static_cast<std::size_t>(rows.of_row[i])];
  }
  r.negative_outlier_factor = std::move(factor);
  label_outliers(params, r);  // contamination is a share of every row
  if (params.keep_neighbors) {
    const auto n = static_cast<int64_t>(rows.of_row.size());
    const int64_t k = r.n_neighbors;
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
  return r;
}

LofResult fit_distinct(Backend& backend, const LofParams& params, MatrixView<const float> X,
                       const char* where) {
  const DistinctRows rows = distinct_rows(X);
  const auto m = static_cast<int64_t>(rows.first.size());
  if (m < 2) return fit_dense(backend, params, backend.borrow_or_upload(X), where);
  Matrix<float> D(m, X.cols());  // the distinct rows
  for (int64_t q = 0; q < m; ++q) {
    std::copy(X.row(rows.first[q]), X.row(rows.first[q]) + X.cols(), D.view().row(q));
  }
  const DeviceArray<float> distinct = backend.borrow_or_upload(std::as_const(D).view());
  return spread_to_rows(params, rows, fit_dense(backend, params, distinct, where));
}

// X canonical.
LofResult fit_distinct(Backend& backend, const LofParams& params, const CsrView& X,
                       const char* where) {
  const DistinctRows rows = distinct_rows(X);
  if (rows.first.size() < 2) return fit_sparse(backend, params, X, where);
  CsrMatrix D;  // the distinct rows
  D.rows = static_cast<int64_t>(rows.first.size());
  D.cols = X.cols;
  for (const int64_t i : rows.first) {
    D.indices.insert(D.indices.end(), X.indices + X.indptr[i], X.indices + X.indptr[i + 1]);
    D.values.insert(D.values.end(), X.values + X.indptr[i], X.values + X.indptr[i + 1]);
    D.indptr.push_back(D.nnz());
  }
  return spread_to_rows(params, rows, fit_sparse(backend, params, D.view(), where));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The model's training rows and X's, in the model's form, on the backend;
// the neighbour lists of X's rows among the training rows.
struct ScoringRows {
  std::optional<Matrix<float>> dense_x;  // X densified, for a dense model
  std::optional<CsrMatrix> sparse_x;     // X as CSR, for a sparse model
  DeviceArray<float> dense_r, dense_q;
  DeviceCsr sparse_r, sparse_q;
};

void check_model(const LofModel& model, int64_t cols, const char* where) {
  const bool sparse = model.sparse_reference.rows > 0;
  const int64_t n = sparse ? model.sparse_reference.rows : model.reference.rows();
  const int64_t d = sparse ? model.sparse_reference.cols : model.reference.cols();
  internal::require(model.novelty && n > 0, ErrorCode::invalid_argument, where,
                    "the model keeps no training rows: fit it with novelty (LofParams::novelty, "
                    "`--novelty`) to score new rows; the training rows' scores are "
                    "negative_outlier_factor");
  internal::require(cols == d, ErrorCode::shape_mismatch, where, "X has ", cols,
                    " features, the model ", d);
  const CsrMatrix& csr = model.sparse_reference;
  internal::require(!sparse || (csr.indptr.size() == static_cast<std::size_t>(n) + 1 &&
                                csr.indices.size() == csr.values.size() &&
                                static_cast<int64_t>(csr.indices.size()) == csr.indptr.back()),
                    ErrorCode::invalid_argument, where,
                    "the model's sparse rows are inconsistent (", csr.indptr.size(),
                    " row pointers for ", n, " rows, ", csr.indices.size(), " columns, ",
                    csr.values.size(), " values)");
  internal::require(model.n_neighbors >= 1 && model.n_neighbors <= n &&
                        model.k_distance.size() == static_cast<std::size_t>(n) &&
                        model.lrd.size() == model.k_distance.size(),
                    ErrorCode::invalid_argument, where, "the model is inconsistent (n_neighbors ",
                    model.n_neighbors, ", ", n, " training rows)");
}

// −LOF of X's rows (dense or sparse; the other null) against the model's.
std::vector<double> score_rows(Backend& backend, const LofModel& model,
                               const MatrixView<const float>* dense, const CsrView* sparse,
                               const char* where) {
  const bool sparse_model = model.sparse_reference.rows > 0;
  ScoringRows s;
  LofRows reference, queries;
  std::optional<internal::CanonicalRows> canonical_r, canonical_x;
  if (sparse_model) {
    // A model may come from anywhere (a caller's arrays): checked too.
    canonical_r.emplace(model.sparse_reference.view(), where);
    if (!sparse) s.sparse_x = dense_to_csr(*dense);
    canonical_x.emplace(sparse ? *sparse : s.sparse_x->view(), where);
    s.sparse_r = backend.borrow_or_upload_csr(canonical_r->view());
    s.sparse_q = backend.borrow_or_upload_csr(canonical_x->view());
    reference.sparse = &s.sparse_r;
    queries.sparse = &s.sparse_q;
  } else {
    if (sparse) {
      validate_csr(*sparse, where);
      internal::require_memory(where, "the rows densified for a dense model",
                               {sparse->rows, sparse->cols}, sizeof(float), "float32");
      s.dense_x = csr_to_dense(*sparse);
    }
    s.dense_r = backend.borrow_or_upload(model.reference.view());
    s.dense_q = backend.borrow_or_upload(sparse ? std::as_const(*s.dense_x).view() : *dense);
    reference.dense = &s.dense_r;
    queries.dense = &s.dense_q;
  }
  const Lists lists = neighbour_lists(backend, reference, &queries, model.n_neighbors, where);
  return negative_factor(lists, model.lrd, reachability_density(lists, model.k_distance));
}

std::vector<double> minus_offset(std::vector<double> scores, double offset) {
  for (double& s : scores) s -= offset;
  return scores;
}

std::vector<int32_t> labels_of(const std::vector<double>& decision) {
  std::vector<int32_t> labels(decision.size());
  for (std::size_t i = 0; i < decision.size(); ++i) labels[i] = decision[i] < 0.0 ? -1 : 1;
  return labels;
}

}  // namespace

LofResult lof_fit(Backend& backend, const LofParams& params, MatrixView<const float> X) {
  const auto start = std::chrono::steady_clock::now();
  const char* where = "lof_fit";
  internal::check_finite_matrix(X, where);
  LofResult r = params.distinct_rows
                    ? fit_distinct(backend, params, X, where)
                    : fit_dense(backend, params, backend.borrow_or_upload(X), where);
  r.seconds = seconds_since(start);
  return r;
}

LofResult lof_fit(Backend& backend, const LofParams& params, const DeviceArray<float>& X) {
  const auto start = std::chrono::steady_clock::now();
  const char* where = "lof_fit";
  internal::require(X.rows() > 0 && X.cols() > 0, ErrorCode::invalid_argument, where,
                    "X is empty (", X.rows(), " x ", X.cols(), ")");
  std::vector<double> mean(static_cast<std::size_t>(X.cols())), var(mean);
  backend.column_stats(X, nullptr, mean.data(), var.data());
  internal::check_stats_finite(mean, var, nullptr, where);
  LofResult r = params.distinct_rows
                    ? fit_distinct(backend, params, backend.download(X).view(), where)
                    : fit_dense(backend, params, X, where);
  r.seconds = seconds_since(start);
  return r;
}

LofResult lof_fit(Backend& backend, const LofParams& params, const CsrView& X) {
  const auto start = std::chrono::steady_clock::now();
  const char* where = "lof_fit";
  const internal::CanonicalRows rows(X, where);
  internal::require(X.cols > 0, ErrorCode::invalid_argument, where, "rows have no features");
  LofResult r = params.distinct_rows ? fit_distinct(backend, params, rows.view(), where)
                                     : fit_sparse(backend, params, rows.view(), where);
  r.seconds = seconds_since(start);
  return r;
}

std::vector<double> lof_score_samples(Backend& backend, const LofModel& model,
                                      MatrixView<const float> X) {
  const char* where = "lof_score_samples";
  check_model(model, X.cols(), where);
  internal::check_finite_matrix(X, where);
  return score_rows(backend, model, &X, nullptr, where);
}

std::vector<double> lof_score_samples(Backend& backend, const LofModel& model, const CsrView& X) {
  const char* where = "lof_score_samples";
  check_model(model, X.cols, where);
  return score_rows(backend, model, nullptr, &X, where);
}

std::vector<double> lof_decision_function(Backend& backend, const LofModel& model,
                                          MatrixView<const float> X) {
  return minus_offset(lof_score_samples(backend, model, X), model.offset);
}

std::vector<double> lof_decision_function(Backend& backend, const LofModel& model,
                                          const CsrView& X) {
  return minus_offset(lof_score_samples(backend, model, X), model.offset);
}

std::vector<int32_t> lof_predict(Backend& backend, const LofModel& model,
                                 MatrixView<const float> X) {
  return labels_of(lof_decision_function(backend, model, X));
}

std::vector<int32_t> lof_predict(Backend& backend, const LofModel& model, const CsrView& X) {
  return labels_of(lof_decision_function(backend, model, X));
}

}  // namespace stray
