#!/usr/bin/env python3
"""What calling stray through Python adds to a fit (docs/python.md, "Speed").

Times a 200,000 x 64 k-means fit and a 200,000 x 512 PCA fit three ways:

  python   wall time of stray.KMeans(...).fit(X) / stray.PCA(...).fit(X):
           everything a Python caller waits for (input validation, the
           binding, the library, building the fitted attributes);
  library  the library's own timing of the same call (fit_seconds_), so
           python - library is what the package adds to that very fit;
  cli      the `stray` tool's `seconds` for the same fit on the same data
           (the fit alone, without reading the .npy), from another process.

Each row is the median of --repeats runs with the same seed (the same
iterations every time). Needs the package installed (tests/python/run or
pip install .) and, for the cli column, --stray pointing at the tool.

    python bench/python_overhead.py --stray build/examples/stray
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np

import stray


def blobs(n, d, centers, seed):
    rng = np.random.RandomState(seed)
    C = rng.uniform(-10, 10, size=(centers, d)).astype(np.float32)
    X = C[rng.randint(0, centers, n)] + rng.standard_normal((n, d)).astype(np.float32)
    return np.ascontiguousarray(X, dtype=np.float32)


def low_rank(n, d, rank, seed):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, rank)).astype(np.float32) @ rng.standard_normal((rank, d)).astype(
        np.float32)
    X += 0.1 * rng.standard_normal((n, d)).astype(np.float32)
    return np.ascontiguousarray(X, dtype=np.float32)


def time_python(make, X, repeats):
    walls, libs = [], []
    for _ in range(repeats):
        est = make()
        t = time.perf_counter()
        est.fit(X)
        walls.append(time.perf_counter() - t)
        libs.append(est.fit_seconds_)
    return statistics.median(walls), statistics.median(libs), est


def time_cli(cli, args, repeats):
    if not cli:
        return None
    runs = []
    for _ in range(repeats):
        out = subprocess.run([cli, *args, "--json"], check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout)["seconds"])
    return statistics.median(runs)


def report(name, wall, lib, cli):
    added = wall - lib
    line = (f"{name:<28} python {wall:8.3f} s   library {lib:8.3f} s   "
            f"added {added * 1e3:7.1f} ms ({100 * added / lib:5.2f}%)")
    if cli is not None:
        line += f"   cli {cli:8.3f} s (python/cli {wall / cli:5.3f})"
    print(line, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--stray", help="the stray tool, for the cli column")
    ap.add_argument("--samples", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--clusters", type=int, default=32)
    ap.add_argument("--components", type=int, default=32)
    ap.add_argument("--backend", default="cpu")
    a = ap.parse_args()
    print(f"stray {stray.__version__}, backend {a.backend}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"median of {a.repeats}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        X = blobs(a.samples, 64, 100, seed=1)
        path = os.path.join(tmp, "kmeans.npy")
        np.save(path, X)
        wall, lib, km = time_python(
            lambda: stray.KMeans(a.clusters, random_state=7, n_init=1, backend=a.backend), X,
            a.repeats)
        cli = time_cli(a.stray, ["kmeans", "-i", path, "-k", str(a.clusters), "--seed", "7",
                                 "--n-init", "1", "--backend", a.backend], a.repeats)
        report(f"kmeans {a.samples}x64 k={a.clusters} ({km.n_iter_} it)", wall, lib, cli)
        del X

        X = low_rank(a.samples, 512, 64, seed=2)
        path = os.path.join(tmp, "pca.npy")
        np.save(path, X)
        wall, lib, pca = time_python(
            lambda: stray.PCA(a.components, random_state=0, backend=a.backend), X, a.repeats)
        cli = time_cli(a.stray, ["pca", "-i", path, "-c", str(a.components), "--backend",
                                 a.backend], a.repeats)
        report(f"pca {a.samples}x512 c={a.components} ({pca.svd_solver_})", wall, lib, cli)


if __name__ == "__main__":
    main()
