// Stability across days: each kept entity's drift, the movement beyond
// what its nearest day-one peers did (their coordinate-wise median), and
// the features that changed.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "core/rng.hpp"
#include "fleet/stability_internal.hpp"

namespace stray::internal {
namespace {

// Walks two sorted CSR rows together: f(column, a value, b value) for
// every column either row stores.
template <typename F>
void merge_rows(const CsrMatrix& a, const CsrMatrix& b, int64_t row, F&& f) {
  const auto i = static_cast<std::size_t>(row);
  int64_t p = a.indptr[i], q = b.indptr[i];
  const int64_t pe = a.indptr[i + 1], qe = b.indptr[i + 1];
  while (p < pe || q < qe) {
    const int32_t ja = p < pe ? a.indices[static_cast<std::size_t>(p)] : INT32_MAX;
    const int32_t jb = q < qe ? b.indices[static_cast<std::size_t>(q)] : INT32_MAX;
    const int32_t j = std::min(ja, jb);
    const double va = ja == j ? a.values[static_cast<std::size_t>(p++)] : 0.0;
    const double vb = jb == j ? b.values[static_cast<std::size_t>(q++)] : 0.0;
    f(j, va, vb);
  }
}

using SparseDiff = std::vector<std::pair<int32_t, double>>;  // (column, x₂ − x₁), by column

SparseDiff row_diff(const SharedDays& days, int64_t i) {
  SparseDiff d;
  merge_rows(days.day1, days.day2, i, [&](int32_t j, double v1, double v2) {
    if (v1 != v2) d.emplace_back(j, v2 - v1);
  });
  return d;
}

// The rows peers are searched among: all, or a seeded sample, ascending.
std::vector<int64_t> peer_pool(int64_t n, int64_t size, uint64_t seed) {
  Rng rng(seed ^ 0x9ee25a3b1e5ULL);
  return rng.sample_in_order(n, size);
}

double sq_distance(const float* a, const float* b, int64_t r) {
  double s = 0.0;
  for (int64_t j = 0; j < r; ++j) {
    const double d = static_cast<double>(a[j]) - b[j];
    s += d * d;
  }
  return s;
}

// Entity i's `count` nearest pool rows on day one (itself excluded), as
// positions in the pool; `scratch` is reused between calls.
void nearest_peers(const Matrix<float>& y1, const std::vector<int64_t>& pool, int64_t i,
                   int64_t count, std::vector<std::pair<double, int64_t>>& scratch) {
  scratch.clear();
  const int64_t r = y1.cols();
  for (std::size_t t = 0; t < pool.size(); ++t) {
    if (pool[t] == i) continue;
    scratch.emplace_back(sq_distance(y1.row(i), y1.row(pool[t]), r), static_cast<int64_t>(t));
  }
  const auto keep = static_cast<std::ptrdiff_t>(std::min<std::size_t>(scratch.size(), static_cast<std::size_t>(count)));
  std::partial_sort(scratch.begin(), scratch.begin() + keep, scratch.end());
  scratch.resize(static_cast<std::size_t>(keep));
}

// ‖v − ref‖ for two sparse vectors sorted by column.
double sparse_distance(const SparseDiff& v, const SparseDiff& ref) {
  double s = 0.0;
  std::size_t a = 0, b = 0;
  while (a < v.size() || b < ref.size()) {
    const int32_t ja = a < v.size() ? v[a].first : INT32_MAX;
    const int32_t jb = b < ref.size() ? ref[b].first : INT32_MAX;
    const int32_t j = std::min(ja, jb);
    const double x = (ja == j ? v[a++].second : 0.0) - (jb == j ? ref[b++].second : 0.0);
    s += x * x;
  }
  return std::sqrt(s);
}

// The median of `values` with `zeros` zeros added (values sorted ascending).
double median_with_zeros(const std::vector<double>& values, std::size_t zeros) {
  const std::size_t n = values.size() + zeros;
  const auto negatives = static_cast<std::size_t>(
      std::lower_bound(values.begin(), values.end(), 0.0) - values.begin());
  const auto at = [&](std::size_t k) {  // k-th of the sorted whole
    if (k < negatives) return values[k];
    if (k < negatives + zeros) return 0.0;
    return values[k - zeros];
  };
  return n % 2 == 1 ? at(n / 2) : 0.5 * (at(n / 2 - 1) + at(n / 2));
}

// The coordinate-wise median of the peers' sparse movements (a peer that
// did not change a feature counts as 0 there): a change most peers made
// survives, one that a few made does not.
void peer_median(const std::vector<SparseDiff>& pool_diffs,
                 const std::vector<std::pair<double, int64_t>>& peers, SparseDiff& entries,
                 std::vector<double>& values, SparseDiff& out) {
  entries.clear();
  out.clear();
  for (const auto& [dist, t] : peers) {
    const SparseDiff& d = pool_diffs[static_cast<std::size_t>(t)];
    entries.insert(entries.end(), d.begin(), d.end());
  }
  std::sort(entries.begin(), entries.end());
  for (std::size_t a = 0; a < entries.size();) {
    std::size_t b = a;
    values.clear();
    while (b < entries.size() && entries[b].first == entries[a].first) values.push_back(entries[b++].second);
    const double m = median_with_zeros(values, peers.size() - values.size());
    if (m != 0.0) out.emplace_back(entries[a].first, m);
    a = b;
  }
}

// Per thread: buffers reused from one entity to the next.
struct Scratch {
  std::vector<std::pair<double, int64_t>> peers;
  SparseDiff entries, ref;
  std::vector<double> values;
};

// Entity i's drift and movement in both spaces.
void measure(const DriftInputs& in, const std::vector<int64_t>& pool,
             const std::vector<SparseDiff>& pool_diffs, int64_t i, EntityDrift& e, Scratch& s) {
  const Matrix<float>& y1 = *in.reduced1;
  const Matrix<float>& y2 = *in.reduced2;
  const int64_t r = y1.cols();
  nearest_peers(y1, pool, i, in.peers, s.peers);

  const SparseDiff v = row_diff(*in.days, i);
  peer_median(pool_diffs, s.peers, s.entries, s.values, s.ref);
  double moved_sq = 0.0;
  for (const auto& [j, x] : v) moved_sq += x * x;
  e.moved = std::sqrt(moved_sq);
  e.drift = sparse_distance(v, s.ref);

  double rm = 0.0, rd = 0.0;
  for (int64_t j = 0; j < r; ++j) {
    s.values.clear();
    for (const auto& [dist, t] : s.peers) {
      const int64_t p = pool[static_cast<std::size_t>(t)];
      s.values.push_back(static_cast<double>(y2.row(p)[j]) - y1.row(p)[j]);
    }
    std::sort(s.values.begin(), s.values.end());
    const double shift = median_with_zeros(s.values, 0);
    const double x = static_cast<double>(y2.row(i)[j]) - y1.row(i)[j];
    rm += x * x;
    rd += (x - shift) * (x - shift);
  }
  e.reduced_moved = std::sqrt(rm);
  e.reduced_drift = std::sqrt(rd);
}

}  // namespace

std::vector<FeatureChange> changed_features(const CsrMatrix& a, const CsrMatrix& b, int64_t row,
                                            const std::vector<std::string>& names,
                                            int64_t* n_new, int64_t* n_lost, int64_t* n_changed) {
  std::vector<FeatureChange> out;
  *n_new = *n_lost = *n_changed = 0;
  merge_rows(a, b, row, [&](int32_t j, double v1, double v2) {
    if (v1 == v2) return;
    ++*(v1 == 0.0 ? n_new : v2 == 0.0 ? n_lost : n_changed);
    out.push_back({names[static_cast<std::size_t>(j)], v1, v2});
  });
  std::sort(out.begin(), out.end(), [](const FeatureChange& x, const FeatureChange& y) {
    const double dx = std::abs(x.day2 - x.day1), dy = std::abs(y.day2 - y.day1);
    return dx != dy ? dx > dy : x.name < y.name;
  });
  return out;
}

std::vector<EntityDrift> entity_drift(const DriftInputs& in, DriftSpace space, int64_t top,
                                      int64_t features_per_entity) {
  const int64_t n = static_cast<int64_t>(in.labels1->size());
  const auto k = static_cast<int64_t>(in.partner->size());
  std::vector<int32_t> inverse(static_cast<std::size_t>(k), -1);  // day-two cluster -> day-one
  for (int64_t c = 0; c < k; ++c) {
    const int32_t c2 = (*in.partner)[static_cast<std::size_t>(c)];
    if (c2 >= 0) inverse[static_cast<std::size_t>(c2)] = static_cast<int32_t>(c);
  }
  const std::vector<int64_t> pool = peer_pool(n, in.peer_sample, in.seed);
  std::vector<SparseDiff> pool_diffs(pool.size());
  for (std::size_t t = 0; t < pool.size(); ++t) pool_diffs[t] = row_diff(*in.days, pool[t]);

  std::vector<EntityDrift> all(static_cast<std::size_t>(n));
#pragma omp parallel
  {
    Scratch scratch;
#pragma omp for schedule(dynamic, 64)
    for (int64_t i = 0; i < n; ++i) {
      EntityDrift& e = all[static_cast<std::size_t>(i)];
      e.index = i;
      e.day1 = (*in.labels1)[static_cast<std::size_t>(i)];
      e.day2 = (*in.labels2)[static_cast<std::size_t>(i)];
      e.day2_partner = inverse[static_cast<std::size_t>(e.day2)];
      e.changed_cluster = e.day2_partner != e.day1;
      measure(in, pool, pool_diffs, i, e, scratch);
    }
  }
  const auto key = [space](const EntityDrift& e) {
    return space == DriftSpace::features ? e.drift : e.reduced_drift;
  };
  std::stable_sort(all.begin(), all.end(),
                   [&](const EntityDrift& x, const EntityDrift& y) { return key(x) > key(y); });
  const int64_t listed = std::min(top, n);
  for (int64_t t = 0; t < n; ++t) {
    EntityDrift& e = all[static_cast<std::size_t>(t)];
    e.entity = in.days->entities[static_cast<std::size_t>(e.index)];
    if (t >= listed) {  // counts only: no names to copy
      merge_rows(in.days->day1, in.days->day2, e.index, [&](int32_t, double v1, double v2) {
        if (v1 != v2) ++(v1 == 0.0 ? e.n_new : v2 == 0.0 ? e.n_lost : e.n_changed);
      });
      continue;
    }
    std::vector<FeatureChange> changes = changed_features(
        in.days->day1, in.days->day2, e.index, in.days->feature_names, &e.n_new, &e.n_lost,
        &e.n_changed);
    if (static_cast<int64_t>(changes.size()) > features_per_entity) {
      changes.resize(static_cast<std::size_t>(features_per_entity));
    }
    e.features = std::move(changes);
  }
  return all;
}

}  // namespace stray::internal
