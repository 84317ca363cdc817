// CPU backend: Backend::csr_knn — exact neighbours of sparse rows, with
// nothing densified. The distance is core/sparse_distance.hpp's; x·y needs
// only the columns both rows store, so the reference rows are indexed by
// column (a CSC copy), and each query adds, for each of its entries in
// column order, its products with the reference rows that store that
// column: the definition's sum, in the definition's order, and only the
// non-zero products — on fleet rows, where most columns belong to a few
// roles, a small share of brute force's.
//
// A reference row that shares no column with the query is at
// ‖x‖² + ‖y‖² (its dot is 0): those rows are taken in the order of their
// norms (then index), and only until the next one's distance exceeds the
// query's k-th — so no query visits every row unless it must.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "core/check.hpp"
#include "core/knn_check.hpp"
#include "core/knn_exact.hpp"
#include "core/sparse_distance.hpp"
#include "core/work_team.hpp"
#include "cpu/cpu_backend.hpp"

namespace stray::internal {
namespace {

/// Queries per block of work: enough that the team's hand-offs are few.
constexpr int64_t kQueryBlock = 64;

struct HostCsr {
  const int64_t* indptr;
  const int32_t* indices;
  const float* values;
  int64_t rows;
};

HostCsr host_rows(const DeviceCsr& A) {
  return HostCsr{A.indptr.data(), A.indices.data(), A.values.data(), A.rows};
}

std::vector<double> sq_norms(const HostCsr& A) {
  std::vector<double> out(static_cast<std::size_t>(A.rows));
  for (int64_t i = 0; i < A.rows; ++i) out[i] = sparse_row_sq_norm(A.indptr, A.values, i);
  return out;
}

/// The reference rows by column: for column c, the rows storing it (in row
/// order) and their values.
struct ColumnIndex {
  std::vector<int64_t> start;  // [d + 1]
  std::vector<int64_t> row;    // [nnz]
  std::vector<float> value;    // [nnz]

  ColumnIndex(const HostCsr& R, int64_t d)
      : start(static_cast<std::size_t>(d + 1), 0),
        row(static_cast<std::size_t>(R.indptr[R.rows])),
        value(row.size()) {
    for (int64_t p = 0; p < R.indptr[R.rows]; ++p) ++start[R.indices[p] + 1];
    std::partial_sum(start.begin(), start.end(), start.begin());
    std::vector<int64_t> next(start.begin(), start.end() - 1);
    for (int64_t j = 0; j < R.rows; ++j) {
      for (int64_t p = R.indptr[j]; p < R.indptr[j + 1]; ++p) {
        const int64_t at = next[R.indices[p]]++;
        row[at] = j;
        value[at] = R.values[p];
      }
    }
  }
};

/// One worker's running dot products, 0 for every reference row between
/// queries; for a query that meets few rows, the rows it met (`touched`,
/// each marked with its stamp in `mark`).
struct DotScratch {
  explicit DotScratch(int64_t m)
      : dot(static_cast<std::size_t>(m), 0.0), mark(static_cast<std::size_t>(m), 0) {}
  std::vector<double> dot;
  std::vector<int64_t> mark;
  std::vector<int64_t> touched;
};

/// A query whose products number at least m / kScanShare finds its rows by
/// scanning all m dots (sequential, cheap per row) rather than listing them
/// as they are met (a random access per product).
constexpr int64_t kScanShare = 4;

// One call's rows, norms, index and output lists.
struct SparseSearch {
  HostCsr queries;
  const ColumnIndex* columns;
  std::vector<double> reference_sq, own_query_sq;
  const std::vector<double>* query_sq;
  std::vector<int64_t> by_norm;  // reference rows by (‖y‖², index)
  bool self;
  int64_t k;
  double* list_sq;
  int64_t* list_index;

  int64_t products(int64_t i) const {
    int64_t count = 0;
    for (int64_t p = queries.indptr[i]; p < queries.indptr[i + 1]; ++p) {
      const int64_t c = queries.indices[p];
      count += columns->start[c + 1] - columns->start[c];
    }
    return count;
  }

  // dot[j] += x·y for every reference row sharing a column with query i,
  // its products added in the query's column order; with `s`, each row met
  // is listed once.
  void add_products(int64_t i, double* dot, DotScratch* s) const {
    const int64_t* start = columns->start.data();
    const int64_t* rows = columns->row.data();
    const float* values = columns->value.data();
    for (int64_t p = queries.indptr[i]; p < queries.indptr[i + 1]; ++p) {
      const double v = queries.values[p];
      const int64_t c = queries.indices[p];
      for (int64_t e = start[c]; e < start[c + 1]; ++e) {
        const int64_t j = rows[e];
        dot[j] += v * static_cast<double>(values[e]);
        if (s && s->mark[j] != i + 1) {
          s->mark[j] = i + 1;
          s->touched.push_back(j);
        }
      }
    }
  }

  void offer(int64_t i, int64_t j, double dot, KnnList& list) const {
    const double d = sparse_sq_distance((*query_sq)[i], reference_sq[j], dot);
    if (!(d > list.bound()) && !(self && j == i)) list.offer(d, j);
  }

  // The rows not offered yet (`offered(j)` false), nearest first: their dot
  // is 0, and fl(‖x‖² + ‖y‖²) never decreases along them, so the first
  // beyond the bound ends the walk.
  template <class Offered>
  void offer_by_norm(int64_t i, KnnList& list, Offered&& offered) const {
    for (const int64_t j : by_norm) {
      if (offered(j) || (self && j == i)) continue;
      if (sparse_sq_distance((*query_sq)[i], reference_sq[j], 0.0) > list.bound()) break;
      offer(i, j, 0.0, list);
    }
  }

  void search(int64_t i, DotScratch& s) const {
    KnnList list{list_sq + i * k, list_index + i * k, k};
    std::fill(list.sq, list.sq + k, std::numeric_limits<double>::infinity());
    std::fill(list.index, list.index + k, int64_t{-1});
    double* dot = s.dot.data();
    const auto m = static_cast<int64_t>(s.dot.size());
    if (products(i) * kScanShare >= m) {
      // Rows whose dot is exactly 0 are left to the walk: the same distance.
      add_products(i, dot, nullptr);
      for (int64_t j = 0; j < m; ++j) {
        if (dot[j] != 0.0) offer(i, j, dot[j], list);
      }
      offer_by_norm(i, list, [dot](int64_t j) { return dot[j] != 0.0; });
      std::fill(dot, dot + m, 0.0);
    } else {
      s.touched.clear();
      add_products(i, dot, &s);
      for (const int64_t j : s.touched) {
        offer(i, j, dot[j], list);
        dot[j] = 0.0;
      }
      offer_by_norm(i, list, [&s, i](int64_t j) { return s.mark[j] == i + 1; });
    }
    for (int64_t c = 0; c < k; ++c) list.sq[c] = std::sqrt(list.sq[c]);
  }
};

std::vector<int64_t> rows_by_norm(const std::vector<double>& sq) {
  std::vector<int64_t> order(sq.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return sq[a] < sq[b] || (sq[a] == sq[b] && a < b);
  });
  return order;
}

}  // namespace

void CpuBackend::csr_knn(const DeviceCsr& reference, const DeviceCsr* queries, int64_t k,
                         DeviceArray<int64_t>& indices, DeviceArray<double>& distances) {
  const char* where = "csr_knn";
  require_host(where, {reference.indptr.buffer(), reference.indices.buffer(),
                       reference.values.buffer(), queries ? queries->indptr.buffer() : nullptr,
                       queries ? queries->indices.buffer() : nullptr,
                       queries ? queries->values.buffer() : nullptr, indices.buffer(),
                       distances.buffer()});
  const int64_t q = check_knn_args(where, reference, queries, k, indices, distances);
  if (q == 0) return;
  const int64_t m = reference.rows;
  require_memory(where, "the column pointers of the reference rows", {reference.cols},
                 sizeof(int64_t), "int64");
  require_memory(where, "the reference rows by column", {reference.nnz},
                 sizeof(int64_t) + sizeof(float), "int64 + float32");
  require_memory(where, "running dot products per thread", {threads_, m, 2}, sizeof(int64_t),
                 "float64 + int64");
  const HostCsr R = host_rows(reference);
  const ColumnIndex columns(R, reference.cols);
  SparseSearch search;
  search.queries = queries ? host_rows(*queries) : R;
  search.columns = &columns;
  search.reference_sq = sq_norms(R);
  if (queries) search.own_query_sq = sq_norms(search.queries);
  search.query_sq = queries ? &search.own_query_sq : &search.reference_sq;
  search.by_norm = rows_by_norm(search.reference_sq);
  search.self = queries == nullptr;
  search.k = k;
  search.list_sq = distances.data();
  search.list_index = indices.data();
  PerWorker<DotScratch> scratch(team(), [m] { return DotScratch(m); });
  for_row_blocks(q, kQueryBlock, [&](int64_t begin, int64_t end, int worker) {
    for (int64_t i = begin; i < end; ++i) search.search(i, scratch[worker]);
  });
}

}  // namespace stray::internal
