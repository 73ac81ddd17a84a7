"""Initialisers of the models' parameters, in one place.

Every model draws its weights here, in the model dtype (``backend.float_dtype()``, float32
by default) on the current device, from the global generator (``zeronlp.seed``). The
book's rule is a normal distribution with std 1/sqrt(fan-in) for weights, zeros for biases
and std 0.01 for embeddings.
"""

from __future__ import annotations

import math

from ..backend import float_dtype, xp
from ..fused import TimeAffineSoftmaxWithLoss
from ..time_layers import TimeLSTM


def randn(*shape, scale=1.0):
    """Standard-normal parameters times ``scale``."""
    return (xp().random.randn(*shape) * scale).astype(float_dtype())


def zeros(*shape):
    return xp().zeros(shape, dtype=float_dtype())


def ones(*shape):
    return xp().ones(shape, dtype=float_dtype())


def xavier(fan_in, *shape):
    """randn(*shape) / sqrt(fan_in): the book's initialisation of weights (its "Xavier")."""
    return randn(*shape, scale=1 / math.sqrt(fan_in))


def lstm(D, H, stateful):
    """A TimeLSTM with the book's initialisation, input D, hidden H."""
    return TimeLSTM(xavier(D, D, 4 * H), xavier(H, H, 4 * H), zeros(4 * H), stateful=stateful)


def output_layer(H, V):
    """The fused affine + softmax + loss from H to the vocabulary V: W (H, V), b (V,)."""
    return TimeAffineSoftmaxWithLoss(xavier(H, H, V), zeros(V))
