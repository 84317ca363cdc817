// Stability across days: the two snapshots over one vocabulary, restricted
// to the entities present on both.
#include <algorithm>
#include <cstdio>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/check.hpp"
#include "core/name_table.hpp"
#include "fleet/stability_internal.hpp"

namespace stray::internal {
namespace {

constexpr const char* kWhere = "compare_days";

// One day's entity names and where each one's row is in its matrix.
struct DayRows {
  std::vector<std::string_view> names;
  std::vector<int64_t> rows;
};

std::string percent(int64_t part, int64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%",
                whole > 0 ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
  return buf;
}

// Keeps the day-one entities that day two has too, in day-one order;
// fills the overlap. kept1[i] and kept2[i] are the kept entity's rows.
void keep_common(const DayRows& a, const DayRows& b, double min_overlap, SharedDays& out,
                 std::vector<int64_t>& kept1, std::vector<int64_t>& kept2) {
  std::unordered_map<std::string_view, int64_t, internal::SeededNameHash> in_b;
  in_b.reserve(b.names.size());
  for (std::size_t i = 0; i < b.names.size(); ++i) {
    const bool fresh = in_b.emplace(b.names[i], b.rows[i]).second;
    require(fresh, ErrorCode::invalid_argument, kWhere, "day two names entity '",
            printable(b.names[i]), "' twice");
  }
  std::unordered_map<std::string_view, char, internal::SeededNameHash> in_a;
  in_a.reserve(a.names.size());
  for (std::size_t i = 0; i < a.names.size(); ++i) {
    const bool fresh = in_a.emplace(a.names[i], 1).second;
    require(fresh, ErrorCode::invalid_argument, kWhere, "day one names entity '",
            printable(a.names[i]), "' twice");
    const auto it = in_b.find(a.names[i]);
    if (it == in_b.end()) {
      out.overlap.only_day1.emplace_back(a.names[i]);
    } else {
      out.entities.emplace_back(a.names[i]);
      kept1.push_back(a.rows[i]);
      kept2.push_back(it->second);
    }
  }
  for (const std::string_view name : b.names) {
    if (!in_a.count(name)) out.overlap.only_day2.emplace_back(name);
  }
  DayOverlap& o = out.overlap;
  o.day1_entities = static_cast<int64_t>(a.names.size());
  o.day2_entities = static_cast<int64_t>(b.names.size());
  o.kept = static_cast<int64_t>(out.entities.size());
  const auto low = [&](int64_t whole) {
    return static_cast<double>(o.kept) < min_overlap * static_cast<double>(whole);
  };
  if (low(o.day1_entities) || low(o.day2_entities)) {
    o.warning = "small overlap: " + std::to_string(o.kept) + " entities are on both days, " +
                percent(o.kept, o.day1_entities) + " of day one's " +
                std::to_string(o.day1_entities) + " and " + percent(o.kept, o.day2_entities) +
                " of day two's " + std::to_string(o.day2_entities) +
                "; the comparison speaks for these only";
  }
}

// Rows `rows` of X, columns renumbered by `column_map` (identity when
// empty) and sorted within each row.
CsrMatrix take_rows(const CsrMatrix& X, const std::vector<int64_t>& rows, int64_t cols,
                    const std::vector<int32_t>& column_map) {
  CsrMatrix out;
  out.rows = static_cast<int64_t>(rows.size());
  out.cols = cols;
  out.indptr.reserve(rows.size() + 1);
  std::vector<std::pair<int32_t, float>> row;
  for (const int64_t r : rows) {
    row.clear();
    for (int64_t p = X.indptr[static_cast<std::size_t>(r)];
         p < X.indptr[static_cast<std::size_t>(r) + 1]; ++p) {
      const int32_t j = X.indices[static_cast<std::size_t>(p)];
      row.emplace_back(column_map.empty() ? j : column_map[static_cast<std::size_t>(j)],
                       X.values[static_cast<std::size_t>(p)]);
    }
    std::sort(row.begin(), row.end());
    for (const auto& [j, v] : row) {
      out.indices.push_back(j);
      out.values.push_back(v);
    }
    out.indptr.push_back(static_cast<int64_t>(out.indices.size()));
  }
  return out;
}

std::string group_of(std::string_view name) {
  const std::size_t colon = name.find(':');
  return std::string(colon == std::string_view::npos ? std::string_view() : name.substr(0, colon));
}

void check_matrix(const FeatureMatrix& m, const char* day) {
  validate_csr(m.X.view(), kWhere);
  require(static_cast<int64_t>(m.entity_names.size()) == m.n_entities(),
          ErrorCode::shape_mismatch, kWhere, day, " has ", m.entity_names.size(),
          " entity names for ", m.n_entities(), " rows");
  require(static_cast<int64_t>(m.feature_names.size()) == m.n_features(),
          ErrorCode::shape_mismatch, kWhere, day, " has ", m.feature_names.size(),
          " feature names for ", m.n_features(), " columns");
}

DayRows all_rows(const FeatureMatrix& m) {
  DayRows d;
  for (int64_t i = 0; i < m.n_entities(); ++i) {
    d.names.emplace_back(m.entity_names[static_cast<std::size_t>(i)]);
    d.rows.push_back(i);
  }
  return d;
}

}  // namespace

SharedDays shared_days_from_events(const FeatureParams& params, const EventSource& day1,
                                   const EventSource& day2, double min_overlap) {
  require(static_cast<bool>(day1) && static_cast<bool>(day2), ErrorCode::invalid_argument, kWhere,
          "no event source for day ", day1 ? "two" : "one");
  // One builder sees both days, each entity tagged with its day ('1' or
  // '2' before the name: the tagged names of two days never collide), so
  // the columns, normalisation and document frequencies are shared.
  FeatureBuilder builder(params);
  const auto tagged = [&builder](char tag) -> EventSink {
    return [&builder, tag, name = std::string()](const Event& e) mutable {
      if (e.entity.empty()) return builder.add(e);  // the builder's own error
      name.assign(1, tag);
      name.append(e.entity);
      builder.add(Event{name, e.group, e.feature, e.value});
    };
  };
  day1(tagged('1'));
  day2(tagged('2'));
  const FeatureMatrix fm = builder.build();

  DayRows a, b;
  for (int64_t i = 0; i < fm.n_entities(); ++i) {
    const std::string_view name = fm.entity_names[static_cast<std::size_t>(i)];
    DayRows& day = name[0] == '1' ? a : b;
    day.names.push_back(name.substr(1));
    day.rows.push_back(i);
  }
  SharedDays out;
  out.params = params;
  std::vector<int64_t> kept1, kept2;
  keep_common(a, b, min_overlap, out, kept1, kept2);
  out.feature_names = fm.feature_names;
  out.feature_groups = fm.feature_groups;
  out.day1 = take_rows(fm.X, kept1, fm.n_features(), {});
  out.day2 = take_rows(fm.X, kept2, fm.n_features(), {});
  return out;
}

SharedDays shared_days_from_matrices(const FeatureMatrix& day1, const FeatureMatrix& day2,
                                     double min_overlap) {
  check_matrix(day1, "day one");
  check_matrix(day2, "day two");
  SharedDays out;
  std::vector<int64_t> kept1, kept2;
  keep_common(all_rows(day1), all_rows(day2), min_overlap, out, kept1, kept2);

  // The union of the columns, by (group, feature) as FeatureBuilder orders them.
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto* m : {&day1, &day2}) {
    for (const auto& n : m->feature_names) names.emplace_back(group_of(n), n);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  require(names.size() <= static_cast<std::size_t>(INT32_MAX), ErrorCode::invalid_argument, kWhere,
          names.size(), " features over both days, more than a column index holds");
  std::unordered_map<std::string_view, int32_t, internal::SeededNameHash> column;
  for (std::size_t j = 0; j < names.size(); ++j) {
    column.emplace(names[j].second, static_cast<int32_t>(j));
    out.feature_groups.push_back(names[j].first);
    out.feature_names.push_back(names[j].second);
  }
  const auto map_of = [&](const FeatureMatrix& m, const char* day) {
    std::vector<int32_t> map;
    for (const auto& n : m.feature_names) map.push_back(column.at(n));
    std::vector<int32_t> sorted = map;
    std::sort(sorted.begin(), sorted.end());
    require(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
            ErrorCode::invalid_argument, kWhere, day, " names a feature twice");
    return map;
  };
  const int64_t d = static_cast<int64_t>(names.size());
  out.day1 = take_rows(day1.X, kept1, d, map_of(day1, "day one"));
  out.day2 = take_rows(day2.X, kept2, d, map_of(day2, "day two"));
  out.params = day1.vocabulary.params;
  return out;
}

ClusterMeans cluster_means(Backend& backend, const CsrMatrix& X, const std::vector<int32_t>& labels,
                           int64_t k) {
  const int64_t d = X.cols;
  require_memory(kWhere, "the per-cluster feature sums", {3, k, d}, sizeof(double), "float64");
  ClusterMeans out;
  out.sizes.assign(static_cast<std::size_t>(k), 0);
  for (const int32_t l : labels) ++out.sizes[static_cast<std::size_t>(l)];
  out.means = Matrix<double>(k, d);
  std::vector<double> sq(static_cast<std::size_t>(k * d)), stored(static_cast<std::size_t>(k * d));
  if (X.rows > 0 && d > 0) {
    const DeviceCsr resident = backend.borrow_or_upload_csr(X.view());
    backend.csr_cluster_sums(resident, labels.data(), k, out.means.data(), sq.data(),
                             stored.data());
  }
  for (int64_t c = 0; c < k; ++c) {
    const int64_t size = out.sizes[static_cast<std::size_t>(c)];
    double* row = out.means.row(c);
    for (int64_t j = 0; j < d; ++j) row[j] = size > 0 ? row[j] / static_cast<double>(size) : 0.0;
  }
  return out;
}

}  // namespace stray::internal
