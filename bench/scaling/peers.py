"""The peers' steps on the data the driver wrote, printed as the driver's CSV rows.

Run by run.py in a process of its own per thread count (the thread pools
are sized before numpy, scikit-learn and faiss load):

    python peers.py DATA KIND THREADS COMPONENTS CLUSTERS ITERATIONS LOF_MAX_ROWS

DATA: X.npy (dense) or X.npz (CSR).

scikit-learn: PCA (covariance_eigh, stray's covariance solver; on the
sparse fleet also TruncatedSVD, the usual sparse choice), KMeans (Lloyd,
n_init=1, tol=0; on the dense ladder from the first k projected rows, as
stray starts there; on the fleet by k-means++, as stray's pipeline), the
same scores (distance to the nearest centre, the 95th percentile per
cluster) and, on the dense ladder, LocalOutlierFactor (20 neighbours) up
to LOF_MAX_ROWS.
faiss-cpu: k-means on scikit-learn's projection from the same start (random
rows on the fleet: faiss has no k-means++), every point used (faiss
subsamples to 256 per centroid by default).
"""

import csv
import sys
import time

from report import FIELDS  # beside this file: the driver's CSV columns


def reset_peak_memory():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # the peak is then the process's since its start


def peak_memory_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Rows:
    def __init__(self, kind, shape, threads):
        self.base = {
            "kind": kind,
            "rows": shape[0],
            "cols": shape[1],
            "backend": "cpu",
            "threads": threads,
            "device": f"{threads} thread" + ("s" if threads > 1 else ""),
        }
        self.writer = csv.DictWriter(sys.stdout, FIELDS)

    def timed(self, tool, step, fn, quality, work=0.0, unit=""):
        """Times fn(), then prints its row with quality(result) = (name, value[, iterations]),
        which runs outside the timing."""
        reset_peak_memory()
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        peak = peak_memory_mib()
        q = quality(result)
        self.print(tool, step, seconds, work, unit, peak, *q)
        return result, seconds

    def print(
        self,
        tool,
        step,
        seconds,
        work=0.0,
        unit="",
        peak=float("nan"),
        quality_name="",
        quality=0.0,
        iterations="",
    ):
        rate = f"{work / seconds / 1e9:.6g}" if work and seconds > 0 else ""
        self.writer.writerow(
            dict(
                self.base,
                tool=tool,
                step=step,
                seconds=f"{seconds:.6f}",
                rate=rate,
                unit=unit,
                peak_mib="" if peak != peak else f"{peak:.1f}",
                quality_name=quality_name,
                quality=f"{quality:.10g}",
                iterations=iterations,
            )
        )
        sys.stdout.flush()


def load(path):
    import numpy as np

    if path.endswith(".npz"):
        import scipy.sparse as sp

        z = np.load(path)
        return sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
    return np.load(path)


def percentile_flagged(labels, distances, k):
    """The 95th-percentile rule per cluster, as stray's find_outliers applies it."""
    import numpy as np

    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    flagged = 0
    for c in range(k):
        members = distances[order[bounds[c] : bounds[c + 1]]]
        if len(members):
            flagged += int((members > np.percentile(members, 95)).sum())
    return flagged


def sklearn_steps(rows, X, kind, c, k, iters, lof_max):
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA, TruncatedSVD
    from sklearn.metrics import pairwise_distances_argmin_min
    from sklearn.neighbors import LocalOutlierFactor

    n, d = X.shape
    tool = "scikit-learn"

    def pca():
        p = PCA(c, svd_solver="covariance_eigh")
        return p, p.fit_transform(X).astype(np.float32)

    (p, Z), t_pca = rows.timed(
        tool,
        "pca",
        pca,
        lambda r: ("explained_variance_ratio", r[0].explained_variance_ratio_.sum()),
        n * d * (d + 1) + 2 * n * d * c,
        "GFLOP/s",
    )
    if kind == "fleet":
        rows.timed(
            tool,
            "truncated_svd",
            lambda: TruncatedSVD(c, random_state=0).fit(X),
            lambda s: ("explained_variance_ratio", s.explained_variance_ratio_.sum()),
        )

    # The dense ladder starts every tool from the first k rows; the fleet's
    # pipeline runs its own k-means++, so scikit-learn does too there.
    init = "k-means++" if kind == "fleet" else Z[:k]
    km, t_km = rows.timed(
        tool,
        "kmeans",
        lambda: KMeans(
            k, init=init, n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd", random_state=0
        ).fit(Z),
        lambda km: ("inertia", km.inertia_, km.n_iter_),
        2 * n * k * c * iters,
        "GFLOP/s",
    )

    def scores():
        labels, dist = pairwise_distances_argmin_min(Z, km.cluster_centers_)
        return percentile_flagged(labels, dist, k)

    _, t_sc = rows.timed(tool, "scores", scores, lambda f: ("flagged", f), 2 * n * k * c, "GFLOP/s")
    rows.print(tool, "pipeline", t_pca + t_km + t_sc)
    if kind == "dense" and n <= lof_max:  # stray's fleet pipeline runs no LOF
        rows.timed(
            tool,
            "lof",
            lambda: LocalOutlierFactor(n_neighbors=20).fit(Z),
            lambda m: ("flagged", (m.negative_outlier_factor_ < -1.5).sum()),
            2.0 * n * n * c,
            "GFLOP/s",
        )
    return Z


def faiss_steps(rows, Z, kind, k, iters):
    import faiss
    import numpy as np

    n, c = Z.shape

    def kmeans():
        km = faiss.Kmeans(
            c, k, niter=iters, seed=0, max_points_per_centroid=n // k + 1, min_points_per_centroid=1
        )
        # faiss has no k-means++: on the fleet it starts from k random rows.
        km.train(Z, init_centroids=None if kind == "fleet" else np.ascontiguousarray(Z[:k]))
        return km

    def inertia(km):
        dist, _ = km.index.search(Z, 1)
        return "inertia", dist.astype(np.float64).sum(), iters

    rows.timed("faiss", "kmeans", kmeans, inertia, 2 * n * k * c * iters, "GFLOP/s")


def main(argv):
    path, kind, threads, c, k, iters, lof_max = argv[1], argv[2], int(argv[3]), *map(int, argv[4:])
    import numpy as np

    X = load(path)
    rows = Rows(kind, X.shape, threads)
    Z = sklearn_steps(rows, X, kind, c, k, iters, lof_max)
    del X
    try:
        import faiss  # noqa: F401
    except ImportError:  # a GPU machine without it: the other peers still count
        print("peers: faiss-cpu is not installed; its k-means is left out", file=sys.stderr)
        return
    faiss_steps(rows, np.ascontiguousarray(Z, dtype=np.float32), kind, k, iters)


if __name__ == "__main__":
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    main(sys.argv)
