#!/usr/bin/env python3
"""Agglomerative clustering speed: stray's CLI against scikit-learn, same data.

Both build the full merge tree and cut it into k clusters: scikit-learn's
AgglomerativeClustering(n_clusters=k, linkage=...).fit(X) is timed around
the call; stray reports `seconds` in its --json output (the fit alone;
reading the .npy is not in it). Each side runs on one thread and on two:
scikit-learn in a subprocess under threadpoolctl's threadpool_limits (the
OpenMP and BLAS pools), stray with --threads. The labels of both are
compared (adjusted Rand index; 1.0 = the same partition). CPU seconds are
reported beside wall time (scikit-learn: the fit's process time; stray: its
whole process), since on a shared machine wall time carries others' load.

    scripts/setup-python
    .venv/bin/python bench/agglomerative_vs_sklearn.py --stray build/examples/stray

Defaults: ward on 20,000 x 16 float32 Gaussian blobs (k = 20, seed 0), and
complete, average and single linkage on the first 10,000 of those rows
(--small-n). scikit-learn's ward takes over half a minute per run at 20,000
rows, so it runs --sk-repeats times (default 1) and stray --repeats times
(default 3); the table shows medians and minima. scikit-learn's process
fits a 200-row slice first, so imports and thread pools are warm before the
timed fit.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

SKLEARN_CHILD = textwrap.dedent(
    """
    import json, sys, time, warnings
    import numpy as np
    import sklearn
    from sklearn.cluster import AgglomerativeClustering
    from threadpoolctl import threadpool_limits, threadpool_info
    X = np.load(sys.argv[1])[: int(sys.argv[2])]
    linkage, k, threads, labels_out = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    with threadpool_limits(limits=threads):
        AgglomerativeClustering(n_clusters=k, linkage=linkage).fit(X[:200])  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        m = AgglomerativeClustering(n_clusters=k, linkage=linkage).fit(X)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        pools = [{key: p.get(key) for key in ("user_api", "internal_api", "num_threads")}
                 for p in threadpool_info()]
    np.save(labels_out, m.labels_.astype(np.int32))
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "sklearn": sklearn.__version__,
                      "threadpools": pools}))
    """
)


def make_dataset(workdir: Path, n: int, d: int, k: int, seed: int) -> Path:
    import numpy as np
    from sklearn.datasets import make_blobs

    path = workdir / f"agglo_blobs_{n}x{d}_k{k}_seed{seed}.npy"
    if path.exists():
        return path
    workdir.mkdir(parents=True, exist_ok=True)
    X, _ = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=2.0,
                      center_box=(-10, 10), random_state=seed)
    np.save(path, X.astype(np.float32))
    return path


def slice_rows(path: Path, n: int) -> Path:
    import numpy as np

    out = path.with_name(f"{path.stem}_first{n}.npy")
    if not out.exists():
        np.save(out, np.load(path)[:n])
    return out


def run_sklearn(x_path, n, linkage, k, threads, labels_out):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    out = subprocess.run([sys.executable, "-c", SKLEARN_CHILD, str(x_path), str(n), linkage,
                          str(k), str(threads), str(labels_out)],
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def stray_command(binary, x_path, linkage, k, threads, labels_out):
    return [str(binary), "agglomerative", "-i", str(x_path), "-k", str(k), "--linkage", linkage,
            "--threads", str(threads), "--labels", str(labels_out), "--json"]


def run_stray(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    # The whole process's CPU time (reading the input too: a few ms).
    r["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r


def ari(a_path, b_path):
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(np.load(a_path), np.load(b_path)))


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
    ap.add_argument("-n", "--samples", type=int, default=20_000, help="rows for ward")
    ap.add_argument("--small-n", type=int, default=10_000,
                    help="rows for complete, average and single (0: skip them)")
    ap.add_argument("-d", "--features", type=int, default=16)
    ap.add_argument("-k", "--clusters", type=int, default=20)
    ap.add_argument("--linkages", default="ward,complete,average,single")
    ap.add_argument("--threads", default="1,2", help="thread counts, both sides")
    ap.add_argument("--repeats", type=int, default=3, help="stray runs per setting")
    ap.add_argument("--sk-repeats", type=int, default=1, help="scikit-learn runs per setting")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=str(Path(__file__).resolve().parent / "out"))
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    workdir = Path(args.workdir)
    full = make_dataset(workdir, args.samples, args.features, args.clusters, args.seed)
    threads = [int(t) for t in args.threads.split(",")]
    rows = []
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for linkage in args.linkages.split(","):
        n = args.samples if linkage == "ward" else args.small_n
        if n <= 0:
            continue
        x_path = full if n == args.samples else slice_rows(full, n)
        for t in threads:
            sk_labels = workdir / f"sk_labels_{linkage}_{t}.npy"
            st_labels = workdir / f"stray_labels_{linkage}_{t}.npy"
            cmd = stray_command(args.stray, x_path, linkage, args.clusters, t, st_labels)
            run_stray(cmd)  # warm-up: page cache, CPU frequency
            # Alternate the two, so load from anything else on the machine
            # falls on both alike.
            st, sk = [], []
            for r in range(max(args.repeats, args.sk_repeats)):
                if r < args.sk_repeats:
                    sk.append(run_sklearn(x_path, n, linkage, args.clusters, t, sk_labels))
                if r < args.repeats:
                    st.append(run_stray(cmd))
            row = {"linkage": linkage, "n": n, "d": args.features, "k": args.clusters,
                   "threads": t, "sklearn_times": [r["seconds"] for r in sk],
                   "stray_times": [float(r["seconds"]) for r in st],
                   "sklearn_cpu": [r["cpu_seconds"] for r in sk],
                   "stray_cpu": [r["cpu_seconds"] for r in st],
                   "sklearn_version": sk[-1]["sklearn"],
                   "sklearn_threadpools": sk[-1]["threadpools"],
                   "ari": ari(sk_labels, st_labels), "command": " ".join(map(str, cmd))}
            row["speedup"] = (statistics.median(row["sklearn_times"]) /
                              statistics.median(row["stray_times"]))
            rows.append(row)
            print(f"{linkage:>8} n={n:>6} threads={t}: sklearn {statistics.median(row['sklearn_times']):8.3f} s"
                  f" (min {min(row['sklearn_times']):.3f}), stray {statistics.median(row['stray_times']):7.3f} s"
                  f" (min {min(row['stray_times']):.3f}), {row['speedup']:6.1f}x, ARI {row['ari']:.6f};"
                  f" CPU s: sklearn {statistics.median(row['sklearn_cpu']):.3f},"
                  f" stray {statistics.median(row['stray_cpu']):.3f}",
                  flush=True)
    if args.json:
        doc = {"cpu": cpu_model(), "python": platform.python_version(),
               "sklearn": rows[0]["sklearn_version"] if rows else None,
               "rows": rows}
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
