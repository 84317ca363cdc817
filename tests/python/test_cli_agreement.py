"""The package and the stray tool give the same answers: both call the same
library, so a difference would be a binding bug."""

import json
import subprocess

import numpy as np
import pytest

import stray


def _run(cli, *args):
    out = subprocess.run([cli, *args], check=True, capture_output=True, text=True)
    return out.stdout


def test_kmeans_and_pca_agree_with_the_cli(stray_cli, tmp_path):
    rng = np.random.RandomState(5)
    X = (rng.randn(2000, 10) + np.repeat(rng.randn(5, 10) * 5, 400, axis=0)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    cli = json.loads(_run(stray_cli, "kmeans", "-i", str(tmp_path / "X.npy"), "-k", "5",
                          "--seed", "11", "--backend", "cpu", "--json",
                          "--labels", str(tmp_path / "labels.npy")))
    km = stray.KMeans(5, random_state=11, backend="cpu").fit(X)
    np.testing.assert_array_equal(km.labels_, np.load(tmp_path / "labels.npy"))
    assert km.inertia_ == pytest.approx(cli["inertia"], rel=1e-9)
    assert km.n_iter_ == cli["n_iter"]

    cli = json.loads(_run(stray_cli, "pca", "-i", str(tmp_path / "X.npy"), "-c", "3",
                          "--backend", "cpu", "--json", "--transform", str(tmp_path / "Y.npy")))
    pca = stray.PCA(3, backend="cpu")
    Y = pca.fit_transform(X)
    np.testing.assert_allclose(pca.explained_variance_ratio_, cli["explained_variance_ratio"],
                               rtol=1e-9)
    np.testing.assert_array_equal(Y, np.load(tmp_path / "Y.npy"))


def test_fleet_agrees_with_the_cli_and_shares_its_model_file(stray_cli, tmp_path):
    events, _ = stray.fleet.synthetic_fleet(800, seed=2, hosts_per_anomaly=1)
    csv = tmp_path / "events.csv"
    events.to_csv(csv, index=False)
    cli = json.loads(_run(stray_cli, "fleet", "--events", str(csv), "--seed", "2", "--json",
                          "--backend", "cpu", "--save-model", str(tmp_path / "cli.model")))
    ours = stray.fleet.fit(csv, seed=2, backend="cpu")
    assert [f["entity"] for f in cli["findings"]] == list(ours.findings["entity"])
    np.testing.assert_allclose([f["score"] for f in cli["findings"]], ours.findings["score"],
                               rtol=1e-6)
    # A model the CLI wrote scores here as ours does; ours loads in the CLI.
    from_cli = stray.fleet.load_model(tmp_path / "cli.model").score(csv, backend="cpu")
    assert list(from_cli.findings["entity"]) == list(ours.score(csv, backend="cpu").findings["entity"])
    ours.model.save(tmp_path / "py.model")
    rescored = json.loads(_run(stray_cli, "fleet", "--model", str(tmp_path / "py.model"),
                               "--events", str(csv), "--json", "--backend", "cpu"))
    assert [f["entity"] for f in rescored["findings"]] == list(from_cli.findings["entity"])
