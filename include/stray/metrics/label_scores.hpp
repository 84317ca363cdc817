// stray — how far two labelings of the same entities agree (clusters against
// image names, hostname prefixes, tags, or one day's clusters against the
// next's).
//
// Every score follows scikit-learn 1.9's definition, special cases included
// (sklearn.metrics.rand_score, adjusted_rand_score, mutual_info_score,
// normalized_mutual_info_score and adjusted_mutual_info_score with the
// arithmetic mean, homogeneity_completeness_v_measure with beta = 1); the
// logarithm is natural, so information is in nats. Label values mean
// nothing but equality: renaming the labels of either side changes no score.
// docs/metrics.md says what each score tells an analyst.
//
// Unlike scikit-learn, empty labelings are an error (ErrorCode::
// invalid_argument) rather than a perfect score, and labelings of unequal
// length are ErrorCode::shape_mismatch.
//
// Cost: one pass over the labels to number the classes and one to count the
// contingency table's cells, O(n) time and O(n_classes + n_clusters +
// nonzero cells) memory; then every score but adjusted MI works on the
// table alone. Adjusted MI adds the expected MI under random labelings of
// the same class sizes; see adjusted_mutual_info_score.
//
// Thread safety: every function keeps no state and only reads its inputs;
// concurrent calls are safe.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace stray {

/// One nonzero cell of a contingency table: how many entities have truth
/// class `row` and predicted cluster `col` (both dense indices).
struct ContingencyCell {
  int64_t row = 0, col = 0, count = 0;
};

/// The sparse contingency table of two labelings. Classes are numbered
/// 0, 1, ... in the order their labels first appear.
struct Contingency {
  std::vector<int64_t> row_labels;  // truth label of each row class
  std::vector<int64_t> col_labels;  // predicted label of each column class
  std::vector<int64_t> row_sums;    // entities per row class (all > 0)
  std::vector<int64_t> col_sums;    // entities per column class (all > 0)
  std::vector<ContingencyCell> cells;  // the nonzero cells, in no set order
  int64_t n = 0;                       // entities
};

/// Builds the table in O(n), without sorting: labels are numbered through a
/// direct lookup table when their values span no more than about n, else by
/// hashing; cells are counted in a dense rows × cols array when that has no
/// more than about n cells, else entities are bucketed by row (a counting
/// pass) and each row's columns counted. Extra memory about 12 bytes per
/// label plus the table itself (24 bytes per nonzero cell). Throws
/// invalid_argument for empty input or n ≥ 2³², shape_mismatch for unequal
/// lengths.
Contingency contingency_table(const std::vector<int64_t>& truth,
                              const std::vector<int64_t>& pred);

/// Numbers string labels 0, 1, ... in first-seen order, so that text labels
/// (image names, tags) can be scored: encode each side on its own.
std::vector<int64_t> encode_labels(const std::vector<std::string>& labels);

/// Every score of this header for one pair of labelings, from one table.
struct LabelScores {
  double rand = 0;                    // share of entity pairs both sides treat alike
  double adjusted_rand = 0;           // Rand corrected for chance: 0 random, 1 identical
  double mutual_info = 0;             // nats shared by the two labelings
  double normalized_mutual_info = 0;  // MI / mean of the two entropies
  double adjusted_mutual_info = 0;    // MI corrected for chance, arithmetic mean
  double homogeneity = 0;             // each cluster holds one class
  double completeness = 0;            // each class lies in one cluster
  double v_measure = 0;               // harmonic mean of the two above
};

/// All the scores above. `truth` plays labels_true, `pred` labels_pred (only
/// homogeneity and completeness tell them apart: they swap).
LabelScores compare_labelings(const std::vector<int64_t>& truth,
                              const std::vector<int64_t>& pred);
/// The same from a table already built. A table not made by
/// contingency_table is checked first (1 ≤ n < 2³², positive class sizes
/// summing to n on each side, cells inside the table with positive counts
/// summing to n); else ErrorCode::invalid_argument.
LabelScores compare_labelings(const Contingency& table);

double rand_score(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred);
double mutual_info_score(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred);
double normalized_mutual_info_score(const std::vector<int64_t>& truth,
                                    const std::vector<int64_t>& pred);
/// Adjusted MI = (MI − E[MI]) / (mean(H(truth), H(pred)) − E[MI]). The
/// expected MI sums, for every pair of a row class of size a and a column
/// class of size b, the hypergeometric distribution of their overlap (as
/// sklearn's _expected_mutual_info_fast). Pairs of equal (a, b) are summed
/// once; each sum starts at the distribution's mode and stops once the
/// remaining tail, bounded by log-concavity, is below 1e-17 of the sum —
/// so the cost is about Σ over distinct size pairs of the overlap's spread
/// (sqrt(a·b/n) terms), not of min(a, b) as in sklearn.
double adjusted_mutual_info_score(const std::vector<int64_t>& truth,
                                  const std::vector<int64_t>& pred);
/// (homogeneity, completeness, v_measure), beta = 1.
std::tuple<double, double, double> homogeneity_completeness_v_measure(
    const std::vector<int64_t>& truth, const std::vector<int64_t>& pred);

/// The expected mutual information of two random labelings with the
/// table's class sizes (0 when either side has a single class). The table
/// is checked as by compare_labelings.
double expected_mutual_info(const Contingency& table);

}  // namespace stray
