// FleetRun and FleetModel for Python: findings, explanations, scores and
// cluster profiles as columns; the terminal table and JSON as the CLI
// renders them; model files and bytes (for pickling).
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <limits>
#include <sstream>

#include "fleet_run.hpp"

namespace stray::python {
namespace {

const FleetResult& res(const FleetRun& run) { return *run.result; }

nb::dict findings_columns(const FleetRun& run) {
  const auto& findings = res(run).findings;
  std::vector<std::string> entity, rules, features, rare;
  std::vector<int64_t> row, rank, cluster_size, n_differing, n_unique, n_missing;
  std::vector<int32_t> cluster, reference;
  std::vector<double> score, distance, lof, rarity;
  for (const Finding& f : findings) {
    entity.push_back(f.entity_name);
    row.push_back(f.entity);
    cluster.push_back(f.cluster);
    reference.push_back(f.reference_cluster);
    score.push_back(f.score);
    distance.push_back(f.distance);
    lof.push_back(f.lof);
    rarity.push_back(f.rarity);
    rank.push_back(f.rank);
    cluster_size.push_back(f.cluster_size);
    rules.push_back(outlier_rules_string(f.rules));
    n_differing.push_back(f.n_differing);
    n_unique.push_back(f.n_unique);
    n_missing.push_back(f.n_missing);
    features.push_back(features_text(f, 3));
    rare.push_back(rare_features_text(f, 3));
  }
  nb::dict d;
  d["entity"] = entity;
  d["cluster"] = to_numpy(std::move(cluster));
  d["score"] = to_numpy(std::move(score));
  d["distance"] = to_numpy(std::move(distance));
  d["lof"] = to_numpy(std::move(lof));
  d["rarity"] = to_numpy(std::move(rarity));
  d["rank"] = to_numpy(std::move(rank));
  d["cluster_size"] = to_numpy(std::move(cluster_size));
  d["reference_cluster"] = to_numpy(std::move(reference));
  d["rules"] = rules;
  d["n_differing"] = to_numpy(std::move(n_differing));
  d["n_unique"] = to_numpy(std::move(n_unique));
  d["n_missing"] = to_numpy(std::move(n_missing));
  d["features"] = features;
  d["rare_features"] = rare;
  d["row"] = to_numpy(std::move(row));
  return d;
}

nb::dict explanation_columns(const FleetRun& run) {
  std::vector<std::string> entity, feature;
  std::vector<int64_t> finding;
  std::vector<float> value, center, difference;
  std::vector<bool> unseen;
  const auto& findings = res(run).findings;
  for (std::size_t i = 0; i < findings.size(); ++i) {
    for (const FindingFeature& f : findings[i].features) {
      entity.push_back(findings[i].entity_name);
      finding.push_back(static_cast<int64_t>(i));
      feature.push_back(f.name);
      value.push_back(f.value);
      center.push_back(f.center);
      difference.push_back(f.difference);
      unseen.push_back(f.unseen);
    }
  }
  nb::dict d;
  d["finding"] = to_numpy(std::move(finding));
  d["entity"] = entity;
  d["feature"] = feature;
  d["value"] = to_numpy(std::move(value));
  d["center"] = to_numpy(std::move(center));
  d["difference"] = to_numpy(std::move(difference));
  d["unseen"] = unseen;
  return d;
}

// Every entity: "score" is what findings rank by and "fleet_rank" its
// place in the fleet by it, 0 = the most unusual (as `stray fleet
// --scores` writes them), then the scores behind it (NaN where one did not run).
nb::dict score_columns(const FleetRun& run) {
  const FleetResult& r = res(run);
  const std::size_t n = r.labels.size();
  const auto or_nan = [n](const std::vector<double>& v) {
    return v.size() == n ? v : std::vector<double>(n, std::numeric_limits<double>::quiet_NaN());
  };
  std::vector<uint8_t> outlier = r.outliers.is_outlier;
  std::vector<int32_t> labels = r.labels;
  std::vector<double> ranked = r.outlier_scores.size() == n
                                   ? r.outlier_scores
                                   : std::vector<double>(r.scores.begin(), r.scores.end());
  std::vector<float> distance = r.scores;
  std::vector<int64_t> rank = r.fleet_rank;
  rank.resize(n, -1);  // -1: not ranked (a result the pipeline did not make)
  nb::dict d;
  d["entity"] = r.features.entity_names;
  d["cluster"] = to_numpy(std::move(labels));
  d["score"] = to_numpy(std::move(ranked));
  d["outlier"] = to_numpy(std::move(outlier));
  d["fleet_rank"] = to_numpy(std::move(rank));
  d["distance"] = to_numpy(std::move(distance));
  d["lof"] = to_numpy(or_nan(r.lof));
  d["rarity"] = to_numpy(or_nan(r.rarity));
  return d;
}

nb::dict cluster_columns(const FleetRun& run) {
  std::vector<int32_t> cluster;
  std::vector<int64_t> size;
  std::vector<std::string> feature;
  std::vector<double> members, others;
  for (const ClusterProfile& p : res(run).clusters) {
    for (const ProfileFeature& f : p.defining) {
      cluster.push_back(p.cluster);
      size.push_back(p.size);
      feature.push_back(f.name);
      members.push_back(f.members);
      others.push_back(f.others);
    }
  }
  nb::dict d;
  d["cluster"] = to_numpy(std::move(cluster));
  d["size"] = to_numpy(std::move(size));
  d["feature"] = feature;
  d["members"] = to_numpy(std::move(members));
  d["others"] = to_numpy(std::move(others));
  return d;
}

nb::list steps(const FleetRun& run) {
  nb::list out;
  for (const PipelineStep& s : res(run).steps) out.append(nb::make_tuple(s.name, s.seconds));
  return out;
}

std::string table(const FleetRun& run, int64_t limit) {
  std::ostringstream out;
  write_findings_table(out, res(run), limit);
  return out.str();
}

nb::bytes model_bytes(const FleetModelHandle& h) {
  std::ostringstream out;
  write_fleet_model(out, *h.model);
  const std::string s = out.str();
  return nb::bytes(s.data(), s.size());
}

FleetModelHandle model_from_bytes(nb::bytes b) {
  std::istringstream in(std::string(b.c_str(), b.size()));
  return FleetModelHandle{std::make_shared<const FleetModel>(read_fleet_model(in, "pickled model"))};
}

}  // namespace

FleetRun make_run(FleetResult&& result, std::string backend) {
  auto shared = std::make_shared<const FleetResult>(std::move(result));
  // The model shares the result's lifetime (no copy of its per-cluster tables).
  std::shared_ptr<const FleetModel> model(shared, &shared->model);
  return FleetRun{std::move(shared), FleetModelHandle{std::move(model)}, std::move(backend)};
}

void bind_fleet_run(nb::module_& m) {
  nb::class_<FleetModelHandle>(m, "FleetModel")
      .def_prop_ro("n_clusters", [](const FleetModelHandle& h) { return h.model->n_clusters(); })
      .def_prop_ro("n_features", [](const FleetModelHandle& h) { return h.model->n_features(); })
      .def_prop_ro("n_entities", [](const FleetModelHandle& h) { return h.model->n_entities; })
      .def("save", [](const FleetModelHandle& h, const std::string& path) {
        save_fleet_model(*h.model, path);
      }, nb::arg("path"))
      .def_static("load", [](const std::string& path) {
        FleetModel model;
        {
          nb::gil_scoped_release release;
          model = load_fleet_model(path);
        }
        return FleetModelHandle{std::make_shared<const FleetModel>(std::move(model))};
      }, nb::arg("path"))
      .def("to_bytes", &model_bytes)
      .def_static("from_bytes", &model_from_bytes, nb::arg("data"));

  nb::class_<FleetRun>(m, "FleetRun")
      .def_prop_ro("model", [](const FleetRun& r) { return r.model; })
      .def_prop_ro("backend", [](const FleetRun& r) { return r.backend; })
      .def_prop_ro("seconds", [](const FleetRun& r) { return r.result->seconds; })
      .def_prop_ro("n_entities", [](const FleetRun& r) { return r.result->features.n_entities(); })
      .def_prop_ro("n_features", [](const FleetRun& r) { return r.result->features.n_features(); })
      .def("findings_columns", &findings_columns)
      .def("explanation_columns", &explanation_columns)
      .def("score_columns", &score_columns)
      .def("cluster_columns", &cluster_columns)
      .def("steps", &steps)
      .def("summary", [](const FleetRun& r) { return pipeline_summary(*r.result); })
      .def("table", &table, nb::arg("limit") = 0)
      .def("json", [](const FleetRun& r, int indent) { return findings_json(*r.result, r.backend, indent); },
           nb::arg("indent") = -1);
}

}  // namespace stray::python
