// `stray compare`: how far two labelings of the same entities agree (e.g.
// clusters against image names). Every score of stray/metrics/label_scores.hpp.
//
// Input: two .npy files of integer labels (one per entity, same order), or
// two CSV files with columns `entity,label` joined on the entity (labels
// may be any text; entities on one side only are counted and left out), or
// one CSV whose entity names give the truth (--truth-from-names: hostname
// prefixes, image@date).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "name_classes.hpp"
#include "stray/core/error.hpp"
#include "stray/io/npy.hpp"
#include "stray/metrics/label_scores.hpp"

namespace stray::cli {
namespace {

struct CompareOptions {
  std::string labels, truth, truth_from_names, labels_column = "auto";
  bool json = false;
};

bool has_suffix(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// A short, printable rendering of file text for an error message.
std::string shown(std::string_view text) {
  std::string out;
  for (char ch : text.substr(0, 80)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return text.size() > 80 ? out + "..." : out;
}

// ---- .npy: one integer label per entity --------------------------------------

std::vector<int64_t> read_npy_labels(const std::string& path) {
  const NpyArray a = read_npy(path);
  if (a.shape.size() == 2 && a.cols() != 1) {
    throw Error(ErrorCode::shape_mismatch, "compare: " + path + " holds a " +
                                               std::to_string(a.rows()) + " x " +
                                               std::to_string(a.cols()) +
                                               " matrix; labels are one column");
  }
  if (a.type == NpyType::float32 || a.type == NpyType::float64) {
    throw Error(ErrorCode::parse_error, "compare: " + path + " holds floats; labels are integers");
  }
  return read_npy_int(path);
}

// ---- CSV: entity,label ---------------------------------------------------------

/// Splits one CSV line into fields; double quotes may enclose a field ("" is a quote).
std::vector<std::string> split_csv(const std::string& line, const std::string& path, int64_t line_no) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) {
    throw Error(ErrorCode::parse_error, "compare: " + path + " line " + std::to_string(line_no) +
                                            ": unterminated quote");
  }
  return fields;
}

struct CsvLabels {
  std::vector<std::string> entities, labels;  // in file order
  std::vector<int64_t> lines;                 // each entity's line in the file
};

// The rows of `names` in the order of their names (equal names by row).
// Sorting rather than hashing: the names may come from telemetry, and no
// choice of names can make a comparison sort slow.
std::vector<std::size_t> by_name(const std::vector<std::string>& names) {
  std::vector<std::size_t> order(names.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return names[a] < names[b]; });
  return order;
}

// An entity labelled twice is an error naming its first repeat in the file.
void check_unique_entities(const CsvLabels& labels, const std::string& path) {
  const std::vector<std::size_t> order = by_name(labels.entities);
  const auto same = [&](std::size_t a, std::size_t b) {
    return labels.entities[a] == labels.entities[b];
  };
  std::size_t repeat = labels.entities.size(), first = 0;  // rows
  for (std::size_t r = 1; r < order.size(); ++r) {
    // Rows ascend within a name: a group's second row is its first repeat.
    const bool starts_group = r == 1 || !same(order[r - 2], order[r - 1]);
    if (starts_group && same(order[r - 1], order[r]) && order[r] < repeat) {
      repeat = order[r];
      first = order[r - 1];
    }
  }
  if (repeat == labels.entities.size()) return;
  throw Error(ErrorCode::parse_error, "compare: " + path + " line " +
                                          std::to_string(labels.lines[repeat]) + ": entity '" +
                                          shown(labels.entities[repeat]) +
                                          "' already labelled on line " +
                                          std::to_string(labels.lines[first]));
}

// The label column's index in a header: `column`, or with "auto" `label`
// and else `cluster` (what `stray fleet --scores` writes); n when absent.
std::size_t label_column(const std::vector<std::string>& header, const std::string& column) {
  const auto find = [&](const std::string& name) {
    std::size_t j = 0;
    while (j < header.size() && header[j] != name) ++j;
    return j;
  };
  if (column != "auto") return find(column);
  const std::size_t label = find("label");
  return label < header.size() ? label : find("cluster");
}

CsvLabels read_csv_labels(const std::string& path, const std::string& column) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::io_error, "compare: cannot open " + path);
  std::string line;
  int64_t line_no = 0;
  std::size_t entity_col = 0, label_col = 0, n_cols = 0;
  CsvLabels out;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> f = split_csv(line, path, line_no);
    if (n_cols == 0) {  // the header names the columns
      n_cols = f.size();
      entity_col = std::find(f.begin(), f.end(), "entity") - f.begin();
      label_col = label_column(f, column);
      if (entity_col == n_cols || label_col == n_cols) {
        const std::string want = column == "auto" ? "label (or cluster)" : column;
        throw Error(ErrorCode::parse_error, "compare: " + path +
                                                ": the header must name columns entity and " +
                                                want + ", got '" + shown(line) + "'");
      }
      continue;
    }
    if (f.size() != n_cols) {
      throw Error(ErrorCode::parse_error, "compare: " + path + " line " + std::to_string(line_no) +
                                              ": " + std::to_string(f.size()) + " fields, the header has " +
                                              std::to_string(n_cols));
    }
    out.entities.push_back(std::move(f[entity_col]));
    out.labels.push_back(std::move(f[label_col]));
    out.lines.push_back(line_no);
  }
  if (in.bad()) throw Error(ErrorCode::io_error, "compare: error reading " + path);
  if (n_cols == 0) throw Error(ErrorCode::parse_error, "compare: " + path + " is empty (no header)");
  check_unique_entities(out, path);
  return out;
}

struct Joined {
  std::vector<int64_t> pred, truth;
  int64_t only_labels = 0, only_truth = 0;
};

/// The entities on both sides, in the order of the --labels file.
Joined join_on_entity(const CsvLabels& pred, const CsvLabels& truth) {
  const std::vector<std::size_t> truth_order = by_name(truth.entities);
  std::vector<std::string> pred_labels, truth_labels;
  Joined j;
  for (std::size_t i = 0; i < pred.entities.size(); ++i) {
    const auto it = std::lower_bound(
        truth_order.begin(), truth_order.end(), pred.entities[i],
        [&](std::size_t row, const std::string& name) { return truth.entities[row] < name; });
    if (it == truth_order.end() || truth.entities[*it] != pred.entities[i]) {
      ++j.only_labels;
      continue;
    }
    pred_labels.push_back(pred.labels[i]);
    truth_labels.push_back(truth.labels[*it]);
  }
  j.only_truth = static_cast<int64_t>(truth.entities.size() - pred_labels.size());
  j.pred = encode_labels(pred_labels);
  j.truth = encode_labels(truth_labels);
  return j;
}

// The truth from the labels file's own entity names.
CsvLabels classes_of_names(const CsvLabels& labels, const NameRule& rule) {
  CsvLabels truth;
  truth.entities = labels.entities;
  truth.labels.reserve(labels.entities.size());
  for (const std::string& e : labels.entities) truth.labels.push_back(class_of_name(e, rule));
  return truth;
}

Joined read_labelings(const CompareOptions& o) {
  const bool csv_labels = has_suffix(o.labels, ".csv");
  if (!o.truth_from_names.empty()) {
    if (!csv_labels) {
      throw Error(ErrorCode::invalid_argument,
                  "compare: --truth-from-names needs entity names: --labels must be a .csv "
                  "(entity,label)");
    }
    const CsvLabels labels = read_csv_labels(o.labels, o.labels_column);
    return join_on_entity(labels, classes_of_names(labels, parse_name_rule(o.truth_from_names)));
  }
  if (o.truth.empty()) {
    throw Error(ErrorCode::invalid_argument, "compare: give --truth or --truth-from-names");
  }
  if (csv_labels != has_suffix(o.truth, ".csv")) {
    throw Error(ErrorCode::invalid_argument,
                "compare: --labels and --truth must both be .npy or both be .csv (entity,label)");
  }
  Joined j;
  if (csv_labels) {
    j = join_on_entity(read_csv_labels(o.labels, o.labels_column),
                       read_csv_labels(o.truth, "label"));
    if (j.pred.empty()) {
      throw Error(ErrorCode::invalid_argument, "compare: no entity is in both " + o.labels +
                                                   " and " + o.truth);
    }
    return j;
  }
  j.pred = read_npy_labels(o.labels);
  j.truth = read_npy_labels(o.truth);
  if (j.pred.size() != j.truth.size()) {
    throw Error(ErrorCode::shape_mismatch,
                "compare: " + o.labels + " has " + std::to_string(j.pred.size()) + " labels, " +
                    o.truth + " has " + std::to_string(j.truth.size()));
  }
  return j;
}

void run_compare(const CompareOptions& o) {
  const bool csv_labels = has_suffix(o.labels, ".csv");
  const bool joined = csv_labels && o.truth_from_names.empty();
  const std::string truth_name =
      o.truth_from_names.empty() ? o.truth : "the entity names (" + o.truth_from_names + ")";
  const Joined j = read_labelings(o);
  const Contingency t = contingency_table(j.truth, j.pred);
  const LabelScores s = compare_labelings(t);
  if (o.json) {
    nlohmann::ordered_json out = {{"rand", s.rand},
                          {"adjusted_rand", s.adjusted_rand},
                          {"mutual_info", s.mutual_info},
                          {"normalized_mutual_info", s.normalized_mutual_info},
                          {"adjusted_mutual_info", s.adjusted_mutual_info},
                          {"homogeneity", s.homogeneity},
                          {"completeness", s.completeness},
                          {"v_measure", s.v_measure},
                          {"n_entities", t.n},
                          {"n_clusters", t.col_sums.size()},
                          {"n_classes", t.row_sums.size()}};
    if (joined) {
      out["only_in_labels"] = j.only_labels;
      out["only_in_truth"] = j.only_truth;
    }
    print_json(out);
    return;
  }
  std::printf("%lld entities: %zu clusters in %s, %zu classes in %s\n",
              static_cast<long long>(t.n), t.col_sums.size(), o.labels.c_str(),
              t.row_sums.size(), truth_name.c_str());
  if (joined) {
    std::printf("  matched on entity; left out: %lld only in %s, %lld only in %s\n",
                static_cast<long long>(j.only_labels), o.labels.c_str(),
                static_cast<long long>(j.only_truth), o.truth.c_str());
  }
  std::printf("  rand                    %.6f\n", s.rand);
  std::printf("  adjusted rand           %.6f\n", s.adjusted_rand);
  std::printf("  mutual information      %.6f nats\n", s.mutual_info);
  std::printf("  normalized MI           %.6f\n", s.normalized_mutual_info);
  std::printf("  adjusted MI             %.6f\n", s.adjusted_mutual_info);
  std::printf("  homogeneity             %.6f\n", s.homogeneity);
  std::printf("  completeness            %.6f\n", s.completeness);
  std::printf("  v-measure               %.6f\n", s.v_measure);
}

}  // namespace

void register_compare_command(CLI::App& app) {
  auto opts = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Score how far two labelings of the same entities agree (Rand, adjusted Rand, mutual "
      "information, normalised and adjusted MI, homogeneity, completeness, V-measure; "
      "scikit-learn's definitions). Inputs: .npy integer labels in the same entity order, or "
      "CSV files with columns entity,label joined on the entity, or one CSV whose entity names "
      "give the reference classes (--truth-from-names).");
  cmd->add_option("--labels", opts->labels,
                  "Cluster labels: .npy of integers, or .csv (entity,label; or entity,cluster as "
                  "stray fleet --scores writes)")
      ->required()
      ->check(CLI::ExistingFile);
  CLI::Option* truth =
      cmd->add_option("--truth", opts->truth,
                      "Reference labels (image names, tags...): .npy of integers, or .csv "
                      "(entity,label)")
          ->check(CLI::ExistingFile);
  cmd->add_option("--truth-from-names", opts->truth_from_names,
                  "Reference classes from the --labels file's entity names instead: stem (the "
                  "hostname prefix: first DNS label, lower-cased, less trailing digits, - and _: "
                  "web-03.example -> web) or before:CHARS (the name up to the first of CHARS: "
                  "before:@ gives nginx for nginx@2024-01-02)")
      ->excludes(truth);
  cmd->add_option("--labels-column", opts->labels_column,
                  "The --labels CSV's label column (auto: label, else cluster)")
      ->capture_default_str();
  cmd->add_flag("--json", opts->json, "Print one JSON object");
  cmd->callback([opts] { run_compare(*opts); });
}

}  // namespace stray::cli
