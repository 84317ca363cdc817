// FeatureBuilder: interned vocabularies, per-entity rows, CSR output.
#include "stray/features/features.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <exception>
#include <numeric>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/check.hpp"
#include "core/host_threads.hpp"
#include "core/name_table.hpp"
#include "features/entry_chunks.hpp"

namespace stray {

const char* to_string(Normalization normalization) {
  switch (normalization) {
    case Normalization::none: return "none";
    case Normalization::binary: return "binary";
    case Normalization::fraction: return "fraction";
    case Normalization::log1p: return "log1p";
    case Normalization::automatic: return "auto";
  }
  return "?";
}

Normalization parse_normalization(const std::string& name) {
  if (name == "none") return Normalization::none;
  if (name == "binary") return Normalization::binary;
  if (name == "fraction") return Normalization::fraction;
  if (name == "log1p") return Normalization::log1p;
  if (name == "auto") return Normalization::automatic;
  internal::fail(ErrorCode::invalid_argument, "parse_normalization", "unknown normalization '",
                 name, "' (expected auto, none, binary, fraction or log1p)");
}

const char* to_string(DropReason reason) {
  return reason == DropReason::below_min_df ? "below_min_df" : "above_max_df";
}

Normalization FeatureParams::normalization_of(std::string_view group) const {
  const auto it = group_normalization.find(group);
  return it == group_normalization.end() ? normalization : it->second;
}

double FeatureParams::weight_of(std::string_view group) const {
  const auto it = group_weights.find(group);
  return it == group_weights.end() ? 1.0 : it->second;
}

int64_t FeatureMatrix::column(std::string_view name) const {
  for (std::size_t j = 0; j < feature_names.size(); ++j) {
    if (feature_names[j] == name) return static_cast<int64_t>(j);
  }
  return -1;
}

int64_t FeatureMatrix::row(std::string_view entity) const {
  for (std::size_t i = 0; i < entity_names.size(); ++i) {
    if (entity_names[i] == entity) return static_cast<int64_t>(i);
  }
  return -1;
}

std::span<const UnseenFeature> FeatureMatrix::unseen_of(int64_t entity) const {
  const auto lo = std::lower_bound(unseen.begin(), unseen.end(), entity,
                                   [](const UnseenFeature& u, int64_t e) { return u.entity < e; });
  auto hi = lo;
  while (hi != unseen.end() && hi->entity == entity) ++hi;
  return {unseen.data() + (lo - unseen.begin()), static_cast<std::size_t>(hi - lo)};
}

float FeatureMatrix::value(int64_t r, int64_t c) const {
  if (r < 0 || r >= X.rows) return 0.0f;
  const auto b = X.indices.begin() + X.indptr[static_cast<std::size_t>(r)];
  const auto e = X.indices.begin() + X.indptr[static_cast<std::size_t>(r) + 1];
  const auto it = std::lower_bound(b, e, static_cast<int32_t>(c));
  return it != e && *it == c ? X.values[static_cast<std::size_t>(it - X.indices.begin())] : 0.0f;
}

namespace {

template <typename V>
using NameMap =
    std::unordered_map<std::string, V, internal::SeededNameHash, std::equal_to<>>;

struct Group {
  std::string name;
  Normalization normalization = Normalization::fraction;
  double weight = 1.0;
  int32_t ephemeral_port_min = 0;  // 0: not a port group, or no folding
};

// The port `feature` spells (decimal, no sign or leading zero, at most
// 65535), or -1.
int32_t port_number(std::string_view feature) {
  if (feature.empty() || feature.size() > 5 || (feature.size() > 1 && feature[0] == '0')) return -1;
  int32_t port = 0;
  for (const char c : feature) {
    if (c < '0' || c > '9') return -1;
    port = port * 10 + (c - '0');
  }
  return port <= 65535 ? port : -1;
}

constexpr int32_t kDropped = -1;
constexpr int32_t kUnseen = -2;

void check_params(const FeatureParams& p, const char* where) {
  internal::require(p.max_df > 0.0 && p.max_df <= 1.0, ErrorCode::invalid_argument, where,
                    "max_df=", p.max_df, " outside (0, 1]");
  internal::require(p.min_df >= 1, ErrorCode::invalid_argument, where, "min_df=", p.min_df,
                    " < 1");
  for (const auto& [g, w] : p.group_weights) {
    internal::require(std::isfinite(w) && w >= 0.0, ErrorCode::invalid_argument, where,
                      "weight of group '", g, "' = ", w, " is not finite and ≥ 0");
  }
  internal::require(p.ephemeral_port_min >= 0 && p.ephemeral_port_min <= 65535,
                    ErrorCode::invalid_argument, where, "ephemeral_port_min=",
                    p.ephemeral_port_min, " outside [0, 65535]");
  for (const auto& g : p.port_groups) {
    internal::require(!g.empty() && g.find(':') == std::string::npos, ErrorCode::invalid_argument,
                      where, "port group '", g, "' is empty or contains ':'");
  }
}

double normalize(Normalization n, double v, double total) {
  switch (n) {
    case Normalization::none: return v;
    case Normalization::binary: return 1.0;
    case Normalization::fraction: return v / total;
    case Normalization::log1p: return std::log1p(v);
    case Normalization::automatic: return 1.0;  // unresolved (a group new when applying): binary
  }
  return v;
}

// Puts one row's packed entries (column << 32 | value bits, columns
// distinct) in column order. Where the row's columns span few 64-bit words
// of a bitmap (a few hundred features, as in fleets) it marks them and
// reads them back in order: linear, where sorting ~200 entries per row was
// a sizeable share of building a million-row matrix (see RESULTS.md,
// 'Figures moved from source comments (2026-12-05)'). Wide, sparse spans
// are sorted.
class RowColumnSet {
 public:
  explicit RowColumnSet(int64_t columns)
      : words_(static_cast<std::size_t>((columns + 63) / 64), 0), value_(static_cast<std::size_t>(columns)) {}

  void sort(std::vector<uint64_t>& row) {
    if (row.size() < 2 || std::is_sorted(row.begin(), row.end())) return;
    uint32_t low = UINT32_MAX, high = 0;
    for (const uint64_t packed : row) {
      const auto c = static_cast<uint32_t>(packed >> 32);
      low = std::min(low, c);
      high = std::max(high, c);
    }
    const std::size_t w0 = low / 64, w1 = high / 64;
    if (w1 - w0 + 1 > 4 * row.size()) {
      std::sort(row.begin(), row.end());
      return;
    }
    for (const uint64_t packed : row) {
      const auto c = static_cast<uint32_t>(packed >> 32);
      words_[c / 64] |= uint64_t{1} << (c % 64);
      value_[c] = static_cast<uint32_t>(packed);
    }
    std::size_t out = 0;
    for (std::size_t w = w0; w <= w1; ++w) {
      for (uint64_t bits = words_[w]; bits != 0; bits &= bits - 1) {
        const uint64_t c = w * 64 + static_cast<uint64_t>(std::countr_zero(bits));
        row[out++] = c << 32 | value_[c];
      }
      words_[w] = 0;
    }
  }

 private:
  std::vector<uint64_t> words_;
  std::vector<uint32_t> value_;  // float bits of each marked column
};

}  // namespace

// A block sink (events.hpp): the CSV and JSON Lines readers hand it their
// blocks whole, names interned.
struct FeatureBuilder::Impl final : EventBlockSink {
  static constexpr const char* kWhere = "FeatureBuilder";

  FeatureParams params;
  bool applying = false;
  FeatureVocabulary vocabulary;  // applying: the one applied
  int32_t n_kept_fixed = 0;      // applying: columns [0, n_kept_fixed) are the matrix's
  int32_t n_known_fixed = 0;     // applying: [n_kept_fixed, n_known_fixed) were filtered when fitting

  std::vector<std::unique_ptr<Group>> groups;
  NameMap<int32_t> group_index;
  int32_t last_group = -1;

  // Vocabulary columns and entities (rows), found by name through flat
  // tables of hashes and ids: a fleet has 100,000s of entities, which a
  // map of nodes made miss the cache at every lookup, insert and rehash.
  std::vector<int32_t> col_group;        // vocabulary column -> group
  std::vector<std::string> col_feature;  // vocabulary column -> feature
  internal::NameTable feature_index;     // (group, feature) -> column
  std::vector<std::string> entity_name;  // row -> entity
  internal::NameTable entity_index;      // entity -> row
  uint64_t name_seed = internal::name_hash_seed();

  // The row being filled: its entries and, per column, its slot (or -1).
  int64_t current = -1;
  std::vector<int32_t> row_cols;
  std::vector<double> row_vals;
  std::vector<int32_t> slot;

  // add_block: the row and the column of each of the block's entities and
  // (group, feature) pairs, -1 until its first event.
  std::vector<int64_t> block_rows;
  std::vector<int32_t> block_cols;

  // Flushed row segments; one per entity when entities arrive in runs.
  // Their entries are kept in chunks while events come, and in cols and
  // vals from build() on.
  std::vector<int64_t> seg_entity;
  std::vector<int64_t> seg_end{};
  internal::EntryChunks entries;
  std::vector<int32_t> cols;
  std::vector<float> vals;
  bool in_order = true;
  int64_t n_events = 0;

  explicit Impl(FeatureParams p) : params(std::move(p)) { check_params(params, kWhere); }

  explicit Impl(FeatureVocabulary v) : params(v.params), applying(true), vocabulary(std::move(v)) {
    check_params(params, kWhere);
    internal::require(vocabulary.document_frequency.empty() ||
                          vocabulary.document_frequency.size() == vocabulary.feature_names.size(),
                      ErrorCode::shape_mismatch, kWhere, "vocabulary has ",
                      vocabulary.feature_names.size(), " features but ",
                      vocabulary.document_frequency.size(), " document frequencies");
    if (params.idf) {
      internal::require(vocabulary.document_frequency.size() == vocabulary.feature_names.size() &&
                            vocabulary.n_entities > 0,
                        ErrorCode::invalid_argument, kWhere,
                        "idf needs the vocabulary's document frequencies and n_entities");
    }
    auto intern_name = [&](const std::string& name) {
      const std::size_t colon = name.find(':');
      internal::require(colon != std::string::npos && colon > 0 && colon + 1 < name.size(),
                        ErrorCode::invalid_argument, kWhere, "vocabulary feature '", name,
                        "' is not 'group:feature'");
      const int32_t g = intern_group(std::string_view(name).substr(0, colon));
      const std::size_t before = col_group.size();
      intern_feature(g, std::string_view(name).substr(colon + 1));
      internal::require(col_group.size() > before, ErrorCode::invalid_argument, kWhere,
                        "vocabulary names feature '", name, "' twice");
    };
    for (const auto& name : vocabulary.feature_names) intern_name(name);
    n_kept_fixed = static_cast<int32_t>(col_group.size());
    for (const auto& name : vocabulary.dropped_names) intern_name(name);
    n_known_fixed = static_cast<int32_t>(col_group.size());
  }

  int32_t intern_group(std::string_view name) {
    if (last_group >= 0 && groups[static_cast<std::size_t>(last_group)]->name == name) {
      return last_group;
    }
    const auto it = group_index.find(name);
    if (it != group_index.end()) return last_group = it->second;
    internal::require(name.find(':') == std::string_view::npos, ErrorCode::invalid_argument,
                      kWhere, "group '", name, "' contains ':'");
    auto g = std::make_unique<Group>();
    g->name.assign(name);
    g->normalization = params.normalization_of(name);
    g->weight = params.weight_of(name);
    if (std::find(params.port_groups.begin(), params.port_groups.end(), name) !=
        params.port_groups.end()) {
      g->ephemeral_port_min = params.ephemeral_port_min;
    }
    groups.push_back(std::move(g));
    const auto id = static_cast<int32_t>(groups.size() - 1);
    group_index.emplace(std::string(name), id);
    return last_group = id;
  }

  // A feature is known by its name and its group.
  int32_t intern_feature(int32_t g, std::string_view feature) {
    const uint32_t col = feature_index.find_or_add(
        internal::hash_name(feature, name_seed + static_cast<uint64_t>(g) * 0x9e3779b97f4a7c15ULL),
        [&](uint32_t c) { return col_group[c] == g && internal::same_name(col_feature[c], feature); },
        INT32_MAX);
    internal::require(col != internal::NameTable::kFull, ErrorCode::invalid_argument, kWhere,
                      "more than 2^31 distinct features");
    if (col == col_group.size()) {
      col_group.push_back(g);
      col_feature.emplace_back(feature);
      slot.push_back(-1);
    }
    return static_cast<int32_t>(col);
  }

  // An event's feature column: its (group, feature), an ephemeral port of
  // a port group as kEphemeralPortFeature.
  int32_t event_column(std::string_view group, std::string_view feature) {
    const int32_t g = intern_group(group);
    const int32_t min = groups[static_cast<std::size_t>(g)]->ephemeral_port_min;
    if (min > 0 && port_number(feature) >= min) feature = kEphemeralPortFeature;
    return intern_feature(g, feature);
  }

  int64_t intern_entity(std::string_view name) {
    if (current >= 0 && entity_name[static_cast<std::size_t>(current)] == name) return current;
    const uint32_t row = entity_index.find_or_add(
        internal::hash_name(name, name_seed),
        [&](uint32_t r) { return internal::same_name(entity_name[r], name); });
    internal::require(row != internal::NameTable::kFull, ErrorCode::invalid_argument, kWhere,
                      "more than ", internal::NameTable::kMaxKeys, " entities");
    if (row == entity_name.size()) entity_name.emplace_back(name);
    return row;
  }

  void flush() {
    if (current < 0) return;
    in_order = in_order && current == static_cast<int64_t>(seg_entity.size());
    seg_entity.push_back(current);
    entries.append(row_cols, row_vals);
    for (const int32_t c : row_cols) slot[static_cast<std::size_t>(c)] = -1;
    seg_end.push_back(entries.size());
    row_cols.clear();
    row_vals.clear();
    current = -1;
  }

  void switch_to(int64_t e) {
    if (e == current) return;
    flush();
    current = e;
  }

  // What add() refuses (it throws for exactly these).
  static bool acceptable(const Event& ev) {
    return !ev.entity.empty() && !ev.group.empty() && !ev.feature.empty() &&
           std::isfinite(ev.value);
  }

  void add(const Event& ev) override {
    if (ev.entity.empty() || ev.group.empty() || ev.feature.empty()) {
      internal::fail(ErrorCode::invalid_argument, "FeatureBuilder::add",
                     ev.entity.empty() ? "empty entity" : (ev.group.empty() ? "empty group" : "empty feature"),
                     " in event (", ev.entity, ", ", ev.group, ", ", ev.feature, ")");
    }
    internal::require(std::isfinite(ev.value), ErrorCode::non_finite_input, "FeatureBuilder::add",
                      "value of (", ev.entity, ", ", ev.group, ", ", ev.feature, ") is not finite");
    switch_to(intern_entity(ev.entity));
    add_to_row(event_column(ev.group, ev.feature), ev.value);
  }

  // The same as add() on each event in turn, with each of the block's
  // distinct names looked up once (on its first event, so that everything
  // happens in add()'s order, errors included) instead of once an event.
  void add_block(const EventBlock& block) override {
    block_rows.assign(block.entities.size(), -1);
    block_cols.assign(block.features.size(), -1);
    uint32_t entity = UINT32_MAX;  // the block's entity of the row being filled
    for (std::size_t i = 0; i < block.events.size(); ++i) {
      const Event& ev = block.events[i];
      if (!acceptable(ev)) {
        add(ev);  // throws add()'s error
        entity = UINT32_MAX;
        continue;
      }
      if (block.entity_of[i] != entity) {
        entity = block.entity_of[i];
        int64_t& row = block_rows[entity];
        if (row < 0) row = intern_entity(ev.entity);
        switch_to(row);
      }
      int32_t& col = block_cols[block.feature_of[i]];
      if (col < 0) col = event_column(ev.group, ev.feature);
      add_to_row(col, ev.value);
    }
  }

  // Adds `value` to column `col` of the row being filled.
  void add_to_row(int32_t col, double value) {
    int32_t& s = slot[static_cast<std::size_t>(col)];
    if (s < 0) {
      s = static_cast<int32_t>(row_cols.size());
      row_cols.push_back(col);
      row_vals.push_back(value);
    } else {
      row_vals[static_cast<std::size_t>(s)] += value;
    }
    ++n_events;
  }

  // Entities that came back after others: gather each entity's segments
  // into one row, summing repeated columns.
  void merge_segments() {
    const std::size_t n = entity_name.size();
    std::vector<int64_t> first(n + 1, 0);
    for (const int64_t e : seg_entity) ++first[static_cast<std::size_t>(e) + 1];
    std::partial_sum(first.begin(), first.end(), first.begin());
    std::vector<int64_t> order(seg_entity.size());
    {
      std::vector<int64_t> next(first.begin(), first.end() - 1);
      for (std::size_t s = 0; s < seg_entity.size(); ++s) {
        order[static_cast<std::size_t>(next[static_cast<std::size_t>(seg_entity[s])]++)] =
            static_cast<int64_t>(s);
      }
    }
    std::vector<int32_t> new_cols;
    std::vector<float> new_vals;
    new_cols.reserve(cols.size());
    new_vals.reserve(vals.size());
    std::vector<int64_t> new_end;
    new_end.reserve(n);
    for (std::size_t e = 0; e < n; ++e) {
      const std::size_t row_begin = new_cols.size();
      for (int64_t k = first[e]; k < first[e + 1]; ++k) {
        const auto s = static_cast<std::size_t>(order[static_cast<std::size_t>(k)]);
        const int64_t b = s == 0 ? 0 : seg_end[s - 1];
        for (int64_t p = b; p < seg_end[s]; ++p) {
          const int32_t c = cols[static_cast<std::size_t>(p)];
          int32_t& sl = slot[static_cast<std::size_t>(c)];
          if (sl < 0) {
            sl = static_cast<int32_t>(new_cols.size() - row_begin);
            new_cols.push_back(c);
            new_vals.push_back(vals[static_cast<std::size_t>(p)]);
          } else {
            new_vals[row_begin + static_cast<std::size_t>(sl)] += vals[static_cast<std::size_t>(p)];
          }
        }
      }
      for (std::size_t p = row_begin; p < new_cols.size(); ++p) {
        slot[static_cast<std::size_t>(new_cols[p])] = -1;
      }
      new_end.push_back(static_cast<int64_t>(new_cols.size()));
    }
    cols.swap(new_cols);
    vals.swap(new_vals);
    seg_end.swap(new_end);
    seg_entity.resize(n);
    std::iota(seg_entity.begin(), seg_entity.end(), 0);
  }

  std::string name_of(int32_t col) const {
    const auto& g = groups[static_cast<std::size_t>(col_group[static_cast<std::size_t>(col)])];
    std::string s;
    s.reserve(g->name.size() + 1 + col_feature[static_cast<std::size_t>(col)].size());
    s += g->name;
    s += ':';
    s += col_feature[static_cast<std::size_t>(col)];
    return s;
  }

  // Where each vocabulary column goes (an output column, kDropped or
  // kUnseen) and, when fitting, the entities with each vocabulary column.
  struct ColumnMap {
    std::vector<int32_t> out_col;
    std::vector<int64_t> fit_df;
    int32_t n_out = 0;
  };

  // Inverse document frequency per output column, from the fitting snapshot
  // (empty without params.idf), and that of a column the fit never saw.
  struct Idf {
    std::vector<double> per_column;
    double unseen = 1.0;
  };

  // The rows normalised in fixed blocks, each compacted within its own
  // input range: where each row's entries end (absolute, before the gaps
  // between blocks are closed) and each block's unseen features.
  struct NormalisedRows {
    int64_t n_blocks = 0;
    std::vector<int64_t> row_end;
    std::vector<std::vector<UnseenFeature>> block_unseen;
  };

  const std::string& group_name_of(int32_t col) const {
    return groups[static_cast<std::size_t>(col_group[static_cast<std::size_t>(col)])]->name;
  }

  // Where row i's entries start in cols and vals.
  int64_t segment_begin(int64_t i) const {
    return i == 0 ? int64_t{0} : seg_end[static_cast<std::size_t>(i) - 1];
  }

  // Fitting: the vocabulary columns in name order, each kept or dropped by
  // its document frequency; the kept ones named in `out`, and the
  // vocabulary it will carry.
  // params.require_named_groups: every group the params name has events.
  void check_named_groups() const {
    std::set<std::string_view> present;
    for (std::size_t c = 0; c < col_group.size(); ++c) {
      present.insert(group_name_of(static_cast<int32_t>(c)));
    }
    auto check = [&](const std::string& group) {
      if (present.count(group) != 0) return;
      std::string names;
      for (const std::string_view g : present) {
        names += (names.empty() ? "" : ", ") + std::string(g);
      }
      internal::fail(ErrorCode::invalid_argument, "features", "no event has the group '",
                     internal::printable(group),
                     "' named in the normalisation or weights (groups present: ",
                     names.empty() ? "none" : internal::printable(names), ")");
    };
    for (const auto& [group, mode] : params.group_normalization) check(group);
    for (const auto& [group, weight] : params.group_weights) check(group);
  }

  // Normalization::automatic, fitting. Where some group is a presence list
  // (nearly every value 1: packages from an inventory; a package listed
  // twice in one inventory adds a 2, so "every" would be too strict; count
  // groups in real telemetry have at most ~60% ones), every automatic group is
  // binary: differences then share one scale, the share of peers, and a
  // count group's small fractions cannot drown in (or drown) the presence
  // groups' ±1. Where every group has counts (syscalls, log templates,
  // event IDs), presence barely varies and the mix is the signal: fraction
  // of the entity's events in the group. The choice is kept in the
  // vocabulary, so applying it later normalises the same way.
  void resolve_automatic_groups() {
    constexpr double kPresenceShare = 0.9;  // of a group's values equal to 1
    std::vector<int64_t> stored(groups.size(), 0), ones(groups.size(), 0);
    for (std::size_t p = 0; p < cols.size(); ++p) {
      const auto g = static_cast<std::size_t>(col_group[static_cast<std::size_t>(cols[p])]);
      ++stored[g];
      ones[g] += vals[p] == 1.0f;
    }
    bool any_presence = false;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (groups[g]->normalization != Normalization::automatic || stored[g] == 0) continue;
      any_presence |= static_cast<double>(ones[g]) >= kPresenceShare * static_cast<double>(stored[g]);
    }
    const Normalization chosen = any_presence ? Normalization::binary : Normalization::fraction;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (groups[g]->normalization != Normalization::automatic) continue;
      groups[g]->normalization = chosen;
      params.group_normalization[groups[g]->name] = chosen;
    }
    // Groups first seen when applying have no fitted choice: binary.
    if (params.normalization == Normalization::automatic) {
      params.normalization = Normalization::binary;
    }
  }

  ColumnMap fit_columns(FeatureMatrix& out, int64_t n) {
    if (params.require_named_groups) check_named_groups();
    resolve_automatic_groups();
    const std::size_t n_vocab = col_group.size();
    ColumnMap map;
    map.out_col.assign(n_vocab, kDropped);
    std::vector<int64_t>& df = map.fit_df;
    df.assign(n_vocab, 0);
    for (std::size_t p = 0; p < cols.size(); ++p) {
      if (vals[p] > 0.0f) ++df[static_cast<std::size_t>(cols[p])];
    }
    std::vector<int32_t> sorted(n_vocab);
    std::iota(sorted.begin(), sorted.end(), 0);
    std::sort(sorted.begin(), sorted.end(), [&](int32_t a, int32_t b) {
      const auto& ga = group_name_of(a);
      const auto& gb = group_name_of(b);
      if (ga != gb) return ga < gb;
      return col_feature[static_cast<std::size_t>(a)] < col_feature[static_cast<std::size_t>(b)];
    });
    const double max_count = params.max_df * static_cast<double>(n);
    for (const int32_t c : sorted) {
      const int64_t d = df[static_cast<std::size_t>(c)];
      if (d == 0) continue;  // only ever non-positive sums: nobody has it
      if (d < params.min_df) {
        out.dropped.push_back({name_of(c), d, DropReason::below_min_df});
      } else if (static_cast<double>(d) > max_count) {
        out.dropped.push_back({name_of(c), d, DropReason::above_max_df});
      } else {
        map.out_col[static_cast<std::size_t>(c)] = map.n_out++;
        out.feature_names.push_back(name_of(c));
        out.feature_groups.push_back(group_name_of(c));
      }
    }
    std::sort(out.dropped.begin(), out.dropped.end(),
              [](const DroppedFeature& a, const DroppedFeature& b) { return a.name < b.name; });
    out.vocabulary.params = params;
    out.vocabulary.feature_names = out.feature_names;
    out.vocabulary.n_entities = n;
    for (const auto& d : out.dropped) out.vocabulary.dropped_names.push_back(d.name);
    return map;
  }

  // Applying: the vocabulary's kept columns keep their places, the ones it
  // dropped stay dropped, and columns it never saw are unseen.
  ColumnMap applied_columns(FeatureMatrix& out) {
    const std::size_t n_vocab = col_group.size();
    ColumnMap map;
    map.out_col.assign(n_vocab, kDropped);
    for (int32_t c = 0; c < static_cast<int32_t>(n_vocab); ++c) {
      map.out_col[static_cast<std::size_t>(c)] = c < n_kept_fixed    ? c
                                                 : c < n_known_fixed ? kDropped
                                                                     : kUnseen;
    }
    map.n_out = n_kept_fixed;
    out.feature_names = vocabulary.feature_names;
    for (int32_t c = 0; c < n_kept_fixed; ++c) out.feature_groups.push_back(group_name_of(c));
    out.vocabulary = vocabulary;
    return map;
  }

  Idf idf_of(const ColumnMap& map, int64_t n) const {
    Idf idf;
    if (!params.idf) return idf;
    const auto fit_n = static_cast<double>(applying ? vocabulary.n_entities : n);
    idf.per_column.assign(static_cast<std::size_t>(map.n_out), 1.0);
    if (applying) {
      for (int32_t c = 0; c < map.n_out; ++c) {
        idf.per_column[static_cast<std::size_t>(c)] =
            std::log((1.0 + fit_n) / (1.0 + static_cast<double>(vocabulary.document_frequency[static_cast<std::size_t>(c)]))) + 1.0;
      }
    } else {
      for (std::size_t c = 0; c < map.out_col.size(); ++c) {
        if (map.out_col[c] >= 0) {
          idf.per_column[static_cast<std::size_t>(map.out_col[c])] =
              std::log((1.0 + fit_n) / (1.0 + static_cast<double>(map.fit_df[c]))) + 1.0;
        }
      }
    }
    idf.unseen = std::log(1.0 + fit_n) + 1.0;
    return idf;
  }

  // What normalise_row reads for every row, and one thread's working memory.
  struct RowContext {
    const ColumnMap& map;
    const Idf& idf;
    std::vector<Normalization> group_norm;
    std::vector<double> group_weight;
  };
  struct RowScratch {
    std::vector<double> group_total;
    std::vector<uint64_t> row;  // column << 32 | float bits: sorts by column
    RowColumnSet present;
  };

  // Normalises row i into cols and vals from position w on (never past its
  // own input), in column order; its unseen features go to `unseen`, sorted
  // by name. Returns where the row's entries end.
  std::size_t normalise_row(const RowContext& ctx, RowScratch& s, int64_t i, std::size_t w,
                            std::vector<UnseenFeature>& unseen) {
    const auto b = static_cast<std::size_t>(segment_begin(i));
    const auto e = static_cast<std::size_t>(seg_end[static_cast<std::size_t>(i)]);
    for (std::size_t p = b; p < e; ++p) {
      if (vals[p] > 0.0f) s.group_total[static_cast<std::size_t>(col_group[static_cast<std::size_t>(cols[p])])] += vals[p];
    }
    s.row.clear();
    const std::size_t unseen_begin = unseen.size();
    for (std::size_t p = b; p < e; ++p) {
      const float v = vals[p];
      if (!(v > 0.0f)) continue;
      const int32_t c = cols[p];
      const int32_t oc = ctx.map.out_col[static_cast<std::size_t>(c)];
      if (oc == kDropped) continue;
      const auto gi = static_cast<std::size_t>(col_group[static_cast<std::size_t>(c)]);
      double x = normalize(ctx.group_norm[gi], v, s.group_total[gi]) * ctx.group_weight[gi];
      if (!ctx.idf.per_column.empty()) x *= oc == kUnseen ? ctx.idf.unseen : ctx.idf.per_column[static_cast<std::size_t>(oc)];
      if (oc == kUnseen) {
        unseen.push_back({i, name_of(c), static_cast<double>(v), x});
      } else if (x > 0.0) {
        uint32_t bits = 0;
        const auto xf = static_cast<float>(x);
        std::memcpy(&bits, &xf, sizeof bits);
        s.row.push_back(static_cast<uint64_t>(oc) << 32 | bits);
      }
    }
    for (std::size_t p = b; p < e; ++p) {
      s.group_total[static_cast<std::size_t>(col_group[static_cast<std::size_t>(cols[p])])] = 0.0;
    }
    s.present.sort(s.row);
    for (const uint64_t packed : s.row) {
      const auto bits = static_cast<uint32_t>(packed);
      cols[w] = static_cast<int32_t>(packed >> 32);
      std::memcpy(&vals[w], &bits, sizeof bits);
      ++w;
    }
    std::sort(unseen.begin() + static_cast<std::ptrdiff_t>(unseen_begin), unseen.end(),
              [](const UnseenFeature& x, const UnseenFeature& y) { return x.name < y.name; });
    return w;
  }

  // Normalise row by row, compacting in place (output never outruns
  // input). Blocks of rows run in parallel, each compacting within its
  // own input range; close_gaps then closes the gaps. Rows are
  // independent, so the result does not depend on the thread count.
  NormalisedRows normalise_rows(const ColumnMap& map, const Idf& idf, int64_t n) {
    RowContext ctx{map, idf, std::vector<Normalization>(groups.size()),
                   std::vector<double>(groups.size())};
    for (std::size_t g = 0; g < groups.size(); ++g) {
      ctx.group_norm[g] = groups[g]->normalization;
      ctx.group_weight[g] = groups[g]->weight;
    }
    NormalisedRows out;
    out.n_blocks = std::min<int64_t>(n, 256);
    out.row_end.resize(static_cast<std::size_t>(n));
    out.block_unseen.resize(static_cast<std::size_t>(out.n_blocks));
    std::vector<std::exception_ptr> block_error(static_cast<std::size_t>(out.n_blocks));
#pragma omp parallel
    {
      RowScratch scratch{std::vector<double>(groups.size(), 0.0), {}, RowColumnSet(map.n_out)};
#pragma omp for schedule(dynamic, 1)
      for (int64_t blk = 0; blk < out.n_blocks; ++blk) {
        try {
          const int64_t r0 = n * blk / out.n_blocks;
          const int64_t r1 = n * (blk + 1) / out.n_blocks;
          auto& unseen = out.block_unseen[static_cast<std::size_t>(blk)];
          auto w = static_cast<std::size_t>(segment_begin(r0));
          for (int64_t i = r0; i < r1; ++i) {
            w = normalise_row(ctx, scratch, i, w, unseen);
            out.row_end[static_cast<std::size_t>(i)] = static_cast<int64_t>(w);
          }
        } catch (...) {
          block_error[static_cast<std::size_t>(blk)] = std::current_exception();
        }
      }
    }
    for (const auto& err : block_error) {
      if (err) std::rethrow_exception(err);
    }
    return out;
  }

  // Moves each block's rows down to close the gaps between blocks, and
  // gathers their unseen features in block order into out.unseen. Returns
  // the CSR row pointers [n + 1].
  std::vector<int64_t> close_gaps(NormalisedRows& rows, int64_t n, FeatureMatrix& out) {
    std::vector<int64_t> indptr(static_cast<std::size_t>(n) + 1, 0);
    int64_t w = 0;
    for (int64_t blk = 0; blk < rows.n_blocks; ++blk) {
      const int64_t r0 = n * blk / rows.n_blocks;
      const int64_t r1 = n * (blk + 1) / rows.n_blocks;
      const int64_t src = segment_begin(r0);
      const int64_t count = rows.row_end[static_cast<std::size_t>(r1) - 1] - src;
      if (w != src && count > 0) {  // dest < src: forward moves are safe
        std::memmove(cols.data() + w, cols.data() + src, static_cast<std::size_t>(count) * sizeof(int32_t));
        std::memmove(vals.data() + w, vals.data() + src, static_cast<std::size_t>(count) * sizeof(float));
      }
      for (int64_t i = r0; i < r1; ++i) {
        indptr[static_cast<std::size_t>(i) + 1] = rows.row_end[static_cast<std::size_t>(i)] - src + w;
      }
      w += count;
      auto& unseen = rows.block_unseen[static_cast<std::size_t>(blk)];
      out.unseen.insert(out.unseen.end(), std::make_move_iterator(unseen.begin()),
                        std::make_move_iterator(unseen.end()));
      std::vector<UnseenFeature>().swap(unseen);
    }
    cols.resize(static_cast<std::size_t>(w));
    vals.resize(static_cast<std::size_t>(w));
    // Give back growth slack when it is large (a copy, so not for a little).
    if (cols.capacity() - cols.size() > cols.size() / 4) {
      cols.shrink_to_fit();
      vals.shrink_to_fit();
    }
    return indptr;
  }

  FeatureMatrix build() {
    flush();
    entries.move_to(cols, vals);
    const int64_t n = static_cast<int64_t>(entity_name.size());
    if (!(in_order && static_cast<int64_t>(seg_entity.size()) == n)) merge_segments();

    FeatureMatrix out;
    out.n_events = n_events;
    const ColumnMap map = applying ? applied_columns(out) : fit_columns(out, n);
    const Idf idf = idf_of(map, n);
    NormalisedRows rows = normalise_rows(map, idf, n);
    std::vector<int64_t> indptr = close_gaps(rows, n, out);
    std::vector<int64_t> df_out(static_cast<std::size_t>(map.n_out), 0);
    for (const int32_t c : cols) ++df_out[static_cast<std::size_t>(c)];

    out.X.rows = n;
    out.X.cols = map.n_out;
    out.X.indptr = std::move(indptr);
    out.X.indices = std::move(cols);
    out.X.values = std::move(vals);
    out.document_frequency = std::move(df_out);
    if (!applying) {  // positive sums, before weights: what idf and later applications use
      out.vocabulary.document_frequency.assign(static_cast<std::size_t>(map.n_out), 0);
      for (std::size_t c = 0; c < map.out_col.size(); ++c) {
        if (map.out_col[c] >= 0) {
          out.vocabulary.document_frequency[static_cast<std::size_t>(map.out_col[c])] = map.fit_df[c];
        }
      }
    }
    out.entity_names = std::move(entity_name);
    return out;
  }
};

FeatureBuilder::FeatureBuilder(FeatureParams params)
    : impl_(std::make_unique<Impl>(std::move(params))) {}
FeatureBuilder::FeatureBuilder(FeatureVocabulary vocabulary)
    : impl_(std::make_unique<Impl>(std::move(vocabulary))) {}
FeatureBuilder::~FeatureBuilder() = default;
FeatureBuilder::FeatureBuilder(FeatureBuilder&&) noexcept = default;
FeatureBuilder& FeatureBuilder::operator=(FeatureBuilder&&) noexcept = default;

void FeatureBuilder::add(const Event& event) { impl_->add(event); }

void FeatureBuilder::add_entity(std::string_view entity) {
  internal::require(!entity.empty(), ErrorCode::invalid_argument, "FeatureBuilder::add_entity",
                    "empty entity name");
  impl_->switch_to(impl_->intern_entity(entity));
}

void FeatureBuilder::add_block(const EventBlock& block) { impl_->add_block(block); }

EventSink FeatureBuilder::sink() { return block_sink(*impl_); }

bool FeatureBuilder::applying() const { return impl_->applying; }
int64_t FeatureBuilder::n_entities() const {
  return static_cast<int64_t>(impl_->entity_name.size());
}
int64_t FeatureBuilder::n_events() const { return impl_->n_events; }

void FeatureBuilder::set_threads(int threads) {
  internal::require(threads >= 0, ErrorCode::invalid_argument, "FeatureBuilder::set_threads",
                    "threads must be >= 0 (0: OpenMP's count), got ", threads);
  threads_ = threads;
}

FeatureMatrix FeatureBuilder::build() {
  FeatureMatrix m;
  {
    const internal::ScopedHostThreads scoped(threads_);
    m = impl_->build();
  }
  impl_ = impl_->applying ? std::make_unique<Impl>(std::move(impl_->vocabulary))
                          : std::make_unique<Impl>(std::move(impl_->params));
  return m;
}

}  // namespace stray
