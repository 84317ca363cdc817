#!/usr/bin/env python3
"""k-means on sparse rows: `stray kmeans -i X.npz` against scikit-learn's
sparse KMeans, same CSR data, same explicit start, same iterations.

The data are fleet-like: --rows hosts of --roles roles over --features 0/1
package columns; each role has its own --role-width packages (each present
with probability 0.9) plus --noise random packages per host. Both sides run
Lloyd from the same k rows (drawn with --seed) for --max-iter iterations
with tol = 0 (neither stops early unless labels stop changing), and both
report the fit alone: scikit-learn's fit is timed around the call after a
one-iteration warm-up fit in the same process; stray reports `seconds` in
its --json output (the CLI's first and only fit). Each thread count of
--threads runs --repeats times per side, alternating, and the table shows
medians. scikit-learn runs in a subprocess with its thread pools limited by
threadpoolctl.

    scripts/setup-python
    .venv/bin/python bench/kmeans_sparse_vs_sklearn.py --stray build/examples/stray
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_rows import fleet_rows  # noqa: E402  (beside this file)

SKLEARN_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, scipy.sparse as sp
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits
    X = sp.load_npz(sys.argv[1]).astype(np.float32)
    init = np.load(sys.argv[2])
    threads, max_iter = int(sys.argv[3]), int(sys.argv[4])
    with threadpool_limits(threads):
        KMeans(len(init), init=init, n_init=1, max_iter=1, tol=0).fit(X)
        start = time.perf_counter()
        km = KMeans(len(init), init=init, n_init=1, max_iter=max_iter, tol=0).fit(X)
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "inertia": float(km.inertia_), "n_iter": int(km.n_iter_)}))
    """
)


def make_data(args, workdir: Path) -> tuple[Path, Path, int]:
    import numpy as np
    import scipy.sparse as sp

    X_path, init_path = workdir / "sparse_X.npz", workdir / "sparse_init.npy"
    rng = np.random.default_rng(args.seed)
    X = fleet_rows(rng, args.rows, args.features, args.roles, args.role_width, args.noise,
                   "binary")
    sp.save_npz(X_path, X)
    init = X[rng.choice(args.rows, args.k, replace=False)].toarray().astype(np.float32)
    np.save(init_path, init)
    return X_path, init_path, X.nnz


def run_stray(args, X_path, init_path, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run(
        [args.stray, "kmeans", "-i", str(X_path), "-k", str(args.k), "--init-centers",
         str(init_path), "--max-iter", str(args.max_iter), "--tol", "0", "--backend", "cpu",
         "--json"], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def run_sklearn(X_path, init_path, threads, max_iter):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    out = subprocess.run(
        [sys.executable, "-c", SKLEARN_CHILD, str(X_path), str(init_path), str(threads),
         str(max_iter)], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stray", required=True, help="the stray binary")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--features", type=int, default=5_000)
    ap.add_argument("--roles", type=int, default=40)
    ap.add_argument("--role-width", type=int, default=60)
    ap.add_argument("--noise", type=int, default=10)
    ap.add_argument("-k", type=int, default=50)
    ap.add_argument("--max-iter", type=int, default=20)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default="bench/out")
    args = ap.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    X_path, init_path, nnz = make_data(args, workdir)
    print(f"{args.rows} x {args.features} CSR, {nnz} non-zeros ({nnz / args.rows:.1f} a row), "
          f"k = {args.k}, {args.max_iter} iterations, tol 0")
    print(f"{'threads':>7}  {'scikit-learn s':>14}  {'stray s':>8}  {'ratio':>6}  "
          f"{'inertia (sklearn / stray)':>28}  n_iter")
    for threads in [int(t) for t in args.threads.split(",")]:
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(run_stray(args, X_path, init_path, threads))
            theirs.append(run_sklearn(X_path, init_path, threads, args.max_iter))
        s = statistics.median(r["seconds"] for r in ours)
        t = statistics.median(r["seconds"] for r in theirs)
        print(f"{threads:>7}  {t:>14.3f}  {s:>8.3f}  {t / s:>5.1f}x  "
              f"{theirs[0]['inertia']:>13.6g} / {ours[0]['inertia']:<13.6g}  "
              f"{theirs[0]['n_iter']} / {ours[0]['n_iter']}")


if __name__ == "__main__":
    main()
