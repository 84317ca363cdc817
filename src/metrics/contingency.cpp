// The contingency table of two labelings in linear time, and string labels
// numbered for it.
//
// Two steps, neither of which sorts:
//  1. each side's labels are renumbered 0, 1, ... in first-seen order, by a
//     direct lookup table when the values span a range no wider than n
//     (cluster numbers, small ids), else by an open-addressing hash table;
//  2. the cells are counted in a dense rows × cols array when that is no
//     bigger than n, else by bucketing the entities by row (a counting
//     pass) and counting each row's columns with a per-column marker.
#include <algorithm>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/check.hpp"
#include "core/name_table.hpp"
#include "metrics/label_scores_internal.hpp"
#include "stray/metrics/label_scores.hpp"

namespace stray {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

/// A side's labels as dense class ids, plus each class's label.
struct Numbered {
  std::vector<uint32_t> ids;
  std::vector<int64_t> labels;
};

/// Open addressing, linear probing, int64 keys, uint32 values (kNone = empty).
class LabelHash {
 public:
  LabelHash() : keys_(1024), values_(1024, kNone) {}

  /// The value stored for `key`, inserting `fresh` when it is new.
  uint32_t find_or_insert(int64_t key, uint32_t fresh) {
    if (2 * (size_ + 1) > keys_.size()) grow();
    std::size_t slot = home(key);
    while (values_[slot] != kNone) {
      if (keys_[slot] == key) return values_[slot];
      slot = (slot + 1) & (keys_.size() - 1);
    }
    keys_[slot] = key;
    values_[slot] = fresh;
    ++size_;
    return fresh;
  }

 private:
  std::size_t home(int64_t key) const {
    // Fibonacci hashing: the high bits of the product mix every key bit.
    const uint64_t h = static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(h >> shift_);
  }
  void grow() {
    std::vector<int64_t> old_keys = std::move(keys_);
    std::vector<uint32_t> old_values = std::move(values_);
    keys_.assign(old_keys.size() * 2, 0);
    values_.assign(old_keys.size() * 2, kNone);
    --shift_;
    for (std::size_t s = 0; s < old_keys.size(); ++s) {
      if (old_values[s] == kNone) continue;
      std::size_t slot = home(old_keys[s]);
      while (values_[slot] != kNone) slot = (slot + 1) & (keys_.size() - 1);
      keys_[slot] = old_keys[s];
      values_[slot] = old_values[s];
    }
  }

  std::vector<int64_t> keys_;
  std::vector<uint32_t> values_;
  std::size_t size_ = 0;
  int shift_ = 64 - 10;  // log2(capacity) = 10
};

Numbered number_labels(const std::vector<int64_t>& labels) {
  Numbered out;
  out.ids.resize(labels.size());
  const auto [lo, hi] = std::minmax_element(labels.begin(), labels.end());
  const uint64_t span = static_cast<uint64_t>(*hi) - static_cast<uint64_t>(*lo);
  if (span < labels.size() + 1024) {
    // Reserved, not touched: only the pages the classes fill are used.
    out.labels.reserve(std::min<uint64_t>(span + 1, labels.size()));
    std::vector<uint32_t> table(span + 1, kNone);
    for (std::size_t i = 0; i < labels.size(); ++i) {
      uint32_t& id = table[static_cast<uint64_t>(labels[i]) - static_cast<uint64_t>(*lo)];
      if (id == kNone) {
        id = static_cast<uint32_t>(out.labels.size());
        out.labels.push_back(labels[i]);
      }
      out.ids[i] = id;
    }
    return out;
  }
  LabelHash hash;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto fresh = static_cast<uint32_t>(out.labels.size());
    out.ids[i] = hash.find_or_insert(labels[i], fresh);
    if (out.ids[i] == fresh) out.labels.push_back(labels[i]);
  }
  return out;
}

std::vector<int64_t> class_sizes(const std::vector<uint32_t>& ids, std::size_t n_classes) {
  std::vector<int64_t> sizes(n_classes, 0);
  for (uint32_t id : ids) ++sizes[id];
  return sizes;
}

/// Few possible cells: count them all in place, keep the nonzero ones.
void count_cells_dense(const Numbered& rows, const Numbered& cols, Contingency& t) {
  const std::size_t n_cols = cols.labels.size();
  std::vector<uint32_t> counts(rows.labels.size() * n_cols, 0);
  for (std::size_t i = 0; i < rows.ids.size(); ++i) ++counts[rows.ids[i] * n_cols + cols.ids[i]];
  for (std::size_t k = 0; k < counts.size(); ++k) {
    if (counts[k] != 0) {
      t.cells.push_back({static_cast<int64_t>(k / n_cols), static_cast<int64_t>(k % n_cols),
                         static_cast<int64_t>(counts[k])});
    }
  }
}

/// Many possible cells: bucket entities by row, then count columns per row.
void count_cells_by_row(const Numbered& rows, const Numbered& cols, Contingency& t) {
  const std::size_t n_rows = rows.labels.size();
  // A counting sort into buckets by row, in entity order: start[r + 1], the
  // end of row r's bucket, steps back as the bucket is filled from the back,
  // then is moved to the end again. Offsets fit in 32 bits: n < 2^32.
  std::vector<uint32_t> start(n_rows + 1, 0);
  for (std::size_t r = 0; r < n_rows; ++r) start[r + 1] = start[r] + static_cast<uint32_t>(t.row_sums[r]);
  std::vector<uint32_t> cols_by_row(rows.ids.size());
  for (std::size_t i = rows.ids.size(); i-- > 0;) cols_by_row[--start[rows.ids[i] + 1]] = cols.ids[i];
  for (std::size_t r = 0; r < n_rows; ++r) start[r + 1] += static_cast<uint32_t>(t.row_sums[r]);
  std::vector<uint32_t> seen_in(cols.labels.size(), kNone);  // last row that met the column
  std::vector<uint32_t> cell_of(cols.labels.size());
  // At most one cell per entity; reserving (not touching) spares the copies of growth.
  t.cells.reserve(std::min<uint64_t>(rows.ids.size(), uint64_t(n_rows) * cols.labels.size()));
  for (std::size_t r = 0; r < n_rows; ++r) {
    for (std::size_t k = start[r]; k < start[r + 1]; ++k) {
      const uint32_t c = cols_by_row[k];
      if (seen_in[c] != r) {
        seen_in[c] = static_cast<uint32_t>(r);
        cell_of[c] = static_cast<uint32_t>(t.cells.size());
        t.cells.push_back({static_cast<int64_t>(r), static_cast<int64_t>(c), 0});
      }
      ++t.cells[cell_of[c]].count;
    }
  }
}

}  // namespace

Contingency contingency_table(const std::vector<int64_t>& truth,
                              const std::vector<int64_t>& pred) {
  const char* where = "contingency_table";
  internal::require(truth.size() == pred.size(), ErrorCode::shape_mismatch, where,
                    "labelings have ", truth.size(), " and ", pred.size(), " entries");
  internal::require(!truth.empty(), ErrorCode::invalid_argument, where, "the labelings are empty");
  // Class ids and cell counts are 32-bit (kNone marks "none").
  internal::require(truth.size() < kNone, ErrorCode::invalid_argument, where, truth.size(),
                    " labels; at most ", kNone - 1, " are supported");
  internal::require_memory(where, "the class ids of both labelings", {int64_t(truth.size()), 3},
                           sizeof(uint32_t), "uint32");
  Numbered rows = number_labels(truth), cols = number_labels(pred);
  Contingency t;
  t.n = static_cast<int64_t>(truth.size());
  t.row_sums = class_sizes(rows.ids, rows.labels.size());
  t.col_sums = class_sizes(cols.ids, cols.labels.size());
  // rows, cols ≤ n < 2^32, so the product fits in 64 bits.
  const uint64_t all_cells = uint64_t(rows.labels.size()) * uint64_t(cols.labels.size());
  if (all_cells <= truth.size() + 1024) {
    count_cells_dense(rows, cols, t);
  } else {
    count_cells_by_row(rows, cols, t);
  }
  t.row_labels = std::move(rows.labels);
  t.col_labels = std::move(cols.labels);
  return t;
}

void internal::check_contingency(const Contingency& t, const char* where) {
  require(t.n >= 1, ErrorCode::invalid_argument, where, "the table is empty (n = ", t.n, ")");
  require(t.n < kNone, ErrorCode::invalid_argument, where, "n = ", t.n, "; at most ", kNone - 1,
          " entities are supported");
  const auto check_sizes = [&](const std::vector<int64_t>& sizes, const char* side) {
    require(!sizes.empty(), ErrorCode::invalid_argument, where, "no ", side, " classes");
    __int128 total = 0;
    for (int64_t s : sizes) {
      require(s > 0, ErrorCode::invalid_argument, where, "a ", side, " class of size ", s);
      total += s;
    }
    require(total == t.n, ErrorCode::invalid_argument, where, "the ", side,
            " class sizes do not sum to n = ", t.n);
  };
  check_sizes(t.row_sums, "row");
  check_sizes(t.col_sums, "column");
  __int128 total = 0;
  for (const ContingencyCell& c : t.cells) {
    require(c.row >= 0 && c.row < static_cast<int64_t>(t.row_sums.size()) && c.col >= 0 &&
                c.col < static_cast<int64_t>(t.col_sums.size()) && c.count > 0,
            ErrorCode::invalid_argument, where, "cell (", c.row, ", ", c.col, ") = ", c.count,
            " is outside the ", t.row_sums.size(), " x ", t.col_sums.size(),
            " table or not positive");
    total += c.count;
  }
  require(total == t.n, ErrorCode::invalid_argument, where, "the cells do not sum to n = ", t.n);
}

std::vector<int64_t> encode_labels(const std::vector<std::string>& labels) {
  std::unordered_map<std::string_view, int64_t, internal::SeededNameHash> ids;
  std::vector<int64_t> out;
  out.reserve(labels.size());
  for (const std::string& s : labels) {
    out.push_back(ids.try_emplace(s, static_cast<int64_t>(ids.size())).first->second);
  }
  return out;
}

}  // namespace stray
