// Fleet model files: a header line (format name, version, payload length,
// CRC-32) and a JSON payload. Layout and fields: docs/model-format.md.
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <algorithm>
#include <limits>
#include <vector>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "fleet/pipeline_internal.hpp"
#include "io/atomic_file.hpp"
#include "core/check.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/core/version.hpp"

namespace stray {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kMagic = "stray-fleet-model";
constexpr std::size_t kMaxHeader = 128;

uint32_t crc32_of(const std::string& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t off = 0;
  while (off < bytes.size()) {
    const auto chunk = static_cast<uInt>(std::min<std::size_t>(bytes.size() - off, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + off), chunk);
    off += chunk;
  }
  return static_cast<uint32_t>(crc);
}

// ------------------------------------------------------------------ writing

Json flat(const double* data, int64_t count) {
  Json a = Json::array();
  for (int64_t i = 0; i < count; ++i) a.push_back(data[i]);
  return a;
}
Json flat(const float* data, int64_t count) {
  Json a = Json::array();
  for (int64_t i = 0; i < count; ++i) a.push_back(static_cast<double>(data[i]));
  return a;
}
template <typename T>
Json flat(const std::vector<T>& v) {
  return flat(v.data(), static_cast<int64_t>(v.size()));
}
Json with_nan_as_null(const std::vector<double>& v) {
  Json a = Json::array();
  for (double x : v) a.push_back(std::isnan(x) ? Json(nullptr) : Json(x));
  return a;
}

std::string payload_of(const FleetModel& m) {
  Json j;
  j["format"] = kMagic;
  j["version"] = kFleetModelVersion;
  j["library_version"] = version_string;
  j["n_entities"] = m.n_entities;

  const FeatureVocabulary& v = m.vocabulary;
  Json f;
  f["normalization"] = to_string(v.params.normalization);
  Json gn = Json::object();
  for (const auto& [g, mode] : v.params.group_normalization) gn[g] = to_string(mode);
  f["group_normalization"] = gn;
  Json gw = Json::object();
  for (const auto& [g, w] : v.params.group_weights) gw[g] = w;
  f["group_weights"] = gw;
  f["max_df"] = v.params.max_df;
  f["min_df"] = v.params.min_df;
  f["idf"] = v.params.idf;
  f["n_entities"] = v.n_entities;
  f["names"] = v.feature_names;
  f["document_frequency"] = v.document_frequency;
  f["dropped"] = v.dropped_names;
  j["features"] = f;

  if (m.use_pca) {
    const PcaModel& p = m.pca;
    Json pj;
    pj["n_samples"] = p.n_samples;
    pj["n_features"] = p.n_features;
    pj["n_components"] = p.n_components;
    pj["solver"] = to_string(p.solver);
    pj["whiten"] = p.whiten;
    pj["mean"] = flat(p.mean);
    pj["components"] = flat(p.components.data(), p.components.size());
    pj["explained_variance"] = flat(p.explained_variance);
    pj["explained_variance_ratio"] = flat(p.explained_variance_ratio);
    pj["singular_values"] = flat(p.singular_values);
    pj["noise_variance"] = p.noise_variance;
    pj["total_variance"] = p.total_variance;
    j["pca"] = pj;
  } else {
    j["pca"] = nullptr;
  }

  Json kj;
  kj["n_clusters"] = m.centers.rows();
  kj["dimensions"] = m.centers.cols();
  kj["centers"] = flat(m.centers.data(), m.centers.size());
  j["kmeans"] = kj;

  Json cj;
  cj["sizes"] = m.cluster_sizes;
  cj["reference"] = m.reference;
  cj["thresholds"] = with_nan_as_null(m.thresholds);
  cj["feature_means"] = flat(m.feature_means.data(), m.feature_means.size());
  cj["feature_sq_means"] = flat(m.feature_sq_means.data(), m.feature_sq_means.size());
  cj["feature_scale"] = flat(m.feature_scale);
  j["clusters"] = cj;

  j["score"] = {{"space", to_string(m.score.space)}, {"variance_floor", m.score.variance_floor}};
  j["outliers"] = {{"percentile", m.outliers.percentile},
                   {"top_n", m.outliers.top_n},
                   {"top_fraction", m.outliers.top_fraction},
                   {"small_cluster_size", m.outliers.small_cluster_size}};
  j["explain"] = {{"mode", to_string(m.explain.mode)},
                  {"top_features", m.explain.top_features}};
  return j.dump() + "\n";
}

std::string header_of(const std::string& payload) {
  char buf[kMaxHeader];
  std::snprintf(buf, sizeof buf, "%s %d %zu %08x\n", kMagic, kFleetModelVersion, payload.size(),
                crc32_of(payload));
  return buf;
}

// ------------------------------------------------------------------ reading

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& what) const {
    internal::fail(ErrorCode::parse_error, "load_fleet_model", source_, ": ", what);
  }

  const Json& at(const Json& j, const char* key, const std::string& path) const {
    if (!j.is_object() || !j.contains(key)) fail("missing field '" + path + key + "'");
    return j.at(key);
  }
  template <typename T>
  T get(const Json& j, const char* key, const std::string& path) const {
    const Json& v = at(j, key, path);
    try {
      return v.get<T>();
    } catch (const nlohmann::json::exception&) {
      fail("field '" + path + key + "' has the wrong type");
    }
  }
  double number(const Json& j, const char* key, const std::string& path) const {
    const auto x = get<double>(j, key, path);
    if (!std::isfinite(x)) fail("field '" + path + key + "' is not finite");
    return x;
  }
  int64_t count(const Json& j, const char* key, const std::string& path, int64_t lo = 0) const {
    const Json& v = at(j, key, path);
    if (!v.is_number_integer()) fail("field '" + path + key + "' is not an integer");
    const auto x = v.get<int64_t>();
    if (x < lo) fail("field '" + path + key + "' = " + std::to_string(x) + " < " + std::to_string(lo));
    return x;
  }
  std::vector<double> numbers(const Json& j, const char* key, const std::string& path,
                              int64_t expected, bool nan_for_null = false) const {
    const Json& v = at(j, key, path);
    if (!v.is_array()) fail("field '" + path + key + "' is not an array");
    if (expected >= 0 && static_cast<int64_t>(v.size()) != expected) {
      fail("field '" + path + key + "' has " + std::to_string(v.size()) + " values, expected " +
           std::to_string(expected));
    }
    std::vector<double> out;
    out.reserve(v.size());
    for (const Json& x : v) {
      if (nan_for_null && x.is_null()) {
        out.push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      if (!x.is_number()) fail("field '" + path + key + "' holds a non-number");
      const auto d = x.get<double>();
      if (!std::isfinite(d)) fail("field '" + path + key + "' holds a non-finite value");
      out.push_back(d);
    }
    return out;
  }

 private:
  std::string source_;
};

FleetModel model_of(const Json& j, const Reader& r) {
  FleetModel m;
  if (r.get<std::string>(j, "format", "") != kMagic) r.fail("payload is not a stray fleet model");
  const int64_t version = r.count(j, "version", "");
  if (version != kFleetModelVersion) {
    r.fail("payload version " + std::to_string(version) + " does not match the header");
  }
  m.n_entities = r.count(j, "n_entities", "", 2);

  const Json& f = r.at(j, "features", "");
  const std::string fp = "features.";
  FeatureVocabulary& v = m.vocabulary;
  try {
    v.params.normalization = parse_normalization(r.get<std::string>(f, "normalization", fp));
    for (const auto& [g, mode] : r.at(f, "group_normalization", fp).items()) {
      v.params.group_normalization[g] = parse_normalization(mode.get<std::string>());
    }
    for (const auto& [g, w] : r.at(f, "group_weights", fp).items()) {
      const auto x = w.get<double>();
      if (!std::isfinite(x) || x < 0.0) r.fail("features.group_weights['" + g + "'] is not finite and >= 0");
      v.params.group_weights[g] = x;
    }
  } catch (const nlohmann::json::exception& e) {
    r.fail(std::string("features: ") + e.what());
  } catch (const Error& e) {
    if (e.code() == ErrorCode::parse_error) throw;
    r.fail(std::string("features: ") + e.what());
  }
  v.params.max_df = r.number(f, "max_df", fp);
  v.params.min_df = r.count(f, "min_df", fp, 1);
  v.params.idf = r.get<bool>(f, "idf", fp);
  v.n_entities = r.count(f, "n_entities", fp, 0);
  v.feature_names = r.get<std::vector<std::string>>(f, "names", fp);
  v.document_frequency = r.get<std::vector<int64_t>>(f, "document_frequency", fp);
  v.dropped_names = r.get<std::vector<std::string>>(f, "dropped", fp);
  const auto d = static_cast<int64_t>(v.feature_names.size());
  if (d < 1) r.fail("the model has no features");
  if (static_cast<int64_t>(v.document_frequency.size()) != d) {
    r.fail("features.document_frequency has " + std::to_string(v.document_frequency.size()) +
           " values for " + std::to_string(d) + " features");
  }

  const Json& pj = r.at(j, "pca", "");
  m.use_pca = !pj.is_null();
  if (m.use_pca) {
    const std::string pp = "pca.";
    PcaModel& p = m.pca;
    p.n_samples = r.count(pj, "n_samples", pp, 2);
    p.n_features = r.count(pj, "n_features", pp, 1);
    p.n_components = r.count(pj, "n_components", pp, 1);
    if (p.n_features != d) r.fail("pca.n_features does not match the feature count");
    if (p.n_components > d) r.fail("pca.n_components exceeds the feature count");
    try {
      p.solver = parse_pca_solver(r.get<std::string>(pj, "solver", pp));
    } catch (const Error& e) {
      r.fail(std::string("pca.solver: ") + e.what());
    }
    p.whiten = r.get<bool>(pj, "whiten", pp);
    p.mean = r.numbers(pj, "mean", pp, d);
    std::vector<double> components = r.numbers(pj, "components", pp, p.n_components * d);
    p.components = Matrix<double>(p.n_components, d);
    p.components.storage().assign(components.begin(), components.end());
    p.explained_variance = r.numbers(pj, "explained_variance", pp, p.n_components);
    p.explained_variance_ratio = r.numbers(pj, "explained_variance_ratio", pp, p.n_components);
    p.singular_values = r.numbers(pj, "singular_values", pp, p.n_components);
    p.noise_variance = r.number(pj, "noise_variance", pp);
    p.total_variance = r.number(pj, "total_variance", pp);
  }
  const int64_t dims = m.use_pca ? m.pca.n_components : d;

  const Json& kj = r.at(j, "kmeans", "");
  const int64_t k = r.count(kj, "n_clusters", "kmeans.", 1);
  // Every extent is checked against the data before anything is sized by
  // it: a corrupt count must be an error, not a huge allocation.
  if (k > m.n_entities || k > std::numeric_limits<int32_t>::max()) {
    r.fail("kmeans.n_clusters=" + std::to_string(k) + " exceeds n_entities or the label range");
  }
  auto extent = [&](int64_t a, int64_t b) {
    if (a > 0 && b > std::numeric_limits<int64_t>::max() / a) r.fail("extents overflow");
    return a * b;
  };
  if (r.count(kj, "dimensions", "kmeans.", 1) != dims) {
    r.fail("kmeans.dimensions does not match the clustering space (" + std::to_string(dims) + ")");
  }
  {
    const std::vector<double> c = r.numbers(kj, "centers", "kmeans.", extent(k, dims));
    m.centers = Matrix<float>(k, dims);
    for (std::size_t i = 0; i < c.size(); ++i) m.centers.data()[i] = static_cast<float>(c[i]);
  }

  const Json& cj = r.at(j, "clusters", "");
  const std::string cp = "clusters.";
  m.cluster_sizes = r.get<std::vector<int64_t>>(cj, "sizes", cp);
  m.reference = r.get<std::vector<int32_t>>(cj, "reference", cp);
  if (static_cast<int64_t>(m.cluster_sizes.size()) != k || static_cast<int64_t>(m.reference.size()) != k) {
    r.fail("clusters.sizes and clusters.reference need " + std::to_string(k) + " entries");
  }
  int64_t total = 0;
  for (int64_t c = 0; c < k; ++c) {
    if (m.cluster_sizes[static_cast<std::size_t>(c)] < 0) r.fail("clusters.sizes holds a negative size");
    total += m.cluster_sizes[static_cast<std::size_t>(c)];
    const int32_t ref = m.reference[static_cast<std::size_t>(c)];
    if (ref < 0 || ref >= k) r.fail("clusters.reference holds " + std::to_string(ref) + ", outside [0, k)");
  }
  if (total != m.n_entities) r.fail("clusters.sizes do not sum to n_entities");
  m.thresholds = r.numbers(cj, "thresholds", cp, k, true);
  std::vector<double> means = r.numbers(cj, "feature_means", cp, extent(k, d));
  std::vector<double> sq_means = r.numbers(cj, "feature_sq_means", cp, extent(k, d));
  m.feature_means = Matrix<double>(k, d);
  m.feature_means.storage().assign(means.begin(), means.end());
  m.feature_sq_means = Matrix<double>(k, d);
  m.feature_sq_means.storage().assign(sq_means.begin(), sq_means.end());
  m.feature_scale = r.numbers(cj, "feature_scale", cp, d);
  for (const double s : m.feature_scale) {
    if (!(s > 0.0)) r.fail("clusters.feature_scale holds a value <= 0");
  }

  const Json& sj = r.at(j, "score", "");
  try {
    m.score.space = parse_score_space(r.get<std::string>(sj, "space", "score."));
  } catch (const Error& e) {
    r.fail(std::string("score.space: ") + e.what());
  }
  m.score.variance_floor = r.number(sj, "variance_floor", "score.");
  if (!(m.score.variance_floor > 0.0 && m.score.variance_floor <= 1.0)) {
    r.fail("score.variance_floor outside (0, 1]");
  }

  const Json& oj = r.at(j, "outliers", "");
  m.outliers.percentile = r.number(oj, "percentile", "outliers.");
  m.outliers.top_n = r.count(oj, "top_n", "outliers.");
  m.outliers.top_fraction = r.number(oj, "top_fraction", "outliers.");
  m.outliers.small_cluster_size = r.count(oj, "small_cluster_size", "outliers.");
  if (!(m.outliers.percentile >= 0.0 && m.outliers.percentile < 100.0) ||
      !(m.outliers.top_fraction >= 0.0 && m.outliers.top_fraction <= 1.0)) {
    r.fail("outliers.percentile or outliers.top_fraction out of range");
  }

  const Json& ej = r.at(j, "explain", "");
  try {
    m.explain.mode = parse_explain_mode(r.get<std::string>(ej, "mode", "explain."));
  } catch (const Error& e) {
    r.fail(std::string("explain.mode: ") + e.what());
  }
  m.explain.top_features = r.count(ej, "top_features", "explain.", 1);
  m.explain.leave_one_out = true;
  return m;
}

}  // namespace

void write_fleet_model(std::ostream& out, const FleetModel& model) {
  internal::require(model.fitted(), ErrorCode::not_fitted, "write_fleet_model",
                    "the model is not fitted");
  const std::string payload = payload_of(model);
  out << header_of(payload) << payload;
  out.flush();
  internal::require(static_cast<bool>(out), ErrorCode::io_error, "write_fleet_model",
                    "write failed");
}

void save_fleet_model(const FleetModel& model, const std::filesystem::path& path) {
  internal::require(model.fitted(), ErrorCode::not_fitted, "save_fleet_model",
                    "the model is not fitted");
  const std::string payload = payload_of(model);
  const std::string header = header_of(payload);
  internal::AtomicFile file(path.string(), "save_fleet_model");
  file.write(header.data(), header.size());
  file.write(payload.data(), payload.size());
  file.commit();
}

FleetModel read_fleet_model(std::istream& in, const std::string& source_name) {
  const Reader r(source_name);
  // Header: "stray-fleet-model <version> <payload bytes> <crc32 hex>\n".
  std::string header;
  char ch;
  while (header.size() < kMaxHeader && in.get(ch) && ch != '\n') header.push_back(ch);
  const std::string magic = kMagic;
  if (header.compare(0, magic.size() + 1, magic + " ") != 0) {
    r.fail("not a stray fleet model (the file does not start with '" + magic + "')");
  }
  if (!in || ch != '\n') r.fail("malformed header line");
  int version = 0;
  unsigned long long bytes = 0;
  unsigned crc = 0;
  char tail = 0;
  if (std::sscanf(header.c_str() + magic.size(), " %d %llu %8x%c", &version, &bytes, &crc, &tail) != 3) {
    r.fail("malformed header line '" + header + "'");
  }
  if (version != kFleetModelVersion) {
    r.fail("model format version " + std::to_string(version) + "; this stray reads version " +
           std::to_string(kFleetModelVersion));
  }
  constexpr unsigned long long kMaxPayload = 1ull << 36;
  if (bytes > kMaxPayload) r.fail("payload length " + std::to_string(bytes) + " is implausible");
  // Read in pieces: memory follows the bytes actually there, so a header
  // claiming a huge payload costs nothing before it is found truncated.
  std::string payload;
  std::vector<char> piece(std::size_t{1} << 20);
  while (payload.size() < bytes && in) {
    const auto want = static_cast<std::streamsize>(
        std::min<unsigned long long>(piece.size(), bytes - payload.size()));
    in.read(piece.data(), want);
    payload.append(piece.data(), static_cast<std::size_t>(in.gcount()));
  }
  const auto got = static_cast<unsigned long long>(payload.size());
  if (got != bytes) {
    r.fail("truncated: the payload has " + std::to_string(got) + " of " + std::to_string(bytes) +
           " bytes");
  }
  if (in.peek() != std::char_traits<char>::eof()) r.fail("unexpected data after the payload");
  if (crc32_of(payload) != crc) r.fail("corrupt: the payload's CRC-32 does not match the header");
  Json j;
  try {
    j = Json::parse(payload);
  } catch (const nlohmann::json::exception& e) {
    r.fail(std::string("payload is not valid JSON: ") + e.what());
  }
  return model_of(j, r);
}

FleetModel load_fleet_model(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  internal::require(static_cast<bool>(in), ErrorCode::io_error, "load_fleet_model", "cannot open '",
                    path.string(), "'");
  return read_fleet_model(in, path.string());
}

}  // namespace stray
