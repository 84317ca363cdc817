"""Label scores and the assignment problem against the golden values and
against scikit-learn / scipy run live."""

import numpy as np
import pytest
import scipy.optimize
import sklearn.metrics

import stray
from conftest import golden

METRICS = golden("metrics_golden.json")
LABEL_CASES = [c for c in METRICS["labels"] if "truth" in c and len(c["truth"]) > 0]
ASSIGNMENT_CASES = [c for c in METRICS["assignment"] if "cost" in c]

SCORES = {
    "rand": stray.rand_score,
    "adjusted_rand": stray.adjusted_rand_score,
    "mutual_info": stray.mutual_info_score,
    "normalized_mutual_info": stray.normalized_mutual_info_score,
    "adjusted_mutual_info": stray.adjusted_mutual_info_score,
    "homogeneity": stray.homogeneity_score,
    "completeness": stray.completeness_score,
    "v_measure": stray.v_measure_score,
}


@pytest.mark.parametrize("case", LABEL_CASES, ids=lambda c: c["name"])
def test_label_scores_match_golden(case):
    for name, f in SCORES.items():
        assert f(case["truth"], case["pred"]) == pytest.approx(case["scores"][name], abs=1e-12), name


@pytest.mark.parametrize("case", ASSIGNMENT_CASES, ids=lambda c: c["name"])
def test_assignment_matches_scipy_golden(case):
    cost = np.asarray(case["cost"], dtype=np.float64).reshape(len(case["cost"]), -1)
    if "error" in case:
        with pytest.raises(ValueError, match=case["error"]):
            stray.linear_sum_assignment(cost, maximize=case["maximize"])
        return
    rows, cols = stray.linear_sum_assignment(cost, maximize=case["maximize"])
    assert cost[rows, cols].sum() == pytest.approx(case["total_cost"])
    np.testing.assert_array_equal(rows, case["rows"])
    np.testing.assert_array_equal(cols, case["cols"])


def test_scores_agree_with_sklearn_on_random_and_string_labels():
    rng = np.random.RandomState(0)
    truth = rng.randint(0, 7, 2000)
    pred = np.where(rng.rand(2000) < 0.7, truth, rng.randint(0, 9, 2000))
    for name, ours in SCORES.items():
        theirs = getattr(sklearn.metrics, f"{name}_score")
        assert ours(truth, pred) == pytest.approx(theirs(truth, pred), abs=1e-10), name
    words = np.array(["web", "db", "ci", "lb"])[truth % 4]
    assert stray.adjusted_rand_score(words, pred) == pytest.approx(
        sklearn.metrics.adjusted_rand_score(words, pred), abs=1e-12)


def test_assignment_agrees_with_scipy_on_random_rectangles():
    rng = np.random.RandomState(1)
    for shape in [(7, 7), (5, 9), (9, 4)]:
        cost = rng.rand(*shape)
        for maximize in (False, True):
            ours = stray.linear_sum_assignment(cost, maximize)
            theirs = scipy.optimize.linear_sum_assignment(cost, maximize)
            np.testing.assert_array_equal(ours[0], theirs[0])
            np.testing.assert_array_equal(ours[1], theirs[1])


def test_silhouette_agrees_with_sklearn():
    rng = np.random.RandomState(2)
    X = np.vstack([rng.randn(100, 4), rng.randn(100, 4) + 4]).astype(np.float32)
    labels = np.repeat([0, 1], 100)
    np.testing.assert_allclose(stray.silhouette_samples(X, labels),
                               sklearn.metrics.silhouette_samples(X.astype(np.float64), labels),
                               atol=1e-5)
    assert stray.silhouette_score(X, labels) == pytest.approx(
        sklearn.metrics.silhouette_score(X.astype(np.float64), labels), abs=1e-5)


def test_empty_labelings_are_an_error_unlike_sklearn():
    with pytest.raises(ValueError, match="empty"):
        stray.adjusted_rand_score([], [])
