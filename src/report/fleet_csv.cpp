// Every entity's cluster, score and verdict as CSV, for spreadsheets and
// for comparing two runs line by line.
#include <cstdio>
#include <ostream>
#include <sstream>
#include <string>

#include "core/check.hpp"
#include "stray/report/fleet_report.hpp"

namespace stray {

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void write_scores_csv(std::ostream& out, const FleetResult& result) {
  const auto n = static_cast<std::size_t>(result.features.n_entities());
  internal::require(result.features.entity_names.size() == n && result.labels.size() == n &&
                        result.scores.size() == n && result.outliers.is_outlier.size() == n,
                    ErrorCode::shape_mismatch, "write_scores_csv", "n_entities=", n,
                    " but entity_names=", result.features.entity_names.size(),
                    ", labels=", result.labels.size(), ", scores=", result.scores.size(),
                    ", is_outlier=", result.outliers.is_outlier.size());
  out << "entity,cluster,score,outlier\n";
  char buf[64];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, ",%d,%.9g,%d\n", result.labels[i],
                  static_cast<double>(result.scores[i]), result.outliers.is_outlier[i] ? 1 : 0);
    out << csv_field(result.features.entity_names[i]) << buf;
  }
}

std::string scores_csv(const FleetResult& result) {
  std::ostringstream os;
  write_scores_csv(os, result);
  return os.str();
}

}  // namespace stray
