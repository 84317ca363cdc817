"""scikit-learn's own estimator checks, and the API conventions they do not
cover (parameters, cloning, pickling, pipelines, DataFrames)."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator

import stray

# The checks stray's estimators are expected to fail, and why (docs/python.md
# lists them too). Anything else failing fails this test.
EXPECTED_FAILED = {
    "KMeans": {
        "check_sample_weight_equivalence_on_dense_data":
            "k-means++ draws differ between weighted and repeated rows, so the fits "
            "reach different local optima (scikit-learn's own KMeans is marked the same way)",
        "check_sample_weight_equivalence_on_sparse_data":
            "as on dense data: different k-means++ draws, different local optima",
    },
}

ESTIMATORS = [
    stray.KMeans(n_clusters=3, random_state=0, n_init=1),
    stray.PCA(),
    stray.PCA(n_components=2, svd_solver="randomized", random_state=0),
    stray.LocalOutlierFactor(),
    stray.LocalOutlierFactor(novelty=True),
    stray.NearestNeighbors(),
    stray.AgglomerativeClustering(),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_sklearn_check_estimator(estimator):
    expected = EXPECTED_FAILED.get(type(estimator).__name__, {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None, expected_failed_checks=expected)
    failed = [(r["check_name"], str(r["exception"])[:300]) for r in results
              if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) > 30


def test_params_have_sklearn_names_and_defaults():
    import sklearn.cluster
    import sklearn.decomposition
    import sklearn.neighbors
    pairs = [(stray.KMeans, sklearn.cluster.KMeans), (stray.PCA, sklearn.decomposition.PCA),
             (stray.LocalOutlierFactor, sklearn.neighbors.LocalOutlierFactor),
             (stray.NearestNeighbors, sklearn.neighbors.NearestNeighbors),
             (stray.AgglomerativeClustering, sklearn.cluster.AgglomerativeClustering)]
    for ours, theirs in pairs:
        p = ours().get_params()
        # AgglomerativeClustering runs on host threads and has no backend.
        assert p.pop("backend", "auto") == "auto"
        assert p.pop("distinct_rows", False) is False  # stray's own, off as scikit-learn
        assert p == theirs().get_params(), ours.__name__


def test_set_params_clone_and_pickle_keep_the_fit():
    X = np.random.RandomState(0).randn(300, 5).astype(np.float32)
    km = stray.KMeans(4, random_state=1).set_params(max_iter=50, backend="cpu").fit(X)
    assert clone(km).get_params() == km.get_params()
    again = pickle.loads(pickle.dumps(km))
    np.testing.assert_array_equal(again.predict(X), km.predict(X))
    pca = pickle.loads(pickle.dumps(stray.PCA(3, whiten=True).fit(X)))
    np.testing.assert_allclose(pca.transform(X), stray.PCA(3, whiten=True).fit(X).transform(X))
    lof = stray.LocalOutlierFactor(novelty=True).fit(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(lof)).score_samples(X[:20]),
                                  lof.score_samples(X[:20]))


def test_same_random_state_same_fit_and_pipeline_use():
    X = np.random.RandomState(1).randn(500, 20).astype(np.float32)
    a = stray.KMeans(5, random_state=7).fit(X)
    b = stray.KMeans(5, random_state=7).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    pipe = make_pipeline(stray.PCA(4), stray.KMeans(3, random_state=0)).fit(X)
    assert pipe.predict(X).shape == (500,)


def test_dataframe_feature_names_and_n_features_in():
    pd = pytest.importorskip("pandas")
    X = np.random.RandomState(2).randn(100, 3).astype(np.float32)
    df = pd.DataFrame(X, columns=["cpu", "mem", "net"])
    pca = stray.PCA(2).fit(df)
    assert pca.n_features_in_ == 3
    assert list(pca.feature_names_in_) == ["cpu", "mem", "net"]
    assert list(pca.get_feature_names_out()) == ["pca0", "pca1"]
    with pytest.raises(ValueError, match="feature names"):
        pca.transform(df[["cpu", "net", "mem"]])
