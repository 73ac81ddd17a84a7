"""Stateless math used by the layers: activations, softmax and cross-entropy.

Every function works on NumPy and CuPy arrays alike and keeps the input's float dtype
(float32 stays float32: only Python scalars, which NumPy treats as "weak", appear in the
expressions).
"""

from __future__ import annotations

import numpy as np

from .backend import can_check_values, get_array_module, loss_value
from .errors import InputError, InputTypeError


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)), any shape.

    Computed from e = exp(-|x|), which never overflows: 1 / (1 + e) for x >= 0 and
    e / (1 + e) for x < 0. The book's ``1 / (1 + np.exp(-x))`` overflows (with a warning)
    for x below about -88.7 in float32, and 0.5 * (1 + tanh(x / 2)) loses the relative
    precision of tiny outputs. (A gate that multiplies other values needs only absolute
    precision, so the CuPy kernels in ``fused.cupy_kernels`` do use the tanh form inside one
    kernel.)
    """
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0, e) / (1.0 + e)


def relu(x):
    """max(x, 0), any shape."""
    xp = get_array_module(x)
    return xp.maximum(x, 0)


def softmax(x):
    """Softmax over the last axis; x: (..., C) -> (..., C).

    Subtracting the row maximum first keeps exp() finite for logits of any size.
    """
    xp = get_array_module(x)
    e = xp.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def log_softmax(x):
    """log(softmax(x)) over the last axis, as shifted - log(sum(exp(shifted))) with shifted =
    x - max: no log is taken of a probability that underflowed to 0."""
    xp = get_array_module(x)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def softplus(x):
    """log(1 + exp(x)), stable for large |x|."""
    xp = get_array_module(x)
    return xp.logaddexp(0.0, x)


def labels_from(t, y_shape):
    """Class ids (...,) from ``t``, given as ids (...,) or as one-hot rows (..., C).

    Raises InputError (a ValueError) when the labels do not fit predictions of shape
    ``y_shape``, when (..., C) targets are not one-hot or when ids lie outside [0, C), and
    InputTypeError (a TypeError) when ids are not integers. The value checks read the
    labels, so on a GPU they run only inside ``backend.device_checks()``: a training step
    never waits for the host.
    """
    xp = get_array_module(t)
    t = xp.asarray(t)
    if t.shape == tuple(y_shape):  # one-hot targets
        # anything else (soft labels, all zeros, two ones) would be silently arg-maxed
        if can_check_values(t) and not _is_one_hot(t):
            raise InputError(
                f"targets of shape {t.shape} must be one-hot rows (a single 1, the rest 0); "
                "give class ids for other labels"
            )
        return t.argmax(axis=-1)
    if t.shape != tuple(y_shape[:-1]):
        raise InputError(
            f"labels of shape {t.shape} do not fit predictions of shape {tuple(y_shape)}: "
            f"expected ids of shape {tuple(y_shape[:-1])} or one-hot of shape {tuple(y_shape)}"
        )
    if not np.issubdtype(t.dtype, np.integer):  # a dtype question: no device work
        raise InputTypeError(f"class ids must be integers, got dtype {t.dtype}")
    C = y_shape[-1]
    if t.size and can_check_values(t) and (int(t.min()) < 0 or int(t.max()) >= C):
        raise InputError(
            f"class ids must lie in [0, {C}), got ids from {int(t.min())} to {int(t.max())}"
        )
    return t


def _is_one_hot(t):
    """True when every row of t (..., C) holds a single 1 and zeros elsewhere."""
    return bool(((t == 0) | (t == 1)).all() and (t.sum(axis=-1) == 1).all())


def cross_entropy_error(y, t):
    """Mean cross-entropy of probabilities y (N, C) (or (C,)) against labels t.

    t: class ids (N,) or one-hot (N, C). Returns a Python float (a 0-d array on a GPU,
    ``backend.loss_value``): the batch mean of
    -log y[n, t[n]]. A tiny 1e-7 keeps log() finite when a probability underflows to 0,
    as in the book.
    """
    xp = get_array_module(y)
    if y.ndim == 1:  # a single example, as in the book
        t = xp.asarray(t)
        t = t.reshape(1, -1) if t.size == y.size else t.reshape(1)
        y = y.reshape(1, -1)
    t = labels_from(t, y.shape)
    N = y.shape[0]
    if N == 0:
        raise InputError("cross_entropy_error got an empty batch")
    picked = y[xp.arange(N), t]
    return loss_value(-xp.log(picked + 1e-7).sum() / N)


def softmax_cross_entropy(x, t):
    """Mean cross-entropy of logits x (..., C) against labels t, from log-softmax.

    t: class ids (...,) or one-hot (..., C).

    More accurate than ``cross_entropy_error(softmax(x), t)`` for confident predictions.
    """
    xp = get_array_module(x)
    t = labels_from(t, x.shape)
    logp = log_softmax(x).reshape(-1, x.shape[-1])
    t = t.reshape(-1)
    if t.size == 0:
        raise InputError("softmax_cross_entropy got an empty batch")
    return loss_value(-logp[xp.arange(t.size), t].mean())
