// Fleet model files: a header line (format name, version, payload length,
// CRC-32) and a JSON payload. Layout and fields: docs/model-format.md.
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <algorithm>
#include <limits>
#include <optional>
#include <vector>
#include <nlohmann/json.hpp>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>
#include <utility>

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

// The running CRC-32 of a payload, `crc` from crc32(0, Z_NULL, 0).
uLong crc32_add(uLong crc, const char* data, std::size_t bytes) {
  while (bytes > 0) {
    const auto chunk = static_cast<uInt>(std::min<std::size_t>(bytes, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    bytes -= chunk;
  }
  return crc;
}

// Names (features, groups) are bytes from the telemetry, not necessarily
// UTF-8, and JSON strings must be. A name that is valid UTF-8 is written as
// a string (NUL and control characters escaped by JSON); any other as
// {"hex": "<its bytes in hex>"}, so every byte comes back.
bool hex_decode(const std::string& hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  const auto nibble = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  out->clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

// ------------------------------------------------------------------ writing
//
// The payload is never held whole: a 200,000-feature model is some 150 MB
// of JSON text, and a JSON document of it several times that. It is
// written value by value, long arrays in pieces of kPiece values, each
// piece through nlohmann's own serializer so the bytes are exactly the
// compact dump() the format has always had. The header, which comes first,
// carries the payload's length and CRC, so the payload is written twice:
// once only counted and checksummed, then to the file.

constexpr std::size_t kPiece = 4096;

// Where payload bytes go: counted and added to the CRC as they pass, then
// handed to `write` (none when only measuring).
class PayloadOut {
 public:
  using Write = std::function<void(const char*, std::size_t)>;
  explicit PayloadOut(Write write) : write_(std::move(write)) {}

  void put(std::string_view bytes) {
    crc_ = crc32_add(crc_, bytes.data(), bytes.size());
    size_ += bytes.size();
    if (write_) write_(bytes.data(), bytes.size());
  }
  std::size_t size() const { return size_; }
  uint32_t crc() const { return static_cast<uint32_t>(crc_); }

 private:
  Write write_;
  uLong crc_ = crc32(0L, Z_NULL, 0);
  std::size_t size_ = 0;
};

// One JSON array written in pieces: each piece of up to kPiece values is
// dumped as an array and its brackets dropped, so the joined pieces are
// the bytes of the whole array's dump().
class ArrayOut {
 public:
  explicit ArrayOut(PayloadOut& out) : out_(out), piece_(Json::array()) { out_.put("["); }
  void push(Json value) {
    piece_.push_back(std::move(value));
    if (piece_.size() == kPiece) flush();
  }
  void close() {
    flush();
    out_.put("]");
  }

 private:
  void flush() {
    if (piece_.empty()) return;
    const std::string text = piece_.dump();
    if (any_) out_.put(",");
    out_.put(std::string_view(text).substr(1, text.size() - 2));
    piece_.clear();  // keeps the array's capacity for the next piece
    any_ = true;
  }
  PayloadOut& out_;
  Json piece_;
  bool any_ = false;
};

// Objects written member by member, in the order given (as ordered_json
// dumps them): the payload and its sections.
class ObjectOut {
 public:
  explicit ObjectOut(PayloadOut& out) : out_(out) {}
  /// The payload itself (no key), or an object member.
  void begin(std::optional<std::string_view> key = std::nullopt) {
    if (key) name(*key);
    out_.put("{");
    first_.push_back(true);
  }
  void end() {
    out_.put("}");
    first_.pop_back();
  }
  /// A member whose value is small (a number, a name, a short object).
  void field(std::string_view key, const Json& value) {
    name(key);
    out_.put(value.dump());
  }
  /// A member whose value is an array of `count` values, element(i) each.
  template <typename F>
  void array(const char* key, std::size_t count, F&& element) {
    name(key);
    ArrayOut a(out_);
    for (std::size_t i = 0; i < count; ++i) a.push(element(i));
    a.close();
  }

 private:
  // Keys are names of any bytes too (group maps): a string_view, not a C
  // string, so a NUL inside one stays.
  void name(std::string_view key) {
    if (!first_.back()) out_.put(",");
    first_.back() = false;
    out_.put(Json(std::string(key)).dump());
    out_.put(":");
  }
  PayloadOut& out_;
  std::vector<bool> first_;
};

Json name_json(const std::string& name) {
  if (internal::is_utf8(name)) return name;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * name.size());
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return Json{{"hex", hex}};
}

void names(ObjectOut& o, const char* key, const std::vector<std::string>& names) {
  o.array(key, names.size(), [&](std::size_t i) { return name_json(names[i]); });
}

// A name -> value map: an object, or when a name is not UTF-8 (it cannot be
// an object key), an array of [name, value] pairs. Object members are
// written one by one: ordered_json would look each key up in a list.
template <typename Map, typename F>
void map(ObjectOut& o, const char* key, const Map& map, F&& value_of) {
  const bool plain = std::all_of(map.begin(), map.end(),
                                 [](const auto& entry) { return internal::is_utf8(entry.first); });
  if (!plain) {
    auto entry = map.begin();  // array() asks for the elements in order
    o.array(key, map.size(), [&](std::size_t) {
      const auto& [name, value] = *entry++;
      return Json::array({name_json(name), value_of(value)});
    });
    return;
  }
  o.begin(key);
  for (const auto& [name, value] : map) o.field(name, value_of(value));
  o.end();
}

// Numbers as doubles (float32 values as the double they convert to).
template <typename T>
void numbers(ObjectOut& o, const char* key, const T* data, int64_t count) {
  o.array(key, static_cast<std::size_t>(count),
          [&](std::size_t i) { return Json(static_cast<double>(data[i])); });
}
template <typename T>
void numbers(ObjectOut& o, const char* key, const std::vector<T>& v) {
  numbers(o, key, v.data(), static_cast<int64_t>(v.size()));
}
template <typename T>
void integers(ObjectOut& o, const char* key, const std::vector<T>& v) {
  o.array(key, v.size(), [&](std::size_t i) { return Json(v[i]); });
}

void write_features(ObjectOut& o, const FeatureVocabulary& v) {
  o.begin("features");
  o.field("normalization", to_string(v.params.normalization));
  map(o, "group_normalization", v.params.group_normalization,
      [](Normalization mode) { return Json(to_string(mode)); });
  map(o, "group_weights", v.params.group_weights, [](double w) { return Json(w); });
  o.field("max_df", v.params.max_df);
  o.field("min_df", v.params.min_df);
  o.field("idf", v.params.idf);
  names(o, "port_groups", v.params.port_groups);
  o.field("ephemeral_port_min", v.params.ephemeral_port_min);
  o.field("n_entities", v.n_entities);
  names(o, "names", v.feature_names);
  integers(o, "document_frequency", v.document_frequency);
  names(o, "dropped", v.dropped_names);
  o.end();
}

void write_pca(ObjectOut& o, const FleetModel& m) {
  if (!m.use_pca) {
    o.field("pca", nullptr);
    return;
  }
  const PcaModel& p = m.pca;
  o.begin("pca");
  o.field("n_samples", p.n_samples);
  o.field("n_features", p.n_features);
  o.field("n_components", p.n_components);
  o.field("solver", to_string(p.solver));
  o.field("whiten", p.whiten);
  numbers(o, "mean", p.mean);
  numbers(o, "components", p.components.data(), p.components.size());
  numbers(o, "explained_variance", p.explained_variance);
  numbers(o, "explained_variance_ratio", p.explained_variance_ratio);
  numbers(o, "singular_values", p.singular_values);
  o.field("noise_variance", p.noise_variance);
  o.field("total_variance", p.total_variance);
  o.end();
}

void write_clusters(ObjectOut& o, const FleetModel& m) {
  o.begin("kmeans");
  o.field("n_clusters", m.kmeans.centers.rows());
  o.field("dimensions", m.kmeans.centers.cols());
  numbers(o, "centers", m.kmeans.centers.data(), m.kmeans.centers.size());
  o.end();

  o.begin("clusters");
  integers(o, "sizes", m.cluster_sizes);
  integers(o, "reference", m.reference);
  o.array("thresholds", m.thresholds.size(), [&](std::size_t i) {
    const double x = m.thresholds[i];
    return std::isnan(x) ? Json(nullptr) : Json(x);
  });
  numbers(o, "feature_means", m.feature_means.data(), m.feature_means.size());
  numbers(o, "feature_sq_means", m.feature_sq_means.data(), m.feature_sq_means.size());
  numbers(o, "feature_scale", m.feature_scale);
  o.end();
}

// The LOF detector's model: the baseline's rows in the clustering space,
// their k-distances and densities. null for the centroid detector.
void write_lof(ObjectOut& o, const FleetModel& m) {
  if (m.detector == Detector::centroid) {
    o.field("lof", nullptr);
    return;
  }
  const LofModel& l = m.lof;
  o.begin("lof");
  o.field("n_neighbors", l.n_neighbors);
  o.field("offset", l.offset);
  o.field("rows", l.reference.rows());
  numbers(o, "reference", l.reference.data(), l.reference.size());
  numbers(o, "k_distance", l.k_distance);
  numbers(o, "lrd", l.lrd);
  o.end();
}

// The score's grains (version 4): each partition's k and median, the peers'
// median, and every grain's centres, one after the other. null without.
void write_grains(ObjectOut& o, const FleetModel& m) {
  if (m.grains.empty()) {
    o.field("grains", nullptr);
    return;
  }
  o.begin("grains");
  o.field("peer_median", m.peer_median);
  o.field("dimensions", m.kmeans.centers.cols());
  integers(o, "k", m.score.grains);
  o.array("medians", m.grains.size(), [&](std::size_t g) { return Json(m.grains[g].median); });
  std::vector<float> centers;
  for (const ScoreGrain& g : m.grains) {
    centers.insert(centers.end(), g.centers.data(), g.centers.data() + g.centers.size());
  }
  numbers(o, "centers", centers.data(), centers.size());
  o.end();
}

// The calibration of detector both (version 5) and of rarity (version 6):
// the baseline's sorted scores, LOFs and rarities (an empty array for one
// that did not run). null without either.
void write_calibration(ObjectOut& o, const FleetModel& m) {
  if (m.calibration.empty()) {
    o.field("calibration", nullptr);
    return;
  }
  o.begin("calibration");
  numbers(o, "scores", m.calibration.scores);
  numbers(o, "lof", m.calibration.lof);
  numbers(o, "rarity", m.calibration.rarity);
  o.end();
}

// Value rarity (version 6): every feature's knots, as offsets into three
// parallel arrays. null when rarity is off.
void write_rarity(ObjectOut& o, const FleetModel& m) {
  if (m.rarity.empty()) {
    o.field("rarity", nullptr);
    return;
  }
  const FeatureRarity& f = m.rarity;
  std::vector<float> values;
  std::vector<int64_t> equal, below;
  for (const RarityKnot& k : f.knots) {
    values.push_back(k.value);
    equal.push_back(k.equal);
    below.push_back(k.below);
  }
  o.begin("rarity");
  o.field("entities", f.n_entities);
  integers(o, "offsets", f.offsets);
  numbers(o, "values", values);
  integers(o, "equal", equal);
  integers(o, "below", below);
  o.end();
}

void write_payload(PayloadOut& out, const FleetModel& m) {
  ObjectOut o(out);
  o.begin();
  o.field("format", kMagic);
  o.field("version", kFleetModelVersion);
  o.field("library_version", version_string);
  o.field("n_entities", m.n_entities);
  write_features(o, m.vocabulary);
  write_pca(o, m);
  write_clusters(o, m);
  o.field("score", {{"space", to_string(m.score.space)},
                    {"variance_floor", m.score.variance_floor},
                    {"shrinkage", m.score.shrinkage}});
  write_grains(o, m);
  o.field("outliers", {{"percentile", m.outliers.percentile},
                       {"top_n", m.outliers.top_n},
                       {"top_fraction", m.outliers.top_fraction},
                       {"small_cluster_size", m.outliers.small_cluster_size}});
  o.field("explain", {{"mode", to_string(m.explain.mode)},
                      {"top_features", m.explain.top_features}});
  o.field("clustering", {{"method", to_string(m.clustering)}, {"linkage", to_string(m.linkage)}});
  o.field("detector", to_string(m.detector));
  write_lof(o, m);
  write_calibration(o, m);
  write_rarity(o, m);
  o.end();
  out.put("\n");
}

// Header and payload to `write`, the payload streamed (see above). The two
// passes see the same model, so they must agree; if they do not (the model
// changed meanwhile), the caller must not keep what was written.
void write_model(const FleetModel& m, const PayloadOut::Write& write, const char* where) {
  PayloadOut measure(nullptr);
  write_payload(measure, m);
  char header[kMaxHeader];
  const int n = std::snprintf(header, sizeof header, "%s %d %zu %08x\n", kMagic, kFleetModelVersion,
                              measure.size(), measure.crc());
  write(header, static_cast<std::size_t>(n));
  PayloadOut out(write);
  write_payload(out, m);
  internal::require(out.size() == measure.size() && out.crc() == measure.crc(), ErrorCode::io_error,
                    where, "the model changed while it was being written");
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
  /// An array of integers that fit T (an element that is not an integral
  /// number of T's range is an error, not a conversion), of `expected`
  /// entries.
  template <typename T>
  std::vector<T> integers(const Json& j, const char* key, const std::string& path,
                          int64_t expected) const {
    const Json& v = at(j, key, path);
    if (!v.is_array()) fail("field '" + path + key + "' is not an array");
    if (static_cast<int64_t>(v.size()) != expected) {
      fail("field '" + path + key + "' has " + std::to_string(v.size()) + " values, expected " +
           std::to_string(expected));
    }
    std::vector<T> out;
    out.reserve(v.size());
    for (const Json& x : v) {
      const bool fits = x.is_number_unsigned()
                            ? std::in_range<T>(x.get<uint64_t>())
                            : x.is_number_integer() && std::in_range<T>(x.get<int64_t>());
      if (!fits) {
        fail("field '" + path + key + "' holds " +
             (x.is_number() ? internal::printable(x.dump(), 40) : std::string("a ") + x.type_name()) +
             ", not an integer in its range");
      }
      out.push_back(x.is_number_unsigned() ? static_cast<T>(x.get<uint64_t>())
                                           : static_cast<T>(x.get<int64_t>()));
    }
    return out;
  }
  /// An array of names (see name_of).
  std::vector<std::string> names(const Json& j, const char* key, const std::string& path) const {
    const Json& v = at(j, key, path);
    if (!v.is_array()) fail("field '" + path + key + "' is not an array");
    std::vector<std::string> out;
    out.reserve(v.size());
    for (const Json& x : v) out.push_back(name_of(x, path + key));
    return out;
  }
  /// A name: a JSON string, or {"hex": "..."} for bytes that are not UTF-8.
  std::string name_of(const Json& x, const std::string& field) const {
    if (x.is_string()) return x.get<std::string>();
    if (x.is_object() && x.size() == 1 && x.contains("hex") && x.at("hex").is_string()) {
      std::string bytes;
      if (hex_decode(x.at("hex").get_ref<const std::string&>(), &bytes)) return bytes;
    }
    fail("field '" + field + "' holds a name that is neither a string nor {\"hex\": ...}");
  }
  /// Calls f(name, value) for each entry of a name -> value map: a JSON
  /// object, or an array of [name, value] pairs (names that are not UTF-8).
  template <typename F>
  void pairs(const Json& j, const char* key, const std::string& path, F&& f) const {
    const Json& v = at(j, key, path);
    if (v.is_object()) {
      for (const auto& [name, value] : v.items()) f(std::string(name), value);
      return;
    }
    if (!v.is_array()) fail("field '" + path + key + "' is neither an object nor an array");
    for (const Json& pair : v) {
      if (!pair.is_array() || pair.size() != 2) fail("field '" + path + key + "' holds a non-pair");
      f(name_of(pair[0], path + key), pair[1]);
    }
  }
  /// The array at `key`, of `expected` entries (any number when < 0).
  const Json& array(const Json& j, const char* key, const std::string& path,
                    int64_t expected) const {
    const Json& v = at(j, key, path);
    if (!v.is_array()) fail("field '" + path + key + "' is not an array");
    if (expected >= 0 && static_cast<int64_t>(v.size()) != expected) {
      fail("field '" + path + key + "' has " + std::to_string(v.size()) + " values, expected " +
           std::to_string(expected));
    }
    return v;
  }
  /// The finite numbers of `v` (the array at `key`) into out[0, v.size()),
  /// with NaN for null where nan_for_null.
  template <typename T>
  void numbers_into(const Json& v, const char* key, const std::string& path, T* out,
                    bool nan_for_null = false) const {
    for (const Json& x : v) {
      if (nan_for_null && x.is_null()) {
        *out++ = std::numeric_limits<T>::quiet_NaN();
        continue;
      }
      if (!x.is_number()) fail("field '" + path + key + "' holds a non-number");
      const auto d = x.get<double>();
      if (!std::isfinite(d)) fail("field '" + path + key + "' holds a non-finite value");
      *out++ = static_cast<T>(d);
    }
  }
  std::vector<double> numbers(const Json& j, const char* key, const std::string& path,
                              int64_t expected, bool nan_for_null = false) const {
    const Json& v = array(j, key, path, expected);
    std::vector<double> out(v.size());
    numbers_into(v, key, path, out.data(), nan_for_null);
    return out;
  }

 private:
  std::string source_;
};

// Each step reads one part of the payload into `m`, checking every extent
// against what is already known before anything is sized by it: a corrupt
// count must be an error, not a huge allocation or an overflow.

// a * b for extents already checked to be >= 0, or a parse error.
int64_t extent(const Reader& r, int64_t a, int64_t b, const char* what) {
  if (a > 0 && b > std::numeric_limits<int64_t>::max() / a) {
    r.fail(std::string(what) + " overflows: " + std::to_string(a) + " x " + std::to_string(b));
  }
  return a * b;
}

// A rows x cols matrix, row-major in the array at `key`. The array's length
// is checked before the matrix is allocated, and the values go straight
// into it rather than through a vector copied in.
template <typename T>
Matrix<T> matrix(const Json& j, const Reader& r, const char* key, const std::string& path,
                 int64_t rows, int64_t cols) {
  const std::string field = path + key;
  const Json& v = r.array(j, key, path, extent(r, rows, cols, field.c_str()));
  Matrix<T> out(rows, cols);
  r.numbers_into(v, key, path, out.data());
  return out;
}

void read_identity(const Json& j, const Reader& r, int header_version, FleetModel& m) {
  if (r.get<std::string>(j, "format", "") != kMagic) r.fail("payload is not a stray fleet model");
  const int64_t version = r.count(j, "version", "");
  if (version != header_version) {
    r.fail("payload version " + std::to_string(version) + " does not match the header");
  }
  m.n_entities = r.count(j, "n_entities", "", 2);
}

void read_group_params(const Json& f, const Reader& r, FeatureParams& params) {
  const std::string fp = "features.";
  try {
    params.normalization = parse_normalization(r.get<std::string>(f, "normalization", fp));
    r.pairs(f, "group_normalization", fp, [&](std::string g, const Json& mode) {
      params.group_normalization[std::move(g)] = parse_normalization(mode.get<std::string>());
    });
    r.pairs(f, "group_weights", fp, [&](std::string g, const Json& w) {
      const auto x = w.get<double>();
      if (!std::isfinite(x) || x < 0.0) {
        r.fail("features.group_weights['" + internal::printable(g) + "'] is not finite and >= 0");
      }
      params.group_weights[std::move(g)] = x;
    });
  } catch (const nlohmann::json::exception& e) {
    r.fail(std::string("features: ") + e.what());
  } catch (const Error& e) {
    if (e.code() == ErrorCode::parse_error) throw;
    r.fail(std::string("features: ") + e.detail());
  }
}

// Version 8 folds ephemeral ports; a model of an earlier version was
// fitted on every port number and must be applied so.
void read_port_folding(const Json& f, const Reader& r, int version, FeatureParams& params) {
  params.port_groups.clear();
  params.ephemeral_port_min = 0;
  if (version < 8) return;
  const std::string fp = "features.";
  params.port_groups = r.names(f, "port_groups", fp);
  for (const std::string& g : params.port_groups) {
    if (g.empty() || g.find(':') != std::string::npos) {
      r.fail("features.port_groups holds '" + internal::printable(g) + "', not a group name");
    }
  }
  const int64_t min = r.count(f, "ephemeral_port_min", fp, 0);
  if (min > 65535) r.fail("features.ephemeral_port_min=" + std::to_string(min) + " > 65535");
  params.ephemeral_port_min = static_cast<int32_t>(min);
}

void read_features(const Json& j, const Reader& r, int version, FleetModel& m) {
  const Json& f = r.at(j, "features", "");
  const std::string fp = "features.";
  FeatureVocabulary& v = m.vocabulary;
  read_group_params(f, r, v.params);
  v.params.max_df = r.number(f, "max_df", fp);
  v.params.min_df = r.count(f, "min_df", fp, 1);
  v.params.idf = r.get<bool>(f, "idf", fp);
  read_port_folding(f, r, version, v.params);
  v.n_entities = r.count(f, "n_entities", fp, 0);
  v.feature_names = r.names(f, "names", fp);
  const auto d = static_cast<int64_t>(v.feature_names.size());
  if (d < 1) r.fail("the model has no features");
  v.document_frequency = r.integers<int64_t>(f, "document_frequency", fp, d);
  v.dropped_names = r.names(f, "dropped", fp);
}

void read_pca(const Json& j, const Reader& r, FleetModel& m) {
  const Json& pj = r.at(j, "pca", "");
  m.use_pca = !pj.is_null();
  if (!m.use_pca) return;
  const auto d = static_cast<int64_t>(m.vocabulary.feature_names.size());
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
    r.fail(std::string("pca.solver: ") + e.detail());
  }
  p.whiten = r.get<bool>(pj, "whiten", pp);
  p.mean = r.numbers(pj, "mean", pp, d);
  p.components = matrix<double>(pj, r, "components", pp, p.n_components, d);
  p.explained_variance = r.numbers(pj, "explained_variance", pp, p.n_components);
  p.explained_variance_ratio = r.numbers(pj, "explained_variance_ratio", pp, p.n_components);
  p.singular_values = r.numbers(pj, "singular_values", pp, p.n_components);
  p.noise_variance = r.number(pj, "noise_variance", pp);
  p.total_variance = r.number(pj, "total_variance", pp);
}

void read_kmeans(const Json& j, const Reader& r, FleetModel& m) {
  const auto d = static_cast<int64_t>(m.vocabulary.feature_names.size());
  const int64_t dims = m.use_pca ? m.pca.n_components : d;
  const Json& kj = r.at(j, "kmeans", "");
  const int64_t k = r.count(kj, "n_clusters", "kmeans.", 1);
  if (k > m.n_entities || k > std::numeric_limits<int32_t>::max()) {
    r.fail("kmeans.n_clusters=" + std::to_string(k) + " exceeds n_entities or the label range");
  }
  if (r.count(kj, "dimensions", "kmeans.", 1) != dims) {
    r.fail("kmeans.dimensions does not match the clustering space (" + std::to_string(dims) + ")");
  }
  m.kmeans.centers = matrix<float>(kj, r, "centers", "kmeans.", k, dims);
}

void read_clusters(const Json& j, const Reader& r, FleetModel& m) {
  const int64_t k = m.kmeans.centers.rows();
  const auto d = static_cast<int64_t>(m.vocabulary.feature_names.size());
  const Json& cj = r.at(j, "clusters", "");
  const std::string cp = "clusters.";
  m.cluster_sizes = r.integers<int64_t>(cj, "sizes", cp, k);
  m.kmeans.cluster_sizes.assign(m.cluster_sizes.begin(), m.cluster_sizes.end());
  m.reference = r.integers<int32_t>(cj, "reference", cp, k);
  int64_t total = 0;
  for (int64_t c = 0; c < k; ++c) {
    const int64_t size = m.cluster_sizes[static_cast<std::size_t>(c)];
    // Compared before adding, so crafted sizes cannot overflow the sum.
    if (size < 0 || size > m.n_entities - total) {
      r.fail("clusters.sizes holds " + std::to_string(size) +
             ": negative, or the sizes exceed n_entities");
    }
    total += size;
    const int32_t ref = m.reference[static_cast<std::size_t>(c)];
    if (ref < 0 || ref >= k) r.fail("clusters.reference holds " + std::to_string(ref) + ", outside [0, k)");
  }
  if (total != m.n_entities) r.fail("clusters.sizes do not sum to n_entities");
  m.thresholds = r.numbers(cj, "thresholds", cp, k, true);
  m.feature_means = matrix<double>(cj, r, "feature_means", cp, k, d);
  m.feature_sq_means = matrix<double>(cj, r, "feature_sq_means", cp, k, d);
  m.feature_scale = r.numbers(cj, "feature_scale", cp, d);
  for (const double s : m.feature_scale) {
    if (!(s > 0.0)) r.fail("clusters.feature_scale holds a value <= 0");
  }
}

void read_scoring(const Json& j, const Reader& r, int version, FleetModel& m) {
  const Json& sj = r.at(j, "score", "");
  try {
    m.score.space = parse_score_space(r.get<std::string>(sj, "space", "score."));
  } catch (const Error& e) {
    r.fail(std::string("score.space: ") + e.detail());
  }
  // A fitted model holds the space its scores were measured in.
  if (m.score.space == ScoreSpace::automatic) r.fail("score.space is 'auto', not a fitted choice");
  m.score.variance_floor = r.number(sj, "variance_floor", "score.");
  if (!(m.score.variance_floor > 0.0 && m.score.variance_floor <= 1.0)) {
    r.fail("score.variance_floor outside (0, 1]");
  }
  // Version 3 added the variance shrinkage; older files had none (0).
  m.score.shrinkage = version >= 3 ? r.number(sj, "shrinkage", "score.") : 0.0;
  if (!(std::isfinite(m.score.shrinkage) && m.score.shrinkage >= 0.0)) {
    r.fail("score.shrinkage is not a finite number >= 0");
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
    r.fail(std::string("explain.mode: ") + e.detail());
  }
  m.explain.top_features = r.count(ej, "top_features", "explain.", 1);
  m.explain.leave_one_out = true;
}

// Version 2's clustering method and detector. The LOF model's rows live in
// the clustering space: as many columns as the centres, one row per
// baseline entity.
void read_detection(const Json& j, const Reader& r, FleetModel& m) {
  const Json& cj = r.at(j, "clustering", "");
  try {
    m.clustering = parse_clustering(r.get<std::string>(cj, "method", "clustering."));
    m.linkage = parse_linkage(r.get<std::string>(cj, "linkage", "clustering."));
    m.detector = parse_detector(r.get<std::string>(j, "detector", ""));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::parse_error) throw;
    r.fail(std::string("clustering or detector: ") + e.detail());
  }
  if (m.detector == Detector::automatic) r.fail("detector is 'auto', not a fitted choice");
  const Json& lj = r.at(j, "lof", "");
  if (m.detector == Detector::centroid) {
    if (!lj.is_null()) r.fail("lof is set for the centroid detector");
    return;
  }
  LofModel& l = m.lof;
  const std::string lp = "lof.";
  const int64_t n = r.count(lj, "rows", lp, 2), dims = m.kmeans.centers.cols();
  // Version 7 keeps the baseline's distinct rows (LofParams::distinct_rows),
  // earlier versions every row: never more rows than entities.
  if (n > m.n_entities) r.fail("lof.rows exceeds n_entities");
  l.n_neighbors = r.count(lj, "n_neighbors", lp, 1);
  if (l.n_neighbors >= n) r.fail("lof.n_neighbors is not below lof.rows");
  l.offset = r.number(lj, "offset", lp);
  if (!(l.offset < 0.0)) r.fail("lof.offset is not negative");
  l.reference = matrix<float>(lj, r, "reference", lp, n, dims);
  l.k_distance = r.numbers(lj, "k_distance", lp, n);
  l.lrd = r.numbers(lj, "lrd", lp, n);
  l.novelty = true;
}

// The payload as the JSON parser reads it: at most `bytes` bytes of `in`,
// read through a small buffer, each piece added to the CRC as it arrives.
class PayloadIn : public std::streambuf {
 public:
  PayloadIn(std::istream& in, unsigned long long bytes)
      : in_(in), left_(bytes), buffer_(std::size_t{1} << 16) {}

  /// Reads what the parser left (it stops at an error), so that the
  /// length and the CRC are judged on the whole payload.
  void drain() {
    do {
      setg(eback(), egptr(), egptr());
    } while (underflow() != traits_type::eof());
  }
  unsigned long long got() const { return got_; }
  uint32_t crc() const { return static_cast<uint32_t>(crc_); }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (left_ == 0 || !in_) return traits_type::eof();
    in_.read(buffer_.data(),
             static_cast<std::streamsize>(std::min<unsigned long long>(buffer_.size(), left_)));
    const auto n = static_cast<std::size_t>(in_.gcount());
    if (n == 0) return traits_type::eof();
    crc_ = crc32_add(crc_, buffer_.data(), n);
    got_ += n;
    left_ -= n;
    setg(buffer_.data(), buffer_.data(), buffer_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::istream& in_;
  unsigned long long left_;
  unsigned long long got_ = 0;
  uLong crc_ = crc32(0L, Z_NULL, 0);
  std::vector<char> buffer_;
};

// Version 4's grains, checked against the clustering space; older files
// have none.
void read_grains(const Json& j, const Reader& r, int version, FleetModel& m) {
  if (version < 4) return;
  const Json& gj = r.at(j, "grains", "");
  if (gj.is_null()) return;
  const std::string gp = "grains.";
  m.peer_median = r.number(gj, "peer_median", gp);
  if (!(m.peer_median > 0.0)) r.fail("grains.peer_median is not positive");
  const int64_t dims = r.count(gj, "dimensions", gp, 1);
  if (dims != m.kmeans.centers.cols()) r.fail("grains.dimensions does not match kmeans.dimensions");
  m.score.grains = r.integers<int64_t>(gj, "k", gp, r.array(gj, "k", gp, -1).size());
  const auto count = static_cast<int64_t>(m.score.grains.size());
  if (count == 0) r.fail("grains.k is empty (a model without grains has grains: null)");
  const std::vector<double> medians = r.numbers(gj, "medians", gp, count);
  int64_t rows = 0;
  for (const int64_t k : m.score.grains) {
    if (k < 2 || k > m.n_entities) {
      r.fail("grains.k holds " + std::to_string(k) + ", outside [2, n_entities]");
    }
    if (rows > std::numeric_limits<int64_t>::max() - k) r.fail("grains.k sums past any size");
    rows += k;
  }
  const Matrix<float> all = matrix<float>(gj, r, "centers", gp, rows, dims);
  int64_t at = 0;
  for (int64_t g = 0; g < count; ++g) {
    ScoreGrain grain;
    grain.median = medians[static_cast<std::size_t>(g)];
    if (!(grain.median > 0.0)) r.fail("grains.medians holds a value <= 0");
    const int64_t k = m.score.grains[static_cast<std::size_t>(g)];
    grain.centers = Matrix<float>(k, dims);
    std::copy(all.data() + at * dims, all.data() + (at + k) * dims, grain.centers.data());
    at += k;
    m.grains.push_back(std::move(grain));
  }
}

// Version 5's calibration of detector both: n_entities finite values per
// score, ascending (tail_fraction searches them). Older files have none.
std::vector<float> sorted_values(const Json& cj, const Reader& r, const char* key, int64_t n) {
  const std::vector<double> v = r.numbers(cj, key, "calibration.", n);
  if (!std::is_sorted(v.begin(), v.end())) {
    r.fail(std::string("calibration.") + key + " is not in ascending order");
  }
  // The writer stores floats: a value past their range is no calibration of ours.
  constexpr double kLargest = std::numeric_limits<float>::max();
  if (!v.empty() && (v.front() < -kLargest || v.back() > kLargest)) {
    r.fail(std::string("calibration.") + key + " holds a value past float's range");
  }
  return {v.begin(), v.end()};
}

// Version 6's value rarity: offsets into the knots, each feature's knots
// ascending with counts that fit the baseline (validate_feature_rarity).
void read_rarity(const Json& j, const Reader& r, int version, FleetModel& m) {
  if (version < 6) return;
  const Json& rj = r.at(j, "rarity", "");
  if (rj.is_null()) return;
  const std::string rp = "rarity.";
  FeatureRarity& f = m.rarity;
  f.n_entities = r.count(rj, "entities", rp, 1);
  if (f.n_entities != m.n_entities) r.fail("rarity.entities does not match n_entities");
  f.offsets = r.integers<int64_t>(rj, "offsets", rp, m.n_features() + 1);
  const auto knots = static_cast<int64_t>(r.array(rj, "values", rp, -1).size());
  const std::vector<double> values = r.numbers(rj, "values", rp, knots);
  const auto equal = r.integers<int64_t>(rj, "equal", rp, knots);
  const auto below = r.integers<int64_t>(rj, "below", rp, knots);
  f.knots.resize(static_cast<std::size_t>(knots));
  constexpr double kLargest = std::numeric_limits<float>::max();
  for (std::size_t t = 0; t < f.knots.size(); ++t) {
    if (!(values[t] > 0.0 && values[t] <= kLargest)) {
      r.fail("rarity.values holds a value outside (0, float's largest]");
    }
    f.knots[t] = {static_cast<float>(values[t]), equal[t], below[t]};
  }
  try {
    validate_feature_rarity(f, m.n_features(), "rarity");
  } catch (const Error& e) {
    r.fail(e.detail());
  }
}

void read_calibration(const Json& j, const Reader& r, int version, FleetModel& m) {
  if (version < 5) return;
  const Json& cj = r.at(j, "calibration", "");
  if (cj.is_null()) {
    if (!m.rarity.empty()) r.fail("rarity is set without its calibration");
    return;
  }
  const bool rare = !m.rarity.empty();
  if (m.detector != Detector::both && !rare) {
    r.fail("calibration is set for a detector other than both, without rarity");
  }
  m.calibration.scores = sorted_values(cj, r, "scores", m.n_entities);
  m.calibration.lof =
      sorted_values(cj, r, "lof", m.detector != Detector::centroid ? m.n_entities : 0);
  if (version >= 6) m.calibration.rarity = sorted_values(cj, r, "rarity", rare ? m.n_entities : 0);
}

FleetModel model_of(const Json& j, const Reader& r, int version) {
  FleetModel m;
  read_identity(j, r, version, m);
  read_features(j, r, version, m);
  read_pca(j, r, m);
  read_kmeans(j, r, m);
  read_clusters(j, r, m);
  read_scoring(j, r, version, m);
  read_grains(j, r, version, m);
  if (version >= 2) read_detection(j, r, m);  // version 1: k-means, centroid
  read_rarity(j, r, version, m);
  read_calibration(j, r, version, m);
  return m;
}

}  // namespace

void write_fleet_model(std::ostream& out, const FleetModel& model) {
  internal::require(model.fitted(), ErrorCode::not_fitted, "write_fleet_model",
                    "the model is not fitted");
  write_model(
      model, [&](const char* data, std::size_t n) { out.write(data, static_cast<std::streamsize>(n)); },
      "write_fleet_model");
  out.flush();
  internal::require(static_cast<bool>(out), ErrorCode::io_error, "write_fleet_model",
                    "write failed");
}

void save_fleet_model(const FleetModel& model, const std::filesystem::path& path) {
  internal::require(model.fitted(), ErrorCode::not_fitted, "save_fleet_model",
                    "the model is not fitted");
  // The temporary is removed unless commit() is reached: a failure in
  // either pass leaves the destination as it was.
  internal::AtomicFile file(path.string(), "save_fleet_model");
  write_model(
      model, [&](const char* data, std::size_t n) { file.write(data, n); }, "save_fleet_model");
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
    r.fail("malformed header line '" + internal::printable(header) + "'");
  }
  if (version < 1 || version > kFleetModelVersion) {
    r.fail("model format version " + std::to_string(version) + "; this stray reads versions 1 to " +
           std::to_string(kFleetModelVersion));
  }
  constexpr unsigned long long kMaxPayload = 1ull << 36;
  if (bytes > kMaxPayload) r.fail("payload length " + std::to_string(bytes) + " is implausible");
  // The parser reads the payload straight from the stream, so memory
  // follows the document built, with no copy of the text beside it; a
  // header claiming a huge payload costs nothing before it is found
  // truncated. The checks keep their order: length, CRC, then JSON.
  PayloadIn payload(in, bytes);
  std::istream text(&payload);
  Json j;
  std::string json_error;
  try {
    j = Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    json_error = e.what();
  }
  payload.drain();
  if (payload.got() != bytes) {
    r.fail("truncated: the payload has " + std::to_string(payload.got()) + " of " +
           std::to_string(bytes) + " bytes");
  }
  if (in.peek() != std::char_traits<char>::eof()) r.fail("unexpected data after the payload");
  if (payload.crc() != crc) r.fail("corrupt: the payload's CRC-32 does not match the header");
  if (!json_error.empty()) r.fail("payload is not valid JSON: " + json_error);
  return model_of(j, r, version);
}

FleetModel load_fleet_model(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  internal::require(static_cast<bool>(in), ErrorCode::io_error, "load_fleet_model", "cannot open '",
                    path.string(), "'");
  return read_fleet_model(in, path.string());
}

}  // namespace stray
