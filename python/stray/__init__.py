"""stray: cluster fleets of hosts and containers, find the ones that stray.

scikit-learn-style estimators over stray's C++ library (KMeans, PCA,
NearestNeighbors, LocalOutlierFactor, AgglomerativeClustering), Lloyd's
statistics that merge across processes (kmeans_statistics, kmeans_update),
clustering metrics and linear_sum_assignment, and the fleet pipeline
(stray.fleet). Every
estimator takes backend="auto" | "cpu" | "cuda". See docs/python.md.
"""

from . import _core, errors, fleet, metrics
from .cluster import (
    AgglomerativeClustering,
    KMeans,
    KMeansStatistics,
    kmeans_statistics,
    kmeans_update,
)
from .decomposition import PCA
from .errors import Error
from .metrics import (
    adjusted_mutual_info_score,
    adjusted_rand_score,
    completeness_score,
    homogeneity_completeness_v_measure,
    homogeneity_score,
    linear_sum_assignment,
    mutual_info_score,
    normalized_mutual_info_score,
    rand_score,
    silhouette_samples,
    silhouette_score,
    v_measure_score,
)
from .neighbors import LocalOutlierFactor, NearestNeighbors

__version__ = _core.__version__
available_backends = _core.available_backends

__all__ = [
    "AgglomerativeClustering",
    "Error",
    "KMeans",
    "KMeansStatistics",
    "LocalOutlierFactor",
    "NearestNeighbors",
    "PCA",
    "adjusted_mutual_info_score",
    "adjusted_rand_score",
    "available_backends",
    "completeness_score",
    "errors",
    "fleet",
    "homogeneity_completeness_v_measure",
    "homogeneity_score",
    "kmeans_statistics",
    "kmeans_update",
    "linear_sum_assignment",
    "metrics",
    "mutual_info_score",
    "normalized_mutual_info_score",
    "rand_score",
    "silhouette_samples",
    "silhouette_score",
    "v_measure_score",
]
