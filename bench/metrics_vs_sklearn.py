#!/usr/bin/env python3
"""Times the peers of bench/bench_metrics.cpp: scikit-learn's label scores on
10,000,000 labels and scipy's linear_sum_assignment on 2000 x 2000 matrices.

    .venv/bin/python bench/metrics_vs_sklearn.py

The label scores are called one after the other, as a user would (each call
builds its own contingency table). None of these functions uses threads
(numpy's unique and bincount, a serial Cython loop for the expected mutual
information, scipy's serial C++ solver), so one run at one thread stands
for both thread counts. Results: bench/RESULTS.md.
"""
import time

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import metrics
from threadpoolctl import threadpool_limits


def all_scores(t, p):
    return (metrics.rand_score(t, p), metrics.adjusted_rand_score(t, p),
            metrics.mutual_info_score(t, p), metrics.normalized_mutual_info_score(t, p),
            metrics.adjusted_mutual_info_score(t, p),
            metrics.homogeneity_completeness_v_measure(t, p))


def main():
    rng = np.random.default_rng(0)
    n = 10_000_000
    cases = {"0 (20 vs 30 uniform)": (rng.integers(0, 20, n), rng.integers(0, 30, n))}
    a = rng.integers(0, 2, n)
    cases["1 (2 vs 2)"] = (a, (a + (rng.integers(0, 5, n) == 0)) % 2)
    with threadpool_limits(1):
        for name, (t, p) in cases.items():
            start = time.perf_counter()
            all_scores(t, p)
            print(f"sklearn all scores, case {name}: {time.perf_counter() - start:.2f} s", flush=True)
        for kind in ("float", "int"):
            c = (rng.random((2000, 2000)) if kind == "float"
                 else rng.integers(0, 1000, (2000, 2000)).astype(float))
            best = np.inf
            for _ in range(3):
                start = time.perf_counter()
                linear_sum_assignment(c)
                best = min(best, time.perf_counter() - start)
            print(f"scipy linear_sum_assignment 2000x2000 {kind}: {best * 1000:.0f} ms (best of 3)",
                  flush=True)


if __name__ == "__main__":
    main()
