"""The Transformer's layers: scaled dot-product and multi-head attention, LayerNorm,
positional encodings, the feed-forward block, residual blocks, encoder and decoder layers.

Beyond the book (Vaswani et al. 2017), built on the book's attention math
(``attention.chapter8``: the same two functions with a scale, a mask and a heads axis).

Masks (``mask``, ``key_padding_mask``) follow PyTorch's ``key_padding_mask`` convention:
True means "ignore this key". (PyTorch's ``F.scaled_dot_product_attention`` reads a boolean
``attn_mask`` the other way round: True there means "take part".) A query row whose keys are
all masked gets all-zero weights, so its output is 0 and no gradient flows through it; this
is what ``F.scaled_dot_product_attention`` returns too, where a plain softmax would give NaN.
``causal=True`` lets query i see keys 0..i (top-left aligned, PyTorch's ``is_causal``).
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import get_array_module
from ..errors import InputError, InputTypeError
from ..functions import relu
from ..layers import Affine, Dropout, check_last_dim
from .chapter8 import (
    attention_weight_backward,
    attention_weight_forward,
    weight_sum_backward,
    weight_sum_forward,
)

# ---------------------------------------------------------------- masks


def causal_mask(Tq, Tk, xp, offset=0):
    """(Tq, Tk) bool, True above the diagonal: query i may not see keys j > i + offset.

    offset > 0 is for queries that come after ``offset`` cached keys (query i sits at
    position offset + i), as in generation with a key/value cache."""
    return xp.triu(xp.ones((Tq, Tk), dtype=bool), k=1 + offset)


def attention_mask(N, Tq, Tk, causal=False, key_padding_mask=None, xp=None, offset=0):
    """The mask for (N, heads, Tq, Tk) scores, True = ignore, or None when nothing is masked.

    key_padding_mask: (N, Tk) bool, True at padding keys (PyTorch's convention). Returns an
    array broadcastable to (N, 1, Tq, Tk) (one mask for all heads). ``offset``: the causal
    mask's (see ``causal_mask``).
    """
    mask = None
    if key_padding_mask is not None:
        xp = xp or get_array_module(key_padding_mask)
        kpm = xp.asarray(key_padding_mask)
        if kpm.dtype != bool:
            raise InputTypeError(f"key_padding_mask must be bool (True = ignore), got {kpm.dtype}")
        if kpm.shape != (N, Tk):
            raise InputError(
                f"key_padding_mask must have shape (N, Tk) = ({N}, {Tk}), got {tuple(kpm.shape)}"
            )
        mask = kpm[:, None, None, :]
    if causal:
        c = causal_mask(Tq, Tk, xp, offset)
        mask = c if mask is None else (mask | c)
    return mask


# ---------------------------------------------------------------- scaled dot-product attention


def dropout_forward(layer, x, train_flg):
    """``layer.forward(x, train_flg)`` for a Dropout, skipping the random mask when the
    ratio is 0 (a configuration without dropout should not pay for drawing one)."""
    return layer.forward(x, bool(train_flg) and layer.dropout_ratio > 0)


def _check_mask(mask, scores_shape):
    """A bool mask that broadcasts to the scores' shape (..., Tq, Tk), or a clear error."""
    xp = get_array_module(mask)
    mask = xp.asarray(mask)
    if mask.dtype != bool:
        raise InputTypeError(f"attention mask must be bool (True = ignore), got {mask.dtype}")
    try:
        fits = np.broadcast_shapes(mask.shape, scores_shape) == tuple(scores_shape)
    except ValueError:
        fits = False
    if not fits:
        raise InputError(
            f"attention mask of shape {tuple(mask.shape)} does not broadcast to the scores' "
            f"shape {tuple(scores_shape)} (..., Tq, Tk)"
        )
    return mask


class ScaledDotProductAttention:
    """softmax(q k^T / sqrt(d)) v, over any leading axes (batch, heads).

    forward(q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv), mask=None) -> (..., Tq, dv);
    mask: bool broadcastable to (..., Tq, Tk), True = ignore (see the module docstring).
    backward(dout (..., Tq, dv)) -> (dq, dk, dv). ``weights`` keeps the last attention
    weights (..., Tq, Tk). ``scale`` defaults to 1 / sqrt(d), as in the Transformer.

    The math is the book's attention (``attention_weight_*`` and ``weight_sum_*``) with
    keys and values apart and a scale.
    """

    def __init__(self, scale=None):
        self.params, self.grads = [], []
        self.scale = scale
        self.weights = None
        self.cache = None

    def forward(self, q, k, v, mask=None):
        if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
            raise InputError(
                "ScaledDotProductAttention expects q (..., Tq, d), k (..., Tk, d), "
                f"v (..., Tk, dv) of the same rank, got {tuple(q.shape)}, {tuple(k.shape)}, "
                f"{tuple(v.shape)}"
            )
        if k.shape[-1] != q.shape[-1] or k.shape[-2] != v.shape[-2]:
            raise InputError(
                "ScaledDotProductAttention: k must be (..., Tk, d) with q's d and v "
                f"(..., Tk, dv) with k's Tk, got q {tuple(q.shape)}, k {tuple(k.shape)}, "
                f"v {tuple(v.shape)}"
            )
        if mask is not None:
            mask = _check_mask(mask, q.shape[:-1] + (k.shape[-2],))
        scale = self.scale if self.scale is not None else 1.0 / math.sqrt(q.shape[-1])
        a = attention_weight_forward(k, q, scale, mask)
        self.weights = a
        self.cache = (q, k, v, a, scale)
        return weight_sum_forward(v, a)

    def backward(self, dout):
        q, k, v, a, scale = self.cache
        dv, da = weight_sum_backward(v, a, dout)
        dk, dq = attention_weight_backward(k, q, a, da, scale)
        return dq, dk, dv


# ---------------------------------------------------------------- multi-head attention


def _weight_grad(x2, d2):
    """x2^T @ d2 for x2 (M, D_in), d2 (M, D_out) with M = N*T large: the weight gradient.

    Computed as (d2^T @ x2)^T, a transposed view of the product. The same product, but
    OpenBLAS's sgemm with the long M axis as the reduction runs faster with the
    small-by-long operand on the left (measured in docs/transformer.md, "Figures")."""
    return (d2.T @ x2).T


def _check_3d(x, D, what, layer):
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != 3 or shape[2] != D:
        raise InputError(f"{layer} expects {what} of shape (N, T, {D}), got {shape}")


class MultiHeadAttention:
    """Multi-head attention with its four projections (Vaswani et al. 2017).

    Wq, Wk, Wv, Wo: (D, D) in the book's (in, out) layout; bq, bk, bv, bo: (D,).
    params are [Wq, bq, Wk, bk, Wv, bv, Wo, bo]. D must be divisible by ``num_heads``.

    forward(q (N, Tq, D), kv=None, causal=False, key_padding_mask=None) -> (N, Tq, D).
    kv=None is self-attention (keys and values from q); otherwise kv (N, Tk, D) is the
    memory that cross-attention reads. key_padding_mask: (N, Tk) bool, True = ignore.
    backward(dout (N, Tq, D)) -> dq for self-attention, (dq, dkv) for cross-attention.
    ``weights`` holds the last attention weights (N, heads, Tq, Tk).

    Key/value cache (generation only, no backward): ``forward(q, causal=True, past=(K, V))``
    with the keys and values of the Tc earlier positions, each (N, heads, Tc, d), projects
    only the Tq new positions, attends over all Tc + Tq keys (query i sits at position
    Tc + i) and keeps the grown cache in ``present`` = (K, V), each (N, heads, Tc + Tq, d).
    ``past=()`` starts an empty cache. Each new token thus costs O(Tc) instead of
    re-running the whole prefix.

    Heads are a reshape of the projections to (N, T, heads, d) and a transposed view to
    (N, heads, T, d); every product is one batched matmul over (N, heads). In
    self-attention the three input projections are one (N*T, D) @ (D, 3D) matmul.
    """

    def __init__(self, Wq, bq, Wk, bk, Wv, bv, Wo, bo, num_heads):
        D = Wq.shape[0]
        for name, W in (("Wq", Wq), ("Wk", Wk), ("Wv", Wv), ("Wo", Wo)):
            if W.shape != (D, D):
                raise InputError(f"MultiHeadAttention: {name} must be ({D}, {D}), got {W.shape}")
        for name, b in (("bq", bq), ("bk", bk), ("bv", bv), ("bo", bo)):
            if b.shape != (D,):
                raise InputError(f"MultiHeadAttention: {name} must be ({D},), got {b.shape}")
        if int(num_heads) < 1 or D % int(num_heads):
            raise InputError(
                f"MultiHeadAttention: D = {D} must be divisible by num_heads, got {num_heads}"
            )
        self.num_heads = int(num_heads)
        self.params = [Wq, bq, Wk, bk, Wv, bv, Wo, bo]
        xp = get_array_module(Wq)
        self.grads = [xp.zeros_like(p) for p in self.params]
        self.attention = ScaledDotProductAttention()
        self.cache = None
        self.present = None  # the key/value cache after a forward with ``past``

    @property
    def weights(self):
        return self.attention.weights

    def _project(self, x, first, count):
        """x (N, T, D) through ``count`` consecutive projections from params[2 * first]:
        one matmul; returns the (count, N, heads, T, d) view and the fused W (D, count*D)."""
        xp = get_array_module(x)
        W_list = self.params[2 * first : 2 * (first + count) : 2]
        b_list = self.params[2 * first + 1 : 2 * (first + count) : 2]
        W = W_list[0] if count == 1 else xp.concatenate(W_list, axis=1)
        b = b_list[0] if count == 1 else xp.concatenate(b_list)
        N, T, D = x.shape
        H = self.num_heads
        y = x.reshape(N * T, D) @ W
        y += b
        return y.reshape(N, T, count, H, D // H).transpose(2, 0, 3, 1, 4), W

    def forward(self, q, kv=None, causal=False, key_padding_mask=None, past=None):
        D = self.params[0].shape[0]
        _check_3d(q, D, "q", "MultiHeadAttention")
        N, Tq, _ = q.shape
        offset = 0
        if kv is None:
            (Q, K, V), W_in = self._project(q, 0, 3)  # each (N, heads, Tq, d)
            if past is not None:
                K, V = _extend_cache(past, K, V)  # (N, heads, Tc + Tq, d)
                offset = K.shape[2] - Tq  # Tc: the new queries come after the cache
                self.present = (K, V)
            Tk = K.shape[2]
        elif past is not None:
            raise InputError("MultiHeadAttention: a key/value cache (past) is for self-attention")
        else:
            _check_3d(kv, D, "kv", "MultiHeadAttention")
            if kv.shape[0] != N:
                raise InputError(f"MultiHeadAttention: kv has batch size {kv.shape[0]}, q has {N}")
            Tk = kv.shape[1]
            (Q,), Wq = self._project(q, 0, 1)
            (K, V), W_kv = self._project(kv, 1, 2)
            W_in = (Wq, W_kv)
        mask = attention_mask(N, Tq, Tk, causal, key_padding_mask, get_array_module(q), offset)
        ctx = self.attention.forward(Q, K, V, mask)  # (N, heads, Tq, d)
        concat = ctx.transpose(0, 2, 1, 3).reshape(N * Tq, D)  # heads side by side
        out = concat @ self.params[6]
        out += self.params[7]
        # a cached forward has no backward (its keys were computed earlier)
        self.cache = None if past is not None else (q, kv, concat, W_in)
        return out.reshape(N, Tq, D)

    def _input_grads(self, x, dy, W, first, count):
        """Weight/bias gradients of a fused projection and the input gradient.

        dy: (N, T, count, heads, d) gradient of the projection's output."""
        N, T, D = x.shape
        dy2 = dy.reshape(N * T, count * D)
        dW = _weight_grad(x.reshape(N * T, D), dy2)
        db = dy2.sum(axis=0)
        for j in range(count):
            self.grads[2 * (first + j)][...] = dW[:, j * D : (j + 1) * D]
            self.grads[2 * (first + j) + 1][...] = db[j * D : (j + 1) * D]
        return (dy2 @ W.T).reshape(N, T, D)

    def backward(self, dout):
        q, kv, concat, W_in = self.cache
        xp = get_array_module(dout)
        N, Tq, D = q.shape
        H = self.num_heads
        d2 = dout.reshape(N * Tq, D)
        self.grads[6][...] = _weight_grad(concat, d2)
        self.grads[7][...] = d2.sum(axis=0)
        dctx = (d2 @ self.params[6].T).reshape(N, Tq, H, D // H).transpose(0, 2, 1, 3)
        dQ, dK, dV = self.attention.backward(dctx)
        if kv is None:
            # write the three gradients into one (N, T, 3, heads, d) buffer so the fused
            # projection's backward is again one matmul each for dW and dx
            dqkv = xp.empty((N, Tq, 3, H, D // H), dtype=dout.dtype)
            view = dqkv.transpose(2, 0, 3, 1, 4)
            view[0], view[1], view[2] = dQ, dK, dV
            return self._input_grads(q, dqkv, W_in, 0, 3)
        Wq, W_kv = W_in
        Tk = kv.shape[1]
        dq = self._input_grads(q, dQ.transpose(0, 2, 1, 3), Wq, 0, 1)
        dkv_proj = xp.empty((N, Tk, 2, H, D // H), dtype=dout.dtype)
        view = dkv_proj.transpose(2, 0, 3, 1, 4)
        view[0], view[1] = dK, dV
        dkv = self._input_grads(kv, dkv_proj, W_kv, 1, 2)
        return dq, dkv


def _extend_cache(past, K, V):
    """The cached keys/values (N, heads, Tc, d) each, with the new K, V (N, heads, Tq, d)
    appended on the time axis; ``past=()`` is an empty cache."""
    if len(past) == 0:
        return K, V
    K_past, V_past = past
    if K_past.shape[:2] != K.shape[:2] or K_past.shape[3] != K.shape[3]:
        raise InputError(
            f"MultiHeadAttention: a key/value cache of shape {tuple(K_past.shape)} does not fit "
            f"the new keys {tuple(K.shape)} (N, heads, T, d)"
        )
    xp = get_array_module(K)
    return xp.concatenate([K_past, K], axis=2), xp.concatenate([V_past, V], axis=2)


# ---------------------------------------------------------------- normalisation, positions


class LayerNorm:
    """Layer normalisation over the last axis: gamma * (x - mean) / sqrt(var + eps) + beta.

    gamma, beta: (D,); forward(x (..., D)) -> (..., D); backward(dout) -> dx.
    The variance is the biased one (divided by D), as in PyTorch's ``F.layer_norm``.
    """

    def __init__(self, gamma, beta, eps=1e-5):
        if gamma.ndim != 1 or beta.shape != gamma.shape:
            raise InputError(
                f"LayerNorm expects gamma and beta of shape (D,), got {gamma.shape}, {beta.shape}"
            )
        self.params = [gamma, beta]
        xp = get_array_module(gamma)
        self.grads = [xp.zeros_like(gamma), xp.zeros_like(beta)]
        self.eps = float(eps)
        self.cache = None

    def forward(self, x):
        gamma, beta = self.params
        check_last_dim(x, gamma.shape[0], "LayerNorm")
        xp = get_array_module(x)
        xc = x - x.mean(axis=-1, keepdims=True)
        var = (xc * xc).mean(axis=-1, keepdims=True)
        rstd = 1.0 / xp.sqrt(var + self.eps)
        xhat = xc
        xhat *= rstd  # xc is ours: normalise in place
        self.cache = (xhat, rstd)
        return xhat * gamma + beta

    def backward(self, dout):
        gamma, _ = self.params
        xhat, rstd = self.cache
        D = gamma.shape[0]
        d2, x2 = dout.reshape(-1, D), xhat.reshape(-1, D)
        self.grads[0][...] = (d2 * x2).sum(axis=0)
        self.grads[1][...] = d2.sum(axis=0)
        dxhat = dout * gamma
        # dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        proj = (dxhat * xhat).mean(axis=-1, keepdims=True)
        dx = dxhat - dxhat.mean(axis=-1, keepdims=True)
        dx -= xhat * proj
        dx *= rstd
        return dx


def sinusoidal_positions(T, D, dtype, xp, offset=0):
    """The Transformer's fixed positional table (T, D): sin on even, cos on odd columns,
    wavelengths from 2 pi to 10000 * 2 pi. Computed in float64, returned as ``dtype``."""
    pos = np.arange(offset, offset + T, dtype=np.float64)[:, None]
    freq = np.exp(-math.log(10000.0) * np.arange(0, D, 2, dtype=np.float64) / D)
    table = np.zeros((T, D), dtype=np.float64)
    table[:, 0::2] = np.sin(pos * freq)
    table[:, 1::2] = np.cos(pos * freq[: D // 2])
    return xp.asarray(table.astype(dtype))


class PositionalEncoding:
    """Adds the fixed sinusoidal positions: forward(x (N, T, D)) -> x + P[:T]; no params.

    backward(dout) -> dout (the table is constant). Works for any T. ``offset``: x holds
    positions offset..offset+T-1 (generation with a key/value cache).
    """

    def __init__(self):
        self.params, self.grads = [], []
        self._table = None

    def forward(self, x, offset=0):
        if getattr(x, "ndim", None) != 3:
            raise InputError(f"PositionalEncoding expects (N, T, D), got {getattr(x, 'shape', x)}")
        _, T, D = x.shape
        end = offset + T
        xp = get_array_module(x)
        table = self._table
        if table is None or table.shape[0] < end or table.shape[1] != D or table.dtype != x.dtype:
            table = self._table = sinusoidal_positions(max(2 * end, 64), D, x.dtype, xp)
        return x + table[offset:end]

    def backward(self, dout):
        return dout


class LearnedPositionalEmbedding:
    """Adds learned positions: W (max_len, D); forward(x (N, T, D)) -> x + W[:T], T <= max_len.

    backward(dout (N, T, D)) -> dout, with dW[:T] = dout summed over the batch. ``offset``:
    x holds positions offset..offset+T-1 (generation with a key/value cache).
    """

    def __init__(self, W):
        self.params = [W]
        self.grads = [get_array_module(W).zeros_like(W)]
        self.T, self.offset = None, 0

    def forward(self, x, offset=0):
        (W,) = self.params
        if getattr(x, "ndim", None) != 3 or x.shape[2] != W.shape[1]:
            raise InputError(
                f"LearnedPositionalEmbedding expects (N, T, {W.shape[1]}), "
                f"got {getattr(x, 'shape', x)}"
            )
        T = x.shape[1]
        if offset + T > W.shape[0]:
            raise InputError(
                f"LearnedPositionalEmbedding knows {W.shape[0]} positions, got a sequence of "
                f"{offset + T}"
            )
        self.T, self.offset = T, offset
        return x + W[offset : offset + T]

    def backward(self, dout):
        (dW,) = self.grads
        dW[...] = 0
        dW[self.offset : self.offset + self.T] = dout.sum(axis=0)
        return dout


# ---------------------------------------------------------------- feed-forward


_GELU_C = math.sqrt(2.0 / math.pi)


def gelu_tanh(x):
    """GELU, tanh approximation (PyTorch's ``F.gelu(x, approximate='tanh')``), any shape:
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    xp = get_array_module(x)
    return 0.5 * x * (1.0 + xp.tanh(_GELU_C * (x + 0.044715 * x * x * x)))


def gelu_tanh_backward(x, dout):
    """dout * d gelu_tanh / dx."""
    xp = get_array_module(x)
    x2 = x * x
    t = xp.tanh(_GELU_C * (x + 0.044715 * x2 * x))
    grad = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x2)
    return dout * grad


class FeedForward:
    """Position-wise feed-forward: act(x @ W1 + b1) @ W2 + b2, with dropout after act.

    W1: (D, F), b1: (F,), W2: (F, D), b2: (D,); x: (..., D) -> (..., D).
    activation: "relu" or "gelu". GELU is the tanh approximation, equal to PyTorch's
    ``F.gelu(x, approximate="tanh")`` (not its default exact-erf GELU: NumPy has no erf).
    The dropout sits where PyTorch's TransformerEncoderLayer has it (after the activation).
    """

    def __init__(self, W1, b1, W2, b2, activation="relu", dropout_ratio=0.0):
        if activation not in ("relu", "gelu"):
            raise InputError(f"activation must be 'relu' or 'gelu', got {activation!r}")
        if W1.shape[1] != W2.shape[0] or W2.shape[1] != W1.shape[0]:
            raise InputError(
                f"FeedForward: W1 (D, F) and W2 (F, D) do not fit: {W1.shape}, {W2.shape}"
            )
        self.activation = activation
        self.takes_train_flg = True  # Residual passes its train_flg on
        self.affine1 = Affine(W1, b1)  # Affine: any leading axes
        self.affine2 = Affine(W2, b2)
        self.dropout = Dropout(dropout_ratio)
        self.params = self.affine1.params + self.affine2.params
        self.grads = self.affine1.grads + self.affine2.grads
        self.h = None

    def forward(self, x, train_flg=False):
        h = self.affine1.forward(x)
        self.h = h
        a = relu(h) if self.activation == "relu" else gelu_tanh(h)
        return self.affine2.forward(dropout_forward(self.dropout, a, train_flg))

    def backward(self, dout):
        da = self.dropout.backward(self.affine2.backward(dout))
        if self.activation == "relu":
            da = da * (self.h > 0)
        else:
            da = gelu_tanh_backward(self.h, da)
        return self.affine1.backward(da)


# ---------------------------------------------------------------- residual blocks and layers


class Residual:
    """A sublayer with its residual connection, layer norm and dropout.

    norm_first=False (post-norm, the original Transformer): y = norm(x + drop(f(x, ...)));
    norm_first=True (pre-norm): y = x + drop(f(norm(x), ...)).
    forward(x (N, T, D), *args, train_flg=False, **kwargs) passes the extra arguments to
    the sublayer (cross-attention's memory, masks). backward(dout) -> dx, or (dx, dextra...)
    when the sublayer's backward returns a tuple (cross-attention's (dq, dkv)).
    params: the sublayer's, then the norm's.
    """

    def __init__(self, sublayer, norm, dropout_ratio=0.0, norm_first=False):
        self.sublayer, self.norm = sublayer, norm
        self.dropout = Dropout(dropout_ratio)
        self.norm_first = bool(norm_first)
        self.params = sublayer.params + norm.params
        self.grads = sublayer.grads + norm.grads

    def forward(self, x, *args, train_flg=False, **kwargs):
        if getattr(self.sublayer, "takes_train_flg", False):  # the feed-forward's own dropout
            kwargs["train_flg"] = train_flg
        if self.norm_first:
            h = self.sublayer.forward(self.norm.forward(x), *args, **kwargs)
            return x + dropout_forward(self.dropout, h, train_flg)
        h = self.sublayer.forward(x, *args, **kwargs)
        return self.norm.forward(x + dropout_forward(self.dropout, h, train_flg))

    def backward(self, dout):
        if self.norm_first:
            grads = self.sublayer.backward(self.dropout.backward(dout))
            rest = grads[1:] if isinstance(grads, tuple) else ()
            dx = dout + self.norm.backward(grads[0] if rest else grads)
        else:
            dsum = self.norm.backward(dout)
            grads = self.sublayer.backward(self.dropout.backward(dsum))
            rest = grads[1:] if isinstance(grads, tuple) else ()
            dx = dsum + (grads[0] if rest else grads)
        return (dx, *rest) if rest else dx


class TransformerEncoderLayer:
    """Self-attention block, then feed-forward block, each with residual + LayerNorm.

    Built from its parts: self_attn (MultiHeadAttention), feed_forward (FeedForward),
    norm1, norm2 (LayerNorm). norm_first as in PyTorch's ``nn.TransformerEncoderLayer``
    (False: post-norm). The residual dropout is ``dropout_ratio``; the feed-forward's inner
    dropout is the FeedForward's own. With dropout 0 this equals PyTorch's layer.

    forward(x (N, T, D), key_padding_mask=None, causal=False, train_flg=False) -> (N, T, D);
    backward(dout) -> dx. params: self_attn, norm1, feed_forward, norm2. ``past``: the
    self-attention's key/value cache (see MultiHeadAttention); the grown one is then in
    ``self_attn.present``.
    """

    def __init__(self, self_attn, feed_forward, norm1, norm2, dropout_ratio=0.0, norm_first=False):
        self.self_attn, self.feed_forward = self_attn, feed_forward
        self.block1 = Residual(self_attn, norm1, dropout_ratio, norm_first)
        self.block2 = Residual(feed_forward, norm2, dropout_ratio, norm_first)
        self.params = self.block1.params + self.block2.params
        self.grads = self.block1.grads + self.block2.grads

    def forward(self, x, key_padding_mask=None, causal=False, train_flg=False, past=None):
        x = self.block1.forward(
            x, causal=causal, key_padding_mask=key_padding_mask, train_flg=train_flg, past=past
        )
        return self.block2.forward(x, train_flg=train_flg)

    def backward(self, dout):
        return self.block1.backward(self.block2.backward(dout))


class TransformerDecoderLayer:
    """Causal self-attention, cross-attention over the encoder memory, feed-forward; each
    with residual + LayerNorm (PyTorch's ``nn.TransformerDecoderLayer`` order).

    forward(x (N, T, D), memory (N, Tm, D), causal=True, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, train_flg=False) -> (N, T, D);
    backward(dout) -> (dx, dmemory). params: self_attn, norm1, cross_attn, norm2,
    feed_forward, norm3. ``cross_attn.weights`` holds the last (N, heads, T, Tm) weights.
    ``past``: the self-attention's key/value cache (see MultiHeadAttention); the grown one
    is then in ``self_attn.present``.
    """

    def __init__(
        self,
        self_attn,
        cross_attn,
        feed_forward,
        norm1,
        norm2,
        norm3,
        dropout_ratio=0.0,
        norm_first=False,
    ):
        self.self_attn, self.cross_attn, self.feed_forward = self_attn, cross_attn, feed_forward
        self.block1 = Residual(self_attn, norm1, dropout_ratio, norm_first)
        self.block2 = Residual(cross_attn, norm2, dropout_ratio, norm_first)
        self.block3 = Residual(feed_forward, norm3, dropout_ratio, norm_first)
        blocks = (self.block1, self.block2, self.block3)
        self.params = [p for b in blocks for p in b.params]
        self.grads = [g for b in blocks for g in b.grads]

    def forward(
        self,
        x,
        memory,
        causal=True,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        train_flg=False,
        past=None,
    ):
        x = self.block1.forward(
            x, causal=causal, key_padding_mask=tgt_key_padding_mask, train_flg=train_flg,
            past=past,
        )  # fmt: skip
        x = self.block2.forward(
            x, memory, key_padding_mask=memory_key_padding_mask, train_flg=train_flg
        )
        return self.block3.forward(x, train_flg=train_flg)

    def backward(self, dout):
        dx = self.block3.backward(dout)
        dx, dmemory = self.block2.backward(dx)
        return self.block1.backward(dx), dmemory
