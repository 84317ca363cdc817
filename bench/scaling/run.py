"""The fleet-size scaling ladder (bench/scaling/README.md).

For each kind (dense blobs, the synthetic fleet) and fleet size, runs the
driver (build/bench/fleet_scaling) per backend and thread count, each in a
process of its own, then the peers (peers.py: scikit-learn, faiss-cpu) on
the data the driver wrote, per thread count, and with the CUDA backend the
GPU peers (gpu_peers.py: PyTorch, CuPy) on the dense data; the backends'
ceilings once
each. Writes OUT/scaling.csv (every row), OUT/scaling.svg (time against
fleet size, log-log) and OUT/summary.md (tables, slopes, share of the
ceilings, stray's figures on every backend and thread count against the
CPU's), and prints the summary. Exits 1 when a process failed or a figure
disagrees (report.TOLERANCE; on the CPU, any difference between thread
counts).

    python run.py --driver build/bench/fleet_scaling --out bench/out/scaling
        [--sizes 10000,100000,1000000] [--kinds dense,fleet] [--backends cpu]
        [--threads 1,2] [--cols 256] [--components 32] [--dense-clusters 100]
        [--fleet-clusters 10] [--iterations 20] [--lof-max-rows 100000]
        [--no-peers] [--timeout 1800]
"""

import argparse
import csv
import io
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402  (beside this file)

HERE = Path(__file__).resolve().parent


def parse_args(argv):
    ints = lambda text: [int(v) for v in text.split(",") if v]  # noqa: E731
    names = lambda text: [v for v in text.split(",") if v]  # noqa: E731
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--driver", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--sizes", type=ints, default=[10000, 100000, 1000000])
    p.add_argument("--kinds", type=names, default=["dense", "fleet"])
    p.add_argument("--backends", type=names, default=["cpu"])
    p.add_argument("--threads", type=ints, default=[1, os.cpu_count() or 1])
    p.add_argument("--cols", type=int, default=256)
    p.add_argument("--components", type=int, default=32)
    p.add_argument("--dense-clusters", type=int, default=100)
    p.add_argument("--fleet-clusters", type=int, default=10)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--lof-max-rows", type=int, default=100000)
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per process")
    a = p.parse_args(argv)
    a.threads = sorted(set(a.threads))
    for kind in a.kinds:
        if kind not in ("dense", "fleet"):
            p.error(f"unknown kind '{kind}' (dense, fleet)")
    if not a.driver.is_file():
        p.error(
            f"{a.driver} not found (build with scripts/build; the driver is build/bench/fleet_scaling)"
        )
    return a


class Ladder:
    def __init__(self, args):
        self.args = args
        self.rows = []
        self.failures = []
        self.log = open(args.out / "scaling.log", "w")

    def run(self, label, command, threads):
        env = dict(
            os.environ,
            OMP_NUM_THREADS=str(threads),
            OPENBLAS_NUM_THREADS=str(threads),
            MKL_NUM_THREADS=str(threads),
        )
        start = time.time()
        print(f"  {label} ...", end="", flush=True)
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=self.args.timeout
            )
            ok, out, err = done.returncode == 0, done.stdout, done.stderr
            why = f"exit {done.returncode}"
        except subprocess.TimeoutExpired as e:
            ok, out, err, why = False, e.stdout or "", e.stderr or "", f"over {self.args.timeout} s"
            out = out.decode() if isinstance(out, bytes) else out
            err = err.decode() if isinstance(err, bytes) else err
        self.log.write(f"$ {' '.join(map(str, command))}\n{out}{err}\n")
        self.log.flush()
        lines = [line for line in out.splitlines() if line and not line.startswith("kind,")]
        self.rows += list(csv.DictReader(io.StringIO("\n".join(lines)), report.FIELDS))
        print(
            f" {time.time() - start:.1f} s"
            + ("" if ok else f" FAILED ({why}): {err.strip()[-300:]}")
        )
        if not ok:
            self.failures.append(label)

    def driver(self, kind, rows, backend, threads, extra):
        a = self.args
        command = [
            str(a.driver),
            kind,
            "--rows",
            str(rows),
            "--backend",
            backend,
            "--threads",
            str(threads),
            "--components",
            str(a.components),
            "--iterations",
            str(a.iterations),
            "--lof-max-rows",
            str(a.lof_max_rows),
            "--no-header",
            *extra,
        ]
        self.run(f"stray {kind} {rows} {backend} {threads}t", command, threads)

    def size(self, kind, n, data):
        a = self.args
        k = a.dense_clusters if kind == "dense" else a.fleet_clusters
        extra = ["--clusters", str(k)] + (["--cols", str(a.cols)] if kind == "dense" else [])
        first = True
        for backend in a.backends:
            for threads in a.threads if backend == "cpu" else a.threads[-1:]:
                write = ["--write-data", str(data)] if first and not a.no_peers else []
                self.driver(kind, n, backend, threads, extra + write)
                first = False
        if a.no_peers:
            return
        path = data / ("X.npy" if kind == "dense" else "X.npz")
        for threads in a.threads:
            command = [
                sys.executable,
                str(HERE / "peers.py"),
                str(path),
                kind,
                str(threads),
                str(a.components),
                str(k),
                str(a.iterations),
                str(a.lof_max_rows),
            ]
            self.run(f"peers {kind} {n} {threads}t", command, threads)
        if kind == "dense" and "cuda" in a.backends:
            # PyTorch and CuPy on the GPU, where the machine's Python has them.
            command = [sys.executable, str(HERE / "gpu_peers.py"), str(path), str(a.threads[-1]),
                       str(a.components), str(k), str(a.iterations)]
            self.run(f"GPU peers {kind} {n}", command, a.threads[-1])


def peers_missing():
    """Why the peers cannot run in this Python ("" when they can)."""
    try:
        import numpy  # noqa: F401
        import scipy  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as e:
        return f"{e.name} is not installed in {sys.executable}"
    return ""


def machine_line():
    model = platform.processor()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = (
        " ".join(open("/proc/loadavg").read().split()[:3])
        if Path("/proc/loadavg").exists()
        else "?"
    )
    versions = []
    for name in ("sklearn", "faiss", "numpy", "scipy"):
        try:
            versions.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            pass
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, {model}; "
        f"load average at the start {load}; Python {platform.python_version()}, {', '.join(versions)}"
    )


def main(argv):
    a = parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    missing = "" if a.no_peers else peers_missing()
    if missing:  # stray's own rows still count; say why the peers' are absent
        print(f"peers left out: {missing} (scripts/setup-python makes .venv with them)")
        a.no_peers = True
    machine = machine_line()
    print(machine)
    ladder = Ladder(a)
    for backend in a.backends:
        for threads in a.threads if backend == "cpu" else a.threads[-1:]:
            ladder.driver("ceilings", 2, backend, threads, [])
    for kind in a.kinds:
        for n in a.sizes:
            data = a.out / "data" / f"{kind}-{n}"
            data.mkdir(parents=True, exist_ok=True)
            ladder.size(kind, n, data)
            shutil.rmtree(data, ignore_errors=True)  # up to a few GB each
    report.write_csv(a.out / "scaling.csv", ladder.rows)
    summary = report.summary(ladder.rows, machine, " ".join(sys.argv))
    (a.out / "summary.md").write_text(summary)
    (a.out / "scaling.svg").write_text(report.svg(ladder.rows))
    print(summary)
    print(
        f"written: {a.out / 'scaling.csv'}, {a.out / 'scaling.svg'}, {a.out / 'summary.md'}, "
        f"{a.out / 'scaling.log'}"
    )
    disagree = [
        f"{kind} {n} {step} {name}"
        for kind, n, step, name, _, _, ok in report.agreement(ladder.rows)
        if not ok
    ]
    if disagree:
        print(f"DISAGREE with the CPU: {', '.join(disagree)}", file=sys.stderr)
        ladder.failures += disagree
    if ladder.failures:
        print(f"FAILED: {', '.join(ladder.failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
