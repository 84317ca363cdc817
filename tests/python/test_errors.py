"""stray::Error reaches Python as the exception class of its code, with the
library's message unchanged."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

import stray
from stray import _core, errors

CODES = {
    "invalid_argument": (errors.InvalidArgumentError, ValueError),
    "shape_mismatch": (errors.ShapeMismatchError, ValueError),
    "non_finite_input": (errors.NonFiniteInputError, ValueError),
    "parse_error": (errors.ParseError, ValueError),
    "not_fitted": (errors.NotFittedError, SklearnNotFittedError),
    "out_of_memory": (errors.OutOfMemoryError, MemoryError),
    "io_error": (errors.InputOutputError, OSError),
    "backend_unavailable": (errors.BackendUnavailableError, RuntimeError),
    "device_error": (errors.DeviceError, RuntimeError),
}


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_code_maps_to_its_class_with_the_same_message(code):
    cls, builtin = CODES[code]
    message = f"somewhere: {code} happened (value=42)"
    with pytest.raises(cls) as info:
        _core._raise_error(code, message)
    assert isinstance(info.value, builtin)
    assert isinstance(info.value, stray.Error)
    assert info.value.code == code
    assert str(info.value) == message


def test_library_errors_from_real_calls():
    X = np.random.RandomState(0).randn(12, 3).astype(np.float32)
    with pytest.raises(errors.InvalidArgumentError, match=r"kmeans_fit: n_samples=12 < n_clusters=16"):
        stray.KMeans(16).fit(X)
    with pytest.raises(errors.ShapeMismatchError, match="3 and 2 entries"):
        stray.adjusted_rand_score([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="backend"):
        stray.KMeans(2, backend="tpu").fit(X)


@pytest.mark.skipif("cuda" in stray.available_backends(), reason="a CUDA device is present")
def test_cuda_without_a_gpu_is_backend_unavailable():
    X = np.random.RandomState(0).randn(50, 3).astype(np.float32)
    with pytest.raises(errors.BackendUnavailableError) as info:
        stray.KMeans(2, backend="cuda").fit(X)
    assert isinstance(info.value, RuntimeError)
    assert str(info.value)  # the probe's reason


def test_files_missing_and_malformed(tmp_path):
    with pytest.raises(OSError, match="no-such-file.csv"):
        stray.fleet.fit(tmp_path / "no-such-file.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("entity,feature,value\nweb-1,package:curl,not-a-number\n")
    with pytest.raises(errors.ParseError, match="line 2"):
        stray.fleet.fit(bad)
    with pytest.raises(errors.ParseError):
        stray.fleet.load_model(bad)
