#!/usr/bin/env python3
"""The GPU check's k-means and PCA tables, and the CPU-vs-CUDA agreement.

scripts/gpu-check writes one JSON object per run (`stray kmeans --json`,
on dense or sparse rows, and `stray pca --json`) and, for k-means, each
run's labels beside it. This
prints a compact table per step and exits 1 when another backend disagrees
with the CPU on the same data beyond what the arithmetic allows:

  k-means  adjusted Rand index of the labels >= 0.999 (the backends round
           differently, so a float32 near-tie may flip a few rows), inertia
           within 1e-4 relative;
  PCA      each explained-variance ratio within 1e-5 (absolute).

Usage: gpu_check_tables.py kmeans RESULTS.jsonl LABELS_DIR
       gpu_check_tables.py pca RESULTS.jsonl
Only numpy is needed.
"""

import json
import sys
from pathlib import Path

import numpy as np

USAGE = "usage: gpu_check_tables.py kmeans RESULTS.jsonl LABELS_DIR | pca RESULTS.jsonl"
MIN_ARI = 0.999
INERTIA_RTOL = 1e-4
RATIO_ATOL = 1e-5


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """The adjusted Rand index (Hubert and Arabie), from the contingency table."""
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in length: {a.shape} and {b.shape}")
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.int64)
    np.add.at(table, (ai, bi), 1)
    pairs = lambda x: (x * (x - 1) // 2).sum(dtype=np.float64)  # noqa: E731
    both, rows, cols = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / pairs(np.array([a.size]))
    top = (rows + cols) / 2
    return 1.0 if top == expected else float((both - expected) / (top - expected))


def labels_path(folder: Path, row: dict) -> Path:
    """Where gpu-check writes a k-means run's labels (the same rule in bash):
    a run on sparse rows (`"input": "csr"`) is named apart."""
    csr = "csr-" if row.get("input") == "csr" else ""
    return folder / (f"labels-{row['backend']}-{csr}{row['n_samples']}x{row['n_features']}"
                     f"-k{row['n_clusters']}.npy")


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in open(path) if line.strip()]


def kmeans_table(rows: list[dict], folder: Path) -> list[str]:
    """Prints the k-means table; returns the disagreements found."""
    key = lambda r: (r["n_samples"], r["n_features"], r["n_clusters"],  # noqa: E731
                     r.get("input", "dense"))
    cpu = {key(r): r for r in rows if r.get("backend") == "cpu" and "error" not in r}
    problems = []
    print(f"{'backend':<7} {'rows':<5} {'n':>9} {'d':>5} {'k':>4} {'seconds':>9} {'iters':>5} "
          f"{'inertia':>13} {'ARI truth':>9} {'vs cpu':>7} {'ARI cpu':>8} {'d inertia':>9}  device")
    for r in rows:
        n, d, k, rows_kind = key(r)
        if "error" in r:
            print(f"{r['backend']:<7} {rows_kind:<5} {n:>9} {d:>5} {k:>4}  {r['error']}")
            continue
        ref = cpu.get(key(r))
        speed, ari_cpu, rel = "-", "-", "-"
        if ref is not None and r is not ref:
            speed = f"{ref['seconds'] / r['seconds']:.1f}x" if r["seconds"] > 0 else "-"
            rel_value = abs(r["inertia"] - ref["inertia"]) / max(abs(ref["inertia"]), 1e-300)
            rel = f"{rel_value:.1e}"
            mine, theirs = labels_path(folder, r), labels_path(folder, ref)
            if mine.is_file() and theirs.is_file():
                ari_value = adjusted_rand(np.load(mine), np.load(theirs))
                ari_cpu = f"{ari_value:.5f}"
                if ari_value < MIN_ARI:
                    problems.append(f"k-means {r['backend']} {rows_kind} {n}x{d} k={k}: ARI "
                                    f"against the CPU {ari_value:.5f} < {MIN_ARI}")
            else:
                problems.append(f"k-means {r['backend']} {rows_kind} {n}x{d} k={k}: labels missing")
            if rel_value > INERTIA_RTOL:
                problems.append(f"k-means {r['backend']} {rows_kind} {n}x{d} k={k}: inertia "
                                f"{rel_value:.2e} from the CPU's (> {INERTIA_RTOL})")
        truth = r.get("adjusted_rand_index")
        truth = "-" if truth is None else f"{truth:.4f}"
        print(f"{r['backend']:<7} {rows_kind:<5} {n:>9} {d:>5} {k:>4} {r['seconds']:>9.3f} "
              f"{r['n_iter']:>5} {r['inertia']:>13.6g} {truth:>9} {speed:>7} {ari_cpu:>8} "
              f"{rel:>9}  {r.get('device', '')}")
    return problems


def pca_table(rows: list[dict]) -> list[str]:
    """Prints the PCA table; returns the disagreements found."""
    key = lambda r: (r.get("n_samples"), r.get("n_features"), r["solver"])  # noqa: E731
    cpu = {key(r): r for r in rows if r.get("backend") == "cpu"}
    problems = []
    print(f"{'PCA':<7} {'solver':<10} {'n':>9} {'d':>4} {'c':>3} {'seconds':>8} {'ratio sum':>9} "
          f"{'vs cpu':>7} {'max d ratio':>11}")
    for r in rows:
        ref = cpu.get(key(r))
        speed, worst = "-", "-"
        if ref is not None and r is not ref:
            speed = f"{ref['seconds'] / r['seconds']:.1f}x" if r["seconds"] > 0 else "-"
            mine = np.asarray(r["explained_variance_ratio"], dtype=np.float64)
            theirs = np.asarray(ref["explained_variance_ratio"], dtype=np.float64)
            if mine.shape != theirs.shape:
                problems.append(f"PCA {r['backend']} {r['solver']}: {mine.size} ratios, "
                                f"the CPU {theirs.size}")
            else:
                gap = float(np.max(np.abs(mine - theirs))) if mine.size else 0.0
                worst = f"{gap:.1e}"
                if gap > RATIO_ATOL:
                    problems.append(f"PCA {r['backend']} {r['solver']} {key(r)[0]}x{key(r)[1]}: "
                                    f"a ratio {gap:.2e} from the CPU's (> {RATIO_ATOL})")
        print(f"{r['backend']:<7} {r['solver']:<10} {key(r)[0]!s:>9} {key(r)[1]!s:>4} "
              f"{r['n_components']:>3} {r['seconds']:>8.3f} "
              f"{sum(r['explained_variance_ratio']):>9.6f} {speed:>7} {worst:>11}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("kmeans", "pca") or (argv[0] == "kmeans" and len(argv) < 3):
        print(USAGE, file=sys.stderr)
        return 2
    rows = read_rows(Path(argv[1]))
    problems = kmeans_table(rows, Path(argv[2])) if argv[0] == "kmeans" else pca_table(rows)
    for p in problems:
        print(f"disagreement: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
