"""The GPU check's agreement rules (scripts/gpu_check_tables.py): another
backend's k-means and PCA against the CPU's on the same data."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check_tables.py"
sys.path.insert(0, str(SCRIPT.parent))
import gpu_check_tables as tables  # noqa: E402


def test_adjusted_rand_is_scikit_learns():
    rng = np.random.default_rng(3)
    for n, ka, kb in [(1000, 5, 7), (50, 2, 2), (300, 1, 4), (10, 10, 10)]:
        a, b = rng.integers(0, ka, n), rng.integers(0, kb, n)
        b[: n // 2] = a[: n // 2]
        assert tables.adjusted_rand(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    assert tables.adjusted_rand(np.zeros(8, int), np.zeros(8, int)) == 1.0


def kmeans_row(backend, inertia, n=1000):
    return {"backend": backend, "n_samples": n, "n_features": 8, "n_clusters": 4,
            "seconds": 0.5, "n_iter": 7, "inertia": inertia, "adjusted_rand_index": 1.0}


def run_kmeans(tmp_path, rows, labels):
    results = tmp_path / "kmeans.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for r, l in zip(rows, labels):
        np.save(tables.labels_path(tmp_path, r), l.astype(np.int32))
    return subprocess.run([sys.executable, str(SCRIPT), "kmeans", str(results), str(tmp_path)],
                          capture_output=True, text=True)


def test_kmeans_agreement_allows_renumbered_clusters_and_rounding(tmp_path):
    cpu = np.repeat(np.arange(4), 250)
    cuda = (cpu + 1) % 4  # the same partition, other cluster numbers
    done = run_kmeans(tmp_path, [kmeans_row("cuda", 1000.05), kmeans_row("cpu", 1000.0)],
                      [cuda, cpu])
    assert done.returncode == 0, done.stdout
    assert "1.00000" in done.stdout


def test_kmeans_on_sparse_rows_is_compared_with_the_cpus_sparse_run(tmp_path):
    """A run on CSR rows ("input": "csr") has labels of its own and is held
    to the CPU's CSR run of the same shape, not to a dense run."""
    cpu = np.repeat(np.arange(4), 250)
    moved = cpu.copy()
    moved[:5] = 3
    rows = [kmeans_row("cuda", 1000.0), kmeans_row("cpu", 1000.0),
            dict(kmeans_row("cuda", 2000.0), input="csr"),
            dict(kmeans_row("cpu", 2000.0), input="csr")]
    done = run_kmeans(tmp_path, rows, [cpu, cpu, cpu, cpu])
    assert done.returncode == 0, done.stdout
    assert tables.labels_path(tmp_path, rows[2]).name == "labels-cuda-csr-1000x8-k4.npy"
    assert done.stdout.count("csr") == 2
    done = run_kmeans(tmp_path, rows, [cpu, cpu, moved, cpu])
    assert done.returncode == 1
    assert "cuda csr 1000x8 k=4: ARI against the CPU" in done.stdout


@pytest.mark.parametrize("moved, inertia, why", [
    (5, 1000.0, "ARI against the CPU"),     # 5 of 1,000 rows in another cluster
    (0, 1000.2, "inertia"),                 # 2e-4 relative
])
def test_kmeans_disagreement_fails(tmp_path, moved, inertia, why):
    cpu = np.repeat(np.arange(4), 250)
    cuda = cpu.copy()
    cuda[:moved] = 3
    done = run_kmeans(tmp_path, [kmeans_row("cuda", inertia), kmeans_row("cpu", 1000.0)],
                      [cuda, cpu])
    assert done.returncode == 1
    assert why in done.stdout


def pca_row(backend, ratios):
    return {"backend": backend, "solver": "covariance", "n_samples": 100, "n_features": 8,
            "n_components": len(ratios), "seconds": 0.1, "explained_variance_ratio": ratios}


@pytest.mark.parametrize("cuda, ok", [
    ([0.5 + 9e-6, 0.25, 0.125], True),
    ([0.5 + 2e-5, 0.25, 0.125], False),
    ([0.5, 0.25], False),
])
def test_pca_agreement(tmp_path, cuda, ok):
    results = tmp_path / "pca.jsonl"
    rows = [pca_row("cpu", [0.5, 0.25, 0.125]), pca_row("cuda", cuda)]
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = subprocess.run([sys.executable, str(SCRIPT), "pca", str(results)],
                          capture_output=True, text=True)
    assert done.returncode == (0 if ok else 1), done.stdout
    assert ("disagreement" in done.stdout) == (not ok)


def test_bad_usage_is_one_line_and_status_2():
    done = subprocess.run([sys.executable, str(SCRIPT), "kmeans"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "usage" in done.stderr
