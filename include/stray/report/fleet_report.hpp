// stray — a fleet result as people and other programs read it: the findings
// table of a terminal, one JSON object, and every entity's score as CSV.
//
// Nothing here prints. Each function returns a std::string or writes to the
// std::ostream it is given; where the text goes (a terminal, a file written
// atomically, a socket) is the caller's choice.
//
// Entity and feature names come from the events, that is from whoever wrote
// them, so each output treats them as untrusted bytes:
//
//   table  display_text: control characters and bytes that are not UTF-8
//          become visible escapes (`\x1b`), so a name cannot move the
//          cursor, recolour the terminal or hide itself.
//   JSON   always valid JSON in UTF-8: control characters are escaped
//          (`\u001b`, `\n`), and each invalid UTF-8 sequence becomes U+FFFD.
//   CSV    the bytes as they are (a spreadsheet or script gets the real
//          name), quoted per RFC 4180 where a comma, quote, CR or LF needs it.
//
// Thread safety: every function keeps no state and only reads the result;
// concurrent calls are safe (each with its own ostream).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "stray/fleet/pipeline.hpp"

namespace stray {

// ---- display (the table) -------------------------------------------------

/// `s` made safe and visible on a terminal. Printable ASCII and valid UTF-8
/// pass unchanged, except:
///  - C0 controls and DEL (0x00-0x1f, 0x7f): `\xNN` (two lowercase hex
///    digits), so "a\x1b[31m" shows as the eight characters `a\x1b[31m`;
///  - each byte that is not part of a valid UTF-8 sequence (stray
///    continuation bytes, truncated or overlong sequences, surrogates, code
///    points beyond U+10FFFF): `\xNN` of that byte;
///  - C1 controls (U+0080-U+009F; some terminals obey U+009B as CSI) and the
///    bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069,
///    which reorder what follows them): `\u{XXXX}` (hex, lowercase).
/// A backslash already in `s` is kept as it is: the display is for reading;
/// the JSON and CSV outputs carry the exact names.
std::string display_text(std::string_view s);

/// Code points `display_text(s)` shows as (what the table pads by; wide
/// East Asian characters count as one).
std::size_t display_width(std::string_view s);

/// "+1.000" / "−0.981": three decimals of |difference|, with a real minus
/// sign (U+2212) for a negative difference.
std::string signed_difference(double difference);

/// "package:lua5.3 +1.000 (new), net.port:22 −0.981": the finding's first
/// `max_features` features, names through display_text; " (new)" marks a
/// feature the model never saw when `mark_unseen`.
std::string features_text(const Finding& finding, std::size_t max_features,
                          bool mark_unseen = true);

/// "package:lua5.3=1 (0.25%), package:make=0 (0.15%) (new)": the finding's
/// first `max_features` rare features (value rarity), each with its value
/// and the share of the fleet as far out on its side; " (new)" marks one
/// the model never saw. "" without rarity.
std::string rare_features_text(const Finding& finding, std::size_t max_features);

/// One line saying what ran: "600 entities x 420 features -> PCA 32
/// components (81.3% of the variance) -> k-means k=9 -> standardized scores
/// -> beyond the 95th percentile, clusters of <= 1 whole".
std::string pipeline_summary(const FleetResult& result);

/// The time of each step: "read 0.21 s, features 0.05 s, ..." ("" when the
/// result has no steps).
std::string steps_text(const FleetResult& result);

/// The findings table, highest score first: a header line, then one line
/// per finding (entity, cluster, score with one decimal, its first
/// `max_features` features and differences_summary of the rest; a finding
/// flagged by value rarity alone shows "rare: " and its rare features
/// instead), each line indented by two spaces and ended by '\n'.
///
///     entity     cluster        score  top features (value - peers' mean)
///     web-0042         3       1021.4  package:lua5.3 +1.000
///     runner-0003     7*        998.2  package:make −1.000, ...
///
/// Shows the first `limit` findings (0 or less: all), then "  ... and N
/// more" for the rest. A cluster marked '*' is a small cluster flagged
/// whole; a note under the table says so when one is shown. Entity names go
/// through display_text and the entity column is as wide as the widest shown
/// (at least "entity"). Writes nothing else (no summary, no blank lines).
void write_findings_table(std::ostream& out, const FleetResult& result, int64_t limit = 0,
                          std::size_t max_features = 4);
/// " (+270 more; 274 differ from all peers: 63 only here, 211 missing)":
/// what the first `shown` features of a finding leave out ("" when nothing).
std::string differences_summary(const Finding& finding, std::size_t shown);
/// One line per cluster: its id, size and first `max_features` defining
/// features with their mean in the members and in the others
///
///     cluster     size  defining features (mean in members / in the others)
///           0      212  package:nginx 1.00 / 0.02, package:openssl 0.98 / 0.40
///
/// names through display_text.
void write_cluster_profiles(std::ostream& out, const FleetResult& result,
                            std::size_t max_features = 3);

// ---- JSON ------------------------------------------------------------------

/// The whole result as one JSON object, keys in this order:
///
///   {"entities":n, "features":d, "unseen_features":u, "clusters":k,
///    "pca_components":r (0 without PCA), "pca_explained_variance_ratio":x,
///    "clustering":"kmeans", "detector":"centroid", "score_space":"standardized",
///    "shrinkage":0.0, "grains":[] (ScoreParams::grains), "percentile":95.0,
///    "small_cluster_size":s,
///    "backend":"<backend>",
///    "cluster_choice":[{"k":2,"silhouette":0.41,"inertia":812.5},..]   (only when k was chosen),
///    "cluster_profiles":[{"cluster":0,"size":212,"defining":[{"feature":"package:nginx",
///                         "members":1,"others":0.02},..]},..],
///    "n_findings":m,
///    "findings":[{"entity":"web-0042","cluster":3,"reference_cluster":3,
///                 "score":1021.4,"rank":0,"cluster_size":212,
///                 "rules":["percentile"],
///                 "features":[{"feature":"package:lua5.3","value":1,"center":0,
///                              "difference":1,"unseen":false},..]},..],
///    "steps":{"read":0.21,"features":0.05,..}, "seconds":1.3}
///
/// Strings are escaped as JSON requires; each invalid UTF-8 sequence in a
/// name is replaced by U+FFFD (so two names that differ only in invalid
/// bytes may read the same; the CSV keeps the bytes). A non-finite number
/// is written as null. `indent` < 0: one line; otherwise pretty-printed with
/// that many spaces per level. No trailing newline.
std::string findings_json(const FleetResult& result, std::string_view backend, int indent = -1);

// ---- CSV -------------------------------------------------------------------

/// One CSV field: `s` unchanged, or in double quotes with each quote doubled
/// when it holds a comma, a double quote, CR or LF (RFC 4180). Other bytes,
/// control characters and invalid UTF-8 included, are kept as they are.
std::string csv_field(std::string_view s);

/// Every entity of the snapshot, in row order, after the header line:
///
///   entity,cluster,score,outlier,fleet_rank,distance,lof,rarity
///   web-0001,3,1.57894737,0,8211,12.0472136,1.02,48.7
///   web-0042,3,10001,1,0,1021.39551,3.4,310.2
///
/// cluster is the entity's label; score what the findings rank by
/// (FleetResult::outlier_scores, else the distance) with nine significant
/// digits (%.9g: enough to read a float back exactly); outlier 1 when a
/// rule flagged it; fleet_rank its place in the fleet by score, 0 = the
/// most unusual, equal scores in the findings' order (where the result has
/// one: FleetResult::fleet_rank). With LOF or rarity the scores behind the
/// score follow: the distance, then lof and rarity where each ran. Every
/// line ends with '\n'. Throws ErrorCode::shape_mismatch when the labels,
/// scores or outlier flags do not have one entry per entity.
void write_scores_csv(std::ostream& out, const FleetResult& result);
/// The same as a string.
std::string scores_csv(const FleetResult& result);

}  // namespace stray
