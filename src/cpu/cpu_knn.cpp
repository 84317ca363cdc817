// CPU backend: Backend::knn, and its brute-force method. Query blocks × reference
// tiles of float32 products (an Eigen GEMM on centred copies, so the
// expanded form's rounding scales with the spread of the data, not its
// offset) are consumed at once by the TileFilter (cpu_knn_filter.cpp):
// only rows the ExpandedBound cannot rule out against the query's current
// k-th distance are recomputed exactly and offered to its list
// (core/knn_exact.hpp). The backend's team (core/work_team.hpp) takes
// query blocks; each list belongs to one block, so the answer does not
// depend on the thread count.
#include "cpu/cpu_knn.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "core/check.hpp"
#include "core/knn_check.hpp"
#include "core/knn_exact.hpp"
#include "cpu/cpu_backend.hpp"
#include "core/work_team.hpp"
#include "cpu/cpu_knn_fused.hpp"

namespace stray::internal {
namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Query rows per block: a block's rows of products against one reference
/// tile stay in L2 with the tile.
constexpr int64_t kQueryBlock = 256;

/// A centred float32 copy of rows [n x d] and, per row, ‖x'‖² (float64 and
/// float32) and ‖x'‖.
struct CentredRows {
  std::vector<float> rows;
  std::vector<double> sq, root;
  std::vector<float> sq32;
};

CentredRows centre(const CpuBackend& be, const float* X, int64_t n, int64_t d,
                   const std::vector<double>& mean) {
  CentredRows c;
  c.rows.resize(static_cast<std::size_t>(n * d));
  c.sq.resize(static_cast<std::size_t>(n));
  c.root.resize(static_cast<std::size_t>(n));
  c.sq32.resize(static_cast<std::size_t>(n));
  be.for_row_blocks(n, CpuBackend::elementwise_block_rows(d), [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      double s = 0.0;
      for (int64_t t = 0; t < d; ++t) {
        const float v = static_cast<float>(static_cast<double>(X[i * d + t]) - mean[t]);
        c.rows[i * d + t] = v;
        s += static_cast<double>(v) * v;
      }
      c.sq[i] = s;
      c.root[i] = std::sqrt(s);
      c.sq32[i] = static_cast<float>(s);
    }
  });
  return c;
}

/// Reference rows per tile: each thread's block of products (kQueryBlock ×
/// rows floats) within its share of the workspace and about 1 MiB.
int64_t reference_tile_rows(const CpuBackend& be, int64_t m) {
  const auto share = be.workspace_bytes() / static_cast<std::size_t>(std::max(1, be.threads()));
  const int64_t budget = static_cast<int64_t>(share / (sizeof(float) * kQueryBlock));
  return std::clamp<int64_t>(std::min<int64_t>(budget, 256), 16, std::max<int64_t>(m, 16));
}

}  // namespace

std::vector<double> knn_column_means(const float* X, int64_t n, int64_t d) {
  std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < d; ++t) mean[t] += X[i * d + t];
  for (double& v : mean) v /= static_cast<double>(std::max<int64_t>(n, 1));
  return mean;
}

bool knn_uses_pruning(int64_t m) {
  // Below a few leaves there is nothing to prune. Above, pruned tiles do
  // less work on clustered rows of any width, and on structureless rows
  // about brute force's (half of it for a self query, by pairs of leaves).
  return m >= 1024;
}

KnnKernel knn_task_kernel(const KnnTask& task, double sq_max_sum) {
  // |e| ≤ ‖y'‖² + 2Σ|x'_t y'_t| ≤ 2N: far below FLT_MAX, no estimate
  // overflows, and a kept row is exactly one whose estimate passes.
  if (!(sq_max_sum < 1e37)) return KnnKernel::gemm;
  return knn_kernel_for(task.d, task.kernel);
}

void knn_clear_lists(const CpuBackend& be, const KnnTask& task) {
  const int64_t k = task.k;
  const int64_t rows = CpuBackend::elementwise_block_rows(k);
  be.for_row_blocks(task.q, rows, [&](int64_t begin, int64_t end, int) {
    std::fill(task.distances + begin * k, task.distances + end * k,
              std::numeric_limits<double>::infinity());
    std::fill(task.indices + begin * k, task.indices + end * k, int64_t{-1});
  });
}

void knn_take_roots(const CpuBackend& be, const KnnTask& task) {
  const int64_t k = task.k;
  const int64_t rows = CpuBackend::elementwise_block_rows(k);
  be.for_row_blocks(task.q, rows, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin * k; p < end * k; ++p) task.distances[p] = std::sqrt(task.distances[p]);
  });
}

void knn_brute(const CpuBackend& be, const KnnTask& task) {
  const char* where = "knn";
  const int64_t m = task.m, q = task.q, d = task.d;
  require_memory(where, "the centred copies", {m + (task.queries ? q : 0), d}, sizeof(float),
                 "float32");
  const std::vector<double> mean = knn_column_means(task.reference, m, d);
  const CentredRows rc = centre(be, task.reference, m, d, mean);
  const CentredRows qc_own = task.queries ? centre(be, task.queries, q, d, mean) : CentredRows{};
  const CentredRows& qc = task.queries ? qc_own : rc;
  const int64_t tile = reference_tile_rows(be, m);
  const int64_t tiles = (m + tile - 1) / tile;
  std::vector<TileRows> tile_rows(static_cast<std::size_t>(tiles));
  for (int64_t t = 0; t < tiles; ++t) {
    TileRows& r = tile_rows[t];
    r.first = r.min_index = t * tile;
    r.count = std::min(tile, m - r.first);
    r.sq32 = rc.sq32.data() + r.first;
    r.original = task.reference + r.first * d;
    for (int64_t b = r.first; b < r.first + r.count; ++b) {
      r.sq_max = std::max(r.sq_max, rc.sq[b]);
      r.root_max = std::max(r.root_max, rc.root[b]);
    }
  }
  const int64_t blocks = (q + kQueryBlock - 1) / kQueryBlock;
  const double q_sq_max = qc.sq.empty() ? 0.0 : *std::max_element(qc.sq.begin(), qc.sq.end());
  const KnnKernel kernel = knn_task_kernel(task, q_sq_max + *std::max_element(rc.sq.begin(), rc.sq.end()));
  std::optional<KnnPanels> panels;
  if (kernel != KnnKernel::gemm) {
    require_memory(where, "the reference panels", {knn_panel_floats(m, tiles, d)}, sizeof(float),
                   "float32");
    std::vector<std::pair<int64_t, int64_t>> runs;
    for (const TileRows& r : tile_rows) runs.emplace_back(r.first, r.first + r.count);
    panels.emplace(rc.rows.data(), rc.sq.data(), d, runs);
  }
  knn_clear_lists(be, task);

  // One thread's buffers, made on the first block it takes.
  struct Scratch {
    RowMajorF products;
    TileFilter filter;
    FusedFilter fused;
    std::vector<TileQuery> queries;
    std::vector<KnnList> lists;
  };
  PerWorker<Scratch> scratch(be.team(), [&] {
    return Scratch{RowMajorF(kQueryBlock, tile), TileFilter(task, tile), FusedFilter(task, kernel),
                   std::vector<TileQuery>(kQueryBlock),
                   std::vector<KnnList>(kQueryBlock, KnnList{nullptr, nullptr, task.k})};
  });
  be.team().run(blocks, [&](int64_t b, int worker) {
    auto& [products, filter, fused, queries, lists] = scratch[worker];
    const int64_t q0 = b * kQueryBlock;
    const int64_t qrows = std::min(kQueryBlock, q - q0);
    for (int64_t a = 0; a < qrows; ++a) {
      const int64_t i = q0 + a;
      lists[a] = KnnList{task.distances + i * task.k, task.indices + i * task.k, task.k};
      queries[a] = TileQuery{(task.queries ? task.queries : task.reference) + i * d, i,
                             task.queries == nullptr, qc.sq[i], qc.root[i]};
    }
    const Eigen::Map<const RowMajorF> xs(qc.rows.data() + q0 * d, qrows, d);
    for (int64_t t = 0; t < tiles; ++t) {
      const TileRows& r = tile_rows[t];
      const bool full = std::all_of(lists.begin(), lists.begin() + qrows,
                                    [](const KnnList& l) { return l.full(); });
      if (panels && full) {
        fused.run(qc.rows.data() + q0 * d, queries.data(), lists.data(), qrows, r,
                  panels->values(t), panels->starts(t), panels->panels(t));
        continue;
      }
      const Eigen::Map<const RowMajorF> ys(rc.rows.data() + r.first * d, r.count, d);
      Eigen::Map<RowMajorF> out(products.data(), qrows, r.count);
      out.noalias() = xs * ys.transpose();
      for (int64_t a = 0; a < qrows; ++a)
        filter.run(queries[a], r, products.data() + a * r.count, lists[a]);
    }
  });
  knn_take_roots(be, task);
}

void CpuBackend::knn(const DeviceArray<float>& reference, const DeviceArray<float>* queries,
                     int64_t k, DeviceArray<int64_t>& indices, DeviceArray<double>& distances) {
  const char* where = "knn";
  require_host(where, {reference.buffer(), queries ? queries->buffer() : nullptr,
                       indices.buffer(), distances.buffer()});
  const int64_t q = check_knn_args(where, reference, queries, k, indices, distances);
  if (q == 0) return;
  KnnTask task;
  task.reference = reference.data();
  task.m = reference.rows();
  task.queries = queries ? queries->data() : nullptr;
  task.q = q;
  task.d = reference.cols();
  task.k = k;
  task.indices = indices.data();
  task.distances = distances.data();
  if (knn_uses_pruning(task.m)) {
    knn_pruned(*this, task);
  } else {
    knn_brute(*this, task);
  }
}

}  // namespace stray::internal
