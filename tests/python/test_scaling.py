"""The fleet-size scaling harness (bench/scaling): the driver's rows against
scikit-learn on the data it wrote, and the report's arithmetic."""

import csv
import io
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "scaling"))
import report  # noqa: E402


@pytest.fixture(scope="module")
def driver():
    """build/bench/fleet_scaling beside the tool $STRAY_CLI names, else the default build's."""
    cli = os.environ.get("STRAY_CLI")
    candidates = ([Path(cli).resolve().parents[1] / "bench" / "fleet_scaling"] if cli else []) + [
        ROOT / "build" / "bench" / "fleet_scaling"
    ]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    pytest.skip("the scaling driver is not built (STRAY_BUILD_BENCH=ON builds bench/fleet_scaling)")


def run_driver(driver, *args):
    done = subprocess.run([driver, *args], capture_output=True, text=True, check=True)
    return {r["step"]: r for r in csv.DictReader(io.StringIO(done.stdout))}


def test_dense_rows_match_scikit_learn_on_the_data_written(driver, tmp_path):
    rows = run_driver(
        driver,
        "dense",
        "--rows",
        "3000",
        "--cols",
        "40",
        "--components",
        "8",
        "--clusters",
        "12",
        "--iterations",
        "10",
        "--threads",
        "1",
        "--write-data",
        str(tmp_path),
    )
    assert set(rows) == {"generate", "upload", "pca", "kmeans", "scores", "pipeline", "lof"}
    assert all(float(r["seconds"]) > 0 for r in rows.values())
    X = np.load(tmp_path / "X.npy")
    assert X.shape == (3000, 40)
    pca = PCA(8, svd_solver="covariance_eigh").fit(X)
    # float32 data, float64 sums on both sides: the ratios agree to rounding.
    assert float(rows["pca"]["quality"]) == pytest.approx(
        pca.explained_variance_ratio_.sum(), abs=1e-5
    )
    Z = pca.transform(X).astype(np.float32)
    km = KMeans(12, init=Z[:12], n_init=1, max_iter=10, tol=0.0, algorithm="lloyd").fit(Z)
    # The two projections differ in the last float32 bits, so a few rows
    # near a boundary may move; the objective barely does.
    assert float(rows["kmeans"]["quality"]) == pytest.approx(km.inertia_, rel=1e-3)
    assert int(rows["kmeans"]["iterations"]) <= 10
    n_flagged = float(rows["scores"]["quality"])
    assert 0.03 * 3000 < n_flagged < 0.07 * 3000  # the 95th percentile of each cluster


def test_fleet_rows_are_the_pipelines_steps_and_its_matrix(driver, tmp_path):
    rows = run_driver(
        driver,
        "fleet",
        "--rows",
        "400",
        "--clusters",
        "4",
        "--components",
        "6",
        "--iterations",
        "5",
        "--write-data",
        str(tmp_path),
    )
    assert list(rows) == [
        "read",
        "features",
        "pca",
        "kmeans",
        "scores",
        "outliers",
        "rarity",
        "explain",
        "pipeline",
    ]
    z = np.load(tmp_path / "X.npz")
    X = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
    assert X.shape == (400, int(rows["pca"]["cols"]))
    pca = PCA(6, svd_solver="covariance_eigh").fit(X)
    assert float(rows["pca"]["quality"]) == pytest.approx(
        pca.explained_variance_ratio_.sum(), abs=1e-5
    )
    assert math.isclose(
        float(rows["pipeline"]["seconds"]),
        sum(float(rows[s]["seconds"]) for s in list(rows)[:-1]),
        rel_tol=1e-4,
    )


def test_ceilings_have_rates(driver):
    rows = run_driver(driver, "ceilings", "--threads", "1")
    assert rows["ceiling_gemm"]["unit"] == "GFLOP/s" and float(rows["ceiling_gemm"]["rate"]) > 0
    assert rows["ceiling_stream"]["unit"] == "GB/s" and float(rows["ceiling_stream"]["rate"]) > 0


def test_a_bad_flag_is_one_line_and_status_2(driver):
    done = subprocess.run([driver, "dense", "--rows", "ten"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--rows" in done.stderr


def test_slope_is_the_power_of_a_power_law_and_matches_polyfit():
    sizes = [1e4, 1e5, 1e6]
    assert report.slope(sizes, [3e-6 * n**1.5 for n in sizes]) == pytest.approx(1.5)
    noisy = [0.012, 0.09, 1.3]
    expected = np.polyfit(np.log(sizes), np.log(noisy), 1)[0]
    assert report.slope(sizes, noisy) == pytest.approx(expected)


def row(kind, n, tool, threads, step, seconds, rate="", unit="", backend="cpu"):
    r = dict.fromkeys(report.FIELDS, "")
    r.update(
        kind=kind,
        rows=str(n),
        cols="8",
        tool=tool,
        backend=backend,
        threads=str(threads),
        step=step,
        seconds=str(seconds),
        rate=rate,
        unit=unit,
    )
    return r


def test_the_time_table_divides_by_the_fastest_peer_and_only_where_the_work_is_the_same():
    rows = [
        row("fleet", 1000, "stray", 1, "kmeans", 0.5),
        row("fleet", 1000, "scikit-learn", 1, "kmeans", 2.0),
        row("fleet", 1000, "faiss", 1, "kmeans", 1.0),
        row("fleet", 1000, "stray", 1, "scores", 0.5),
        row("fleet", 1000, "scikit-learn", 1, "scores", 0.1),
    ]
    table = report.time_table(rows, "fleet").splitlines()
    kmeans = next(line for line in table if "| kmeans |" in line)
    scores = next(line for line in table if "| scores |" in line)
    assert kmeans.rstrip().endswith("| 2.00× |")
    assert scores.rstrip().endswith("|  |")  # stray's fleet scores do more work: no ratio


def test_gpu_peers_are_compared_with_stray_on_the_gpu_only():
    rows = [
        row("dense", 1000, "stray", 16, "kmeans", 0.5),
        row("dense", 1000, "scikit-learn", 16, "kmeans", 1.0),
        row("dense", 1000, "stray", 16, "kmeans", 0.02, backend="cuda"),
        row("dense", 1000, "pytorch", 16, "kmeans", 0.01, backend="cuda"),
        row("dense", 1000, "cupy", 16, "kmeans", 0.04, backend="cuda"),
    ]
    table = report.time_table(rows, "dense").splitlines()
    assert table[0].endswith("| best peer ÷ stray 16t | best GPU peer ÷ stray cuda 16t |")
    kmeans = next(line for line in table if "| kmeans |" in line)
    # the CPU ratio sees scikit-learn only (1.0 / 0.5), the GPU's PyTorch (0.01 / 0.02)
    assert kmeans.rstrip().endswith("| 2.00× | 0.50× |")


def write_blobs(path, n=3000, d=24, seed=5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=8.0, size=(12, d))
    X = (centres[rng.integers(0, 12, n)] + rng.normal(size=(n, d))).astype(np.float32)
    np.save(path, X)
    return X


def test_gpu_peers_run_the_ladders_steps_as_scikit_learn_does(tmp_path):
    """gpu_peers.py on the host (NumPy standing in for CuPy; PyTorch where
    installed): the same explained variance, Lloyd from the same start and the
    same flagged count as scikit-learn on the same data."""
    X = write_blobs(tmp_path / "X.npy")
    c, k, iters = 6, 10, 30
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "scaling" / "gpu_peers.py"),
                           str(tmp_path / "X.npy"), "2", str(c), str(k), str(iters), "cpu"],
                          capture_output=True, text=True, check=True)
    got = [r for r in csv.DictReader(io.StringIO(done.stdout), fieldnames=report.FIELDS)]
    assert {r["tool"] for r in got} >= {"cupy"}
    p = PCA(c, svd_solver="covariance_eigh").fit(X)
    Z = p.transform(X).astype(np.float32)
    km = KMeans(k, init=Z[:k], n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd").fit(Z)
    flagged = flagged_by_rule(Z, km.cluster_centers_, k)
    for tool in {r["tool"] for r in got}:
        steps = {r["step"]: r for r in got if r["tool"] == tool}
        assert set(steps) == {"upload", "pca", "kmeans", "scores", "pipeline"}
        assert all(r["backend"] == "cuda" and r["threads"] == "2" for r in steps.values())
        assert float(steps["pca"]["quality"]) == pytest.approx(
            p.explained_variance_ratio_.sum(), abs=1e-5)
        assert float(steps["kmeans"]["quality"]) == pytest.approx(km.inertia_, rel=1e-4)
        assert int(steps["kmeans"]["iterations"]) == km.n_iter_
        assert float(steps["scores"]["quality"]) == flagged


def flagged_by_rule(Z, centres, k):
    """The 95th-percentile rule per cluster on scikit-learn's nearest centres."""
    from sklearn.metrics import pairwise_distances_argmin_min

    labels, dist = pairwise_distances_argmin_min(Z, centres)
    return sum(int((dist[labels == c] > np.percentile(dist[labels == c], 95)).sum())
               for c in range(k) if (labels == c).any())


def test_ceiling_share_uses_the_same_backend_threads_and_unit():
    rows = [
        row("ceilings", 2, "stray", 1, "ceiling_gemm", 1, "80", "GFLOP/s"),
        row("ceilings", 2, "stray", 1, "ceiling_stream", 1, "40", "GB/s"),
        row("ceilings", 2, "stray", 2, "ceiling_gemm", 1, "160", "GFLOP/s"),
    ]
    tops = report.ceilings(rows)
    assert report.ceiling_share(
        row("dense", 10, "stray", 1, "kmeans", 1, "60", "GFLOP/s"), tops
    ) == pytest.approx(0.75)
    assert report.ceiling_share(
        row("dense", 10, "stray", 2, "kmeans", 1, "60", "GFLOP/s"), tops
    ) == pytest.approx(0.375)
    assert report.ceiling_share(
        row("dense", 10, "stray", 1, "upload", 1, "10", "GB/s"), tops
    ) == pytest.approx(0.25)
    assert (
        report.ceiling_share(row("dense", 10, "stray", 1, "upload", 1, "10", "GB/s", "cuda"), tops)
        is None
    )


def test_the_svg_is_well_formed_with_a_line_per_series_at_the_top_thread_count():
    rows = []
    for n, t in [(1000, 0.01), (10000, 0.1), (100000, 1.0)]:
        for threads in (1, 2):
            rows.append(row("dense", n, "stray", threads, "kmeans", t / threads))
            rows.append(row("dense", n, "scikit-learn", threads, "pca", 2 * t))
        rows.append(row("fleet", n, "stray", 2, "read", t))  # not a plotted step
    root = ET.fromstring(report.svg(rows))
    lines = [e for e in root.iter("{http://www.w3.org/2000/svg}polyline")]
    assert sorted(e.get("data-series") for e in lines) == ["scikit-learn 2t pca", "stray 2t kmeans"]
    assert all(len(e.get("points").split()) == 3 for e in lines)


def quality_row(backend, threads, name, value, step="kmeans", n=10000):
    r = row("dense", n, "stray", threads, step, 1.0, backend=backend)
    r.update(quality_name=name, quality=repr(value))
    return r


def test_agreement_is_exact_across_cpu_threads_and_within_tolerance_on_another_backend():
    rows = [
        quality_row("cpu", 1, "inertia", 1000.0),
        quality_row("cpu", 2, "inertia", 1000.0),
        quality_row("cuda", 16, "inertia", 1000.05),
        quality_row("cpu", 1, "flagged", 500.0, "scores"),
        quality_row("cpu", 2, "flagged", 501.0, "scores"),
        quality_row("cuda", 16, "flagged", 511.0, "scores"),
    ]
    verdict = {(r[2], r[3]): r[6] for r in report.agreement(rows)}
    assert verdict == {
        ("kmeans", "stray 2t"): True,
        ("kmeans", "stray cuda 16t"): True,
        ("scores", "stray 2t"): False,  # the CPU must not depend on threads
        ("scores", "stray cuda 16t"): False,
    }  # 11 rows > max(2, 0.1% of 10,000)
    rows[2] = quality_row("cuda", 16, "inertia", 1000.2)  # 2e-4 relative: over 1e-4
    assert not next(
        r for r in report.agreement(rows) if r[3] == "stray cuda 16t" and r[2] == "kmeans"
    )[6]
