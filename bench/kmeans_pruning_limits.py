#!/usr/bin/env python3
"""How many rows any bound can spare in Lloyd's early iterations.

For bench/kmeans_vs_sklearn.py's data and start (200,000 x 64 blobs,
k = 100), runs exact Lloyd iterations in float64 and reports, per
iteration, the share of rows whose label Hamerly's bounds cannot prove
(the bounds fresh from the last iteration's exact distances: the best case
for them), the share group bounds (Yinyang's, 7 groups of 16 centres
grouped by position, the fused kernel's panels) cannot prove, how many of
the 7 groups those rows would still compute, and the centres' shifts.
Where nearly every centre moves far, no bound spares a row: those passes
are full passes for any exact Lloyd.

    .venv/bin/python bench/kmeans_pruning_limits.py [--iterations 6]
"""
import argparse
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans

OUT = Path(__file__).resolve().parent / "out"


def balanced_groups(C, groups, size):
    """Centres into `groups` groups of at most `size` by nearness to k-means seeds."""
    seeds = KMeans(groups, n_init=1, random_state=0).fit(C).cluster_centers_
    d2 = ((C[:, None, :] - seeds[None]) ** 2).sum(-1)
    group = -np.ones(len(C), int)
    room = np.full(groups, size)
    for idx in np.argsort(d2, axis=None):
        j, g = divmod(int(idx), groups)
        if group[j] < 0 and room[g] > 0:
            group[j], room[g] = g, room[g] - 1
    return group


def distances(X, C):
    sq = (X ** 2).sum(1)[:, None] + (C ** 2).sum(1)[None] - 2 * X @ C.T
    return np.sqrt(np.maximum(sq, 0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=6)
    args = ap.parse_args()
    X = np.load(OUT / "blobs_200000x64_k100_seed0_X.npy").astype(np.float64)
    C = np.load(OUT / "blobs_200000x64_k100_seed0_C0.npy").astype(np.float64)
    k, G = len(C), 7
    group = balanced_groups(C, G, 16)
    rows = np.arange(len(X))
    D = distances(X, C)
    for it in range(2, args.iterations + 2):
        lab = D.argmin(1)
        u = D[rows, lab]
        others = D.copy()
        others[rows, lab] = np.inf
        lower = others.min(1)
        group_lower = np.stack([others[:, group == g].min(1) for g in range(G)], 1)
        Cn = np.stack([X[lab == j].mean(0) if (lab == j).any() else C[j] for j in range(k)])
        s = np.sqrt(((Cn - C) ** 2).sum(1))
        largest_other = np.where(lab == s.argmax(), np.sort(s)[-2], s.max())
        hamerly = u + s[lab] > lower - largest_other
        group_shift = np.array([s[group == g].max() for g in range(G)])
        open_groups = group_lower - group_shift[None] <= (u + s[lab])[:, None]
        yinyang = open_groups.any(1)
        per_row = open_groups[yinyang].sum(1).mean() if yinyang.any() else 0.0
        print(f"iteration {it}: Hamerly cannot prove {hamerly.mean():.3f}, group bounds "
              f"{yinyang.mean():.3f} ({per_row:.2f} of {G} groups each); centre shifts: "
              f"largest {s.max():.2f}, median {np.median(s):.2f}")
        C = Cn
        D = distances(X, C)


if __name__ == "__main__":
    main()
