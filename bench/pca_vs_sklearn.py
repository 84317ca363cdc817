#!/usr/bin/env python3
"""PCA speed: stray's CLI against scikit-learn, same data, same run.

Two scenarios (both by default; pick with --only):

  dense   200,000 x 512 float32, low rank (64) plus noise with column
          offsets -> 32 components. Peer: PCA(n_components=32,
          svd_solver="auto") (scikit-learn picks "covariance_eigh" here).
  sparse  100,000 x 20,000 binary CSR, ~300 non-zeros per row drawn from
          50 workload "types" plus uniform noise -> 50 components.
          Peers: TruncatedSVD(50) (randomized, n_iter=5; uncentred) and
          PCA(50) on the sparse matrix (scikit-learn picks ARPACK with
          implicit centring). Explained-variance ratios are compared with
          the centred peer (PCA); TruncatedSVD's are printed for reference.

Both sides time the fit alone: scikit-learn's .fit is timed around the call;
stray reports `seconds` in its --json output (the fit, uploads to the
backend included; reading the file is not). After one warm-up each, the two
sides alternate run by run (--repeats pairs), so background load falls on
both alike; the report gives medians and minima, the ratio sklearn / stray
of each, and the 1-minute load average seen before each pair.

    scripts/setup-python
    .venv/bin/python bench/pca_vs_sklearn.py --stray build/examples/stray

Datasets are generated once into --workdir (bench/out by default) and
reused. scikit-learn runs in a subprocess whose environment drops
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (some machines pin OpenBLAS to a
slower kernel with them); its threadpoolctl report is printed so the BLAS
and thread counts it used are on record. --threads sets OMP_NUM_THREADS
(and the BLAS thread counts) for both sides.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

SKLEARN_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import scipy.sparse as sp
    import sklearn
    from sklearn.decomposition import PCA, TruncatedSVD
    from threadpoolctl import threadpool_info
    path, peer, k, warmups = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    X = sp.load_npz(path).tocsr() if path.endswith(".npz") else np.load(path)
    times, model = [], None
    for r in range(warmups + 1):  # timed: the last fit
        if peer == "pca":
            model = PCA(n_components=k, svd_solver="auto", random_state=0)
        else:
            model = TruncatedSVD(n_components=k, random_state=0)
        t0 = time.perf_counter()
        model.fit(X)
        t = time.perf_counter() - t0
        if r == warmups:
            times.append(t)
    solver = getattr(model, "_fit_svd_solver", getattr(model, "algorithm", None))
    pools = [{k2: p.get(k2) for k2 in ("user_api", "internal_api", "num_threads", "version",
                                       "architecture")} for p in threadpool_info()]
    print(json.dumps({"times": times, "solver": solver,
                      "explained_variance_ratio": model.explained_variance_ratio_.tolist(),
                      "sklearn": sklearn.__version__, "numpy": np.__version__,
                      "threadpools": pools}))
    """
)


def make_dense(workdir: Path, n: int, d: int, rank: int, seed: int) -> Path:
    import numpy as np

    path = workdir / f"pca_dense_{n}x{d}_r{rank}_seed{seed}.npy"
    if path.exists():
        return path
    workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    scales = np.linspace(10.0, 1.0, rank).astype(np.float32)
    W = rng.standard_normal((rank, d)).astype(np.float32) / np.sqrt(d)
    X = np.empty((n, d), dtype=np.float32)
    offset = (5.0 * rng.standard_normal(d)).astype(np.float32)
    for i in range(0, n, 20000):
        m = min(20000, n - i)
        Z = rng.standard_normal((m, rank)).astype(np.float32) * scales
        X[i:i + m] = Z @ W + 0.3 * rng.standard_normal((m, d)).astype(np.float32) + offset
    np.save(path, X)
    return path


def make_sparse(workdir: Path, n: int, d: int, nnz_row: int, types: int, seed: int) -> Path:
    import numpy as np
    import scipy.sparse as sp

    path = workdir / f"pca_sparse_{n}x{d}_nnz{nnz_row}_t{types}_seed{seed}.npz"
    if path.exists():
        return path
    workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pool = 2 * nnz_row  # each type uses a pool of features; rows draw 80% from it
    type_features = np.stack([rng.choice(d, pool, replace=False) for _ in range(types)])
    row_type = rng.integers(0, types, n)
    from_type = int(0.8 * nnz_row)
    cols = np.empty((n, nnz_row), dtype=np.int64)
    for i in range(0, n, 10000):
        m = min(10000, n - i)
        pick = np.argsort(rng.random((m, pool)), axis=1)[:, :from_type]
        cols[i:i + m, :from_type] = np.take_along_axis(type_features[row_type[i:i + m]], pick, 1)
        cols[i:i + m, from_type:] = rng.integers(0, d, (m, nnz_row - from_type))
    rows = np.repeat(np.arange(n), nnz_row)
    X = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols.ravel())), shape=(n, d))
    X.sum_duplicates()
    X.data[:] = 1.0
    X.sort_indices()
    sp.save_npz(path, X, compressed=False)
    return path


def run_sklearn(path: Path, peer: str, k: int, warmups: int, env: dict) -> dict:
    child_env = dict(env)
    child_env.pop("OPENBLAS_CORETYPE", None)
    child_env.pop("OPENBLAS_L2_SIZE", None)
    out = subprocess.run([sys.executable, "-c", SKLEARN_CHILD, str(path), peer, str(k),
                          str(warmups)], env=child_env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_stray_once(binary: str, path: Path, k: int, backend: str, extra: list[str],
                   env: dict) -> dict:
    cmd = [binary, "pca", "-i", str(path), "-c", str(k), "--backend", backend, "--json", *extra]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    last["command"] = " ".join(cmd)
    return last


def alternate(binary: str, path: Path, k: int, peers: list[str], repeats: int, backend: str,
              env: dict) -> tuple[dict, dict, list[float]]:
    """Warm-up of each side, then `repeats` rounds of stray, peer, peer, ..."""
    run_stray_once(binary, path, k, backend, [], env)
    st, sk, loads = None, {p: None for p in peers}, []
    for r in range(repeats):
        loads.append(os.getloadavg()[0])
        one = run_stray_once(binary, path, k, backend, [], env)
        if st is None:
            st = one
            st["times"] = []
        st["times"].append(float(one["seconds"]))
        for p in peers:
            res = run_sklearn(path, p, k, 1 if r == 0 else 0, env)
            if sk[p] is None:
                sk[p] = res
            else:
                sk[p]["times"] += res["times"]
    return st, sk, loads


def max_ratio_diff(a: list[float], b: list[float]) -> float:
    return max(abs(x - y) for x, y in zip(a, b))


def report(title: str, st: dict, peers: list[tuple[str, dict]], compare_with: str | None,
           loads: list[float]) -> dict:
    st_med, st_min = statistics.median(st["times"]), min(st["times"])
    print(f"\n{title}")
    print(f"  1-minute load average before each pair: {['%.1f' % x for x in loads]}")
    print(f"  stray {st['backend']} ({st['device']}), solver {st['solver']}: "
          f"median {st_med:.3f} s, min {st_min:.3f} s  {['%.3f' % t for t in st['times']]}")
    print(f"    {st['command']}")
    row = {"stray_seconds": st_med, "stray_min_seconds": st_min, "stray_solver": st["solver"],
           "stray_backend": st["backend"], "stray_times": st["times"], "loads": loads,
           "stray_evr_sum": sum(st["explained_variance_ratio"]), "peers": {}}
    for name, sk in peers:
        sk_med, sk_min = statistics.median(sk["times"]), min(sk["times"])
        diff = max_ratio_diff(st["explained_variance_ratio"], sk["explained_variance_ratio"])
        note = ""
        if compare_with:
            note = " (compared)" if name == compare_with else " (reference only: uncentred)"
        print(f"  scikit-learn {name} [{sk['solver']}]: median {sk_med:.3f} s, min {sk_min:.3f} s "
              f"{['%.3f' % t for t in sk['times']]}")
        print(f"    -> sklearn / stray: {sk_med / st_med:.1f}x (medians), {sk_min / st_min:.1f}x "
              f"(minima); max |EVR diff| {diff:.2e}{note}")
        row["peers"][name] = {"seconds": sk_med, "min_seconds": sk_min, "times": sk["times"],
                              "solver": sk["solver"], "speedup_median": sk_med / st_med,
                              "speedup_min": sk_min / st_min, "max_evr_diff": diff,
                              "evr_sum": sum(sk["explained_variance_ratio"]),
                              "sklearn": sk["sklearn"], "threadpools": sk["threadpools"]}
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stray", required=True, help="path of the stray binary")
    ap.add_argument("--only", choices=["dense", "sparse"], help="run one scenario")
    ap.add_argument("--repeats", type=int, default=5, help="alternating pairs (dense)")
    ap.add_argument("--sparse-repeats", type=int, default=3,
                    help="alternating rounds for the sparse scenario (its peers are slow)")
    ap.add_argument("--no-sparse-pca-peer", action="store_true",
                    help="skip scikit-learn's PCA (ARPACK) on sparse input; slow")
    ap.add_argument("--backend", default="cpu", help="stray backend (cpu, cuda, auto)")
    ap.add_argument("--threads", type=int, help="OMP_NUM_THREADS for both sides")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=str(Path(__file__).resolve().parent / "out"))
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    env = dict(os.environ)
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.threads)
    workdir = Path(args.workdir)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; python {platform.python_version()}")
    results = {}

    if args.only in (None, "dense"):
        path = make_dense(workdir, 200_000, 512, 64, args.seed)
        st, sk, loads = alternate(args.stray, path, 32, ["pca"], args.repeats, args.backend, env)
        results["dense"] = report("dense 200,000 x 512 float32 -> 32 components", st,
                                  [("PCA(svd_solver='auto')", sk["pca"])],
                                  "PCA(svd_solver='auto')", loads)
        print(f"  scikit-learn {sk['pca']['sklearn']}, numpy {sk['pca']['numpy']}, threadpools "
              f"{[(p['internal_api'], p['num_threads']) for p in sk['pca']['threadpools']]}")

    if args.only in (None, "sparse"):
        path = make_sparse(workdir, 100_000, 20_000, 300, 50, args.seed)
        names = ["tsvd"] + ([] if args.no_sparse_pca_peer else ["pca"])
        st, sk, loads = alternate(args.stray, path, 50, names, args.sparse_repeats, args.backend,
                                  env)
        peers = [("TruncatedSVD", sk["tsvd"])]
        if not args.no_sparse_pca_peer:
            peers.append(("PCA(sparse)", sk["pca"]))
        results["sparse"] = report(
            "sparse 100,000 x 20,000 binary CSR (~300 nnz/row) -> 50 components", st, peers,
            "PCA(sparse)" if not args.no_sparse_pca_peer else None, loads)

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
