// The fleet pipeline from Python (python/stray/fleet.py): events from files
// (any format the CLI reads), from columns (a pandas DataFrame's), or from
// the synthetic fleet generator; parameters as a dict of the CLI's options;
// progress to a Python callable.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include <optional>

#include "fleet_run.hpp"

namespace stray::python {
namespace {

/// Raised out of the pipeline when the Python progress callable raised; the
/// Python exception stays set on this thread and is re-raised once the GIL
/// is back (so it reaches the caller as it was, cancelling the run).
struct ProgressRaised {};

ProgressCallback progress_of(nb::object callable) {
  if (callable.is_none()) return {};
  // Copies of a std::function must not touch Python reference counts
  // without the GIL: share one reference, dropped under the GIL.
  std::shared_ptr<nb::object> cb(new nb::object(std::move(callable)), [](nb::object* o) {
    nb::gil_scoped_acquire gil;
    delete o;
  });
  return [cb](std::string_view step, double fraction) {
    nb::gil_scoped_acquire gil;
    try {
      (*cb)(std::string(step), fraction);
    } catch (nb::python_error& e) {
      e.restore();
      throw ProgressRaised{};
    }
  };
}

template <typename T>
T get(const nb::dict& d, const char* key, T fallback) {
  return d.contains(key) && !d[key].is_none() ? nb::cast<T>(d[key]) : fallback;
}

FleetPipelineParams fit_params(const nb::dict& d) {
  FleetPipelineParams p;
  const double pca = get<double>(d, "pca", 32.0);
  if (pca > 0.0 && pca < 1.0) {
    p.pca.n_components = 0;
    p.pca.variance_fraction = pca;
  } else {
    p.pca.n_components = static_cast<int64_t>(pca);
  }
  p.kmeans.n_clusters = get<int64_t>(d, "n_clusters", 0);
  p.kmeans.seed = p.pca.seed = get<uint64_t>(d, "seed", 0);
  p.max_clusters = get<int64_t>(d, "max_clusters", p.max_clusters);
  p.outliers.percentile = get<double>(d, "percentile", p.outliers.percentile);
  p.outliers.top_n = get<int64_t>(d, "top_n", 0);
  p.outliers.top_fraction = get<double>(d, "top_fraction", 0.0);
  p.explain.mode = parse_explain_mode(get<std::string>(d, "mode", "config"));
  p.explain.top_features = get<int64_t>(d, "top_features", p.explain.top_features);
  p.score.space = parse_score_space(get<std::string>(d, "score_space", "auto"));
  // grains: "auto" (the default), None (off) or a list of k.
  if (d.contains("grains") && !nb::isinstance<nb::str>(d["grains"])) {
    p.score.auto_grains = false;
    if (!d["grains"].is_none()) {
      for (auto k : nb::cast<nb::list>(d["grains"])) p.score.grains.push_back(nb::cast<int64_t>(k));
    }
  } else if (d.contains("grains") && nb::cast<std::string>(d["grains"]) != "auto") {
    throw Error(ErrorCode::invalid_argument, "grains: expected \"auto\", None or a list of k");
  }
  p.clustering = parse_clustering(get<std::string>(d, "clustering", "kmeans"));
  p.linkage = parse_linkage(get<std::string>(d, "linkage", "ward"));
  p.detector = parse_detector(get<std::string>(d, "detector", "auto"));
  p.lof.n_neighbors = get<int64_t>(d, "lof_neighbors", p.lof.n_neighbors);
  p.rarity = get<bool>(d, "rarity", p.rarity);
  p.features.ephemeral_port_min =
      get<int32_t>(d, "ephemeral_ports", p.features.ephemeral_port_min);
  if (d.contains("normalize") && !d["normalize"].is_none()) {
    for (auto [group, mode] : nb::cast<nb::dict>(d["normalize"])) {
      const auto g = nb::cast<std::string>(group);
      const Normalization n = parse_normalization(nb::cast<std::string>(mode));
      if (g == "*") {
        p.features.normalization = n;
      } else {
        p.features.group_normalization[g] = n;
      }
    }
  }
  return p;
}

FleetScoreParams score_params(const FleetModel& model, const nb::dict& d) {
  FleetScoreParams p = FleetScoreParams::from_model(model);
  p.top_n = get<int64_t>(d, "top_n", p.top_n);
  p.top_fraction = get<double>(d, "top_fraction", p.top_fraction);
  if (d.contains("mode") && !d["mode"].is_none()) {
    p.explain.mode = parse_explain_mode(nb::cast<std::string>(d["mode"]));
  }
  p.explain.top_features = get<int64_t>(d, "top_features", p.explain.top_features);
  return p;
}

/// How files are read: the osquery mapping file and entity decoration and
/// the JSON log mapping file, if given (read here, with the GIL, before the
/// pipeline starts).
EventReadOptions read_options(const nb::dict& d) {
  EventReadOptions o;
  if (d.contains("osquery_map") && !d["osquery_map"].is_none()) {
    o.osquery = read_osquery_mapping(nb::cast<std::string>(d["osquery_map"]));
  }
  o.osquery_entity_decoration = get<std::string>(d, "osquery_entity", "");
  if (d.contains("json_map") && !d["json_map"].is_none()) {
    o.json_log = read_json_log_mapping(nb::cast<std::string>(d["json_map"]));
  }
  return o;
}

/// Events from files, read while the pipeline runs (without the GIL).
EventSource file_source(std::vector<std::string> paths, std::string format,
                        EventReadOptions read) {
  return [paths = std::move(paths), format = std::move(format),
          read = std::move(read)](const EventSink& sink) {
    ReadStats stats;
    for (const auto& path : paths) {
      EventInput input(path, "stray.fleet");
      std::optional<EventFormat> f =
          format.empty() ? input.guess_format() : std::optional(parse_event_format(format));
      if (!f) {
        throw Error(ErrorCode::invalid_argument,
                    "stray.fleet: cannot tell the event format of " + input.name() +
                        " from its name or its first line; pass format='csv', 'jsonl' or 'osquery' "
                        "(or json_map= for a collector's JSON log)");
      }
      EventReadOptions options = read;
      options.source_name = input.name();
      stats.merge(read_events(input.stream(), *f, sink, options));
    }
    if (stats.events == 0) {
      throw Error(ErrorCode::invalid_argument,
                  "stray.fleet: no events in the files: " + no_events_reason(stats) +
                      (stats.unmapped_queries.empty() ? "" : "; osquery_map= maps them"));
    }
  };
}

/// Feeds event columns (sequences of str, values float64 or None) to a
/// builder. Runs with the GIL: the strings are Python objects.
void add_columns(FeatureBuilder& builder, nb::sequence entity, nb::object group,
                 nb::sequence feature, std::optional<Vector1In<double>> value) {
  const size_t n = nb::len(entity);
  if (nb::len(feature) != n || (!group.is_none() && nb::len(group) != n) ||
      (value && value->shape(0) != n)) {
    throw Error(ErrorCode::shape_mismatch, "stray.fleet: event columns of different lengths");
  }
  const std::string default_group = EventReadOptions{}.default_group;
  for (size_t i = 0; i < n; ++i) {
    const auto e = nb::cast<std::string_view>(entity[i]);
    const auto g = group.is_none() ? std::string_view(default_group)
                                   : nb::cast<std::string_view>(group[i]);
    builder.add(e, g, nb::cast<std::string_view>(feature[i]), value ? value->data()[i] : 1.0);
  }
}

/// Runs `work` without the GIL; a progress callable's exception comes back
/// as itself.
template <typename Work>
FleetResult run_released(Work&& work) {
  try {
    nb::gil_scoped_release release;
    return work();
  } catch (const ProgressRaised&) {
    throw nb::python_error();
  }
}

FleetRun fit_files(std::vector<std::string> paths, const std::string& format, nb::dict params,
                   const std::string& backend_name, nb::object progress) {
  FleetPipelineParams p = fit_params(params);
  p.progress = progress_of(std::move(progress));
  EventReadOptions read = read_options(params);
  std::string used;
  FleetResult r = run_released([&] {
    auto backend = open_backend(backend_name);
    used = backend->name();
    return fit_fleet(*backend, p, file_source(std::move(paths), format, std::move(read)));
  });
  return make_run(std::move(r), used);
}

FleetRun fit_columns(nb::sequence entity, nb::object group, nb::sequence feature,
                     std::optional<Vector1In<double>> value, nb::dict params,
                     const std::string& backend_name, nb::object progress) {
  FleetPipelineParams p = fit_params(params);
  p.progress = progress_of(std::move(progress));
  FeatureBuilder builder(p.features);
  add_columns(builder, entity, group, feature, value);
  std::string used;
  FleetResult r = run_released([&] {
    auto backend = open_backend(backend_name);
    used = backend->name();
    return fit_fleet(*backend, p, builder.build());
  });
  return make_run(std::move(r), used);
}

FleetRun score_files(const FleetModelHandle& model, std::vector<std::string> paths,
                     const std::string& format, nb::dict params, const std::string& backend_name,
                     nb::object progress) {
  FleetScoreParams p = score_params(*model.model, params);
  p.progress = progress_of(std::move(progress));
  EventReadOptions read = read_options(params);
  std::string used;
  FleetResult r = run_released([&] {
    auto backend = open_backend(backend_name);
    used = backend->name();
    return score_fleet(*backend, *model.model,
                       file_source(std::move(paths), format, std::move(read)), p);
  });
  return make_run(std::move(r), used);
}

FleetRun score_columns(const FleetModelHandle& model, nb::sequence entity, nb::object group,
                       nb::sequence feature, std::optional<Vector1In<double>> value,
                       nb::dict params, const std::string& backend_name, nb::object progress) {
  FleetScoreParams p = score_params(*model.model, params);
  p.progress = progress_of(std::move(progress));
  FeatureBuilder builder(model.model->vocabulary);
  add_columns(builder, entity, group, feature, value);
  std::string used;
  FleetResult r = run_released([&] {
    auto backend = open_backend(backend_name);
    used = backend->name();
    return score_fleet(*backend, *model.model, builder.build(), p);
  });
  return make_run(std::move(r), used);
}

/// Event columns (entity, group, feature, value) as a dict for a DataFrame.
struct EventColumns {
  std::vector<std::string> entity, group, feature;
  std::vector<double> value;

  void add(const Event& e) {
    entity.emplace_back(e.entity);
    group.emplace_back(e.group);
    feature.emplace_back(e.feature);
    value.push_back(e.value);
  }
  nb::dict to_dict() {
    nb::dict d;
    d["entity"] = entity;
    d["group"] = group;
    d["feature"] = feature;
    d["value"] = to_numpy(std::move(value));
    return d;
  }
};

/// The events of files as the fit reads them (the CLI's `stray events`),
/// read without the GIL.
nb::dict read_files(std::vector<std::string> paths, const std::string& format, nb::dict params) {
  const EventSource source = file_source(std::move(paths), format, read_options(params));
  EventColumns columns;
  {
    nb::gil_scoped_release release;
    source([&](const Event& e) { columns.add(e); });
  }
  return columns.to_dict();
}

/// The synthetic fleet (the CLI's `stray synth` / `stray demo`) as event
/// columns and its ground truth.
nb::tuple synthetic(int64_t n_entities, uint64_t seed, int64_t hosts_per_anomaly) {
  SyntheticFleetParams sp;
  sp.n_entities = n_entities;
  sp.seed = seed;
  sp.hosts_per_anomaly = hosts_per_anomaly;
  EventColumns columns;
  GroundTruth truth;
  {
    nb::gil_scoped_release release;
    truth = generate_synthetic_fleet(sp, [&](const Event& e) { columns.add(e); });
  }
  nb::dict events = columns.to_dict();
  nb::list anomalies;
  for (const InjectedAnomaly& a : truth.anomalies) {
    nb::dict row;
    row["entity"] = a.entity;
    row["role"] = a.role;
    row["kind"] = std::string(to_string(a.kind));
    anomalies.append(row);
  }
  return nb::make_tuple(events, anomalies);
}

}  // namespace

void bind_fleet(nb::module_& m) {
  bind_fleet_run(m);
  m.def("fleet_fit_files", &fit_files, nb::arg("paths"), nb::arg("format"), nb::arg("params"),
        nb::arg("backend"), nb::arg("progress").none());
  m.def("fleet_fit_columns", &fit_columns, nb::arg("entity"), nb::arg("group").none(),
        nb::arg("feature"), nb::arg("value").noconvert().none(), nb::arg("params"),
        nb::arg("backend"), nb::arg("progress").none());
  m.def("fleet_score_files", &score_files, nb::arg("model"), nb::arg("paths"), nb::arg("format"),
        nb::arg("params"), nb::arg("backend"), nb::arg("progress").none());
  m.def("fleet_score_columns", &score_columns, nb::arg("model"), nb::arg("entity"),
        nb::arg("group").none(), nb::arg("feature"), nb::arg("value").noconvert().none(),
        nb::arg("params"), nb::arg("backend"), nb::arg("progress").none());
  m.def("fleet_read_files", &read_files, nb::arg("paths"), nb::arg("format"), nb::arg("params"));
  m.def("synthetic_fleet", &synthetic, nb::arg("n_entities"), nb::arg("seed"),
        nb::arg("hosts_per_anomaly"));
}

}  // namespace stray::python
