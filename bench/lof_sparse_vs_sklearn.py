#!/usr/bin/env python3
"""LOF on sparse rows: `stray lof -i X.npz` against scikit-learn's
LocalOutlierFactor on the same CSR rows (its sparse path: brute force,
expanded-form distances in float64).

The data are fleet-like: --rows hosts of --roles roles over --features
columns; each role has its own --role-width columns (each present with
probability 0.9) plus --noise random columns per host. --values binary
makes them 0/1 packages; --values fractions (the default) event counts
(1 + Poisson(4)) as fractions of the host's events, as process and system
call telemetry is normalised. On 0/1 rows distances tie by the hundreds
and the two sides order ties differently, so their scores differ where a
tie straddles a k-th neighbour; fractions have no such ties. Both sides fit
LOF with --neighbors neighbours and report the fit alone: scikit-learn's
fit is timed around the call in a subprocess (its thread pools limited by
threadpoolctl, n_jobs set to the thread count, after a fit on the first
2,000 rows as a warm-up); stray reports `seconds` in its --json output.
Each thread count of --threads runs --repeats times per side, alternating;
the table shows medians and how far the scores of the two sides are apart.

    scripts/setup-python
    .venv/bin/python bench/lof_sparse_vs_sklearn.py --stray build/examples/stray
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
    from sklearn.neighbors import LocalOutlierFactor
    from threadpoolctl import threadpool_limits
    X = sp.load_npz(sys.argv[1]).astype(np.float32)
    threads, k = int(sys.argv[2]), int(sys.argv[3])
    with threadpool_limits(threads):
        LocalOutlierFactor(n_neighbors=k, n_jobs=threads).fit(X[:2000])
        start = time.perf_counter()
        lof = LocalOutlierFactor(n_neighbors=k, n_jobs=threads).fit(X)
        seconds = time.perf_counter() - start
    np.save(sys.argv[4], lof.negative_outlier_factor_)
    print(json.dumps({"seconds": seconds}))
    """
)


def make_data(args, workdir: Path) -> tuple[Path, int]:
    import numpy as np
    import scipy.sparse as sp

    X_path = workdir / "lof_sparse_X.npz"
    rng = np.random.default_rng(args.seed)
    X = fleet_rows(rng, args.rows, args.features, args.roles, args.role_width, args.noise,
                   args.values)
    sp.save_npz(X_path, X)
    return X_path, X.nnz


def run_stray(args, X_path, threads, scores):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run(
        [args.stray, "lof", "-i", str(X_path), "--neighbors", str(args.neighbors), "--backend",
         "cpu", "--json", "--scores", str(scores)], env=env, check=True, capture_output=True,
        text=True)
    return json.loads(out.stdout)


def run_sklearn(args, X_path, threads, scores):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    out = subprocess.run(
        [sys.executable, "-c", SKLEARN_CHILD, str(X_path), str(threads), str(args.neighbors),
         str(scores)], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def score_gap(ours_path, theirs_path):
    """Largest relative difference of the scores, and rows beyond 1e-6."""
    import numpy as np

    a, b = np.load(ours_path), np.load(theirs_path)
    rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
    return float(rel.max()), int((rel > 1e-6).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stray", required=True, help="the stray binary")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--features", type=int, default=5_000)
    ap.add_argument("--roles", type=int, default=40)
    ap.add_argument("--role-width", type=int, default=60)
    ap.add_argument("--noise", type=int, default=10)
    ap.add_argument("--values", choices=["fractions", "binary"], default="fractions")
    ap.add_argument("--neighbors", type=int, default=20)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default="bench/out")
    args = ap.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    X_path, nnz = make_data(args, workdir)
    ours_scores, theirs_scores = workdir / "lof_sparse_ours.npy", workdir / "lof_sparse_theirs.npy"
    print(f"{args.rows} x {args.features} CSR ({args.values}), {nnz} non-zeros "
          f"({nnz / args.rows:.1f} a row), n_neighbors = {args.neighbors}")
    print(f"{'threads':>7}  {'scikit-learn s':>14}  {'stray s':>8}  {'ratio':>6}  "
          f"{'largest score difference':>24}  rows > 1e-6")
    for threads in [int(t) for t in args.threads.split(",")]:
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(run_stray(args, X_path, threads, ours_scores))
            theirs.append(run_sklearn(args, X_path, threads, theirs_scores))
        s = statistics.median(r["seconds"] for r in ours)
        t = statistics.median(r["seconds"] for r in theirs)
        gap, rows = score_gap(ours_scores, theirs_scores)
        print(f"{threads:>7}  {t:>14.3f}  {s:>8.3f}  {t / s:>5.1f}x  {gap:>24.2e}  {rows}")


if __name__ == "__main__":
    main()
