"""The quality benchmark (bench/quality.py) feeds `stray fleet` the numeric
outlier sets whole: every signed value and every row reaches the scores.

With one cluster and the plain distance, each score is the squared distance
to the mean of the other rows, computed here in float64 from the standardised
columns themselves — so a lost negative half or a lost row shows."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import quality  # noqa: E402


def signed_set(tmp_path):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 5)) * [1.0, 3.0, 0.5, 2.0, 1.0]
    X[:40] -= 10.0          # rows below every column's mean: no positive value after centring
    X[:, 4] = 2.5           # a constant column, dropped
    path = tmp_path / "signed.npz"
    np.savez(path, X=X, y=(np.arange(300) % 50 == 0).astype(int))
    return path, X


def leave_one_out_sq_distances(Z):
    n = Z.shape[0]
    others = (Z.sum(axis=0) - Z) / (n - 1)
    return ((Z - others) ** 2).sum(axis=1)


def test_tabular_events_reach_the_scores_whole(tmp_path, stray_cli):
    npz, X = signed_set(tmp_path)
    events, labels = quality.tabular_events(npz, tmp_path)
    scores = tmp_path / "scores.csv"
    subprocess.run([stray_cli, "fleet", "--events", str(events), "--normalize", "*=none",
                    "-k", "1", "--score-space", "features", "--pca", "2", "--rarity", "off",
                    "--scores", str(scores)], check=True, capture_output=True)
    rows = {r["entity"]: float(r["score"]) for r in csv.DictReader(open(scores))}
    assert set(rows) == set(labels)  # every row is an entity

    Z = (X[:, :4] - X[:, :4].mean(axis=0)) / X[:, :4].std(axis=0)
    expected = leave_one_out_sq_distances(Z)
    got = np.array([rows[f"r{i}"] for i in range(X.shape[0])])
    # Values travel as 7 significant digits and scores come back as float32.
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_across_seeds_summarises_each_sets_headline_figure():
    # ARI for a container set, AUC for the others; the floor is the better
    # of the README's two, and "below" compares the mean with it.
    by_seed = {
        0: [{"set": "containers/images", "ari": 0.90, "auc": None},
            {"set": "tabular/smtp", "auc": 0.95}],
        1: [{"set": "containers/images", "ari": 0.96, "auc": None},
            {"set": "tabular/smtp", "auc": 0.91}],
        2: [{"set": "containers/images", "ari": 0.93, "auc": None},
            {"set": "tabular/smtp", "auc": 0.90}],
    }
    images, smtp = quality.across_seeds(by_seed)
    assert images["metric"] == "ARI" and smtp["metric"] == "AUC"
    assert images["mean"] == pytest.approx(0.93)
    assert (images["min"], images["max"]) == (0.90, 0.96)
    assert images["floor"] == quality.FLOOR["containers/images"][1]
    assert smtp["values"] == {0: 0.95, 1: 0.91, 2: 0.90}
    assert smtp["floor"] == max(f for f in quality.FLOOR["tabular/smtp"][1:] if f is not None)
    assert smtp["below_floor"] == (smtp["mean"] < smtp["floor"])
    assert "tabular/smtp" in quality.seeds_table([images, smtp])


@pytest.mark.parametrize("text", ["", "a", "1,1", "-1", "0,,x"])
def test_bad_seed_lists_are_refused(text):
    import argparse
    with pytest.raises(argparse.ArgumentTypeError):
        quality.parse_seeds(text)
    assert quality.parse_seeds("2,0,1") == [2, 0, 1]


def test_fixed_k_gaps_compare_the_automatic_k_with_the_best_fixed_one():
    auto = [{"set": "containers/images", "k": 2, "ari": 0.90},
            {"set": "containers/history", "k": 40, "ari": 0.87}]
    by_k = {
        40: [{"set": "containers/images", "ari": 0.50}, {"set": "containers/history", "ari": 0.87}],
        48: [{"set": "containers/images", "ari": 0.40}, {"set": "containers/history", "ari": 0.93}],
        2: [{"set": "containers/images", "ari": 0.90}, {"set": "containers/history", "error": "x"}],
    }
    images, history = quality.fixed_k_gaps(auto, by_k, 1)
    assert (images["best_k"], images["best_ari"], images["gap"]) == (2, 0.90, 0.0)
    assert (history["best_k"], history["best_ari"]) == (48, 0.93)
    assert history["gap"] == pytest.approx(0.06)
    assert history["fixed"] == {40: 0.87, 48: 0.93, 2: None}  # a failed run has no ARI
    assert history["seed"] == 1 and history["auto_k"] == 40
    table = quality.gaps_table([images, history])
    assert "containers/history" in table and "48:0.930" in table


@pytest.mark.parametrize("text", ["", "0", "4,4", "x", "-3"])
def test_bad_k_lists_are_refused(text):
    import argparse
    with pytest.raises(argparse.ArgumentTypeError):
        quality.parse_ks(text)
    assert quality.parse_ks("48,40") == [48, 40]
