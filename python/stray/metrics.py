"""Scores of a clustering against labels, the silhouette, and the
assignment problem, with scikit-learn's and scipy's signatures, computed by
stray's library (definitions in docs/metrics.md).

Labels may be of any type numpy can hold (ints, strings, ...): only
equality matters. Unlike scikit-learn, empty labelings raise ValueError.
"""

import numpy as np

from . import _core
from ._validation import check_backend


def _labels(labels, name):
    a = np.asarray(labels)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.dtype.kind in "iub":
        return np.ascontiguousarray(a, dtype=np.int64)
    # Any other labels: numbered by value (only equality matters).
    return np.unique(a, return_inverse=True)[1].astype(np.int64).ravel()


def _pair(labels_true, labels_pred):
    return _labels(labels_true, "labels_true"), _labels(labels_pred, "labels_pred")


def rand_score(labels_true, labels_pred):
    return _core.rand_score(*_pair(labels_true, labels_pred))


def adjusted_rand_score(labels_true, labels_pred):
    return _core.adjusted_rand_score(*_pair(labels_true, labels_pred))


def mutual_info_score(labels_true, labels_pred):
    """Mutual information in nats (contingency= is not supported)."""
    return _core.mutual_info_score(*_pair(labels_true, labels_pred))


def normalized_mutual_info_score(labels_true, labels_pred, *, average_method="arithmetic"):
    _arithmetic_only(average_method)
    return _core.normalized_mutual_info_score(*_pair(labels_true, labels_pred))


def adjusted_mutual_info_score(labels_true, labels_pred, *, average_method="arithmetic"):
    _arithmetic_only(average_method)
    return _core.adjusted_mutual_info_score(*_pair(labels_true, labels_pred))


def _arithmetic_only(average_method):
    if average_method != "arithmetic":
        raise ValueError(f"average_method must be 'arithmetic', got {average_method!r}")


def homogeneity_completeness_v_measure(labels_true, labels_pred, *, beta=1.0):
    if beta != 1.0:
        raise ValueError(f"beta must be 1.0, got {beta!r}")
    return _core.homogeneity_completeness_v_measure(*_pair(labels_true, labels_pred))


def homogeneity_score(labels_true, labels_pred):
    return homogeneity_completeness_v_measure(labels_true, labels_pred)[0]


def completeness_score(labels_true, labels_pred):
    return homogeneity_completeness_v_measure(labels_true, labels_pred)[1]


def v_measure_score(labels_true, labels_pred, *, beta=1.0):
    return homogeneity_completeness_v_measure(labels_true, labels_pred, beta=beta)[2]


def _silhouette_args(X, labels, backend):
    check_backend(backend)
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}")
    return X, np.ascontiguousarray(_labels(labels, "labels"), dtype=np.int32)


def silhouette_samples(X, labels, *, metric="euclidean", backend="auto"):
    """Each row's silhouette (Euclidean only)."""
    if metric != "euclidean":
        raise ValueError(f"metric must be 'euclidean', got {metric!r}")
    return _core.silhouette_samples(*_silhouette_args(X, labels, backend), backend)


def silhouette_score(X, labels, *, metric="euclidean", sample_size=None, random_state=None,
                     backend="auto"):
    """The mean silhouette; with sample_size, over a sample of that many rows
    drawn by stray's generator from random_state (an int; None = 0)."""
    if metric != "euclidean":
        raise ValueError(f"metric must be 'euclidean', got {metric!r}")
    X, labels = _silhouette_args(X, labels, backend)
    seed = 0 if random_state is None else int(random_state)
    return _core.silhouette_score(X, labels, int(sample_size or 0), seed, backend)


def linear_sum_assignment(cost_matrix, maximize=False):
    """As scipy.optimize.linear_sum_assignment: (row_ind, col_ind), rows ascending."""
    cost = np.asarray(cost_matrix)
    if cost.ndim != 2:
        raise ValueError(f"expected a matrix (2-D array), got a {cost.ndim}-D array")
    if cost.dtype == object or cost.dtype.kind not in "biuf":
        raise ValueError(f"cost_matrix must be numeric, got dtype {cost.dtype}")
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    return _core.linear_sum_assignment(cost, bool(maximize))
