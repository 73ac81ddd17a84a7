"""Attention of the book's chapter 8: WeightSum, AttentionWeight, Attention, TimeAttention.

The book builds attention from two step layers: ``AttentionWeight`` scores every encoder
state against one decoder state and softmaxes the scores; ``WeightSum`` takes the weighted
sum of the encoder states. ``Attention`` chains them for one decoder step and
``TimeAttention`` applies it to every decoder step.

Nothing in attention depends on a previous step, so the math is written once for a whole
block of queries, q (..., Tq, H) against hs (..., T, H), with batched matmuls
(``attention_weight_forward`` and friends): the step layers call it with Tq = 1,
``TimeAttention`` calls it once for all decoder steps instead of looping over them (the
book's TimeAttention makes one Attention object per step), and the Transformer's scaled
dot-product attention (``attention.transformer``) calls the same functions with a scale, a
mask (True = ignore this key) and a leading heads axis.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..errors import InputError

# ---------------------------------------------------------------- the math, batched


def _swap(x):
    """The last two axes swapped (a view): the batched transpose of stacks of matrices."""
    return x.swapaxes(-1, -2)


def _softmax_(s, mask=None):
    """Softmax over the last axis IN PLACE on scores s (..., Tk) that the caller owns.

    mask: bool broadcastable to s, True = ignore. Rows with every entry masked become 0.
    """
    xp = get_array_module(s)
    if mask is not None:
        xp.copyto(s, -xp.inf, where=mask)
    m = s.max(axis=-1, keepdims=True)
    if mask is not None:  # a fully masked row has max -inf; shift it by 0 so exp() gives 0
        xp.copyto(m, 0, where=~xp.isfinite(m))
    s -= m
    xp.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    if mask is not None:
        xp.copyto(total, 1, where=total == 0)
    s /= total
    return s


def attention_weight_forward(hs, q, scale=None, mask=None):
    """Weights of each query over the states: hs (..., T, H), q (..., Tq, H) -> a (..., Tq, T).

    a = softmax(scale * q @ hs^T) with the masked entries (True) left out. ``scale=None`` is
    the book's unscaled score; the Transformer uses 1 / sqrt(H). The scale multiplies q
    (Tq * H numbers) rather than the scores (Tq * T numbers).
    """
    if scale is not None:
        q = q * scale
    return _softmax_(q @ _swap(hs), mask)


def attention_weight_backward(hs, q, a, da, scale=None):
    """Gradients of ``attention_weight_forward``: da (..., Tq, T) -> (dhs, dq).

    Masked weights are 0, so the softmax backward a * (da - sum(a * da)) is 0 there too.
    """
    ds = a * da
    row = ds.sum(axis=-1, keepdims=True)
    get_array_module(ds).subtract(da, row, out=ds)
    ds *= a  # softmax backward: a * (da - sum(a * da)), without another temporary
    dhs = _swap(ds) @ q  # (..., T, H)
    dq = ds @ hs  # (..., Tq, H)
    if scale is not None:  # scores = scale * q @ hs^T: the scale flows into both gradients
        dhs *= scale
        dq *= scale
    return dhs, dq


def weight_sum_forward(hs, a):
    """Weighted sums of the states: hs (..., T, H), a (..., Tq, T) -> c (..., Tq, H)."""
    return a @ hs


def weight_sum_backward(hs, a, dc):
    """Gradients of ``weight_sum_forward``: dc (..., Tq, H) -> (dhs, da)."""
    return _swap(a) @ dc, dc @ _swap(hs)


def _check_states(hs, h, layer):
    if hs.ndim != 3:
        raise InputError(f"{layer} expects hs of shape (N, T, H), got {tuple(hs.shape)}")
    N, _, H = hs.shape
    if h.ndim != 2 or h.shape != (N, H):
        raise InputError(f"{layer} expects h of shape ({N}, {H}), got {tuple(h.shape)}")


# ---------------------------------------------------------------- the book's layers


class WeightSum:
    """Context vector of one step. forward(hs (N, T, H), a (N, T)) -> c (N, H);
    backward(dc (N, H)) -> (dhs (N, T, H), da (N, T))."""

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None

    def forward(self, hs, a):
        if a.shape != hs.shape[:2]:
            raise InputError(
                f"WeightSum expects weights of shape {tuple(hs.shape[:2])}, got {tuple(a.shape)}"
            )
        a3 = a[:, None, :]
        self.cache = (hs, a3)
        return weight_sum_forward(hs, a3)[:, 0, :]

    def backward(self, dc):
        hs, a3 = self.cache
        dhs, da = weight_sum_backward(hs, a3, dc[:, None, :])
        return dhs, da[:, 0, :]


class AttentionWeight:
    """Attention weights of one step. forward(hs (N, T, H), h (N, H)) -> a (N, T);
    backward(da (N, T)) -> (dhs (N, T, H), dh (N, H))."""

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None

    def forward(self, hs, h):
        _check_states(hs, h, "AttentionWeight")
        q = h[:, None, :]
        a = attention_weight_forward(hs, q)
        self.cache = (hs, q, a)
        return a[:, 0, :]

    def backward(self, da):
        hs, q, a = self.cache
        dhs, dq = attention_weight_backward(hs, q, a, da[:, None, :])
        return dhs, dq[:, 0, :]


class Attention:
    """One decoder step of attention: forward(hs (N, T, H), h (N, H)) -> c (N, H).

    backward(dc) -> (dhs, dh). ``attention_weight`` keeps the last weights (N, T).
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.attention_weight_layer = AttentionWeight()
        self.weight_sum_layer = WeightSum()
        self.attention_weight = None

    def forward(self, hs, h):
        a = self.attention_weight_layer.forward(hs, h)
        out = self.weight_sum_layer.forward(hs, a)
        self.attention_weight = a
        return out

    def backward(self, dout):
        dhs0, da = self.weight_sum_layer.backward(dout)
        dhs1, dh = self.attention_weight_layer.backward(da)
        return dhs0 + dhs1, dh


class TimeAttention:
    """Attention for every decoder step at once.

    forward(hs_enc (N, Te, H), hs_dec (N, Td, H)) -> c (N, Td, H);
    backward(dc) -> (dhs_enc, dhs_dec). ``attention_weights`` is the book's list of
    per-step weights [(N, Te)] * Td (views of one (N, Td, Te) array, ``weights``), ready
    for a heatmap.
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None
        self.weights = None
        self.attention_weights = None

    def forward(self, hs_enc, hs_dec):
        if (
            hs_enc.ndim != 3
            or hs_dec.ndim != 3
            or (hs_enc.shape[0] != hs_dec.shape[0] or hs_enc.shape[2] != hs_dec.shape[2])
        ):
            raise InputError(
                "TimeAttention expects hs_enc (N, Te, H) and hs_dec (N, Td, H), got "
                f"{tuple(hs_enc.shape)} and {tuple(hs_dec.shape)}"
            )
        a = attention_weight_forward(hs_enc, hs_dec)
        self.cache = (hs_enc, hs_dec, a)
        self.weights = a
        self.attention_weights = [a[:, t, :] for t in range(a.shape[1])]
        return weight_sum_forward(hs_enc, a)

    def backward(self, dout):
        hs_enc, hs_dec, a = self.cache
        dhs_enc, da = weight_sum_backward(hs_enc, a, dout)
        dhs_enc_w, dhs_dec = attention_weight_backward(hs_enc, hs_dec, a, da)
        dhs_enc += dhs_enc_w
        return dhs_enc, dhs_dec
