"""NearestNeighbors and LocalOutlierFactor with scikit-learn's parameters
and attributes, computed by stray's library (exact neighbours on the
backend)."""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._validation import check_backend, float32_rows, library_rows


def _check_euclidean(metric, p):
    if not (metric == "euclidean" or (metric == "minkowski" and p == 2)):
        raise ValueError("only Euclidean distances: metric='minkowski' with p=2, or 'euclidean'")


def _in_form_of(X, reference):
    """X as the rows it is compared with are held: CSR beside sparse rows,
    dense beside dense ones (the reference's form decides the distance)."""
    if sp.issparse(reference):
        return X if sp.issparse(X) else sp.csr_matrix(X)
    return X.toarray() if sp.issparse(X) else X


class NearestNeighbors(BaseEstimator):
    """Exact k nearest neighbours, as sklearn.neighbors.NearestNeighbors'
    kneighbors: fit keeps the rows, kneighbors(X) finds each row's nearest
    among them (X=None: each fitted row's nearest other rows).

    Neighbours are exact Euclidean ones found by the backend, whatever
    ``algorithm`` says (``algorithm``, ``leaf_size``, ``metric_params``,
    ``n_jobs`` and ``radius`` are accepted and have no effect; there is no
    radius search); ``metric`` must be "minkowski" with ``p=2``, or
    "euclidean". Ties go to the lower row. scipy.sparse rows are searched
    as CSR, never densified, with scikit-learn's sparse distance (the
    expanded form in float64); rows given in the other form than the
    fitted ones are converted to it.
    """

    def __init__(
        self,
        n_neighbors=5,
        *,
        radius=1.0,
        algorithm="auto",
        leaf_size=30,
        metric="minkowski",
        p=2,
        metric_params=None,
        n_jobs=None,
        backend="auto",
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.backend = backend

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y=None):
        check_backend(self.backend)
        _check_euclidean(self.metric, self.p)
        self._fit_X = float32_rows(self, X, reset=True, accept_sparse=True)
        self.n_samples_fit_ = self._fit_X.shape[0]
        return self

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """(distances, indices), each [n_queries, n_neighbors], nearest
        first; indices only with return_distance=False."""
        check_is_fitted(self)
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if not isinstance(k, numbers.Integral) or isinstance(k, bool):
            raise TypeError(f"n_neighbors must be an integer, got {k!r}")
        queries = None
        if X is not None:
            X = float32_rows(self, X, reset=False, accept_sparse=True)
            queries = library_rows(_in_form_of(X, self._fit_X))
        distances, indices = _core.kneighbors(library_rows(self._fit_X), queries, int(k),
                                              self.backend)
        return (distances, indices) if return_distance else indices


class LocalOutlierFactor(OutlierMixin, BaseEstimator):
    """Local Outlier Factor, as sklearn.neighbors.LocalOutlierFactor.

    Neighbours are exact Euclidean ones found by the backend, whatever
    ``algorithm`` says (``algorithm``, ``leaf_size``, ``metric_params`` and
    ``n_jobs`` are accepted and have no effect); ``metric`` must be
    "minkowski" with ``p=2``, or "euclidean". Ties among equally distant
    neighbours go to the lower row (see docs/neighbors.md).

    ``distinct_rows=True`` (stray's own parameter) fits on the distinct rows
    and scores each row as its first copy: a group of identical rows is one
    point of ordinary density instead of scikit-learn's 1e10, so a row
    beside a group of clones is graded rather than scored in the millions.

    scipy.sparse input is searched as CSR rows, never densified, with
    scikit-learn's distance for sparse rows (the expanded form, in
    float64); a model fitted on sparse rows keeps them sparse and scores
    new rows of either form that way.
    """

    def __init__(
        self,
        n_neighbors=20,
        *,
        algorithm="auto",
        leaf_size=30,
        metric="minkowski",
        p=2,
        metric_params=None,
        contamination="auto",
        novelty=False,
        n_jobs=None,
        backend="auto",
        distinct_rows=False,
    ):
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.contamination = contamination
        self.novelty = novelty
        self.n_jobs = n_jobs
        self.backend = backend
        self.distinct_rows = distinct_rows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _check_params(self):
        check_backend(self.backend)
        _check_euclidean(self.metric, self.p)
        if self.contamination == "auto":
            return None
        c = float(self.contamination)
        if not 0.0 < c <= 0.5:
            raise ValueError(f"contamination must be 'auto' or in (0, 0.5], got {self.contamination!r}")
        return c

    def fit(self, X, y=None):
        contamination = self._check_params()
        X = float32_rows(self, X, reset=True, accept_sparse=True, ensure_min_samples=2)
        r = _core.lof_fit(library_rows(X), int(self.n_neighbors), bool(self.novelty), contamination,
                          bool(self.distinct_rows), self.backend)
        if r["warning"]:
            warnings.warn(r["warning"], UserWarning)
        self.negative_outlier_factor_ = r["negative_outlier_factor"]
        self.n_neighbors_ = int(r["n_neighbors"])
        self.offset_ = float(r["offset"])
        self.n_samples_fit_ = X.shape[0]
        self._labels = r["labels"]
        self._k_distance = r["k_distance"]
        self._lrd = r["lrd"]
        self._fit_X = self._training_rows(r["reference"]) if self.novelty else None
        return self

    @staticmethod
    def _training_rows(reference):
        """A novelty model's rows: dense, or CSR from the library's arrays."""
        if isinstance(reference, tuple):
            indptr, indices, data, rows, cols = reference
            return sp.csr_matrix((data, indices, indptr), shape=(rows, cols))
        return reference

    def _outlier_detection(self):
        if self.novelty:
            raise AttributeError("fit_predict is not available when novelty=True; use fit and predict")
        return True

    def _novelty_detection(self):
        if not self.novelty:
            raise AttributeError("predict, decision_function and score_samples are available "
                                 "when novelty=True; use fit_predict")
        return True

    @available_if(_outlier_detection)
    def fit_predict(self, X, y=None):
        """Fits and labels the training rows: −1 outlier, 1 inlier."""
        return self.fit(X)._labels

    @available_if(_novelty_detection)
    def score_samples(self, X):
        """−LOF of new rows against the training rows."""
        check_is_fitted(self)
        X = float32_rows(self, X, reset=False, accept_sparse=True)
        return _core.lof_score_samples(
            self.n_neighbors_, self.offset_, library_rows(self._fit_X), self._k_distance,
            self._lrd, library_rows(X), self.backend
        )

    @available_if(_novelty_detection)
    def decision_function(self, X):
        """score_samples − offset_: negative for outliers."""
        return self.score_samples(X) - self.offset_

    @available_if(_novelty_detection)
    def predict(self, X):
        """−1 for outliers, 1 for inliers among new rows."""
        return np.where(self.decision_function(X) < 0, -1, 1)
