#!/usr/bin/env python3
"""The real data folder's scikit-learn floors for its tabular sets, to more
digits than its README prints.

The README gives the floors to two decimals (mammography's k-means figure
reads 0.82); bench/quality.py compares stray with those rounded figures.
This script reruns the README's recipe with scikit-learn — standardised
columns, PCA to at most 50 components, KMeans(k = 10, n_init = 10)
distance to the own centre, and LocalOutlierFactor(20) on the PCA output —
over several k-means seeds, so a comparison within the rounding can be
read either way.

    .venv/bin/python bench/quality_floors.py [--data ../shared/realdata] [--seeds 3]
"""

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (beside this file: the data folder's default place)


def floors(npz: Path, seeds: int) -> tuple[list[float], float]:
    """ROC-AUC of the k-means distance (one per seed) and of LOF."""
    z = np.load(npz, allow_pickle=False)
    X = StandardScaler().fit_transform(z["X"])
    y = z["y"]
    reduced = PCA(n_components=min(50, X.shape[1]), random_state=0).fit_transform(X)
    kmeans = []
    for seed in range(seeds):
        km = KMeans(10, n_init=10, random_state=seed).fit(reduced)
        d = ((reduced - km.cluster_centers_[km.labels_]) ** 2).sum(axis=1)
        kmeans.append(roc_auc_score(y, d))
    with warnings.catch_warnings():  # duplicates: scikit-learn's own warning, not ours to fix
        warnings.simplefilter("ignore")
        lof = LocalOutlierFactor(20).fit(reduced)
    return kmeans, roc_auc_score(y, -lof.negative_outlier_factor_)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path,
                   default=Path(os.environ.get("STRAY_REALDATA", quality.DEFAULT_DATA)))
    p.add_argument("--seeds", type=int, default=3)
    a = p.parse_args()
    npzs = sorted((a.data / "tabular").glob("*.npz"), key=lambda q: int(q.stem.split("_")[0]))
    if not npzs:
        print(f"quality_floors: no tabular sets under {a.data}", file=sys.stderr)
        return 1
    print(f"{'set':14s} {'k-means (min-max over seeds)':>30s} {'LOF':>7s}")
    for npz in npzs:
        kmeans, lof = floors(npz, a.seeds)
        span = f"{min(kmeans):.4f}-{max(kmeans):.4f}"
        print(f"{npz.stem.split('_', 1)[1]:14s} {span:>30s} {lof:7.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
