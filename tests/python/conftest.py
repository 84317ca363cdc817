"""Shared fixtures of the Python package's tests: the golden values under
tests/fixtures (scikit-learn's and scipy's answers, the same files the C++
suite checks) and the stray command-line tool, for agreement with it."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def golden(name):
    with open(FIXTURES / name) as f:
        return json.load(f)


def fixture_npy(relative):
    return np.load(FIXTURES / relative)


@pytest.fixture(scope="session")
def stray_cli():
    """The stray tool: $STRAY_CLI, else the C++ build's, else skip."""
    candidates = [os.environ.get("STRAY_CLI"), ROOT / "build" / "examples" / "stray",
                  shutil.which("stray")]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return str(c)
    pytest.skip("the stray command-line tool is not built (set STRAY_CLI)")
