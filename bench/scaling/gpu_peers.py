"""GPU peers: the dense ladder's steps written in PyTorch and in CuPy, on the
data the driver wrote, printed as the driver's CSV rows (backend "cuda").

Run by run.py once per dense size when the ladder includes the CUDA backend:

    python gpu_peers.py DATA THREADS COMPONENTS CLUSTERS ITERATIONS [DEVICE]

DATA: X.npy. THREADS only labels the rows (the GPU does the work). DEVICE
is "cuda" (default); "cpu" runs the same code on the host, which is how the
tests check it on machines without a GPU.

What each library runs is what a user of it would write for stray's steps,
the strong plain baseline the issue asks for:

  upload   the matrix to the device;
  pca      covariance PCA: column means, the centred product Xcᵀ·Xc in
           float32 (cuBLAS, TF32 off), the d × d eigenproblem in float64,
           the projection onto the top components;
  kmeans   Lloyd from the first k projected rows (as the driver starts):
           ‖z‖² − 2 z·c + ‖c‖² by one GEMM, argmin, sums by a scatter-add,
           an empty cluster keeps its centre; stops when no label changes or
           after ITERATIONS, as stray and scikit-learn do with tol = 0;
  scores   the nearest centre's distance per row on the device, then the
           95th percentile per cluster on the host (peers.percentile_flagged);
  pipeline the sum of the four.

Quality (explained variance ratio, inertia in float64, flagged rows) is
computed outside the timings. A library that is missing or sees no device
is left out with one line on stderr.
"""

import sys
import time

import numpy as np

from peers import Rows, percentile_flagged  # beside this file


class Lloyd:
    """Lloyd's iterations, written once over the few operations each library
    names its own way (the subclasses): nearest, centroid_sums, farthest_first."""

    def kmeans(self, Z, k, iters):
        C = Z[:k] * 1.0  # a copy, in either library
        z_sq = (Z * Z).sum(1)
        previous, done = None, 0
        for done in range(1, iters + 1):
            labels, dist = self.nearest(Z, C, z_sq)
            sums, counts = self.centroid_sums(Z, labels, k)
            if bool((counts == 0).any()):
                relocate(self.host, self.farthest_first(dist), labels, Z, sums, counts)
            C = sums / counts[:, None]
            if previous is not None and bool((labels == previous).all()):
                break
            previous = labels
        return C, done


class ArrayModule(Lloyd):
    """The steps in CuPy, or NumPy (the same API)."""

    def __init__(self, xp, name, sync, scatter_add):
        self.xp, self.name, self.sync, self.scatter_add = xp, name, sync, scatter_add

    def upload(self, X):
        return self.xp.asarray(X)

    def host(self, a):
        return a.get() if hasattr(a, "get") else np.asarray(a)

    def pca(self, X, c):
        xp = self.xp
        mean = X.mean(axis=0, dtype=xp.float64).astype(xp.float32)
        Xc = X - mean
        cov = (Xc.T @ Xc).astype(xp.float64) / (X.shape[0] - 1)
        values, vectors = xp.linalg.eigh(cov)  # ascending
        top = vectors[:, ::-1][:, :c].astype(xp.float32)
        ratio = values[::-1][:c] / values.sum()
        return Xc @ top, ratio

    def nearest(self, Z, C, z_sq):
        d2 = z_sq[:, None] - 2.0 * (Z @ C.T) + (C * C).sum(axis=1)[None, :]
        return d2.argmin(axis=1), self.xp.maximum(d2.min(axis=1), 0.0)

    def centroid_sums(self, Z, labels, k):
        sums = self.xp.zeros((k, Z.shape[1]), dtype=self.xp.float32)
        self.scatter_add(sums, labels, Z)
        return sums, self.xp.bincount(labels, minlength=k).astype(self.xp.float32)

    def farthest_first(self, dist):
        return self.xp.argsort(-dist)


class TorchModule(Lloyd):
    """The same steps in PyTorch."""

    def __init__(self, torch, device):
        self.torch, self.device, self.name = torch, device, "pytorch"
        torch.backends.cuda.matmul.allow_tf32 = False  # float32 products, as stray's

    def sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def upload(self, X):
        return self.torch.from_numpy(X).to(self.device)

    def host(self, a):
        return a.cpu().numpy()

    def pca(self, X, c):
        torch = self.torch
        mean = X.mean(dim=0, dtype=torch.float64).to(torch.float32)
        Xc = X - mean
        cov = (Xc.T @ Xc).to(torch.float64) / (X.shape[0] - 1)
        values, vectors = torch.linalg.eigh(cov)  # ascending
        top = vectors.flip(1)[:, :c].to(torch.float32)
        ratio = values.flip(0)[:c] / values.sum()
        return Xc @ top, ratio

    def nearest(self, Z, C, z_sq):
        d2 = torch_addmm(self.torch, z_sq, Z, C)
        values, labels = d2.min(dim=1)
        return labels, values.clamp_min(0.0)

    def centroid_sums(self, Z, labels, k):
        torch = self.torch
        sums = torch.zeros((k, Z.shape[1]), dtype=torch.float32, device=self.device)
        sums.index_add_(0, labels, Z)
        return sums, torch.bincount(labels, minlength=k).to(torch.float32)

    def farthest_first(self, dist):
        return self.torch.argsort(dist, descending=True)


def relocate(host, farthest, labels, Z, sums, counts):
    """scikit-learn's rule for empty clusters: each takes, in turn, the row
    farthest from its centre, which leaves its old cluster (rare; on the host
    side of the loop, a few rows)."""
    empty = [int(e) for e in host(counts == 0).nonzero()[0]]
    for e, i in zip(empty, host(farthest[: len(empty)]).tolist()):
        donor = int(labels[i])
        sums[donor] -= Z[i]
        counts[donor] -= 1
        sums[e] = Z[i]
        counts[e] = 1
        labels[i] = e


def torch_addmm(torch, z_sq, Z, C):
    """‖z‖² − 2 z·c + ‖c‖² for every row and centre, the product by one GEMM."""
    return torch.addmm((C * C).sum(dim=1)[None, :] + z_sq[:, None], Z, C.T, alpha=-2.0)


def modules(device):
    """The libraries that can run here, and why the others cannot."""
    found, missing = [], []
    try:
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            missing.append("PyTorch sees no CUDA device")
        else:
            found.append(TorchModule(torch, torch.device(device)))
    except ImportError:
        missing.append("PyTorch is not installed")
    if device == "cpu":
        found.append(ArrayModule(np, "cupy", lambda: None, np.add.at))  # NumPy stands in
        return found, missing
    try:
        import cupy
        import cupyx

        cupy.cuda.runtime.getDeviceCount()
        found.append(ArrayModule(cupy, "cupy", cupy.cuda.Device().synchronize, cupyx.scatter_add))
    except ImportError:
        missing.append("CuPy is not installed")
    except Exception as e:  # no driver or no device: CuPy's own error types
        missing.append(f"CuPy sees no device ({type(e).__name__})")
    return found, missing


def device_name(device):
    if device != "cuda":
        return "host (test run)"
    try:
        import torch

        return torch.cuda.get_device_name(0)
    except Exception:
        return "cuda"


def clock(m, fn):
    """fn() and its seconds, the device synchronised before the clock stops."""
    start = time.perf_counter()
    result = fn()
    m.sync()
    return result, time.perf_counter() - start


def run(rows, m, X, c, k, iters):
    n, d = X.shape
    nan = float("nan")  # host peak memory says nothing of the device's
    dX, t_up = clock(m, lambda: m.upload(X))
    rows.print(m.name, "upload", t_up, n * d * 4.0, "GB/s")
    (Z, ratio), t_pca = clock(m, lambda: m.pca(dX, c))
    rows.print(m.name, "pca", t_pca, n * d * (d + 1.0) + 2.0 * n * d * c, "GFLOP/s", nan,
               "explained_variance_ratio", float(m.host(ratio).sum()))
    del dX
    (C, n_iter), t_km = clock(m, lambda: m.kmeans(Z, k, iters))
    rows.print(m.name, "kmeans", t_km, 2.0 * n * k * c * n_iter, "GFLOP/s", nan,
               "inertia", inertia(m, Z, C), n_iter)

    def scores():
        labels, dist = m.nearest(Z, C, (Z * Z).sum(1))
        return percentile_flagged(m.host(labels), m.host(dist), k)

    flagged, t_sc = clock(m, scores)
    rows.print(m.name, "scores", t_sc, 2.0 * n * k * c, "GFLOP/s", nan, "flagged", flagged)
    rows.print(m.name, "pipeline", t_up + t_pca + t_km + t_sc)


def inertia(m, Z, C, block=65536):
    """Σ ‖z − c(z)‖² in float64 on the host, outside every timing, by blocks of rows."""
    Ch = m.host(C).astype(np.float64)
    c_sq = (Ch * Ch).sum(1)[None, :]
    total = 0.0
    for start in range(0, Z.shape[0], block):
        Zh = m.host(Z[start : start + block]).astype(np.float64)
        d2 = (Zh * Zh).sum(1)[:, None] - 2.0 * Zh @ Ch.T + c_sq
        total += float(np.maximum(d2.min(axis=1), 0.0).sum())
    return total


def main(argv):
    if len(argv) not in (6, 7):
        sys.exit(__doc__)
    path, threads, c, k, iters = argv[1], int(argv[2]), *map(int, argv[3:6])
    device = argv[6] if len(argv) == 7 else "cuda"
    X = np.ascontiguousarray(np.load(path), dtype=np.float32)
    found, missing = modules(device)
    for why in missing:
        print(f"gpu peers: {why}; left out", file=sys.stderr)
    for m in found:
        rows = Rows("dense", X.shape, threads)
        rows.base.update(backend="cuda", device=device_name(device))
        run(rows, m, X, c, k, iters)


if __name__ == "__main__":
    main(sys.argv)
