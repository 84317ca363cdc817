"""Clustering estimators: KMeans and AgglomerativeClustering, with
scikit-learn's parameters and attributes, computed by stray's library."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import _core
from ._validation import batch_passes, check_backend, float32_rows, library_rows, seed_of

_INITS = ("k-means++", "random", "k-means||")


class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """k-means (Lloyd), as sklearn.cluster.KMeans, on stray's backends.

    Parameters are scikit-learn's, with its defaults; ``init`` also takes
    ``"k-means||"``, and ``backend`` picks where the work runs ("auto": CUDA
    when a GPU is present, else the CPU). Data are float32 (float64 input is
    converted; float32 C-contiguous input is read in place); sparse input is
    clustered as CSR rows, never densified (``init="k-means||"`` is for dense
    input). ``algorithm`` accepts "lloyd" and "elkan" and runs stray's
    Lloyd either way (pruned on dense rows; the same answer). stray's random draws differ from
    numpy's: for the same ``random_state`` k-means++ picks other centres than
    scikit-learn; with explicit initial centres the fit matches scikit-learn's.
    Fitted attributes beyond scikit-learn's: ``backend_`` (what ran) and
    ``fit_seconds_`` (the library's wall time of the fit, without Python).
    ``verbose`` and ``copy_x`` are accepted and have no effect (the input is
    never modified).
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        verbose=0,
        random_state=None,
        copy_x=True,
        algorithm="lloyd",
        backend="auto",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.backend = backend

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _init_args(self, X, seed):
        """(name, explicit centres or None) for the library."""
        init = self.init
        if callable(init):
            init = init(X, self.n_clusters, np.random.RandomState(seed))
        if isinstance(init, str):
            if init not in _INITS:
                raise ValueError(f"init must be one of {_INITS} or an array, got {init!r}")
            return init, None
        centers = np.ascontiguousarray(init, dtype=np.float32)
        if centers.shape != (self.n_clusters, X.shape[1]):
            raise ValueError(
                f"init centers have shape {centers.shape}, expected {(self.n_clusters, X.shape[1])}"
            )
        return "explicit", centers

    def _n_init(self):
        if self.n_init == "auto":
            return 0
        if not isinstance(self.n_init, numbers.Integral) or self.n_init < 1:
            raise ValueError(f"n_init must be 'auto' or a positive int, got {self.n_init!r}")
        return int(self.n_init)

    def fit(self, X, y=None, sample_weight=None):
        check_backend(self.backend)
        if self.algorithm not in ("lloyd", "elkan"):
            raise ValueError(f"algorithm must be 'lloyd' or 'elkan', got {self.algorithm!r}")
        X = float32_rows(self, X, reset=True, accept_sparse=True)
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=np.float32)
        seed = seed_of(self.random_state)
        init, centers = self._init_args(X, seed)
        r = _core.kmeans_fit(
            library_rows(X), int(self.n_clusters), init, centers, self._n_init(), int(self.max_iter),
            float(self.tol), seed, weights, self.backend,
        )
        self.cluster_centers_ = r["centers"]
        self.labels_ = r["labels"]
        self.inertia_ = float(r["inertia"])
        self.n_iter_ = int(r["n_iter"])
        self.backend_ = r["backend"]
        self.fit_seconds_ = float(r["seconds"])  # the library's own timing of the fit
        self._n_features_out = self.cluster_centers_.shape[0]
        return self

    def fit_batches(self, batches, *, init_sample_rows=0, keep_bounds=True):
        """Fit on rows that arrive in batches, never all in memory at once.

        ``batches`` is a list or tuple of batches, or a function that
        returns a new iterable of them each time it is called (one pass
        over the rows; a generator alone is used up after one pass, so it
        is refused). Each batch is a 2-D array, a scipy.sparse matrix, or
        an ``(X, sample_weight)`` pair; every pass must give the same rows
        in the same order, all dense or all sparse. Exact Lloyd iterations,
        one pass each, from centres fitted to a uniform sample of
        ``init_sample_rows`` rows (0: 100 a cluster, at least 10,000) or
        from an explicit ``init``; the answer is ``fit``'s on the same rows
        (docs/kmeans-batches.md). ``keep_bounds`` keeps 16 bytes a dense
        row between passes so later passes skip rows; False keeps nothing.

        Sets ``cluster_centers_``, ``inertia_``, ``n_iter_`` (passes of
        Lloyd over all rows) and ``n_batch_passes_`` (every pass, the first
        and the sample's included), not ``labels_``: call ``predict`` on
        each batch.
        """
        check_backend(self.backend)
        if callable(self.init):
            raise ValueError("fit_batches needs init as a name or an array of centres")
        if isinstance(self.init, str):
            init, centers = self._init_args(None, 0)
        else:
            init, centers = "explicit", np.ascontiguousarray(self.init, dtype=np.float32)
        r = _core.kmeans_fit_batches(
            batch_passes(self, batches), int(self.n_clusters), init, centers, self._n_init(),
            int(self.max_iter), float(self.tol), seed_of(self.random_state), int(init_sample_rows),
            bool(keep_bounds), self.backend,
        )
        self.cluster_centers_ = r["centers"]
        self.inertia_ = float(r["inertia"])
        self.n_iter_ = int(r["n_iter"])
        self.n_batch_passes_ = int(r["passes"])
        self.backend_ = r["backend"]
        self.fit_seconds_ = float(r["seconds"])
        self._n_features_out = self.cluster_centers_.shape[0]
        return self

    def _nearest(self, X):
        check_is_fitted(self)
        X = float32_rows(self, X, reset=False, accept_sparse=True)
        return X, _core.kmeans_predict(self.cluster_centers_, library_rows(X), self.backend)

    def predict(self, X):
        """The nearest centre of each row."""
        return self._nearest(X)[1][0]

    def fit_predict(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """Euclidean distances of each row to every centre [n x n_clusters]."""
        check_is_fitted(self)
        X = float32_rows(self, X, reset=False, accept_sparse=True)
        return euclidean_distances(X, self.cluster_centers_).astype(np.float32, copy=False)

    def fit_transform(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Minus the (weighted) sum of squared distances to the nearest centres."""
        X, (_, sq_distances) = self._nearest(X)
        w = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return -float(np.dot(w, sq_distances.astype(np.float64)))


class AgglomerativeClustering(ClusterMixin, BaseEstimator):
    """Hierarchical clustering, as sklearn.cluster.AgglomerativeClustering
    (Euclidean distances, no connectivity), by stray's library.

    ``labels_`` equal scikit-learn's wherever the merge tree is the same.
    ``linkage_matrix_`` is scipy's linkage matrix of the full tree;
    ``children_`` and ``distances_`` are its first two columns and third
    column, in scipy's order (by distance), which can differ from
    scikit-learn's order of the same merges. ``metric`` must be
    "euclidean"; ``memory``, ``connectivity`` and ``compute_full_tree`` are
    accepted for compatibility (connectivity must be None; the full tree is
    always built).
    """

    def __init__(
        self,
        n_clusters=2,
        *,
        metric="euclidean",
        memory=None,
        connectivity=None,
        compute_full_tree="auto",
        linkage="ward",
        distance_threshold=None,
        compute_distances=False,
    ):
        self.n_clusters = n_clusters
        self.metric = metric
        self.memory = memory
        self.connectivity = connectivity
        self.compute_full_tree = compute_full_tree
        self.linkage = linkage
        self.distance_threshold = distance_threshold
        self.compute_distances = compute_distances

    def fit(self, X, y=None):
        if self.metric != "euclidean":
            raise ValueError(f"metric must be 'euclidean', got {self.metric!r}")
        if self.connectivity is not None:
            raise ValueError("connectivity is not supported (must be None)")
        if (self.n_clusters is None) == (self.distance_threshold is None):
            raise ValueError("exactly one of n_clusters and distance_threshold must be set")
        X = float32_rows(self, X, reset=True, ensure_min_samples=2)
        threshold = None if self.distance_threshold is None else float(self.distance_threshold)
        n_clusters = 0 if self.n_clusters is None else int(self.n_clusters)
        r = _core.agglomerative_fit(X, n_clusters, threshold, self.linkage)
        self.labels_ = r["labels"]
        self.n_clusters_ = int(r["n_clusters"])
        self.n_leaves_ = int(r["n_leaves"])
        self.n_connected_components_ = 1
        self.linkage_matrix_ = r["linkage_matrix"]
        self.children_ = self.linkage_matrix_[:, :2].astype(np.intp)
        if self.distance_threshold is not None or self.compute_distances:
            self.distances_ = self.linkage_matrix_[:, 2].copy()
        return self

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_


class KMeansStatistics:
    """What one Lloyd iteration keeps of some rows against fixed centres:
    per-cluster sums and weights (float64), the inertia, the row count and
    the rows farthest from their centres (for relocating empty clusters).

    Statistics of any split of the rows merge into those of the whole
    (``a.merge(b)``, or ``a + b``), so a distributed engine clusters its
    partitions with exact Lloyd iterations: each worker returns
    ``kmeans_statistics(centers, partition, first_row=offset)``, the driver
    merges them and calls ``kmeans_update`` (docs/kmeans-batches.md). They
    pickle as plain numpy arrays.
    """

    def __init__(self, arrays):
        self._arrays = dict(arrays)

    @property
    def sums(self):
        """[n_clusters x n_features] Σ w·x over each cluster's rows."""
        return self._arrays["sums"]

    @property
    def weights(self):
        """[n_clusters] Σ w over each cluster's rows."""
        return self._arrays["weights"]

    @property
    def inertia(self):
        return float(self._arrays["inertia"])

    @property
    def n_samples(self):
        return int(self._arrays["n_samples"])

    def merge(self, other):
        """The statistics of both sets of rows (a new object)."""
        if not isinstance(other, KMeansStatistics):
            raise TypeError(f"can merge KMeansStatistics only, got {type(other).__name__}")
        return KMeansStatistics(_core.kmeans_statistics_merge(self._library(), other._library()))

    __add__ = merge

    def __radd__(self, other):
        # sum(statistics) starts from 0.
        return self if isinstance(other, int) and other == 0 else NotImplemented

    def _library(self):
        """The arrays with the dtypes the extension reads (after unpickling
        or a caller's edits, converted once)."""
        a = self._arrays
        kinds = {"sums": np.float64, "weights": np.float64, "far_sq_distance": np.float64,
                 "far_row": np.int64, "far_label": np.int32, "far_weight": np.float32,
                 "far_indptr": np.int64, "far_columns": np.int32, "far_values": np.float32}
        out = {key: np.ascontiguousarray(a[key], dtype=dtype) for key, dtype in kinds.items()}
        out["inertia"] = float(a["inertia"])
        out["n_samples"] = int(a["n_samples"])
        return out

    def __getstate__(self):
        return self._arrays

    def __setstate__(self, state):
        self._arrays = dict(state)


def _centers(centers):
    centers = np.ascontiguousarray(centers, dtype=np.float32)
    if centers.ndim != 2:
        raise ValueError(f"centers must be 2-D, got shape {centers.shape}")
    return centers


def kmeans_statistics(centers, X, sample_weight=None, *, first_row=0, backend="auto"):
    """Lloyd's statistics of the rows X (dense or scipy.sparse, never
    densified) against ``centers``; ``first_row`` numbers them (row numbers
    order the farthest rows' ties the same way in any grouping)."""
    check_backend(backend)
    X = library_rows(X)
    if not isinstance(X, _core._Csr) and X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}")
    if sample_weight is not None:
        sample_weight = np.ascontiguousarray(sample_weight, dtype=np.float32)
    return KMeansStatistics(
        _core.kmeans_statistics(_centers(centers), X, sample_weight, int(first_row), backend))


def kmeans_update(centers, statistics):
    """The next centres from merged statistics, as KMeans' M-step (clusters
    left empty take the farthest rows first). Returns (centers,
    squared_shift, relocated): stop when squared_shift ≤ tol × the mean
    column variance."""
    if not isinstance(statistics, KMeansStatistics):
        raise TypeError(f"statistics must be KMeansStatistics, got {type(statistics).__name__}")
    new_centers, squared_shift, relocated = _core.kmeans_update(_centers(centers),
                                                                statistics._library())
    return new_centers, float(squared_shift), relocated
