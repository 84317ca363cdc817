#!/usr/bin/env python3
"""PCA speed: stray's CLI against scikit-learn, same data, same run.

Two scenarios by default, a third on request (pick with --only):

  dense   200,000 x 512 float32, low rank (64) plus noise with column
          offsets -> 32 components. Peer: PCA(n_components=32,
          svd_solver="auto") (scikit-learn picks "covariance_eigh" here).
  sparse  100,000 x 20,000 binary CSR, ~300 non-zeros per row drawn from
          50 workload "types" plus uniform noise -> 50 components.
          Peers: TruncatedSVD(50) (randomized, n_iter=5; uncentred) and
          PCA(50) on the sparse matrix (scikit-learn picks ARPACK with
          implicit centring). Explained-variance ratios are compared with
          the centred peer (PCA); TruncatedSVD's are printed for reference.
  wide    1,000 x 5,000 binary CSR, 6-7% dense as package inventories, in
          two kinds: the sparse scenario's generator (8 types, each row
          80% from its type's pool of 700 features, 20% uniform noise:
          a nearly flat spectrum, 0.9 needs ~700 components) and
          package-like rows (OS family base sets, application stacks,
          a few strays: make_packages) -> a variance fraction of 0.9
          (`stray pca -c 0.9`, which takes the Gram solver here). Peer:
          PCA(0.9) on the dense float32 array (scikit-learn picks its
          "full" LAPACK SVD). Each at one thread and at two threads, both
          sides, in one run (--threads is ignored).

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
import itertools
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
    path, peer, warmups = sys.argv[1], sys.argv[2], int(sys.argv[4])
    k = float(sys.argv[3]) if "." in sys.argv[3] else int(sys.argv[3])
    X = sp.load_npz(path).tocsr() if path.endswith(".npz") else np.load(path)
    if peer == "pca_dense":
        X = X.toarray()  # float32, as stored
    times, model = [], None
    for r in range(warmups + 1):  # timed: the last fit
        if peer in ("pca", "pca_dense"):
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
    print(json.dumps({"times": times, "solver": solver, "n_components": int(model.n_components_)
                      if hasattr(model, "n_components_") else k,
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


def make_packages(workdir: Path, n: int, d: int, seed: int) -> Path:
    """Binary n x d package inventories built the way images are: one of 5
    OS families' base sets (a core shared by all, ~150 packages each), one
    to four of 40 application stacks (20-120 packages installed together),
    and 10 packages at random; each package of a set is present with
    probability 0.9. About 6-7% dense."""
    import numpy as np
    import scipy.sparse as sp

    path = workdir / f"pca_packages_{n}x{d}_seed{seed}.npz"
    if path.exists():
        return path
    workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    core = rng.choice(d, 50, replace=False)
    families = [np.union1d(core, rng.choice(d, 100, replace=False)) for _ in range(5)]
    stacks = [rng.choice(d, int(rng.integers(20, 121)), replace=False) for _ in range(40)]
    rows, cols = [], []
    for i in range(n):
        sets = [families[rng.integers(5)]]
        sets += [stacks[s] for s in rng.choice(40, int(rng.integers(1, 5)), replace=False)]
        have = np.concatenate([s[rng.random(s.size) < 0.9] for s in sets] +
                              [rng.choice(d, 10, replace=False)])
        have = np.unique(have)
        rows.append(np.full(have.size, i))
        cols.append(have)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    X = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(n, d))
    X.sort_indices()
    sp.save_npz(path, X, compressed=False)
    return path


def run_sklearn(path: Path, peer: str, k, warmups: int, env: dict) -> dict:
    child_env = dict(env)
    child_env.pop("OPENBLAS_CORETYPE", None)
    child_env.pop("OPENBLAS_L2_SIZE", None)
    out = subprocess.run([sys.executable, "-c", SKLEARN_CHILD, str(path), peer, str(k),
                          str(warmups)], env=child_env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_stray_once(binary: str, path: Path, k, backend: str, extra: list[str],
                   env: dict) -> dict:
    cmd = [binary, "pca", "-i", str(path), "-c", str(k), "--backend", backend, "--json", *extra]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    last["command"] = " ".join(cmd)
    return last


def alternate(binary: str, path: Path, k, peers: list[str], repeats: int, backend: str,
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
    print(f"  stray {st['backend']} ({st['device']}), solver {st['solver']}, "
          f"{st['n_components']} components: "
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
        print(f"  scikit-learn {name} [{sk['solver']}], {sk['n_components']} components: "
              f"median {sk_med:.3f} s, min {sk_min:.3f} s {['%.3f' % t for t in sk['times']]}")
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
    ap.add_argument("--only", choices=["dense", "sparse", "wide"],
                    help="run one scenario (wide runs only when named)")
    ap.add_argument("--repeats", type=int, default=5, help="alternating pairs (dense)")
    ap.add_argument("--wide-repeats", type=int, default=5,
                    help="alternating pairs per thread count for the wide scenario")
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

    if args.only == "wide":
        wide_sets = [("uniform noise over 8 types", make_sparse(workdir, 1_000, 5_000, 350, 8,
                                                                 args.seed)),
                     ("package-like", make_packages(workdir, 1_000, 5_000, args.seed))]
        for (label, path), threads in itertools.product(wide_sets, (1, 2)):
            tenv = dict(env)
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                tenv[var] = str(threads)
            st, sk, loads = alternate(args.stray, path, 0.9, ["pca_dense"], args.wide_repeats,
                                      args.backend, tenv)
            density = json.loads(subprocess.run(
                [sys.executable, "-c", "import json,sys,scipy.sparse as sp; X=sp.load_npz(sys.argv[1]);"
                 "print(json.dumps(X.nnz / X.shape[0] / X.shape[1]))", str(path)],
                check=True, capture_output=True, text=True).stdout)
            results[f"wide_{'noise' if 'noise' in label else 'packages'}_{threads}_threads"] = report(
                f"wide 1,000 x 5,000 binary, {label} ({100 * density:.1f}% dense) -> variance "
                f"fraction 0.9, {threads} thread{'s' if threads > 1 else ''} each", st,
                [("PCA(0.9) dense", sk["pca_dense"])], "PCA(0.9) dense", loads)
            print(f"  threadpools {[(p['internal_api'], p['num_threads']) for p in sk['pca_dense']['threadpools']]}")

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
