// CPU backend: the k-means primitives. Distances use the expanded form
// ‖x‖² + ‖c‖² − 2 x·c with the x·c products from an Eigen GEMM over row
// tiles small enough to stay in cache; each tile is consumed at once (argmin,
// min-update or potential sums), so no n×k matrix is ever stored.
#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "core/check.hpp"

namespace stray::internal {
namespace {

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<float> centre_sq_norms(const float* c, int64_t k, int64_t d) {
  std::vector<float> norms(static_cast<std::size_t>(k));
  for (int64_t j = 0; j < k; ++j) {
    double s = 0.0;
    for (int64_t t = 0; t < d; ++t) s += static_cast<double>(c[j * d + t]) * c[j * d + t];
    norms[j] = static_cast<float>(s);
  }
  return norms;
}

inline float sq_norm(const float* x, int64_t d) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t t = 0; t < d; ++t) s += x[t] * x[t];
  return s;
}

void check_same_width(const DeviceArray<float>& X, const DeviceArray<float>& C, const char* where) {
  require(X.cols() == C.cols(), ErrorCode::shape_mismatch, where, "X has ", X.cols(),
          " features, centres have ", C.cols());
  require(C.rows() > 0, ErrorCode::invalid_argument, where, "no centres");
}

}  // namespace

int64_t CpuBackend::distance_tile_rows(int64_t d, int64_t k) const {
  // A tile of X (rows × d) plus its products with the centres (rows × k)
  // should fit in ~512 KiB of L2; the per-thread product tiles together must
  // also fit in the workspace budget.
  const int64_t cache_rows = (512 * 1024) / (4 * (d + k));
  const int64_t budget_rows =
      static_cast<int64_t>(workspace_bytes_ / (4 * static_cast<std::size_t>(k) * threads_));
  int64_t rows = std::min(cache_rows, budget_rows);
  rows = std::clamp<int64_t>(rows / 16 * 16, 16, 2048);
  return rows;
}

// Calls fn(tile_index, row_begin, row_count, products, x_norms) for each
// tile, in parallel. `products` is k × row_count row-major (c_j · x_r): one
// contiguous run of rows per centre, so the per-row reductions below
// vectorise across rows. Tile boundaries depend on the shapes only.
template <typename Fn>
static void for_each_distance_tile(const CpuBackend& be, const DeviceArray<float>& X,
                                   const DeviceArray<float>& C, Fn&& fn,
                                   const float* known_norms = nullptr) {
  const int64_t n = X.rows(), d = X.cols(), k = C.rows();
  const int64_t tile = be.distance_tile_rows(d, k);
  const int64_t tiles = (n + tile - 1) / tile;
  const Eigen::Map<const RowMajorF> centres(C.data(), k, d);
  struct Scratch {
    RowMajorF products;
    std::vector<float> x_norms;
  };
  PerWorker<Scratch> scratch(be.team(), [&] {
    return Scratch{RowMajorF(k, tile), std::vector<float>(static_cast<std::size_t>(tile))};
  });
  be.team().run(tiles, [&](int64_t t, int worker) {
    Scratch& s = scratch[worker];
    const int64_t begin = t * tile;
    const int64_t rows = std::min(tile, n - begin);
    const Eigen::Map<const RowMajorF> xs(X.data() + begin * d, rows, d);
    Eigen::Map<RowMajorF> out(s.products.data(), k, rows);
    out.noalias() = centres * xs.transpose();
    if (known_norms) {
      fn(t, begin, rows, s.products.data(), known_norms + begin);
      return;
    }
    for (int64_t r = 0; r < rows; ++r) s.x_norms[r] = sq_norm(X.data() + (begin + r) * d, d);
    fn(t, begin, rows, s.products.data(), s.x_norms.data());
  });
}

void CpuBackend::nearest_centroid(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                  DeviceArray<int32_t>& labels, DeviceArray<float>& min_sq_dist) {
  require_host("nearest_centroid", {X.buffer(), C.buffer(), labels.buffer(), min_sq_dist.buffer()});
  check_same_width(X, C, "nearest_centroid");
  require(labels.size() == X.rows() && min_sq_dist.size() == X.rows(), ErrorCode::shape_mismatch,
          "nearest_centroid", "output length must equal n=", X.rows());
  const int64_t k = C.rows();
  const std::vector<float> c_norms = centre_sq_norms(C.data(), k, C.cols());
  int32_t* out_labels = labels.data();
  float* out_dist = min_sq_dist.data();
  for_each_distance_tile(*this, X, C,
                         [&](int64_t, int64_t begin, int64_t rows, const float* products,
                             const float* x_norms) {
    float* best = out_dist + begin;
    int32_t* best_j = out_labels + begin;
    for (int64_t r = 0; r < rows; ++r) {
      best[r] = std::numeric_limits<float>::infinity();
      best_j[r] = 0;
    }
    for (int64_t j = 0; j < k; ++j) {
      const float cn = c_norms[j];
      const float* p = products + j * rows;
      const int32_t label = static_cast<int32_t>(j);
#pragma omp simd
      for (int64_t r = 0; r < rows; ++r) {
        const float v = cn - 2.0f * p[r];
        const bool closer = v < best[r];  // strict: ties keep the lower index
        best[r] = closer ? v : best[r];
        best_j[r] = closer ? label : best_j[r];
      }
    }
    for (int64_t r = 0; r < rows; ++r) best[r] = std::max(0.0f, x_norms[r] + best[r]);
  });
}

void CpuBackend::update_closest(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                DeviceArray<float>& closest) {
  require_host("update_closest", {X.buffer(), C.buffer(), closest.buffer()});
  check_same_width(X, C, "update_closest");
  require(closest.size() == X.rows(), ErrorCode::shape_mismatch, "update_closest",
          "closest has ", closest.size(), " entries for n=", X.rows());
  const int64_t k = C.rows();
  const std::vector<float> c_norms = centre_sq_norms(C.data(), k, C.cols());
  float* out = closest.data();
  for_each_distance_tile(*this, X, C,
                         [&](int64_t, int64_t begin, int64_t rows, const float* products,
                             const float* x_norms) {
    float* best = out + begin;
    for (int64_t j = 0; j < k; ++j) {
      const float cn = c_norms[j];
      const float* p = products + j * rows;
#pragma omp simd
      for (int64_t r = 0; r < rows; ++r) {
        best[r] = std::min(best[r], std::max(0.0f, x_norms[r] + cn - 2.0f * p[r]));
      }
    }
  });
}

// candidate_potentials, and with `dist` [t x n] also every row's squared
// distance to every candidate (the formula of update_closest).
// One candidate's share of the potential over a tile's rows,
// Σ_r w_r·min(closest_r, d_r) with d_r = max(0, ‖x_r‖² + ‖c‖² − 2·p_r), in
// vector partial sums (a fixed order for a given build) rather than one
// serial float64 chain; with Keep, d_r is stored too, in the same loop.
template <bool Weighted, bool Keep>
double candidate_tile_sum(const float* p, const float* x_norms, float cn, const float* near,
                          const float* w, float* keep, int64_t rows) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t r = 0; r < rows; ++r) {
    const float dr = std::max(0.0f, x_norms[r] + cn - 2.0f * p[r]);
    if constexpr (Keep) keep[r] = dr;
    const double m = std::min(near[r], dr);
    if constexpr (Weighted) {
      sum += static_cast<double>(w[r]) * m;
    } else {
      sum += m;
    }
  }
  return sum;
}

static void potentials_pass(const CpuBackend& be, const DeviceArray<float>& X,
                            const DeviceArray<float>* weights, const DeviceArray<float>& closest,
                            const DeviceArray<float>& C, double* potentials, float* dist,
                            const float* x_sq_norms = nullptr) {
  const int64_t n = X.rows(), t = C.rows();
  const std::vector<float> c_norms = centre_sq_norms(C.data(), t, C.cols());
  const float* w = weights ? weights->data() : nullptr;
  const float* near = closest.data();
  const int64_t tile = be.distance_tile_rows(X.cols(), t);
  const int64_t tiles = (n + tile - 1) / tile;
  // One float64 partial per (tile, candidate), summed in tile order below.
  std::vector<double> partial(static_cast<std::size_t>(tiles * t), 0.0);
  for_each_distance_tile(be, X, C,
                         [&](int64_t tile_index, int64_t begin, int64_t rows,
                             const float* products, const float* x_norms) {
    double* acc = partial.data() + tile_index * t;
    const float* near_tile = near + begin;
    const float* w_tile = w ? w + begin : nullptr;
    for (int64_t j = 0; j < t; ++j) {
      const float* p = products + j * rows;
      const float cn = c_norms[j];
      float* keep = dist ? dist + j * n + begin : nullptr;
      double sum;
      if (w_tile) {
        sum = keep ? candidate_tile_sum<true, true>(p, x_norms, cn, near_tile, w_tile, keep, rows)
                   : candidate_tile_sum<true, false>(p, x_norms, cn, near_tile, w_tile, keep, rows);
      } else {
        sum = keep ? candidate_tile_sum<false, true>(p, x_norms, cn, near_tile, w_tile, keep, rows)
                   : candidate_tile_sum<false, false>(p, x_norms, cn, near_tile, w_tile, keep, rows);
      }
      acc[j] = sum;
    }
  }, x_sq_norms);
  std::fill(potentials, potentials + t, 0.0);
  for (int64_t i = 0; i < tiles; ++i) {
    for (int64_t j = 0; j < t; ++j) potentials[j] += partial[i * t + j];
  }
}

void CpuBackend::candidate_potentials(const DeviceArray<float>& X,
                                      const DeviceArray<float>* weights,
                                      const DeviceArray<float>& closest,
                                      const DeviceArray<float>& C, double* potentials) {
  require_host("candidate_potentials", {X.buffer(), weights ? weights->buffer() : nullptr, closest.buffer(), C.buffer()});
  check_same_width(X, C, "candidate_potentials");
  require(closest.size() == X.rows(), ErrorCode::shape_mismatch, "candidate_potentials",
          "closest has ", closest.size(), " entries for n=", X.rows());
  potentials_pass(*this, X, weights, closest, C, potentials, nullptr);
}

// One pass over X instead of two: the distances to every candidate are
// kept ([t x n] floats, if that fits the workspace), and the chosen
// candidate's row of them updates `closest` without reading X again. A
// k-means++ initialisation's time is mostly these passes.
void CpuBackend::row_sq_norms(const DeviceArray<float>& X, DeviceArray<float>& out) {
  require_host("row_sq_norms", {X.buffer(), out.buffer()});
  const int64_t n = X.rows(), d = X.cols();
  require(out.size() == n, ErrorCode::shape_mismatch, "row_sq_norms", "out has ", out.size(),
          " entries for n=", n);
  const float* x = X.data();
  float* o = out.data();
  // The same float32 sums as the distance tiles take, so either gives the
  // same bits.
  for_row_blocks(n, elementwise_block_rows(d), [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) o[i] = sq_norm(x + i * d, d);
  });
}

int64_t CpuBackend::kmeanspp_step(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                                  DeviceArray<float>& closest, const DeviceArray<float>& C,
                                  double* potentials, const DeviceArray<float>* x_sq_norms) {
  require_host("kmeanspp_step", {X.buffer(), weights ? weights->buffer() : nullptr, closest.buffer(), C.buffer(), x_sq_norms ? x_sq_norms->buffer() : nullptr});
  check_same_width(X, C, "kmeanspp_step");
  require(closest.size() == X.rows() && C.rows() > 0, ErrorCode::shape_mismatch, "kmeanspp_step",
          "closest has ", closest.size(), " entries for n=", X.rows(), ", ", C.rows(),
          " candidates");
  const int64_t n = X.rows(), t = C.rows();
  if (static_cast<std::size_t>(t * n) * sizeof(float) > workspace_bytes_) {
    return Backend::kmeanspp_step(X, weights, closest, C, potentials, x_sq_norms);
  }
  require(x_sq_norms == nullptr || x_sq_norms->size() == n, ErrorCode::shape_mismatch,
          "kmeanspp_step", "x_sq_norms has ", x_sq_norms ? x_sq_norms->size() : 0,
          " entries for n=", n);
  // Uninitialised (every entry is written before it is read): zeroing
  // t x n floats every step was a large share of the initialisation (see
  // RESULTS.md, 'k-means against scikit-learn', the k-means++ step).
  const std::unique_ptr<float[]> dist_buffer(new float[static_cast<std::size_t>(t * n)]);
  float* dist = dist_buffer.get();
  potentials_pass(*this, X, weights, closest, C, potentials, dist,
                  x_sq_norms ? x_sq_norms->data() : nullptr);
  int64_t best = 0;
  for (int64_t j = 1; j < t; ++j)
    if (potentials[j] < potentials[best]) best = j;
  float* near = closest.data();
  const float* chosen = dist + best * n;
  for_row_blocks(n, elementwise_block_rows(1), [&](int64_t begin, int64_t end, int) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) near[i] = std::min(near[i], chosen[i]);
  });
  return best;
}

void CpuBackend::accumulate_centroids(const DeviceArray<float>& X,
                                      const DeviceArray<int32_t>& labels,
                                      const DeviceArray<float>* weights, int64_t k, double* sums,
                                      double* counts) {
  require_host("accumulate_centroids", {X.buffer(), labels.buffer(), weights ? weights->buffer() : nullptr});
  const int64_t n = X.rows(), d = X.cols();
  require(labels.size() == n, ErrorCode::shape_mismatch, "accumulate_centroids", "labels has ",
          labels.size(), " entries for n=", n);
  require(k > 0, ErrorCode::invalid_argument, "accumulate_centroids", "k=", k);
  const int32_t* lab = labels.data();
  for (int64_t i = 0; i < n; ++i) {
    require(lab[i] >= 0 && lab[i] < k, ErrorCode::invalid_argument, "accumulate_centroids",
            "label ", lab[i], " of row ", i, " outside [0, ", k, ")");
  }
  const float* x = X.data();
  const float* w = weights ? weights->data() : nullptr;
  const int64_t kd = k * d;
  // Fixed chunks of rows (their size depends on the shapes only), each summed
  // into a float64 partial; partials are added in chunk order.
  const int64_t chunk_rows = std::max<int64_t>(4096, kd / 8);
  const int64_t chunks = (n + chunk_rows - 1) / chunk_rows;
  std::fill(sums, sums + kd, 0.0);
  std::fill(counts, counts + k, 0.0);
  // Each chunk's part: its sums [k x d], then its counts [k].
  const auto part_size = static_cast<std::size_t>(kd + k);
  const auto fit = static_cast<int64_t>(workspace_bytes_ / (part_size * sizeof(double)));
  run_ordered(*team_, chunks, part_size, std::min<int64_t>(fit, 4 * threads_),
              [&](int64_t chunk, double* part, int) {
    double* pc = part + kd;
    const int64_t begin = chunk * chunk_rows;
    const int64_t end = std::min(n, begin + chunk_rows);
    for (int64_t i = begin; i < end; ++i) {
      const double wi = w ? w[i] : 1.0;
      double* acc = part + static_cast<int64_t>(lab[i]) * d;
      const float* row = x + i * d;
      for (int64_t j = 0; j < d; ++j) acc[j] += wi * row[j];
      pc[lab[i]] += wi;
    }
  }, [&](int64_t, const double* part) {
    for (int64_t e = 0; e < kd; ++e) sums[e] += part[e];
    for (int64_t c = 0; c < k; ++c) counts[c] += part[kd + c];
  });
}

namespace {

// The rows whose label changed, in row order, or more than `most` of them
// (the list stops one past `most`: in the first iterations most rows move,
// and listing them all cost as much as the streaming pass that follows).
// Late iterations move a few hundred of 200,000 rows: the labels are
// compared a block at a time (vectorised), and only blocks that differ are
// looked at row by row.
std::vector<int64_t> changed_rows(const int32_t* previous, const int32_t* current, int64_t n,
                                  int64_t most) {
  constexpr int64_t kBlock = 16;
  const auto block_differs = [&](int64_t b) {
    int32_t diff = 0;
    for (int64_t j = b; j < b + kBlock; ++j) diff |= previous[j] ^ current[j];
    return diff != 0;
  };
  const int64_t whole = n / kBlock * kBlock;
  std::vector<int64_t> moved;
  for (int64_t b = 0; b < whole && static_cast<int64_t>(moved.size()) <= most; b += kBlock) {
    if (!block_differs(b)) continue;
    for (int64_t i = b; i < b + kBlock; ++i)
      if (previous[i] != current[i]) moved.push_back(i);
  }
  for (int64_t i = whole; i < n; ++i)
    if (previous[i] != current[i]) moved.push_back(i);
  return moved;
}

// The moved rows of one update and where their sums go.
struct Moves {
  const float* x;
  int64_t d;
  const float* weights;  // null: every row weighs 1
  const int32_t* previous;
  const int32_t* current;
  const std::vector<int64_t>& rows;
};

// Moves the rows m.rows[first, last) from their previous cluster's sums to
// their current one's, in list order. The rows lie scattered through X, in
// memory: each is prefetched a few rows ahead of its update.
void move_rows(const Moves& m, int64_t first, int64_t last, double* sums, double* counts) {
  constexpr int64_t kPrefetchRows = 8;
  const int64_t d = m.d;
  for (int64_t q = first; q < last; ++q) {
    if (q + kPrefetchRows < last) {
      const char* ahead = reinterpret_cast<const char*>(m.x + m.rows[q + kPrefetchRows] * d);
      for (int64_t off = 0; off < d * static_cast<int64_t>(sizeof(float)); off += 64)
        __builtin_prefetch(ahead + off);
    }
    const int64_t i = m.rows[q];
    const double wi = m.weights ? m.weights[i] : 1.0;
    double* from = sums + static_cast<int64_t>(m.previous[i]) * d;
    double* to = sums + static_cast<int64_t>(m.current[i]) * d;
    const float* row = m.x + i * d;
    for (int64_t j = 0; j < d; ++j) {
      from[j] -= wi * row[j];
      to[j] += wi * row[j];
    }
    counts[m.previous[i]] -= wi;
    counts[m.current[i]] += wi;
  }
}

// Many moves are split into a fixed number of parts of the list, each
// summed into its own float64 delta by any thread, the deltas added in
// part order: the same bits for any thread count. A few are applied in
// place: the parts' deltas (kParts x k x d) would cost more to clear and
// add than the moves (changed x d, twice).
void apply_moves(const Moves& m, int64_t k, WorkTeam& team, double* sums, double* counts) {
  constexpr int64_t kParts = 8;
  constexpr int64_t kMinMovesToSplit = 4096;
  const int64_t changed = static_cast<int64_t>(m.rows.size());
  if (changed < kMinMovesToSplit || kParts * k > changed) {  // the data's choice, not the threads'
    move_rows(m, 0, changed, sums, counts);
    return;
  }
  const int64_t kd = k * m.d;
  std::vector<double> delta(static_cast<std::size_t>(kParts * kd), 0.0);
  std::vector<double> delta_counts(static_cast<std::size_t>(kParts * k), 0.0);
  team.run(kParts, [&](int64_t part, int) {
    move_rows(m, changed * part / kParts, changed * (part + 1) / kParts, delta.data() + part * kd,
              delta_counts.data() + part * k);
  });
  for (int64_t part = 0; part < kParts; ++part) {
    for (int64_t e = 0; e < kd; ++e) sums[e] += delta[part * kd + e];
    for (int64_t c = 0; c < k; ++c) counts[c] += delta_counts[part * k + c];
  }
}

}  // namespace

void CpuBackend::update_centroid_sums(const DeviceArray<float>& X,
                                      const DeviceArray<int32_t>& previous_labels,
                                      const DeviceArray<int32_t>& labels,
                                      const DeviceArray<float>* weights, int64_t k, double* sums,
                                      double* counts) {
  require_host("update_centroid_sums", {X.buffer(), previous_labels.buffer(), labels.buffer(),
                                        weights ? weights->buffer() : nullptr});
  const int64_t n = X.rows();
  require(previous_labels.size() == n && labels.size() == n, ErrorCode::shape_mismatch,
          "update_centroid_sums", "labels must have n=", n, " entries");
  const int32_t* previous = previous_labels.data();
  const int32_t* current = labels.data();
  // Past 1/8 of the rows, one streaming pass beats scattered updates (see
  // RESULTS.md, 'k-means against scikit-learn', the incremental centroid
  // update). The choice depends on the data alone, so results stay
  // deterministic.
  const int64_t most_moves = n / 8;
  const std::vector<int64_t> moved = changed_rows(previous, current, n, most_moves);
  if (static_cast<int64_t>(moved.size()) > most_moves) {
    accumulate_centroids(X, labels, weights, k, sums, counts);
    return;
  }
  for (const int64_t i : moved) {
    require(previous[i] >= 0 && previous[i] < k && current[i] >= 0 && current[i] < k,
            ErrorCode::invalid_argument, "update_centroid_sums", "label of row ", i,
            " outside [0, ", k, ")");
  }
  const Moves m{X.data(), X.cols(), weights ? weights->data() : nullptr, previous, current, moved};
  apply_moves(m, k, *team_, sums, counts);
}

namespace {

// ‖x − c‖² for one row: vector partial sums (a fixed order for a given
// build); one serial float64 chain per row was latency-bound (see
// RESULTS.md, 'Figures moved from source comments (2026-12-05)'). The
// difference is taken in float32 (within 2⁻²⁴ of
// exact, and exact when x and c are within a factor 2 of each other); only
// its square is summed in float64, half the conversions of widening both.
inline double assigned_sq_distance(const float* row, const float* centre, int64_t d) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < d; ++j) {
    const double diff = row[j] - centre[j];
    s += diff * diff;
  }
  return s;
}

// Rows per fixed chunk of the inertia's float64 partial sums.
constexpr int64_t kInertiaChunkRows = 8192;

}  // namespace

int64_t CpuBackend::count_label_changes(const DeviceArray<int32_t>& current,
                                        DeviceArray<int32_t>& previous) {
  require_host("count_label_changes", {current.buffer(), previous.buffer()});
  const int64_t n = current.size();
  require(previous.size() == n, ErrorCode::shape_mismatch, "count_label_changes", "current has ",
          n, " labels, previous ", previous.size());
  const int32_t* now = current.data();
  int32_t* before = previous.data();
  std::atomic<int64_t> changed{0};
  for_row_blocks(n, elementwise_block_rows(1), [&](int64_t begin, int64_t end, int) {
    int64_t count = 0;
#pragma omp simd reduction(+ : count)
    for (int64_t i = begin; i < end; ++i) {
      count += now[i] != before[i];
      before[i] = now[i];
    }
    changed.fetch_add(count, std::memory_order_relaxed);
  });
  return changed.load();
}

void CpuBackend::assigned_sq_distances(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                       const DeviceArray<int32_t>& labels,
                                       DeviceArray<float>& out) {
  require_host("assigned_sq_distances", {X.buffer(), C.buffer(), labels.buffer(), out.buffer()});
  check_same_width(X, C, "assigned_sq_distances");
  const int64_t n = X.rows(), d = X.cols(), k = C.rows();
  require(labels.size() == n && out.size() == n, ErrorCode::shape_mismatch,
          "assigned_sq_distances", "labels and output must have n=", n, " entries");
  const int32_t* lab = labels.data();
  const float* x = X.data();
  const float* c = C.data();
  float* o = out.data();
  std::atomic<bool> bad_label{false};
  for_row_blocks(n, elementwise_block_rows(d), [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      if (lab[i] < 0 || lab[i] >= k) {
        bad_label.store(true, std::memory_order_relaxed);
        continue;
      }
      o[i] = static_cast<float>(assigned_sq_distance(x + i * d, c + static_cast<int64_t>(lab[i]) * d, d));
    }
  });
  require(!bad_label.load(), ErrorCode::invalid_argument, "assigned_sq_distances",
          "a label is outside [0, ", k, ")");
}

double CpuBackend::assigned_inertia(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                    const DeviceArray<int32_t>& labels,
                                    const DeviceArray<float>* weights) {
  require_host("assigned_inertia", {X.buffer(), C.buffer(), labels.buffer(), weights ? weights->buffer() : nullptr});
  check_same_width(X, C, "assigned_inertia");
  const int64_t n = X.rows(), d = X.cols(), k = C.rows();
  require(labels.size() == n, ErrorCode::shape_mismatch, "assigned_inertia",
          "labels must have n=", n, " entries");
  require(weights == nullptr || weights->size() == n, ErrorCode::shape_mismatch,
          "assigned_inertia", "weights has ", weights ? weights->size() : 0, " entries for n=", n);
  const int32_t* lab = labels.data();
  const float* x = X.data();
  const float* c = C.data();
  const float* w = weights ? weights->data() : nullptr;
  // No per-row distances stored and read back: each fixed chunk of rows
  // sums into its own float64 partial, and the partials add in chunk order.
  const int64_t chunks = (n + kInertiaChunkRows - 1) / kInertiaChunkRows;
  std::vector<double> partial(static_cast<std::size_t>(chunks), 0.0);
  std::atomic<bool> bad_label{false};
  team_->run(chunks, [&](int64_t chunk, int) {
    const int64_t end = std::min(n, (chunk + 1) * kInertiaChunkRows);
    double sum = 0.0;
    for (int64_t i = chunk * kInertiaChunkRows; i < end; ++i) {
      if (lab[i] < 0 || lab[i] >= k) {
        bad_label.store(true, std::memory_order_relaxed);
        continue;
      }
      const double s = assigned_sq_distance(x + i * d, c + static_cast<int64_t>(lab[i]) * d, d);
      sum += w ? w[i] * s : s;
    }
    partial[chunk] = sum;
  });
  require(!bad_label, ErrorCode::invalid_argument, "assigned_inertia", "a label is outside [0, ",
          k, ")");
  double total = 0.0;
  for (const double p : partial) total += p;
  return total;
}

}  // namespace stray::internal
