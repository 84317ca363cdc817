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
  // "score" is what the findings are ranked by, and "fleet_rank" the
  // entity's place in the fleet by it (0 = the most unusual, as a
  // finding's rank in its cluster counts; equal scores ordered as the
  // findings are), so sorting on it reads the file in the findings' order;
  // with LOF or rarity the scores behind it follow: the distance,
  // then LOF, then rarity.
  const bool lof = result.lof.size() == n;
  const bool rarity = result.rarity.size() == n;
  const bool ranked = result.outlier_scores.size() == n;
  const bool rank = result.fleet_rank.size() == n;
  out << "entity,cluster,score,outlier" << (rank ? ",fleet_rank" : "")
      << (lof || rarity ? ",distance" : "") << (lof ? ",lof" : "") << (rarity ? ",rarity" : "")
      << '\n';
  char buf[160];
  for (std::size_t i = 0; i < n; ++i) {
    const double score = ranked ? result.outlier_scores[i] : result.scores[i];
    int len = std::snprintf(buf, sizeof buf, ",%d,%.9g,%d", result.labels[i], score,
                            result.outliers.is_outlier[i] ? 1 : 0);
    if (rank) {
      len += std::snprintf(buf + len, sizeof buf - static_cast<std::size_t>(len), ",%lld",
                           static_cast<long long>(result.fleet_rank[i]));
    }
    const auto more = [&](double v) {
      len += std::snprintf(buf + len, sizeof buf - static_cast<std::size_t>(len), ",%.9g", v);
    };
    if (lof || rarity) more(static_cast<double>(result.scores[i]));
    if (lof) more(result.lof[i]);
    if (rarity) more(result.rarity[i]);
    out << csv_field(result.features.entity_names[i]) << buf << '\n';
  }
}

std::string scores_csv(const FleetResult& result) {
  std::ostringstream os;
  write_scores_csv(os, result);
  return os.str();
}

}  // namespace stray
