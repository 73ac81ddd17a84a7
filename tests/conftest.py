import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seed_global_rng():
    # Layers draw from NumPy's global generator (dropout, negative sampling), as the book's do.
    np.random.seed(0)


@pytest.fixture
def data_dir():
    """The shared data folder named by ZERONLP_DATA; skips when it is not set."""
    root = os.environ.get("ZERONLP_DATA")
    if not root:
        pytest.skip("ZERONLP_DATA is not set: point it at the shared data folder to run this test")
    path = Path(root)
    if not path.is_dir():
        pytest.skip(f"ZERONLP_DATA={root} is not a directory")
    return path
