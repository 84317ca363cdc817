#!/usr/bin/env python3
"""k-means speed: stray's CLI against scikit-learn, same data, same start.

Both run Lloyd's algorithm from the same explicit initial centres for a
fixed number of iterations (tol = 0, so neither stops early unless labels
stop changing), and both report the fit alone: sklearn's KMeans.fit is
timed around the call, stray reports `seconds` in its --json output (the
fit, upload to the backend included; reading the .npy is not). The two
alternate, --repeats runs each after a warm-up, so background load falls
on both alike; the table shows medians and minima.

scikit-learn's timed fit is its process's second: a one-iteration fit of
the same data warms its threads, lazy imports and the data first. The
command-line tool's is its process's first and only fit, which pays those
first-touch costs inside `seconds`. So stray is timed both ways: the CLI
("cold") and bench/kmeans_warm_fit ("warm"), which follows scikit-learn's
protocol exactly (load, fit one iteration, time the real fit). The warm
driver is found next to the CLI's build (<build>/bench/kmeans_warm_fit) or
given with --stray-warm; the explicit start only.

    scripts/setup-python
    .venv/bin/python bench/kmeans_vs_sklearn.py --stray build/examples/stray

The dataset (default 200,000 x 64 Gaussian blobs, k = 100, seed 0) and the
initial centres (k rows drawn with the same seed) are written to --workdir
once and reused; --data / --init take your own .npy files instead.
--start k-means++ instead lets each side draw its own greedy k-means++
start (seeded by --seed) inside the timed fit; the inertias then differ.

scikit-learn runs in a subprocess whose environment drops OPENBLAS_CORETYPE
and OPENBLAS_L2_SIZE (some machines set them, which can pin OpenBLAS to a
slower kernel); its threadpoolctl report is printed so the BLAS and thread
counts it used are on record. --threads sets OMP_NUM_THREADS (and the BLAS
thread count) for every side; a list (--threads 1,2) measures each count in
turn, in one run.

faiss-cpu (when importable) is the second peer: faiss.Kmeans from the same
explicit centres, its subsampling switched off (max_points_per_centroid
large enough for every row), niter = --max-iter, timed the same way (a
one-iteration warm-up in its process, then the fit). faiss runs every
iteration (no tolerance) and reports the objective before its last update,
so its inertia is shown but not compared. --peers chooses the peers.
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
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_info
    import sklearn
    X = np.load(sys.argv[1])
    C0 = np.load(sys.argv[2])
    max_iter = int(sys.argv[3])
    plus_plus, seed = sys.argv[4] == "k-means++", int(sys.argv[5])
    def fit(iters):
        km = KMeans(n_clusters=C0.shape[0], init="k-means++" if plus_plus else C0, n_init=1,
                    algorithm="lloyd", max_iter=iters, tol=0.0, random_state=seed)
        t0 = time.perf_counter()
        km.fit(X)
        return time.perf_counter() - t0, km
    fit(1)  # warm-up: thread pools, lazy imports
    t, km = fit(max_iter)
    pools = [{k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version",
                                     "architecture")} for p in threadpool_info()]
    print(json.dumps({"seconds": t, "inertia": float(km.inertia_), "n_iter": int(km.n_iter_),
                      "sklearn": sklearn.__version__, "numpy": np.__version__,
                      "threadpools": pools}))
    """
)


FAISS_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    import numpy as np
    import faiss
    X = np.ascontiguousarray(np.load(sys.argv[1]), dtype=np.float32)
    C0 = np.ascontiguousarray(np.load(sys.argv[2]), dtype=np.float32)
    max_iter = int(sys.argv[3])
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads:
        faiss.omp_set_num_threads(int(threads))
    n, d = X.shape
    k = C0.shape[0]
    def fit(iters):
        # Every row in every iteration, as the other sides: no subsampling.
        km = faiss.Kmeans(d, k, niter=iters, verbose=False, seed=0,
                          max_points_per_centroid=n // k + 1, min_points_per_centroid=1)
        t0 = time.perf_counter()
        km.train(X, init_centroids=C0)
        return time.perf_counter() - t0, km
    fit(1)  # warm-up: thread pool, the data's first pass
    t, km = fit(max_iter)
    print(json.dumps({"seconds": t, "objective": float(km.obj[-1]), "n_iter": max_iter,
                      "faiss": faiss.__version__, "threads": faiss.omp_get_max_threads()}))
    """
)


def make_dataset(workdir: Path, n: int, d: int, k: int, seed: int) -> tuple[Path, Path]:
    import numpy as np
    from sklearn.datasets import make_blobs

    x_path = workdir / f"blobs_{n}x{d}_k{k}_seed{seed}_X.npy"
    c_path = workdir / f"blobs_{n}x{d}_k{k}_seed{seed}_C0.npy"
    if x_path.exists() and c_path.exists():
        return x_path, c_path
    workdir.mkdir(parents=True, exist_ok=True)
    # Blobs that overlap a little (std 2 in a +-10 box): Lloyd keeps moving
    # for many iterations, like real data, instead of converging in three.
    X, _ = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=2.0 * (d / 8) ** 0.5,
                      center_box=(-10, 10), random_state=seed)
    X = X.astype(np.float32)
    C0 = X[np.random.RandomState(seed).choice(n, k, replace=False)]
    np.save(x_path, X)
    np.save(c_path, C0)
    return x_path, c_path


def run_sklearn_once(x_path, c_path, max_iter, init, seed, env):
    child_env = dict(env)
    child_env.pop("OPENBLAS_CORETYPE", None)
    child_env.pop("OPENBLAS_L2_SIZE", None)
    out = subprocess.run([sys.executable, "-c", SKLEARN_CHILD, str(x_path), str(c_path),
                          str(max_iter), init, str(seed)],
                         env=child_env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def faiss_available() -> bool:
    out = subprocess.run([sys.executable, "-c", "import faiss"], capture_output=True)
    return out.returncode == 0


def run_faiss_once(x_path, c_path, max_iter, env):
    out = subprocess.run([sys.executable, "-c", FAISS_CHILD, str(x_path), str(c_path),
                          str(max_iter)], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def stray_command(binary, x_path, c_path, k, max_iter, backend, init, seed):
    start = (["--init-centers", str(c_path)] if init == "explicit"
             else ["--init", "k-means++", "--seed", str(seed)])
    return [str(binary), "kmeans", "-i", str(x_path), *start, "-k", str(k),
            "--max-iter", str(max_iter), "--tol", "0", "--backend", backend, "--json"]


def warm_command(binary, x_path, c_path, max_iter, backend):
    return [str(binary), str(x_path), str(c_path), str(max_iter), backend]


def find_warm_driver(stray_binary: str, given: str | None) -> Path | None:
    if given:
        return Path(given)
    guess = Path(stray_binary).resolve().parent.parent / "bench" / "kmeans_warm_fit"
    return guess if guess.exists() else None


def run_stray_once(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stray", required=True, help="path of the stray binary")
    ap.add_argument("--stray-warm", help="path of bench/kmeans_warm_fit (default: next to the "
                                         "CLI's build, when it is there)")
    ap.add_argument("--data", help="X .npy (float32 [n x d]); default: generated blobs")
    ap.add_argument("--init", help="initial centres .npy [k x d]; required with --data")
    ap.add_argument("-n", "--samples", type=int, default=200_000)
    ap.add_argument("-d", "--features", type=int, default=64)
    ap.add_argument("-k", "--clusters", type=int, default=100)
    ap.add_argument("--max-iter", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", choices=("explicit", "k-means++"), default="explicit",
                    help="explicit: both from the same initial centres (the default); "
                         "k-means++: each side's own greedy k-means++ (seeded by --seed), "
                         "timed with the fit")
    ap.add_argument("--backend", default="cpu", help="stray backend (cpu, cuda, auto)")
    ap.add_argument("--threads", help="OMP_NUM_THREADS for every side; a comma-separated list "
                                      "(1,2) measures each in turn")
    ap.add_argument("--peers", default="sklearn,faiss",
                    help="comma-separated peers: sklearn, faiss (faiss needs --start explicit "
                         "and is skipped when it cannot be imported)")
    ap.add_argument("--workdir", default=str(Path(__file__).resolve().parent / "out"))
    ap.add_argument("--json", help="also write the figures here")
    return ap, ap.parse_args()


def thread_env(threads):
    env = dict(os.environ)
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    return env


def summary(runs, command):
    return {"times": [float(r["seconds"]) for r in runs], "inertia": float(runs[-1]["inertia"]),
            "n_iter": int(runs[-1]["n_iter"]), "converged": runs[-1].get("converged"),
            "backend": runs[-1].get("backend"), "device": runs[-1].get("device"),
            "command": " ".join(str(c) for c in command)}


def measure(args, x_path, c_path, k, threads, peers):
    """Every side alternately, --repeats runs each; returns {side: runs}."""
    env = thread_env(threads)
    cmd = stray_command(args.stray, x_path, c_path, k, args.max_iter, args.backend, args.start,
                        args.seed)
    warm_driver = find_warm_driver(args.stray, args.stray_warm) if args.start == "explicit" else None
    warm_cmd = (warm_command(warm_driver, x_path, c_path, args.max_iter, args.backend)
                if warm_driver else None)
    run_stray_once(cmd, env)  # warm-up: page cache, CPU frequency
    if warm_cmd:
        run_stray_once(warm_cmd, env)
    sides = {"sklearn": [], "stray": [], "warm": [], "faiss": []}
    # Alternate, so load from anything else on the machine falls on all
    # alike; each peer run warms up in its own process first.
    for _ in range(args.repeats):
        if "sklearn" in peers:
            sides["sklearn"].append(run_sklearn_once(x_path, c_path, args.max_iter, args.start,
                                                     args.seed, env))
        sides["stray"].append(run_stray_once(cmd, env))
        if warm_cmd:
            sides["warm"].append(run_stray_once(warm_cmd, env))
        if "faiss" in peers:
            sides["faiss"].append(run_faiss_once(x_path, c_path, args.max_iter, env))
    out = {"threads": threads or "(unset)", "stray": summary(sides["stray"], cmd)}
    if sides["warm"]:
        out["stray_warm"] = summary(sides["warm"], warm_cmd)
    if sides["sklearn"]:
        out["sklearn"] = dict(sides["sklearn"][-1], times=[r["seconds"] for r in sides["sklearn"]])
    if sides["faiss"]:
        out["faiss"] = dict(sides["faiss"][-1], times=[r["seconds"] for r in sides["faiss"]],
                            inertia=sides["faiss"][-1]["objective"])
    return out


def report(args, n, d, k, m):
    """Prints one thread count's table; returns False when the inertias disagree."""
    print(f"k-means (Lloyd), {n} x {d} float32, k = {k}, max_iter = {args.max_iter}, tol = 0, "
          f"{args.start} init; {args.repeats} alternating runs each, after a warm-up")
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"OMP_NUM_THREADS={m['threads']}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    rows = []
    if "sklearn" in m:
        rows.append((f"scikit-learn {m['sklearn']['sklearn']}", m["sklearn"]))
    if "faiss" in m:
        rows.append((f"faiss-cpu {m['faiss']['faiss']}", m["faiss"]))
    rows.append((f"stray {m['stray']['backend']}, cold", m["stray"]))
    if "stray_warm" in m:
        rows.append((f"stray {m['stray_warm']['backend']}, warm", m["stray_warm"]))
    print(f"{'':<26}{'median s':>10}{'min s':>10}{'s/iter':>10}{'n_iter':>8}{'inertia':>20}")
    for label, r in rows:
        med = statistics.median(r["times"])
        print(f"{label:<26}{med:>10.4f}{min(r['times']):>10.4f}{med / r['n_iter']:>10.5f}"
              f"{r['n_iter']:>8}{r['inertia']:>20.6f}")
    print()
    ours = [("cold (the CLI: its process's only fit)", m["stray"])]
    if "stray_warm" in m:
        ours.append(("warm (after a one-iteration fit in the same process)", m["stray_warm"]))
    for peer in ("sklearn", "faiss"):
        if peer not in m:
            continue
        peer_med = statistics.median(m[peer]["times"])
        for label, r in ours:
            ratio = peer_med / statistics.median(r["times"])
            m.setdefault("speedup", {})[f"{peer} / {label.split()[0]}"] = ratio
            print(f"speed-up ({peer} median / stray median): {ratio:.2f}x {label}")
    agree = True
    if "sklearn" in m:
        # From each side's own k-means++ the starts differ, so only the
        # explicit start must give the same inertia.
        sk = m["sklearn"]
        rel = max(abs(sk["inertia"] - r["inertia"]) / max(abs(sk["inertia"]), 1e-300)
                  for _, r in ours)
        m["inertia_rel_diff"] = rel
        agree = rel < 1e-4 or args.start != "explicit"
        print(f"inertia relative difference: {rel:.2e}" + ("" if agree else "  <-- DISAGREE"))
        if sk["n_iter"] != m["stray"]["n_iter"]:
            print(f"note: n_iter differs (sklearn {sk['n_iter']}, stray {m['stray']['n_iter']})")
    print(f"stray device: {m['stray']['device']}")
    if "sklearn" in m:
        print("scikit-learn thread pools (threadpoolctl):")
        for p in m["sklearn"]["threadpools"]:
            print(f"  {p['user_api']}/{p['internal_api']} {p.get('version') or ''} "
                  f"threads={p['num_threads']} arch={p.get('architecture') or '-'}")
    if "faiss" in m:
        print(f"faiss threads: {m['faiss']['threads']}")
    print()
    return agree


def main() -> int:
    ap, args = parse_args()
    if args.data:
        if not args.init:
            ap.error("--init is required with --data")
        x_path, c_path = Path(args.data), Path(args.init)
    else:
        x_path, c_path = make_dataset(Path(args.workdir), args.samples, args.features,
                                      args.clusters, args.seed)
    import numpy as np
    X = np.load(x_path, mmap_mode="r")
    C0 = np.load(c_path, mmap_mode="r")
    n, d = X.shape
    k = C0.shape[0]
    peers = {p.strip() for p in args.peers.split(",") if p.strip()}
    if "faiss" in peers and (args.start != "explicit" or not faiss_available()):
        print("faiss skipped: " + ("it takes the explicit start only" if args.start != "explicit"
                                   else "`import faiss` fails (pip install faiss-cpu)"))
        peers.discard("faiss")
    thread_counts = [int(t) for t in args.threads.split(",")] if args.threads else [None]

    results, agree = [], True
    for threads in thread_counts:
        m = measure(args, x_path, c_path, k, threads, peers)
        agree = report(args, n, d, k, m) and agree
        results.append(m)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "n": n, "d": d, "k": k, "max_iter": args.max_iter, "repeats": args.repeats,
            "runs": results}, indent=2) + "\n")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
