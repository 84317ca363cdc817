// Value rarity: each feature's baseline distribution as knots, and the
// summed two-sided tail costs of an entity's values against them.
#include "stray/fleet/rarity.hpp"

#include <algorithm>
#include <cmath>

#include "core/check.hpp"

namespace stray {
namespace {

using internal::require;

// Each column's stored values: how many, the least and the largest.
struct ColumnSpan {
  int64_t count = 0;
  float low = 0.0f, high = 0.0f;
};

std::vector<ColumnSpan> column_spans(const CsrView& X, const char* where) {
  std::vector<ColumnSpan> spans(static_cast<std::size_t>(X.cols));
  const int64_t nnz = X.nnz();
  for (int64_t t = 0; t < nnz; ++t) {
    const float v = X.values[t];
    require(std::isfinite(v) && v >= 0.0f, ErrorCode::invalid_argument, where, "a stored value ",
            v, " is negative or not finite (rarity reads non-negative features)");
    ColumnSpan& c = spans[static_cast<std::size_t>(X.indices[t])];
    c.low = c.count == 0 ? v : std::min(c.low, v);
    c.high = c.count == 0 ? v : std::max(c.high, v);
    ++c.count;
  }
  return spans;
}

// The stored values of the columns with a slot (those with more than one
// value), gathered column by column (a counting sort by column): starts
// [slots + 1], values. Presence columns, one value each, need none of this.
void gather_columns(const CsrView& X, const std::vector<int64_t>& slot_of,
                    const std::vector<ColumnSpan>& spans, std::vector<int64_t>& starts,
                    std::vector<float>& values) {
  const int64_t slots = *std::max_element(slot_of.begin(), slot_of.end()) + 1;
  starts.assign(static_cast<std::size_t>(slots) + 1, 0);
  for (std::size_t j = 0; j < slot_of.size(); ++j) {
    if (slot_of[j] >= 0) starts[static_cast<std::size_t>(slot_of[j]) + 1] = spans[j].count;
  }
  for (int64_t s = 0; s < slots; ++s) starts[static_cast<std::size_t>(s) + 1] += starts[static_cast<std::size_t>(s)];
  std::vector<int64_t> next(starts.begin(), starts.end() - 1);
  values.resize(static_cast<std::size_t>(starts.back()));
  const int64_t nnz = X.nnz();
  for (int64_t t = 0; t < nnz; ++t) {
    const int64_t s = slot_of[static_cast<std::size_t>(X.indices[t])];
    if (s >= 0) values[static_cast<std::size_t>(next[static_cast<std::size_t>(s)]++)] = X.values[t];
  }
}

// One column's knots from its sorted stored values (zeros among them count
// with the entities that have no stored value).
std::vector<RarityKnot> column_knots(std::span<float> sorted, int64_t n, int64_t max_knots) {
  std::vector<RarityKnot> all;
  const auto zeros_stored = static_cast<int64_t>(
      std::upper_bound(sorted.begin(), sorted.end(), 0.0f) - sorted.begin());
  int64_t below = n - static_cast<int64_t>(sorted.size()) + zeros_stored;
  for (std::size_t t = static_cast<std::size_t>(zeros_stored); t < sorted.size();) {
    std::size_t u = t;
    while (u < sorted.size() && sorted[u] == sorted[t]) ++u;
    const auto equal = static_cast<int64_t>(u - t);
    all.push_back({sorted[t], equal, below});
    below += equal;
    t = u;
  }
  const auto m = static_cast<int64_t>(all.size());
  if (m <= max_knots) return all;
  // The tails exactly (rarity lives there), evenly spaced values between.
  const int64_t edge = max_knots / 4, middle = max_knots - 2 * edge;
  std::vector<RarityKnot> kept(all.begin(), all.begin() + edge);
  const int64_t first = edge, last = m - edge - 1;  // the middle's span of indices
  for (int64_t s = 0; s < middle; ++s) {
    const int64_t at = first + (s * (last - first)) / std::max<int64_t>(middle - 1, 1);
    if (kept.back().value < all[static_cast<std::size_t>(at)].value) {
      kept.push_back(all[static_cast<std::size_t>(at)]);
    }
  }
  for (int64_t t = m - edge; t < m; ++t) {
    if (kept.back().value < all[static_cast<std::size_t>(t)].value) {
      kept.push_back(all[static_cast<std::size_t>(t)]);
    }
  }
  return kept;
}

// The smaller one-sided mid-p tail of `below` and `equal` among n: the
// share of the baseline as far out on the value's side.
double one_sided(double below, double equal, double n) {
  const double left = (below + 0.5 * equal + 1.0) / (n + 1.0);
  const double right = (n - below - 0.5 * equal + 1.0) / (n + 1.0);
  return std::min(left, right);
}

// −ln of the two-sided mid-p value of `below` and `equal` among n.
double tail_cost(double below, double equal, double n) {
  return -std::log(std::min(1.0, 2.0 * one_sided(below, equal, n)));
}

// How many of the n baseline values lie below `value` and how many equal
// it, against one feature's knots [begin, end).
struct Counts {
  double below = 0.0, equal = 0.0;
};

Counts knots_counts(const RarityKnot* begin, const RarityKnot* end, double n, double value) {
  const double zeros = begin == end ? n : static_cast<double>(begin->below);
  if (!(value > 0.0)) return {0.0, zeros};
  const RarityKnot* at = std::lower_bound(
      begin, end, value, [](const RarityKnot& k, double v) { return static_cast<double>(k.value) < v; });
  if (at != end && static_cast<double>(at->value) == value) {
    return {static_cast<double>(at->below), static_cast<double>(at->equal)};
  }
  if (at == begin) return {zeros, 0.0};
  if (at == end) return {n, 0.0};
  // Between two kept values: the entities between them spread evenly.
  const RarityKnot& a = at[-1];
  const double low = static_cast<double>(a.below + a.equal);
  const double share = (value - a.value) / (static_cast<double>(at->value) - a.value);
  return {low + share * (static_cast<double>(at->below) - low), 0.0};
}

// −ln p of `value` against one feature's knots [begin, end) among n.
double knots_cost(const RarityKnot* begin, const RarityKnot* end, double n, double value) {
  const Counts c = knots_counts(begin, end, n, value);
  return tail_cost(c.below, c.equal, n);
}

double feature_cost(const FeatureRarity& rarity, int64_t feature, double value) {
  const RarityKnot* knots = rarity.knots.data();
  return knots_cost(knots + rarity.offsets[static_cast<std::size_t>(feature)],
                    knots + rarity.offsets[static_cast<std::size_t>(feature) + 1],
                    static_cast<double>(rarity.n_entities), value);
}

}  // namespace

FeatureRarity fit_feature_rarity(const CsrView& X, int64_t max_knots) {
  constexpr const char* where = "fit_feature_rarity";
  require(X.rows >= 1, ErrorCode::invalid_argument, where, "no entities to learn rarity from");
  require(max_knots >= 8, ErrorCode::invalid_argument, where, "max_knots=", max_knots, " < 8");
  const std::vector<ColumnSpan> spans = column_spans(X, where);
  std::vector<int64_t> slot_of(spans.size(), -1);
  int64_t slots = 0;
  for (std::size_t j = 0; j < spans.size(); ++j) {
    if (spans[j].low < spans[j].high) slot_of[j] = slots++;
  }
  std::vector<int64_t> starts;
  std::vector<float> values;
  if (slots > 0) gather_columns(X, slot_of, spans, starts, values);
  FeatureRarity out;
  out.n_entities = X.rows;
  out.offsets.assign(1, 0);
  out.offsets.reserve(spans.size() + 1);
  for (std::size_t j = 0; j < spans.size(); ++j) {
    const ColumnSpan& c = spans[j];
    if (slot_of[j] >= 0) {
      const auto s = static_cast<std::size_t>(slot_of[j]);
      std::span<float> column(values.data() + starts[s], values.data() + starts[s + 1]);
      std::sort(column.begin(), column.end());
      const std::vector<RarityKnot> knots = column_knots(column, X.rows, max_knots);
      out.knots.insert(out.knots.end(), knots.begin(), knots.end());
    } else if (c.count > 0 && c.high > 0.0f) {  // one value: presence, typically
      out.knots.push_back({c.high, c.count, X.rows - c.count});
    }
    out.offsets.push_back(static_cast<int64_t>(out.knots.size()));
  }
  return out;
}

double value_rarity(const FeatureRarity& rarity, int64_t feature, double value) {
  require(feature >= 0 && feature < rarity.n_features(), ErrorCode::invalid_argument,
          "value_rarity", "feature ", feature, " outside the ", rarity.n_features(), " features");
  require(!rarity.empty(), ErrorCode::not_fitted, "value_rarity", "the rarity is not fitted");
  return feature_cost(rarity, feature, value);
}

std::vector<double> rarity_scores(const FeatureRarity& rarity, const CsrView& X,
                                  std::span<const UnseenFeature> unseen) {
  constexpr const char* where = "rarity_scores";
  require(X.cols == rarity.n_features(), ErrorCode::shape_mismatch, where, "the matrix has ",
          X.cols, " features, the rarity ", rarity.n_features());
  require(!rarity.empty(), ErrorCode::not_fitted, where, "the rarity is not fitted");
  validate_feature_rarity(rarity, X.cols, where);  // O(knots): the pass is O(nnz)
  // A row's sum: every feature at zero, corrected where the row has a
  // value; a value equal to a kept one (every baseline value, but in a
  // thinned feature) adds that knot's excess, computed once here.
  const auto n = static_cast<double>(rarity.n_entities);
  std::vector<double> zero_cost(static_cast<std::size_t>(X.cols));
  std::vector<double> excess(rarity.knots.size());
  double all_zero = 0.0;
  for (int64_t j = 0; j < X.cols; ++j) {
    const double z = feature_cost(rarity, j, 0.0);
    zero_cost[static_cast<std::size_t>(j)] = z;
    all_zero += z;
    for (int64_t t = rarity.offsets[static_cast<std::size_t>(j)];
         t < rarity.offsets[static_cast<std::size_t>(j) + 1]; ++t) {
      const RarityKnot& k = rarity.knots[static_cast<std::size_t>(t)];
      excess[static_cast<std::size_t>(t)] =
          tail_cost(static_cast<double>(k.below), static_cast<double>(k.equal), n) - z;
    }
  }
  const RarityKnot* knots = rarity.knots.data();
  std::vector<double> out(static_cast<std::size_t>(X.rows));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < X.rows; ++i) {
    double s = all_zero;
    for (int64_t t = X.indptr[i]; t < X.indptr[i + 1]; ++t) {
      const auto j = static_cast<std::size_t>(X.indices[t]);
      const RarityKnot* b = knots + rarity.offsets[j];
      const RarityKnot* e = knots + rarity.offsets[j + 1];
      const float x = X.values[t];
      const RarityKnot* at = std::lower_bound(
          b, e, x, [](const RarityKnot& k, float v) { return k.value < v; });
      s += at != e && at->value == x ? excess[static_cast<std::size_t>(at - knots)]
                                     : knots_cost(b, e, n, x) - zero_cost[j];
    }
    out[static_cast<std::size_t>(i)] = s;
  }
  const double never_seen = std::log((static_cast<double>(rarity.n_entities) + 1.0) / 2.0);
  for (const UnseenFeature& u : unseen) {
    require(u.entity >= 0 && u.entity < X.rows, ErrorCode::invalid_argument, where,
            "an unseen feature's entity ", u.entity, " is outside the ", X.rows, " rows");
    if (u.normalized > 0.0) out[static_cast<std::size_t>(u.entity)] += never_seen;
  }
  return out;
}

std::vector<std::vector<RareValue>> rarest_values(const FeatureRarity& rarity, const CsrView& X,
                                                  std::span<const int64_t> rows, int64_t top) {
  constexpr const char* where = "rarest_values";
  require(X.cols == rarity.n_features(), ErrorCode::shape_mismatch, where, "the matrix has ",
          X.cols, " features, the rarity ", rarity.n_features());
  require(!rarity.empty(), ErrorCode::not_fitted, where, "the rarity is not fitted");
  require(top >= 0, ErrorCode::invalid_argument, where, "top=", top, " < 0");
  validate_feature_rarity(rarity, X.cols, where);
  const auto n = static_cast<double>(rarity.n_entities);
  const RarityKnot* knots = rarity.knots.data();
  const auto value_of = [&](std::size_t j, double x) {
    const Counts c = knots_counts(knots + rarity.offsets[j], knots + rarity.offsets[j + 1], n, x);
    return RareValue{static_cast<int64_t>(j), x, tail_cost(c.below, c.equal, n),
                     one_sided(c.below, c.equal, n)};
  };
  std::vector<RareValue> zeros(static_cast<std::size_t>(X.cols));
  for (std::size_t j = 0; j < zeros.size(); ++j) zeros[j] = value_of(j, 0.0);
  const auto rarer = [](const RareValue& a, const RareValue& b) {
    return a.cost != b.cost ? a.cost > b.cost : a.feature < b.feature;
  };
  std::vector<std::vector<RareValue>> out;
  out.reserve(rows.size());
  std::vector<RareValue> terms;
  for (const int64_t i : rows) {
    require(i >= 0 && i < X.rows, ErrorCode::invalid_argument, where, "row ", i, " outside the ",
            X.rows, " rows");
    terms = zeros;
    for (int64_t t = X.indptr[i]; t < X.indptr[i + 1]; ++t) {
      const auto j = static_cast<std::size_t>(X.indices[t]);
      terms[j] = value_of(j, X.values[t]);
    }
    std::erase_if(terms, [](const RareValue& v) { return !(v.cost > 0.0); });
    const auto keep = std::min(terms.size(), static_cast<std::size_t>(top));
    std::partial_sort(terms.begin(), terms.begin() + static_cast<std::ptrdiff_t>(keep), terms.end(), rarer);
    out.emplace_back(terms.begin(), terms.begin() + static_cast<std::ptrdiff_t>(keep));
  }
  return out;
}

void validate_feature_rarity(const FeatureRarity& rarity, int64_t n_features, const char* where) {
  const int64_t n = rarity.n_entities;
  require(n >= 1, ErrorCode::invalid_argument, where, "rarity.entities=", n, " < 1");
  require(rarity.n_features() == n_features && rarity.offsets.front() == 0 &&
              rarity.offsets.back() == static_cast<int64_t>(rarity.knots.size()),
          ErrorCode::invalid_argument, where, "rarity holds ", rarity.n_features(),
          " features' offsets for ", rarity.knots.size(), " knots; expected ", n_features,
          " features");
  for (int64_t j = 0; j < n_features; ++j) {
    const int64_t b = rarity.offsets[static_cast<std::size_t>(j)];
    const int64_t e = rarity.offsets[static_cast<std::size_t>(j) + 1];
    require(b <= e && e <= static_cast<int64_t>(rarity.knots.size()), ErrorCode::invalid_argument,
            where, "rarity offsets decrease or pass the knots at feature ", j);
    int64_t seen = b < e ? rarity.knots[static_cast<std::size_t>(b)].below : n;
    require(seen >= 0 && seen <= n, ErrorCode::invalid_argument, where, "rarity feature ", j,
            " counts ", seen, " zeros among ", n, " entities");
    for (int64_t t = b; t < e; ++t) {
      const RarityKnot& k = rarity.knots[static_cast<std::size_t>(t)];
      const bool ascending = t == b || rarity.knots[static_cast<std::size_t>(t) - 1].value < k.value;
      require(std::isfinite(k.value) && k.value > 0.0f && ascending && k.equal >= 1 &&
                  k.below >= seen && k.below <= n - k.equal,
              ErrorCode::invalid_argument, where, "rarity feature ", j, "'s knot ", t - b,
              " is out of order or its counts (", k.below, " below, ", k.equal,
              " equal) do not fit ", n, " entities");
      seen = k.below + k.equal;
    }
  }
}

}  // namespace stray
