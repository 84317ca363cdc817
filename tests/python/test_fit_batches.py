"""KMeans.fit_batches and PCA.fit_batches: rows in batches give fit's answer — and
scikit-learn's, from the same explicit centres — dense, sparse and
weighted; bad sources are refused with a clear error."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs

import stray


def blobs(n=3000, d=6, centers=5, seed=0):
    X, y = make_blobs(n_samples=n, n_features=d, centers=centers, cluster_std=2.0,
                      random_state=seed)
    return X.astype(np.float32), y


def cut(X, rows):
    return [X[i:i + rows] for i in range(0, X.shape[0], rows)]


def test_explicit_centres_give_scikit_learns_fit():
    X, _ = blobs()
    init = X[:5].copy()
    w = (np.arange(X.shape[0]) % 4 + 0.5).astype(np.float32)
    sk = SkKMeans(5, init=init, n_init=1, tol=1e-4).fit(X, sample_weight=w)
    pairs = [(X[i:i + 700], w[i:i + 700]) for i in range(0, X.shape[0], 700)]
    km = stray.KMeans(5, init=init, backend="cpu").fit_batches(pairs)
    assert km.n_iter_ == sk.n_iter_
    np.testing.assert_allclose(km.cluster_centers_, sk.cluster_centers_, rtol=0, atol=1e-4)
    assert km.inertia_ == pytest.approx(sk.inertia_, rel=1e-5)
    assert (km.predict(X) == sk.labels_).all()
    assert km.n_batch_passes_ >= km.n_iter_ + 1
    assert not hasattr(km, "labels_")


def test_a_function_source_and_sparse_batches():
    X, y = blobs(4000, 8, 4, seed=1)
    X = np.maximum(X, 0)  # about half the cells 0
    whole = stray.KMeans(4, random_state=3, backend="cpu").fit(X)
    km = stray.KMeans(4, random_state=3, backend="cpu")
    km.fit_batches(lambda: iter(cut(X, 900)))
    assert km.n_features_in_ == 8
    # The sample holds every row: the sample's fit is fit's.
    assert km.inertia_ == pytest.approx(whole.inertia_, rel=1e-5)
    assert (km.predict(X) == whole.labels_).all()
    sparse = stray.KMeans(4, init=whole.cluster_centers_, backend="cpu")
    sparse.fit_batches([sp.csr_matrix(b) for b in cut(X, 900)])
    np.testing.assert_allclose(sparse.cluster_centers_, whole.cluster_centers_, atol=1e-4)


def test_bad_sources_are_refused():
    X, _ = blobs(600, 3, 3)
    km = stray.KMeans(3, backend="cpu")
    with pytest.raises(TypeError, match="generator"):
        km.fit_batches(b for b in cut(X, 100))
    with pytest.raises(ValueError, match="features"):
        km.fit_batches([X[:300], X[300:, :2]])
    with pytest.raises(stray.Error, match="sparse"):
        km.fit_batches([X[:300], sp.csr_matrix(X[300:])])
    with pytest.raises(stray.Error, match="sample_weight|weights"):
        km.fit_batches([(X[:300], np.ones(299, np.float32)), X[300:]])
    with pytest.raises(ValueError, match="init"):
        stray.KMeans(3, init=lambda X, k, rs: X[:k]).fit_batches([X])
    passes = [0]

    def shrinking():
        passes[0] += 1
        return cut(X, 100) if passes[0] == 1 else cut(X, 100)[:-1]

    with pytest.raises(stray.Error, match="repeat its rows"):
        km.fit_batches(shrinking)

    def failing():
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="the source broke"):
        km.fit_batches(failing)


def test_pca_over_batches_is_scikit_learns_pca():
    from sklearn.decomposition import PCA as SkPCA

    X, _ = blobs(2500, 10, 6, seed=4)
    sk = SkPCA(4, svd_solver="full").fit(X.astype(np.float64))
    pca = stray.PCA(4, backend="cpu").fit_batches(lambda: iter(cut(X, 600)))
    assert pca.n_features_in_ == 10
    assert pca.svd_solver_ == "covariance"
    np.testing.assert_allclose(pca.explained_variance_ratio_, sk.explained_variance_ratio_,
                               rtol=1e-5)
    np.testing.assert_allclose(pca.components_, sk.components_, atol=1e-4)
    np.testing.assert_allclose(pca.transform(X), sk.transform(X), atol=1e-3)
    sparse = stray.PCA(4, backend="cpu").fit_batches([sp.csr_matrix(b) for b in cut(X, 600)])
    np.testing.assert_allclose(sparse.components_, pca.components_, atol=1e-5)
    with pytest.raises(stray.Error, match="covariance"):
        stray.PCA(4, svd_solver="randomized").fit_batches(cut(X, 600))
    with pytest.raises(TypeError, match="generator"):
        stray.PCA(4).fit_batches(b for b in cut(X, 600))


def test_statistics_merge_across_processes_into_scikit_learns_fit():
    import pickle

    X, _ = blobs(3000, 5, 4, seed=6)
    parts = [(0, X[:1000]), (1000, X[1000:1700]), (1700, X[1700:])]
    centers = X[:4].copy()
    whole = stray.kmeans_statistics(centers, X, backend="cpu")
    stats = [stray.kmeans_statistics(centers, part, first_row=offset, backend="cpu")
             for offset, part in parts]
    # As a distributed engine would: pickled by each worker, merged in any grouping.
    stats = [pickle.loads(pickle.dumps(s)) for s in stats]
    left = (stats[0] + stats[1]) + stats[2]
    right = stats[0].merge(stats[1].merge(stats[2]))
    for merged in (left, right, sum(stats)):
        assert merged.n_samples == 3000
        np.testing.assert_allclose(merged.sums, whole.sums, rtol=1e-12)
        np.testing.assert_array_equal(merged.weights, whole.weights)
        assert merged.inertia == pytest.approx(whole.inertia, rel=1e-6)

    # Lloyd's iterations from merged statistics: scikit-learn's fit.
    sk = SkKMeans(4, init=centers, n_init=1, tol=0).fit(X)
    iterations = 0
    while True:
        total = None
        for offset, part in parts:
            s = stray.kmeans_statistics(centers, part, first_row=offset, backend="cpu")
            total = s if total is None else total + s
        centers, shift, relocated = stray.kmeans_update(centers, total)
        iterations += 1
        if shift == 0.0:
            break
    assert iterations == sk.n_iter_
    np.testing.assert_allclose(centers, sk.cluster_centers_, atol=1e-4)


def test_statistics_from_elsewhere_are_checked():
    X, _ = blobs(200, 3, 2, seed=7)
    s = stray.kmeans_statistics(X[:2], X, backend="cpu")
    forged = stray.KMeansStatistics(dict(s._arrays, far_indptr=np.array([0, 9, 3], np.int64)))
    with pytest.raises(stray.Error, match="far"):
        forged + s
    forged = stray.KMeansStatistics(dict(s._arrays, far_label=np.array([5, 0], np.int32)))
    with pytest.raises(stray.Error, match="label 5"):
        stray.kmeans_update(X[:2], forged)
    with pytest.raises(stray.Error):
        s + stray.kmeans_statistics(X[:3], X, backend="cpu")  # three clusters into two
    with pytest.raises(TypeError):
        s + 1
