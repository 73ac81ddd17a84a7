"""The spiral toy dataset of the book's chapter 1: three interleaved spiral arms in 2-D."""

from __future__ import annotations

import numpy as np


def load_data(seed=1984, dtype=np.float32):
    """Points of three spiral arms and their one-hot classes.

    Returns x (300, 2) of ``dtype`` and t (300, 3) int one-hot. The points are the book's
    (same formula and the same random draws for a given seed), computed without a loop and
    without touching NumPy's global random state.
    """
    N, CLS_NUM = 100, 3  # points per class, classes
    noise = np.random.RandomState(seed).randn(CLS_NUM, N)  # the book draws j-major
    rate = np.arange(N) / N
    theta = np.arange(CLS_NUM)[:, None] * 4.0 + 4.0 * rate + noise * 0.2  # (CLS_NUM, N)
    radius = np.broadcast_to(rate, theta.shape)
    x = np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=-1).reshape(-1, 2)
    t = np.zeros((N * CLS_NUM, CLS_NUM), dtype=np.int64)
    t[np.arange(N * CLS_NUM), np.repeat(np.arange(CLS_NUM), N)] = 1
    return x.astype(dtype), t
