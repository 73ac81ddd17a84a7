"""The book's ``dataset/spiral.py`` over ``zeronlp.datasets.spiral``."""

import numpy as np

from ...datasets import spiral as _spiral

__all__ = ["load_data"]

_N, _CLS_NUM = 100, 3


def load_data(seed=1984):
    """x (300, 2) float64 points and t (300, 3) int32 one-hot classes, the book's arrays.

    As the book's loader, this seeds NumPy's global generator with ``seed`` and draws its
    300 normal numbers from it, so a model created afterwards with ``np.random.randn`` gets
    the book's initial weights (zeronlp's loader leaves the global generator alone).
    """
    x, t = _spiral.load_data(seed, dtype=np.float64)
    np.random.seed(seed)
    np.random.randn(_N * _CLS_NUM)  # the book's draws, to leave the generator where it does
    return x, t.astype(np.int32)
