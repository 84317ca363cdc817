"""Input conversion shared by the estimators.

The library reads float32 rows in place: a C-contiguous float32 array goes
to it without a copy, anything else is converted once (as scikit-learn's
check_array converts), and a scipy.sparse matrix becomes CSR with int64
row pointers, int32 column indices and float32 values.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from . import _core

BACKENDS = ("auto", "cpu", "cuda")


def check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


def float32_rows(estimator, X, *, reset, accept_sparse=False, **kwargs):
    """validate_data with stray's dtype and order: float32, C order."""
    return validate_data(
        estimator,
        X,
        accept_sparse="csr" if accept_sparse else False,
        dtype=np.float32,
        order="C",
        reset=reset,
        **kwargs,
    )


def csr_of(X):
    """A scipy CSR matrix as the extension takes it (copies only what has
    another dtype: scipy's int32 row pointers, usually)."""
    X = sp.csr_matrix(X) if not sp.isspmatrix_csr(X) else X
    return _core._Csr(
        np.ascontiguousarray(X.indptr, dtype=np.int64),
        np.ascontiguousarray(X.indices, dtype=np.int32),
        np.ascontiguousarray(X.data, dtype=np.float32),
        X.shape[0],
        X.shape[1],
    )


def library_rows(X):
    """X as the extension takes rows: a sparse matrix as csr_of gives it
    (never densified), else a dense float32 C array."""
    if sp.issparse(X):
        return csr_of(X)
    return np.ascontiguousarray(X, dtype=np.float32)


def seed_of(random_state):
    """stray's 64-bit seed from scikit-learn's random_state: an int is used
    as it is (the CLI's --seed gives the same result); None or a
    RandomState draws one."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}")
        return int(random_state)
    rng = check_random_state(random_state)
    return int(rng.randint(np.iinfo(np.int32).max))


def batch_passes(estimator, batches):
    """The function the library calls to start each pass over ``batches``
    (a list or tuple, or a function returning a new iterable each call):
    it yields (rows, sample_weight) as the extension takes them, each batch
    checked as ``fit`` checks X (n_features_in_ set by the first)."""
    if not callable(batches) and iter(batches) is batches:
        raise TypeError(
            "batches must give a new pass each time: a list of batches, or a function "
            "returning a new iterable (a generator is used up after one pass)"
        )
    first = [True]

    def rows_of(item):
        X, w = item if isinstance(item, tuple) else (item, None)
        X = float32_rows(estimator, X, reset=first[0], accept_sparse=True)
        first[0] = False
        if w is not None:
            w = np.ascontiguousarray(w, dtype=np.float32)
            if w.ndim != 1:
                raise ValueError(f"sample_weight must be 1-D, got shape {w.shape}")
        return library_rows(X), w

    def next_pass():
        source = batches() if callable(batches) else batches
        return (rows_of(item) for item in source)

    return next_pass
