#!/usr/bin/env python3
"""LOF speed: stray's CLI against scikit-learn's LocalOutlierFactor, same data.

scikit-learn fits LocalOutlierFactor(n_neighbors=20) (algorithm "auto": brute
force above 15 features, a k-d tree below) on one thread and on two in one
child process, the thread pools limited with threadpoolctl (OpenMP and BLAS
alike); each timed fit follows a small warm-up fit in the same pool. stray
runs `stray lof --json` with OMP_NUM_THREADS = 1 and 2 and reports `seconds`
(the fit: neighbours, densities, scores; reading the .npy is not counted).
stray's runs alternate with each other, --repeats each after a warm-up, half
of them before scikit-learn's fits and half after; the table shows medians
(and minima), the speed-up scikit-learn / stray per thread count, the CPU
seconds of both sides (steadier than wall time on a busy machine), and how
far the two sides' scores differ.

    scripts/setup-python
    .venv/bin/python bench/lof_vs_sklearn.py --stray build/examples/stray

The dataset (default 100,000 x 16 float32 Gaussian blobs: 20 centres in a
+-10 box, standard deviation 2, seed 0) is written to --workdir once and
reused; --kind gauss draws one structureless standard Gaussian instead (the
hard case for any pruning), --data takes your own .npy. scikit-learn gets
the same float32 array. Its child's environment drops OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE (which can pin OpenBLAS to a slower kernel) and its
threadpoolctl report is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

SKLEARN_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import sklearn
    from sklearn.neighbors import LocalOutlierFactor
    from threadpoolctl import threadpool_info, threadpool_limits
    X = np.load(sys.argv[1])
    k = int(sys.argv[2])
    threads = [int(t) for t in sys.argv[3].split(",")]
    scores_out = sys.argv[4]
    out = {"sklearn": sklearn.__version__, "numpy": np.__version__, "runs": {}}
    for t in threads:
        with threadpool_limits(limits=t):
            LocalOutlierFactor(n_neighbors=k).fit(X[:2000])  # warm-up: pools, lazy imports
            lof = LocalOutlierFactor(n_neighbors=k)
            t0, c0 = time.perf_counter(), time.process_time()
            lof.fit(X)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            pools = [{p2: p.get(p2) for p2 in ("user_api", "internal_api", "num_threads",
                                                "version", "architecture")}
                     for p in threadpool_info()]
        out["runs"][str(t)] = {"seconds": seconds, "cpu_seconds": cpu, "algorithm": lof._fit_method,
                               "n_outliers": int((lof.negative_outlier_factor_ < lof.offset_).sum()),
                               "threadpools": pools}
    np.save(scores_out, lof.negative_outlier_factor_.astype(np.float64))
    print(json.dumps(out))
    """
)


def make_dataset(workdir: Path, kind: str, n: int, d: int, seed: int) -> Path:
    import numpy as np

    path = workdir / f"lof_{kind}_{n}x{d}_seed{seed}.npy"
    if path.exists():
        return path
    workdir.mkdir(parents=True, exist_ok=True)
    if kind == "blobs":
        from sklearn.datasets import make_blobs

        X, _ = make_blobs(n_samples=n, n_features=d, centers=20, cluster_std=2.0,
                          center_box=(-10, 10), random_state=seed)
    else:
        X = np.random.default_rng(seed).standard_normal((n, d))
    np.save(path, X.astype(np.float32))
    return path


def run_sklearn(x_path: Path, k: int, threads: list[int], scores: Path) -> dict:
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    out = subprocess.run([sys.executable, "-c", SKLEARN_CHILD, str(x_path), str(k),
                          ",".join(str(t) for t in threads), str(scores)],
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def stray_command(binary: str, x_path: Path, k: int, backend: str, scores: Path) -> list[str]:
    return [binary, "lof", "-i", str(x_path), "--neighbors", str(k), "--backend", backend,
            "--json", "--scores", str(scores)]


def run_stray(cmd: list[str], threads: int) -> dict:
    """One run; adds `cpu_seconds`, the process's user + system time (its
    whole life: reading the file too, a few hundredths of a second)."""
    import resource

    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stray", required=True, help="path of the stray binary")
    ap.add_argument("--data", help="X .npy (float32 [n x d]); default: generated")
    ap.add_argument("--kind", choices=("blobs", "gauss"), default="blobs")
    ap.add_argument("-n", "--samples", type=int, default=100_000)
    ap.add_argument("-d", "--features", type=int, default=16)
    ap.add_argument("-k", "--neighbors", type=int, default=20)
    ap.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    ap.add_argument("--repeats", type=int, default=3, help="stray runs per thread count")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="cpu", help="stray backend (cpu, cuda, auto)")
    ap.add_argument("--workdir", default=str(Path(__file__).resolve().parent / "out"))
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    import numpy as np

    threads = [int(t) for t in args.threads.split(",")]
    x_path = Path(args.data) if args.data else make_dataset(
        Path(args.workdir), args.kind, args.samples, args.features, args.seed)
    n, d = np.load(x_path, mmap_mode="r").shape
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory() as tmp:
        st_scores = Path(tmp) / "stray_scores.npy"
        sk_scores = Path(tmp) / "sklearn_scores.npy"
        cmd = stray_command(args.stray, x_path, args.neighbors, args.backend, st_scores)
        run_stray(cmd, threads[0])  # warm-up: page cache, CPU frequency
        st_runs: dict[int, list[dict]] = {t: [] for t in threads}
        # stray's runs fall before and after scikit-learn's, so a change in
        # the machine's load falls on both sides alike.
        for r in range((args.repeats + 1) // 2):
            for t in threads:
                st_runs[t].append(run_stray(cmd, t))
        sk = run_sklearn(x_path, args.neighbors, threads, sk_scores)
        for r in range(args.repeats // 2):
            for t in threads:
                st_runs[t].append(run_stray(cmd, t))
        ours, theirs = np.load(st_scores), np.load(sk_scores)
    rel = float(np.max(np.abs(ours - theirs) / np.abs(theirs)))

    print(f"LOF(n_neighbors={args.neighbors}) on {n} x {d} float32 ({x_path.name}); "
          f"stray: {args.repeats} runs per thread count after a warm-up, scikit-learn: one "
          f"timed fit per thread count after a warm-up fit")
    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs; load average before "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, after "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print("wall seconds of the fit, and CPU seconds (user + system) beside them: on a busy "
          "machine the CPU seconds are the steadier figure")
    print(f"{'threads':>8}{'sklearn s':>11}{'(cpu)':>9}{'stray median s':>16}{'min':>8}"
          f"{'(cpu)':>9}{'speed-up':>10}{'(cpu)':>8}")
    figures = {}
    for t in threads:
        sk_t, sk_cpu = sk["runs"][str(t)]["seconds"], sk["runs"][str(t)]["cpu_seconds"]
        times = [r["seconds"] for r in st_runs[t]]
        cpus = [r["cpu_seconds"] for r in st_runs[t]]
        med, cpu = statistics.median(times), statistics.median(cpus)
        figures[t] = {"sklearn": sk_t, "sklearn_cpu": sk_cpu, "stray": times, "stray_cpu": cpus,
                      "speedup": sk_t / med, "speedup_cpu": sk_cpu / cpu}
        print(f"{t:>8}{sk_t:>11.2f}{sk_cpu:>9.2f}{med:>16.2f}{min(times):>8.2f}{cpu:>9.2f}"
              f"{sk_t / med:>9.1f}x{sk_cpu / cpu:>7.1f}x")
    print()
    last = st_runs[threads[-1]][-1]
    print(f"scikit-learn {sk['sklearn']}: algorithm {sk['runs'][str(threads[0])]['algorithm']}, "
          f"{sk['runs'][str(threads[-1])]['n_outliers']} outliers at the auto offset; stray "
          f"{last['backend']} ({last['device']}): {last['n_outliers']} outliers")
    print(f"negative_outlier_factor, largest relative difference: {rel:.2e}")
    print("scikit-learn thread pools (threadpoolctl), per thread count:")
    for t in threads:
        for p in sk["runs"][str(t)]["threadpools"]:
            print(f"  {t}: {p['user_api']}/{p['internal_api']} {p.get('version') or ''} "
                  f"threads={p['num_threads']} arch={p.get('architecture') or '-'}")
    print(f"stray command: OMP_NUM_THREADS=<t> {' '.join(cmd)}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "n": int(n), "d": int(d), "k": args.neighbors, "data": str(x_path),
            "cpu": cpu_model(), "figures": figures, "sklearn": sk,
            "score_rel_diff": rel}, indent=2) + "\n")
    return 0 if rel < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
