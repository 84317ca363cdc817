#!/usr/bin/env python3
"""k-means on a .npy larger than one wants in memory: `stray kmeans
--batch-rows` (exact Lloyd, the file read a block of rows at a time)
against the whole fit in memory, scikit-learn's MiniBatchKMeans on the same
file memory-mapped (its answer for data that do not fit), and scikit-learn's
KMeans in memory — time, final inertia over every row, peak resident memory.

Data: --rows Gaussian blobs (--blobs of them, std --std in a box of ±10) in
--features float32 columns, written once as a .npy. Every fit uses k =
--clusters, k-means++ and seed --seed, each side's defaults otherwise
(MiniBatchKMeans: batch_size --batch-rows, n_init 1 as the others). Each
thread count of --threads runs every side once, each in its own process
(peak memory is that process's maximum resident set, file pages it mapped
included). stray's seconds are its --json `seconds` (the fit; over batches
that includes reading the file, whole it does not); scikit-learn's are
timed around fit(). scikit-learn's thread pools are limited by threadpoolctl.

    scripts/setup-python
    .venv/bin/python bench/kmeans_batches_vs_sklearn.py --stray build/examples/stray
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

SKLEARN_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from threadpoolctl import threadpool_limits
    path, kind, k, seed, threads, batch = sys.argv[1:7]
    k, seed, threads, batch = int(k), int(seed), int(threads), int(batch)
    with threadpool_limits(threads):
        if kind == "minibatch":
            X = np.load(path, mmap_mode="r")
            start = time.perf_counter()
            km = MiniBatchKMeans(k, batch_size=batch, n_init=1, random_state=seed).fit(X)
        else:
            X = np.load(path)
            start = time.perf_counter()
            km = KMeans(k, n_init=1, random_state=seed).fit(X)
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "inertia": float(km.inertia_),
                      "n_iter": int(km.n_iter_)}))
    """
)


def run_child(argv, env):
    """Runs a child; returns its JSON, wall time and peak resident memory (MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {err.strip()}")
    return json.loads(out), wall, usage.ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stray", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--blobs", type=int, default=100)
    ap.add_argument("--std", type=float, default=4.0)
    ap.add_argument("--clusters", type=int, default=100)
    ap.add_argument("--batch-rows", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--skip-sklearn-kmeans", action="store_true",
                    help="leave out scikit-learn's in-memory KMeans (the slowest)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "blobs.npy"
        subprocess.run([args.stray, "make-blobs", "--samples", str(args.rows), "--features",
                        str(args.features), "--blob-centers", str(args.blobs), "--std",
                        str(args.std), "--seed", str(args.seed), "-o", str(path)], check=True)
        print(f"{args.rows} x {args.features} float32 ({path.stat().st_size / 1e6:.0f} MB), "
              f"k = {args.clusters}, batches of {args.batch_rows} rows")
        print(f"{'threads':>7}  {'fit':<34} {'seconds':>8} {'inertia':>14} {'passes/iter':>11} "
              f"{'peak MB':>8}")
        for threads in args.threads:
            env = dict(os.environ, OMP_NUM_THREADS=str(threads))
            common = [args.stray, "kmeans", "-i", str(path), "-k", str(args.clusters), "--seed",
                      str(args.seed), "--backend", "cpu", "--json"]
            rows = []
            j, _, mb = run_child(common + ["--batch-rows", str(args.batch_rows)], env)
            rows.append(("stray, batches (--batch-rows)", j["seconds"], j["inertia"],
                         f"{j['batches']['passes']}/{j['n_iter']}", mb))
            j, _, mb = run_child(common, env)
            rows.append(("stray, whole in memory", j["seconds"], j["inertia"], f"-/{j['n_iter']}",
                         mb))
            sk_env = {k: v for k, v in os.environ.items()
                      if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
            kinds = ["minibatch"] + ([] if args.skip_sklearn_kmeans else ["kmeans"])
            for kind in kinds:
                j, _, mb = run_child([sys.executable, "-c", SKLEARN_CHILD, str(path), kind,
                                      str(args.clusters), str(args.seed), str(threads),
                                      str(args.batch_rows)], sk_env)
                name = ("scikit-learn MiniBatchKMeans (mmap)" if kind == "minibatch"
                        else "scikit-learn KMeans, in memory")
                rows.append((name, j["seconds"], j["inertia"], f"-/{j['n_iter']}", mb))
            for name, seconds, inertia, iters, mb in rows:
                print(f"{threads:>7}  {name:<34} {seconds:>8.2f} {inertia:>14.6g} {iters:>11} "
                      f"{mb:>8.0f}")


if __name__ == "__main__":
    main()
