"""float32 C-contiguous input reaches the library in place; anything else
is converted once, as scikit-learn's check_array converts."""

import numpy as np
import pytest
import scipy.sparse as sp

import stray
from stray import _core
from stray._validation import csr_of, float32_rows


def test_the_extension_reads_the_callers_buffer():
    X = np.ones((64, 8), dtype=np.float32)
    assert _core._data_address(X) == X.ctypes.data


def test_the_extension_never_converts_silently():
    with pytest.raises(TypeError):
        _core._data_address(np.ones((4, 4), dtype=np.float64))
    with pytest.raises(TypeError):
        _core._data_address(np.asfortranarray(np.ones((4, 3), dtype=np.float32)))


def test_estimator_validation_keeps_float32_c_arrays_and_converts_others():
    est = stray.KMeans()
    X = np.random.RandomState(0).randn(50, 4).astype(np.float32)
    assert np.shares_memory(float32_rows(est, X, reset=True), X)
    readonly = X.copy()
    readonly.setflags(write=False)
    assert np.shares_memory(float32_rows(est, readonly, reset=True), readonly)
    for other in (X.astype(np.float64), np.asfortranarray(X), X[:, ::2]):
        converted = float32_rows(est, other, reset=True)
        assert converted.dtype == np.float32 and converted.flags.c_contiguous
        assert not np.shares_memory(converted, X)


def test_csr_indices_and_values_are_read_in_place():
    X = sp.random(100, 40, density=0.1, format="csr", dtype=np.float32, random_state=0)
    X.indices = X.indices.astype(np.int32)
    csr = csr_of(X)
    # scipy's int32 row pointers are the only array copied (to int64).
    assert csr._indices_address == X.indices.ctypes.data
    assert csr._data_address == X.data.ctypes.data
    pca = stray.PCA(3, svd_solver="full").fit(X)
    dense = stray.PCA(3, svd_solver="full").fit(X.toarray())
    np.testing.assert_allclose(pca.transform(X), dense.transform(X.toarray()), atol=1e-4)


def test_fit_does_not_modify_or_copy_a_float32_input():
    X = np.random.RandomState(1).randn(2000, 16).astype(np.float32)
    before = X.copy()
    stray.KMeans(4, random_state=0).fit(X)
    stray.PCA(4).fit(X)
    np.testing.assert_array_equal(X, before)
