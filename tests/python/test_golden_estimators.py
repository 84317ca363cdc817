"""The estimators against scikit-learn's golden values (tests/fixtures,
the files the C++ suite checks) and against scikit-learn run live."""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.cluster
import sklearn.decomposition
import sklearn.neighbors

import stray
from conftest import fixture_npy, golden

KMEANS = golden("kmeans_golden.json")["kmeans"]
PCA_CASES = golden("pca_golden.json")["cases"]
LOF_CASES = [c for c in golden("neighbors_golden.json")["cases"] if "negative_outlier_factor" in c]
AGGLO_CASES = golden("agglomerative_golden.json")["cases"]


@pytest.mark.parametrize("case", KMEANS, ids=lambda c: c["name"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_kmeans_matches_sklearn_golden(case, sparse):
    X = fixture_npy(case["X"])
    w = fixture_npy(case["sample_weight"]) if case["sample_weight"] else None
    km = stray.KMeans(case["n_clusters"], init=fixture_npy(case["init_centers"]), n_init=1,
                      tol=case["tol"], max_iter=case["max_iter"], backend="cpu")
    km.fit(sp.csr_matrix(X) if sparse else X, sample_weight=w)
    np.testing.assert_array_equal(km.labels_, fixture_npy(case["labels"]))
    centers = fixture_npy(case["centers"])
    scale = 1.0 + np.abs(centers).max()
    np.testing.assert_allclose(km.cluster_centers_, centers, atol=1e-4 * scale)
    assert km.inertia_ == pytest.approx(case["inertia_float64"], rel=1e-4)
    assert km.n_iter_ == case["n_iter"]


def _check_pca(pca, e, n_compare, X):
    np.testing.assert_allclose(pca.mean_, e["mean"], rtol=1e-6, atol=1e-6)
    ev0 = e["explained_variance"][0]
    assert pca.n_components_ == e["n_components"]
    np.testing.assert_allclose(pca.explained_variance_[:n_compare],
                               e["explained_variance"][:n_compare], atol=1e-5 * ev0)
    np.testing.assert_allclose(pca.explained_variance_ratio_[:n_compare],
                               e["explained_variance_ratio"][:n_compare], atol=1e-5)
    np.testing.assert_allclose(pca.components_[:n_compare],
                               np.asarray(e["components"])[:n_compare], atol=1e-4)
    T = pca.transform(X)[:, :n_compare]
    expected = np.asarray(e["transform"])[:, :n_compare]
    np.testing.assert_allclose(T, expected, atol=1e-4 * (1.0 + np.abs(expected).max()))


@pytest.mark.parametrize("case", PCA_CASES, ids=lambda c: c["name"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_pca_matches_sklearn_golden(case, sparse):
    X = np.asarray(case["X"], dtype=np.float32)
    p = case["params"]
    n = p["variance_fraction"] if p["variance_fraction"] > 0 else (p["n_components"] or None)
    # Sparse input's "auto" is the randomized solver: ask for an exact one.
    pca = stray.PCA(n, whiten=p["whiten"], svd_solver="full" if sparse else "auto", backend="cpu")
    pca.fit(sp.csr_matrix(X) if sparse else X)
    _check_pca(pca, case["expected"], case["compare_components"], X)


@pytest.mark.parametrize("case", LOF_CASES, ids=lambda c: c["name"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_lof_matches_sklearn_golden(case, sparse):
    X = np.asarray(case["X"], dtype=np.float32)
    lof = stray.LocalOutlierFactor(n_neighbors=case["n_neighbors"],
                                   contamination=case["contamination"], backend="cpu")
    with pytest.warns(UserWarning) if case["warned"] else _no_warning():
        labels = lof.fit_predict(sp.csr_matrix(X) if sparse else X)
    assert lof.n_neighbors_ == case["n_neighbors_used"]
    np.testing.assert_array_equal(labels, case["labels"])
    if not case["ties"]:
        np.testing.assert_allclose(lof.negative_outlier_factor_, case["negative_outlier_factor"],
                                   rtol=1e-6)
        assert lof.offset_ == pytest.approx(case["offset"], rel=1e-6)


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _agglo_cases():
    for case in AGGLO_CASES:
        for method, expected in case["linkages"].items():
            yield pytest.param(case, method, expected, id=f"{case['name']}-{method}")


@pytest.mark.parametrize("case,method,expected", list(_agglo_cases()))
def test_agglomerative_matches_scipy_and_sklearn_golden(case, method, expected):
    X = np.asarray(case["X"], dtype=np.float32)
    if case["exact"]:
        Z = stray.AgglomerativeClustering(linkage=method).fit(X).linkage_matrix_
        np.testing.assert_allclose(Z, expected["linkage"], rtol=1e-9, atol=1e-9)
    for cut in expected["cuts"]:
        if "distance_threshold" in cut:
            est = stray.AgglomerativeClustering(None, distance_threshold=cut["distance_threshold"],
                                                linkage=method)
        else:
            est = stray.AgglomerativeClustering(cut["n_clusters"], linkage=method)
        labels = est.fit_predict(X)
        assert est.n_clusters_ == cut["n_clusters"]
        if case["exact"]:
            np.testing.assert_array_equal(labels, cut["labels"])
        else:
            assert stray.adjusted_rand_score(labels, cut["labels"]) == pytest.approx(1.0)


def test_kmeans_agrees_with_sklearn_live():
    rng = np.random.RandomState(3)
    X = (rng.randn(3000, 12) + np.repeat(rng.randn(6, 12) * 6, 500, axis=0)).astype(np.float32)
    init = X[rng.choice(len(X), 6, replace=False)]
    ours = stray.KMeans(6, init=init, n_init=1).fit(X)
    theirs = sklearn.cluster.KMeans(6, init=init, n_init=1).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, atol=1e-4)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-4)
    np.testing.assert_array_equal(ours.predict(X[:100]), theirs.predict(X[:100]))
    np.testing.assert_allclose(ours.transform(X[:50]), theirs.transform(X[:50]), rtol=1e-4,
                               atol=1e-3)


def test_sparse_kmeans_agrees_with_sklearn_live():
    """CSR rows of 0/1 package-like features, clustered as scikit-learn
    clusters them (its sparse path), without densifying; a repeated column
    in a row adds up, as scipy reads it."""
    rng = np.random.RandomState(5)
    role = rng.randint(0, 5, 4000)
    dense = (rng.rand(4000, 400) < 0.02).astype(np.float32)
    for r in range(5):
        dense[role == r, r * 40:(r + 1) * 40] = (rng.rand((role == r).sum(), 40) < 0.9)
    X = sp.csr_matrix(dense)
    init = dense[rng.choice(4000, 5, replace=False)]
    w = rng.randint(1, 4, 4000).astype(np.float32)
    ours = stray.KMeans(5, init=init, n_init=1, backend="cpu").fit(X, sample_weight=w)
    theirs = sklearn.cluster.KMeans(5, init=init, n_init=1).fit(X, sample_weight=w)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, atol=1e-5)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-5)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(ours.predict(X[:300]), theirs.predict(X[:300]))
    assert ours.score(X[:300]) == pytest.approx(theirs.score(X[:300]), rel=1e-5)
    # Repeats: row 0 with a column stored twice (COO → CSR without summing).
    coo = sp.coo_matrix((np.array([0.5, 0.5, 1.0], dtype=np.float32),
                         (np.array([0, 0, 0]), np.array([7, 7, 3]))), shape=(1, 400))
    repeated = sp.csr_matrix((coo.data, coo.col, np.array([0, 3])), shape=(1, 400))
    assert not repeated.has_canonical_format
    assert ours.predict(repeated)[0] == theirs.predict(repeated.toarray())[0]
    # k-means++ on the same rows finds the roles.
    pp = stray.KMeans(5, random_state=0, backend="cpu").fit(X)
    assert stray.adjusted_rand_score(role, pp.labels_) == pytest.approx(1.0)


def test_sparse_lof_agrees_with_sklearn_live():
    """CSR rows of event fractions (as fleet telemetry gives them): the
    fit, and novelty scores of sparse and dense new rows, as scikit-learn's
    LocalOutlierFactor on the same CSR rows; a repeated column adds up."""
    rng = np.random.RandomState(6)
    counts = rng.poisson(5.0, (1500, 300)) * (rng.rand(1500, 300) < 0.05)
    counts[:, 0] += 1
    counts[:10, 299] = 7  # ten hosts with a feature nobody else has
    X = sp.csr_matrix((counts / counts.sum(axis=1, keepdims=True)).astype(np.float32))
    ours = stray.LocalOutlierFactor(n_neighbors=20, contamination=0.01, backend="cpu")
    theirs = sklearn.neighbors.LocalOutlierFactor(n_neighbors=20, contamination=0.01)
    np.testing.assert_array_equal(ours.fit_predict(X), theirs.fit_predict(X))
    np.testing.assert_allclose(ours.negative_outlier_factor_, theirs.negative_outlier_factor_,
                               rtol=1e-6)
    assert ours.offset_ == pytest.approx(theirs.offset_, rel=1e-6)

    novel = stray.LocalOutlierFactor(n_neighbors=20, novelty=True, backend="cpu").fit(X)
    assert sp.issparse(novel._fit_X)
    reference = sklearn.neighbors.LocalOutlierFactor(n_neighbors=20, novelty=True).fit(X)
    fresh = X[:200] + sp.csr_matrix(np.eye(200, 300, 150, dtype=np.float32) * 0.25)
    want = reference.score_samples(fresh)
    np.testing.assert_allclose(novel.score_samples(fresh), want, rtol=1e-6)
    np.testing.assert_allclose(novel.score_samples(fresh.toarray()), want, rtol=1e-6)
    np.testing.assert_array_equal(novel.predict(fresh), reference.predict(fresh))
    # Row 0 stored with column 5 twice (0.25 + 0.25) is row 0 with 0.5 there.
    row = fresh[0].toarray().ravel()
    row[5] = 0.5
    cols = np.r_[np.flatnonzero(row), 5].astype(np.int32)
    vals = np.r_[row[np.flatnonzero(row)], 0].astype(np.float32)
    vals[list(cols[:-1]).index(5)] = 0.25
    vals[-1] = 0.25
    repeated = sp.csr_matrix((vals, cols, np.array([0, len(cols)])), shape=(1, 300))
    assert not repeated.has_canonical_format
    assert novel.score_samples(repeated)[0] == pytest.approx(
        reference.score_samples(row[None, :].astype(np.float64))[0], rel=1e-6)


def test_pca_agrees_with_sklearn_live():
    rng = np.random.RandomState(4)
    X = (rng.randn(800, 30) @ rng.randn(30, 30)).astype(np.float32)
    ours = stray.PCA(8).fit(X)
    theirs = sklearn.decomposition.PCA(8, svd_solver="full").fit(X.astype(np.float64))
    np.testing.assert_allclose(ours.explained_variance_ratio_, theirs.explained_variance_ratio_,
                               rtol=1e-4)
    np.testing.assert_allclose(ours.components_, theirs.components_, atol=1e-4)
    np.testing.assert_allclose(ours.fit_transform(X), theirs.transform(X), rtol=1e-3, atol=1e-3)
    Y = ours.transform(X)
    np.testing.assert_allclose(ours.inverse_transform(Y), theirs.inverse_transform(Y), atol=1e-3)


KNN_CASES = [c for c in golden("neighbors_golden.json")["cases"] if "knn" in c]


@pytest.mark.parametrize("case", KNN_CASES, ids=lambda c: c["name"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_nearest_neighbors_match_sklearn_golden(case, sparse):
    """Tie-free cases: scikit-learn's neighbours index for index."""
    form = sp.csr_matrix if sparse else np.asarray
    want = case["knn"]
    k = want["k"]
    if "queries" in case:
        R = np.asarray(case["reference"], dtype=np.float32)
        Q = np.asarray(case["queries"], dtype=np.float32)
        dist, ind = stray.NearestNeighbors(n_neighbors=k, backend="cpu").fit(form(R)).kneighbors(
            form(Q))
    else:
        X = np.asarray(case["X"], dtype=np.float32)
        dist, ind = stray.NearestNeighbors(n_neighbors=k, backend="cpu").fit(form(X)).kneighbors()
    np.testing.assert_array_equal(ind.ravel(), want["indices"])
    np.testing.assert_allclose(dist[:, -1], want["kth_distance"], rtol=1e-9)
    np.testing.assert_allclose(dist[:, 0], want["first_distance"], rtol=1e-9)


def test_nearest_neighbors_agree_with_sklearn_live():
    """Dense and CSR rows, queries in either form, n_neighbors per call,
    indices alone; and scikit-learn's errors for a bad n_neighbors."""
    rng = np.random.RandomState(8)
    X = rng.randn(700, 12).astype(np.float32)
    X[rng.rand(700, 12) < 0.6] = 0
    Q = rng.randn(40, 12).astype(np.float32)
    theirs = sklearn.neighbors.NearestNeighbors(n_neighbors=6).fit(X)
    for fit_rows in (X, sp.csr_matrix(X)):
        ours = stray.NearestNeighbors(n_neighbors=6, backend="cpu").fit(fit_rows)
        for queries in (Q, sp.csr_matrix(Q)):
            dist, ind = ours.kneighbors(queries)
            want_dist, want_ind = theirs.kneighbors(Q)
            np.testing.assert_array_equal(ind, want_ind)
            np.testing.assert_allclose(dist, want_dist, rtol=1e-5)
        np.testing.assert_array_equal(ours.kneighbors(n_neighbors=3, return_distance=False),
                                      theirs.kneighbors(n_neighbors=3, return_distance=False))
        with pytest.raises(ValueError):
            ours.kneighbors(n_neighbors=700)  # 699 other rows
        with pytest.raises(TypeError):
            ours.kneighbors(Q, n_neighbors=2.5)


def test_lof_over_distinct_rows_is_sklearns_lof_of_the_unique_rows():
    """distinct_rows=True: scikit-learn's LOF fitted on np.unique's rows,
    each row scored as its copy there (live, same data)."""
    rng = np.random.RandomState(4)
    X = rng.randn(400, 5).astype(np.float32)
    X[100:220] = X[100]             # 120 clones
    X[0] = X[100]
    X[0, 2] += np.float32(0.1)      # one beside them
    ours = stray.LocalOutlierFactor(n_neighbors=20, distinct_rows=True, backend="cpu").fit(X)
    unique, inverse = np.unique(X, axis=0, return_inverse=True)
    theirs = sklearn.neighbors.LocalOutlierFactor(n_neighbors=20).fit(unique.astype(np.float64))
    want = theirs.negative_outlier_factor_[inverse.ravel()]
    np.testing.assert_allclose(ours.negative_outlier_factor_, want, rtol=1e-6)
    assert ours.negative_outlier_factor_[0] > -10
    plain = stray.LocalOutlierFactor(n_neighbors=20, backend="cpu")
    with pytest.warns(UserWarning):
        plain.fit(X)
    assert plain.negative_outlier_factor_[0] < -1e8

