// CPU backend: k-means on sparse rows — distances from CSR rows to dense
// centres without densifying, and per-cluster sums of the rows. The
// distance is core/sparse_distance.hpp's; here each row's products with
// all centres are formed together, as scaled copies of the centres'
// columns (a transposed copy of C, so the centres' values for one feature
// are contiguous and the loop over centres vectorises). Each product is
// still added in the row's stored order, so the bits are the definition's.
#include <algorithm>
#include <vector>

#include "core/check.hpp"
#include "core/sparse_distance.hpp"
#include "cpu/cpu_backend.hpp"

namespace stray::internal {
namespace {

// C [k x d] as [d x k].
std::vector<float> transposed(const float* C, int64_t k, int64_t d) {
  std::vector<float> t(static_cast<std::size_t>(k * d));
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < d; ++j) t[static_cast<std::size_t>(j * k + c)] = C[c * d + j];
  }
  return t;
}

// What every row of one call reads: the CSR arrays, C transposed and the
// centres' squared norms.
struct SparseCentres {
  const int64_t* indptr;
  const int32_t* indices;
  const float* values;
  int64_t k;
  std::vector<float> by_feature;  // [d x k]
  std::vector<double> sq_norms;   // [k]

  const float* column(int64_t p) const {
    return by_feature.data() + static_cast<int64_t>(indices[p]) * k;
  }

  // dist[c] = the squared distance of row i to centre c, for every c. The
  // entries are taken four at a time, each product still added in stored
  // order ((s + p0) + p1 ...), so one load and store of s serves four.
  void row_distances(int64_t i, double* dist) const {
    std::fill(dist, dist + k, 0.0);
    double row_sq = 0.0;
    int64_t p = indptr[i];
    const int64_t end = indptr[i + 1];
    for (; p + 4 <= end; p += 4) {
      const double v0 = values[p], v1 = values[p + 1], v2 = values[p + 2], v3 = values[p + 3];
      row_sq = (((row_sq + v0 * v0) + v1 * v1) + v2 * v2) + v3 * v3;
      const float *c0 = column(p), *c1 = column(p + 1), *c2 = column(p + 2), *c3 = column(p + 3);
      for (int64_t c = 0; c < k; ++c) {
        dist[c] = (((dist[c] + v0 * static_cast<double>(c0[c])) + v1 * static_cast<double>(c1[c])) +
                   v2 * static_cast<double>(c2[c])) +
                  v3 * static_cast<double>(c3[c]);
      }
    }
    for (; p < end; ++p) {
      const double v = values[p];
      row_sq += v * v;
      const float* c0 = column(p);
      for (int64_t c = 0; c < k; ++c) dist[c] += v * static_cast<double>(c0[c]);
    }
    for (int64_t c = 0; c < k; ++c) dist[c] = sparse_sq_distance(row_sq, sq_norms[c], dist[c]);
  }
};

SparseCentres sparse_centres(const DeviceCsr& A, const DeviceArray<float>& C, const char* where) {
  require(C.cols() == A.cols && C.rows() >= 1, ErrorCode::shape_mismatch, where, "centres are ",
          C.rows(), " x ", C.cols(), " for a CSR with ", A.cols, " columns");
  return SparseCentres{A.indptr.data(), A.indices.data(), A.values.data(), C.rows(),
                       transposed(C.data(), C.rows(), C.cols()),
                       center_sq_norms(C.data(), C.rows(), C.cols())};
}

// Rows of a few dozen non-zeros, each against every centre.
constexpr int64_t kSparseBlockRows = 1024;

}  // namespace

void CpuBackend::csr_nearest_centroid(const DeviceCsr& A, const DeviceArray<float>& C,
                                      DeviceArray<int32_t>& labels,
                                      DeviceArray<float>& min_sq_dist) {
  const char* where = "csr_nearest_centroid";
  require_host(where, {A.indptr.buffer(), A.indices.buffer(), A.values.buffer(), C.buffer(),
                       labels.buffer(), min_sq_dist.buffer()});
  require(labels.size() == A.rows && min_sq_dist.size() == A.rows, ErrorCode::shape_mismatch,
          where, "outputs of ", labels.size(), " and ", min_sq_dist.size(), " for ", A.rows,
          " rows");
  const SparseCentres centres = sparse_centres(A, C, where);
  int32_t* lab = labels.data();
  float* best_dist = min_sq_dist.data();
  for_row_blocks(A.rows, kSparseBlockRows, [&](int64_t begin, int64_t end, int) {
    std::vector<double> dist(static_cast<std::size_t>(centres.k));
    for (int64_t i = begin; i < end; ++i) {
      centres.row_distances(i, dist.data());
      // The first smallest: ties go to the lower index.
      const auto best = std::min_element(dist.begin(), dist.end());
      lab[i] = static_cast<int32_t>(best - dist.begin());
      best_dist[i] = static_cast<float>(*best);
    }
  });
}

void CpuBackend::csr_sq_distances(const DeviceCsr& A, const DeviceArray<float>& C,
                                  DeviceArray<float>& out) {
  const char* where = "csr_sq_distances";
  require_host(where, {A.indptr.buffer(), A.indices.buffer(), A.values.buffer(), C.buffer(),
                       out.buffer()});
  require(out.rows() == A.rows && out.cols() == C.rows(), ErrorCode::shape_mismatch, where,
          "out is ", out.rows(), " x ", out.cols(), ", expected ", A.rows, " x ", C.rows());
  const SparseCentres centres = sparse_centres(A, C, where);
  float* o = out.data();
  for_row_blocks(A.rows, kSparseBlockRows, [&](int64_t begin, int64_t end, int) {
    std::vector<double> dist(static_cast<std::size_t>(centres.k));
    for (int64_t i = begin; i < end; ++i) {
      centres.row_distances(i, dist.data());
      for (int64_t c = 0; c < centres.k; ++c) o[i * centres.k + c] = static_cast<float>(dist[c]);
    }
  });
}

void CpuBackend::csr_centroid_sums(const DeviceCsr& A, const DeviceArray<int32_t>& labels,
                                   const DeviceArray<float>* weights, int64_t k, double* sums,
                                   double* counts) {
  const char* where = "csr_centroid_sums";
  require_host(where, {A.indptr.buffer(), A.indices.buffer(), A.values.buffer(), labels.buffer(),
                       weights ? weights->buffer() : nullptr});
  const int64_t n = A.rows, d = A.cols;
  require(k >= 1, ErrorCode::invalid_argument, where, "k=", k);
  require(labels.size() == n && (weights == nullptr || weights->size() == n),
          ErrorCode::shape_mismatch, where, "labels of ", labels.size(), " and weights of ",
          weights ? weights->size() : n, " for ", n, " rows");
  std::fill(sums, sums + k * d, 0.0);
  std::fill(counts, counts + k, 0.0);
  const int64_t* ip = A.indptr.data();
  const int32_t* ix = A.indices.data();
  const float* v = A.values.data();
  const int32_t* lab = labels.data();
  const float* w = weights ? weights->data() : nullptr;
  // One pass in row order, as csr_cluster_sums: memory-bound over the
  // non-zeros, and the order is the data's whatever the thread count.
  for (int64_t i = 0; i < n; ++i) {
    const int32_t c = lab[i];
    require(c >= 0 && c < k, ErrorCode::invalid_argument, where, "label of row ", i, " is ", c,
            ", outside [0, ", k, ")");
    const double wi = w ? w[i] : 1.0;
    counts[c] += wi;
    double* s = sums + c * d;
    for (int64_t p = ip[i]; p < ip[i + 1]; ++p) s[ix[p]] += wi * v[p];
  }
}

}  // namespace stray::internal
