// CPU backend: Backend::csr_knn — exact neighbours of sparse rows by brute
// force, with nothing densified but a block of query rows. The distance is
// core/sparse_distance.hpp's: a block of 16 query rows is scattered into a
// [d x 16] table (one feature's 16 values contiguous), and each reference
// row's entries, in stored order, scale the table's rows — 16 dot products
// at once in a loop that vectorises, each still the definition's sum. The
// table is cleared entry by entry after its block, so a block costs its
// own non-zeros, not d.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/check.hpp"
#include "core/knn_check.hpp"
#include "core/knn_exact.hpp"
#include "core/sparse_distance.hpp"
#include "core/work_team.hpp"
#include "cpu/cpu_backend.hpp"

namespace stray::internal {
namespace {

/// Query rows per block: a table row of 16 floats is one cache line, and
/// 16 float64 sums are four AVX2 registers.
constexpr int64_t kQueryBlock = 16;

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

// Up to kQueryBlock query rows as a dense table [d x kQueryBlock].
class QueryTable {
 public:
  explicit QueryTable(int64_t d) : by_feature_(static_cast<std::size_t>(d * kQueryBlock), 0.0f) {}

  void load(const HostCsr& Q, int64_t q0, int64_t count) { scatter(Q, q0, count, true); }
  void clear(const HostCsr& Q, int64_t q0, int64_t count) { scatter(Q, q0, count, false); }

  // dot[b] = reference row j · query b, over j's entries in stored order.
  void dots(const HostCsr& R, int64_t j, double* dot) const {
    double acc[kQueryBlock] = {};
    for (int64_t p = R.indptr[j]; p < R.indptr[j + 1]; ++p) {
      const double v = R.values[p];
      const float* t = by_feature_.data() + static_cast<int64_t>(R.indices[p]) * kQueryBlock;
      for (int64_t b = 0; b < kQueryBlock; ++b) acc[b] += v * static_cast<double>(t[b]);
    }
    std::copy(acc, acc + kQueryBlock, dot);
  }

 private:
  void scatter(const HostCsr& Q, int64_t q0, int64_t count, bool values) {
    for (int64_t b = 0; b < count; ++b) {
      for (int64_t p = Q.indptr[q0 + b]; p < Q.indptr[q0 + b + 1]; ++p) {
        by_feature_[static_cast<std::size_t>(static_cast<int64_t>(Q.indices[p]) * kQueryBlock + b)] =
            values ? Q.values[p] : 0.0f;
      }
    }
  }

  std::vector<float> by_feature_;
};

// One call's rows, norms and output lists.
struct SparseSearch {
  HostCsr reference, queries;
  std::vector<double> reference_sq, own_query_sq;
  const std::vector<double>* query_sq;
  bool self;
  int64_t k;
  double* list_sq;
  int64_t* list_index;

  // Queries [q0, q0 + count) against every reference row, in index order.
  void search_block(QueryTable& table, int64_t q0, int64_t count) const {
    table.load(queries, q0, count);
    KnnList lists[kQueryBlock];
    for (int64_t b = 0; b < count; ++b) {
      lists[b] = KnnList{list_sq + (q0 + b) * k, list_index + (q0 + b) * k, k};
      std::fill(lists[b].sq, lists[b].sq + k, std::numeric_limits<double>::infinity());
      std::fill(lists[b].index, lists[b].index + k, int64_t{-1});
    }
    double dot[kQueryBlock];
    for (int64_t j = 0; j < reference.rows; ++j) {
      table.dots(reference, j, dot);
      for (int64_t b = 0; b < count; ++b) {
        const int64_t i = q0 + b;
        if (self && i == j) continue;
        const double s = sparse_sq_distance((*query_sq)[i], reference_sq[j], dot[b]);
        if (!(s > lists[b].bound())) lists[b].offer(s, j);
      }
    }
    table.clear(queries, q0, count);
    for (int64_t b = 0; b < count; ++b) {
      for (int64_t c = 0; c < k; ++c) lists[b].sq[c] = std::sqrt(lists[b].sq[c]);
    }
  }
};

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
  require_memory(where, "a table of query rows per thread", {threads_, reference.cols, kQueryBlock},
                 sizeof(float), "float32");
  SparseSearch search;
  search.reference = host_rows(reference);
  search.queries = queries ? host_rows(*queries) : search.reference;
  search.reference_sq = sq_norms(search.reference);
  if (queries) search.own_query_sq = sq_norms(search.queries);
  search.query_sq = queries ? &search.own_query_sq : &search.reference_sq;
  search.self = queries == nullptr;
  search.k = k;
  search.list_sq = distances.data();
  search.list_index = indices.data();
  const int64_t d = reference.cols;
  PerWorker<QueryTable> tables(team(), [d] { return QueryTable(d); });
  for_row_blocks(q, kQueryBlock, [&](int64_t begin, int64_t end, int worker) {
    search.search_block(tables[worker], begin, end - begin);
  });
}

}  // namespace stray::internal
