"""The fleet pipeline from Python: events from a DataFrame or from files,
results as DataFrames, models saved, loaded and pickled, progress to a
callable (tqdm included)."""

import pickle
from pathlib import Path

import json

import numpy as np
import pytest

import stray

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def fleet():
    events, truth = stray.fleet.synthetic_fleet(1500, seed=3, hosts_per_anomaly=1)
    return events, truth


@pytest.fixture(scope="module")
def fitted(fleet):
    return stray.fleet.fit(fleet[0], seed=3, backend="cpu")


def test_findings_catch_the_injected_anomalies(fleet, fitted):
    events, truth = fleet
    assert list(events.columns) == ["entity", "group", "feature", "value"]
    assert fitted.n_entities == 1500
    findings = fitted.findings
    assert {"entity", "cluster", "score", "rank", "rules", "features"} <= set(findings.columns)
    assert findings["score"].is_monotonic_decreasing
    found = set(findings["entity"])
    recall = np.mean([e in found for e in truth["entity"]])
    assert recall >= 0.8, (recall, sorted(set(truth["entity"]) - found))


def test_tables_fit_together(fitted):
    scores, findings, explanations = fitted.scores, fitted.findings, fitted.explanations
    assert len(scores) == fitted.n_entities
    assert set(findings["entity"]) == set(scores.loc[scores["outlier"] == 1, "entity"])
    # The scores' "score" is what the findings rank by; the distance is beside it.
    by_entity = scores.set_index("entity")
    np.testing.assert_array_equal(by_entity.loc[findings["entity"], "score"], findings["score"])
    np.testing.assert_allclose(by_entity.loc[findings["entity"], "distance"], findings["distance"],
                               rtol=1e-6)
    # fleet_rank: a strict order of every entity, by score; the findings in its order.
    assert sorted(scores["fleet_rank"]) == list(range(len(scores)))
    ordered = scores.sort_values("fleet_rank")
    assert (np.diff(ordered["score"].to_numpy()) <= 0).all()
    assert (np.diff(by_entity.loc[findings["entity"], "fleet_rank"].to_numpy()) > 0).all()
    assert set(explanations["entity"]) <= set(findings["entity"])
    first = explanations[explanations["finding"] == 0]
    np.testing.assert_allclose(first["difference"], first["value"] - first["center"], atol=1e-6)
    clusters = fitted.clusters
    assert clusters["cluster"].nunique() == fitted.model.n_clusters
    assert "entity" in fitted.table(5) and fitted.summary() in repr(fitted)
    assert fitted.to_json().startswith("{")


def test_events_from_a_file_give_the_same_findings(fleet, fitted, tmp_path):
    path = tmp_path / "events.csv.gz"
    fleet[0].to_csv(path, index=False, compression="gzip")
    from_file = stray.fleet.fit(path, seed=3, backend="cpu")
    pd.testing.assert_frame_equal(from_file.findings, fitted.findings)


def test_model_saves_loads_pickles_and_scores_the_same(fleet, fitted, tmp_path):
    events = fleet[0]
    path = tmp_path / "fleet.model"
    fitted.model.save(path)
    loaded = stray.fleet.load_model(path)
    unpickled = pickle.loads(pickle.dumps(fitted.model))
    day2 = events[events["entity"] < "p"]
    direct = fitted.score(day2, backend="cpu")
    for model in (loaded, unpickled):
        pd.testing.assert_frame_equal(model.score(day2, backend="cpu").scores, direct.scores)
    pd.testing.assert_frame_equal(stray.fleet.score(day2, path, backend="cpu").findings,
                                  direct.findings)


def test_scoring_keeps_features_the_baseline_never_saw(fitted):
    new = pd.DataFrame({"entity": ["web-9999"] * 2, "group": ["package", "package"],
                        "feature": ["nginx", "totally-new-miner"]})
    r = fitted.score(new, backend="cpu")
    unseen = r.explanations
    assert unseen.loc[unseen["feature"] == "package:totally-new-miner", "unseen"].all()


def test_progress_goes_to_a_callable_and_to_tqdm(fleet):
    tqdm = pytest.importorskip("tqdm")
    seen = []
    with tqdm.tqdm(total=1.0, disable=True) as bar:
        def progress(step, fraction):
            seen.append((step, fraction))
            bar.set_description(step)
            bar.n = fraction
            bar.refresh()
        stray.fleet.fit(fleet[0], seed=3, backend="cpu", progress=progress)
    steps = [s for s, _ in seen]
    assert {"pca", "kmeans", "score", "explain"} <= set(steps)
    assert all(0.0 <= f <= 1.0 for _, f in seen)


def test_an_exception_in_progress_cancels_the_run(fleet):
    class Stop(Exception):
        pass

    def progress(step, fraction):
        if step == "kmeans":
            raise Stop("cancelled at " + step)

    with pytest.raises(Stop, match="cancelled at kmeans"):
        stray.fleet.fit(fleet[0], seed=3, backend="cpu", progress=progress)


def test_columns_are_checked():
    with pytest.raises(ValueError, match="entity"):
        stray.fleet.fit(pd.DataFrame({"host": ["a"], "feature": ["x"]}))
    with pytest.raises(ValueError, match="group"):
        stray.fleet.fit(pd.DataFrame({"entity": ["a", "b"], "group": ["p:q", "p"],
                                      "feature": ["x", "y"]}))


def test_the_notebook_example_runs(tmp_path):
    import subprocess
    import sys
    from conftest import ROOT
    script = ROOT / "examples" / "python" / "fleet_demo.py"
    out = subprocess.run([sys.executable, str(script), "1200"], check=True, capture_output=True,
                         text=True, cwd=tmp_path).stdout
    assert "top features" in out and "recall:" in out


def test_detectors_and_clusterings_of_the_cli_are_there(fleet):
    r = stray.fleet.fit(fleet[0], seed=3, detector="both", clustering="agglomerative",
                        backend="cpu")
    findings = r.findings
    # With both detectors every finding has its LOF, and the ranking score
    # is no longer the plain distance.
    assert findings["lof"].notna().all() and (findings["lof"] > 0).all()
    assert (findings["score"] != findings["distance"]).any()
    plain = stray.fleet.fit(fleet[0], seed=3, detector="centroid", backend="cpu").findings
    assert plain["lof"].isna().all()
    # The default on event telemetry is both: every finding has its LOF.
    default = stray.fleet.fit(fleet[0], seed=3, backend="cpu")
    assert json.loads(default.to_json())["detector"] == "both"
    assert default.findings["lof"].notna().all()
    # Value rarity is on by default, beside any detector; rarity=False leaves it out.
    assert default.findings["rarity"].notna().all() and (default.findings["rarity"] >= 0).all()
    assert (default.findings["rare_features"] != "").all()
    assert json.loads(default.to_json())["rarity"] is True
    bare = stray.fleet.fit(fleet[0], seed=3, rarity=False, backend="cpu")
    assert bare.findings["rarity"].isna().all()
    assert (bare.findings["rare_features"] == "").all()
    assert "rarity" not in ",".join(bare.findings["rules"])
    with pytest.raises(ValueError, match="detector"):
        stray.fleet.fit(fleet[0], detector="magic")


def test_grains_change_the_score_and_reach_the_json_and_the_model(tmp_path):
    # Raw measurements: two clusters of rows, and one row between them.
    rng = np.random.default_rng(5)
    rows = np.vstack([rng.normal(0, 1, (60, 3)), rng.normal(8, 1, (60, 3)), [[4, 4, 4]]]) + 20
    events = pd.DataFrame([(f"e{i}", "m", f"f{j}", float(v)) for i, row in enumerate(rows)
                           for j, v in enumerate(row)],
                          columns=["entity", "group", "feature", "value"])
    plain = stray.fleet.fit(events, n_clusters=2, pca=2, normalize={"*": "none"}, grains=None,
                            backend="cpu")
    grained = stray.fleet.fit(events, n_clusters=2, pca=2, normalize={"*": "none"},
                              grains=[4, 8], backend="cpu")
    import json
    assert json.loads(grained.to_json())["grains"] == [4, 8]
    assert "features scores (grains k=4,8)" in grained.summary()
    assert json.loads(plain.to_json())["grains"] == []
    assert not np.allclose(plain.scores["distance"], grained.scores["distance"])
    path = tmp_path / "g.model"
    grained.model.save(path)
    again = stray.fleet.load_model(path).score(events)
    assert np.array_equal(again.scores["score"], grained.model.score(events).scores["score"])
    assert np.array_equal(again.scores["distance"], grained.model.score(events).scores["distance"])
    # Raw amounts take grains by default, when the fleet is large enough.
    assert json.loads(stray.fleet.fit(events, n_clusters=2, pca=2, normalize={"*": "none"},
                                      backend="cpu").to_json())["grains"] == [10, 20]
    with pytest.raises(ValueError, match="grains"):
        stray.fleet.fit(events, n_clusters=2, grains=[1], backend="cpu")
    with pytest.raises(ValueError, match="grains"):
        stray.fleet.fit(events, n_clusters=2, grains="many", backend="cpu")


def test_osquery_logs_read_through_a_mapping_file(tmp_path):
    def line(host, name, columns):
        return json.dumps({"name": name, "hostIdentifier": f"uuid-{host}",
                           "decorations": {"hostname": f"web-{host}"},
                           "columns": columns, "action": "added"})

    lines = []
    for h in range(12):
        lines += [line(h, "deb_packages", {"name": "bash"}),
                  line(h, "deb_packages", {"name": "nginx" if h % 2 else "postgres"}),
                  line(h, "pack/sec/sec_sockets",
                       {"remote_address": f"2001:db8:{h % 3}::{h + 1}", "remote_port": "443"})]
    log = tmp_path / "fleet.log"
    log.write_text("\n".join(lines) + "\n")
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"defaults": True, "rules": [
        {"query": "sec_sockets", "column": "remote_address", "group": "net.remote_net",
         "ipv6_prefix": 48}]}))

    run = stray.fleet.fit(log, osquery_map=mapping, osquery_entity="hostname", n_clusters=2,
                          pca=0, backend="cpu")
    summary = json.loads(run.to_json())
    assert summary["entities"] == 12
    assert summary["features"] == 6  # 3 packages and the 3 networks 2001:db8:{0,1,2}::/48
    assert set(run.scores["entity"]) == {f"web-{h}" for h in range(12)}
    assert json.loads(stray.fleet.fit(log, n_clusters=2, pca=0, backend="cpu").to_json())[
        "features"] == 3  # the defaults do not know sec_sockets
    rescored = stray.fleet.score(log, run.model, osquery_map=mapping, osquery_entity="hostname")
    assert set(rescored.scores["entity"]) == set(run.scores["entity"])

    mapping.write_text('{"rules": [{"query": "q", "column": "c", "group": "g"}]}')
    with pytest.raises(ValueError, match="no osquery mapping rule knows their queries"):
        stray.fleet.fit(log, osquery_map=mapping, backend="cpu")
    mapping.write_text('{"rules": [{"query": "q", "column": "c", "group": "g", "ipv6_prefix": 200}]}')
    with pytest.raises(ValueError, match=r"rules\[0\]\.ipv6_prefix"):
        stray.fleet.fit(log, osquery_map=mapping, backend="cpu")
    with pytest.raises(ValueError, match="event files"):
        stray.fleet.fit(pd.DataFrame({"entity": ["a", "b"], "feature": ["x", "y"]}),
                        osquery_map=mapping)


def broken_entity(tmp_path):
    """A mapping whose entity no Falco line has."""
    path = tmp_path / "no-entity.json"
    path.write_text('{"entity": "/host/name", "rules": [{"field": "/rule", "group": "alert"}]}')
    return path


def test_json_logs_read_through_a_mapping_file(tmp_path):
    # Falco's alerts, in its own JSON shape, read with the project's example
    # mapping: twelve web containers, and one that spawns nc to port 4444.
    lines = []
    for c in range(13):
        name = f"web-{c}"
        for proc in ("nginx", "sh"):
            lines.append({"hostname": "node-1", "rule": "Terminal shell in container",
                          "priority": "Notice", "output_fields": {"container.name": name,
                                                                  "proc.name": proc}})
        if c == 12:
            lines.append({"hostname": "node-1", "rule": "Unexpected outbound connection",
                          "priority": "Warning",
                          "output_fields": {"container.name": name, "proc.name": "nc",
                                            "fd.rip": "203.0.113.9", "fd.rport": 4444}})
    log = tmp_path / "falco.json"
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    mapping = Path(__file__).resolve().parents[2] / "examples" / "mappings" / "falco.json"

    run = stray.fleet.fit(log, json_map=mapping, n_clusters=1, pca=0, backend="cpu")
    summary = json.loads(run.to_json())
    assert summary["entities"] == 13
    # the rule, nginx and sh everywhere; the odd container's rule, nc, port and network
    assert summary["features"] == 7
    assert run.scores.sort_values("score")["entity"].iloc[-1] == "node-1:web-12"
    rescored = stray.fleet.score(log, run.model, json_map=mapping)
    assert set(rescored.scores["entity"]) == set(run.scores["entity"])

    events = stray.fleet.read_events(log, json_map=mapping)
    assert list(events.columns) == ["entity", "group", "feature", "value"]
    assert len(events) == 13 * 4 + 4  # the rule and two processes a container, and web-12's four
    odd = events[events["entity"] == "node-1:web-12"]
    assert set(odd["feature"]) >= {"nc", "4444", "203.0.113.0/24"}
    with pytest.raises(ValueError, match="without any of the JSON log mapping's entity members"):
        stray.fleet.read_events(log, json_map=broken_entity(tmp_path))
    with pytest.raises(TypeError, match="event files"):
        stray.fleet.read_events(pd.DataFrame({"entity": ["a"], "feature": ["x"]}))

    with pytest.raises(ValueError, match="needs json_map"):
        stray.fleet.fit(log, format="json-log", backend="cpu")
    with pytest.raises(ValueError, match="format='csv' does not apply"):
        stray.fleet.fit(log, format="csv", json_map=mapping, backend="cpu")
    broken = tmp_path / "broken.json"
    broken.write_text('{"entity": "/hostname", "rules": [{"field": "/rule", "group": "a:b"}]}')
    with pytest.raises(ValueError, match=r"rules\[0\]\.group 'a:b' contains ':'"):
        stray.fleet.fit(log, json_map=broken, backend="cpu")
    with pytest.raises(ValueError, match="event files"):
        stray.fleet.fit(pd.DataFrame({"entity": ["a", "b"], "feature": ["x", "y"]}),
                        json_map=mapping)


def test_ephemeral_ports_fold_unless_asked_not_to():
    hosts = [f"web-{h}" for h in range(30)]
    events = pd.DataFrame({
        "entity": hosts * 2,
        "group": ["net.port"] * 30 + ["net.remote"] * 30,
        "feature": ["443"] * 30 + [str(40000 + 13 * h) for h in range(30)],
    })

    def features(**kwargs):
        run = stray.fleet.fit(events, n_clusters=2, pca=0, backend="cpu", **kwargs)
        return json.loads(run.to_json())["features"]

    assert features() == 2  # net.port:443 and net.remote:ephemeral
    assert features(ephemeral_ports=0) == 31
    with pytest.raises(ValueError, match="ephemeral_port_min"):
        features(ephemeral_ports=70000)
