"""Fleet-like sparse rows for the sparse benchmarks
(kmeans_sparse_vs_sklearn.py, lof_sparse_vs_sklearn.py).

Hosts of a number of roles over a number of columns: each role has its own
`role_width` columns (each present on a host with probability 0.9), and
each host `noise` random columns besides. "binary" makes the values 1 (an
installed package); "fractions" event counts (1 + Poisson(4)) as fractions
of the host's events, as process and system-call telemetry is normalised.
"""
from __future__ import annotations


def fleet_rows(rng, rows, features, roles, role_width, noise, values="binary"):
    """A scipy CSR matrix [rows x features] of float32, drawn from `rng`
    (numpy's Generator; the caller may go on drawing from it)."""
    import numpy as np
    import scipy.sparse as sp

    role = rng.integers(0, roles, rows)
    row_ids, cols = [], []
    for i in range(rows):
        base = role[i] * role_width
        present = np.flatnonzero(rng.random(role_width) < 0.9) + base
        scattered = rng.integers(0, features, noise)
        c = np.unique(np.concatenate([present, scattered]))
        row_ids.append(np.full(len(c), i))
        cols.append(c)
    row_ids, cols = np.concatenate(row_ids), np.concatenate(cols)
    if values == "binary":
        data = np.ones(len(row_ids))
    else:
        counts = 1.0 + rng.poisson(4.0, len(row_ids))
        data = counts / np.bincount(row_ids, weights=counts)[row_ids]
    return sp.csr_matrix((data.astype(np.float32), (row_ids, cols)), shape=(rows, features))
