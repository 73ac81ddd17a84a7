"""TimeAffineSoftmaxWithLoss: TimeAffine + TimeSoftmaxWithLoss in one chunked layer.

The math is the two book-shaped layers' (``time_layers.TimeAffine`` and
``time_layers.TimeSoftmaxWithLoss``), for hidden states hs (N*T rows of D) and targets t:

    scores = hs @ W + b                                   (N*T, V)
    loss   = mean over counted rows of  log(sum(exp(scores))) - scores[t]
    dscores = (softmax(scores) - onehot(t)) / count       (0 on ignored rows)
    dW = hs.T @ dscores,   db = dscores.sum(0),   dhs = dscores @ W.T

The loss is the last layer of a model, so its gradient is known as soon as the scores are:
in training, ``forward`` computes the loss AND the gradients, a block of rows at a time
(``chunk_bytes`` of scores, sized to stay in the CPU cache), and never holds the (N*T, V)
scores. ``backward`` then only writes [dW; db] into ``grads`` (as the layer protocol has it:
a forward alone, say of a numerical gradient check, leaves ``grads`` alone) and hands dhs on.

Per block of rows, with e = exp(scores) and z = e.sum(1) (its row sums), the gradient is
factored so that no pass over the block is spent on scaling it:

    dscores = scale[:, None] * e - (coef * counted)[:, None] * onehot(t)
    scale = coef * counted / z                           (counted: 1.0, ignored: 0.0)
    [dW; db] += ([hs, 1] * scale[:, None]).T @ e         (the one-hot part after the loop:
    dhs       = scale[:, None] * (e @ W.T)                 a scatter-add and a gather of
                                                           N*T rows, not of N*T*V entries)

The max shift (softmax(s) = softmax(s - max s)) is skipped when it is not needed: exp() is
taken of the scores as they are, and the row sums tell afterwards whether that was safe.
If every z lies in [sqrt(tiny), 1 / sqrt(tiny)] of the dtype (1e-19 .. 9e18 in float32),
no exp() overflowed (an overflow makes its row's sum inf), and each row's largest terms
are normal numbers, so exp(s) / z is as accurate as exp(s - max) / sum: the block goes on.
Otherwise (large scores, NaN) the block is computed again with the shift.

tests/test_fused.py proves it equal to TimeAffine + TimeSoftmaxWithLoss; docs/time_layers.md
has the measurements.
"""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module, is_device_array, loss_value, scatter_add
from ..errors import InputError
from ..time_layers.basic import as_float, check_affine_params, check_shape, check_targets


def add_product_t(G, a, d, scratch):
    """G += a.T @ d for a (r, K), d (r, V), G and scratch (K, V): the product is written into
    ``scratch`` (kept by the layer from step to step) instead of a new array every block.

    (SciPy's BLAS gemm with beta = 1 could add without the scratch, but SciPy brings its own
    OpenBLAS, whose threads spin against NumPy's: see docs/time_layers.md.)
    """
    get_array_module(G).matmul(a.T, d, out=scratch)
    G += scratch


class TimeAffineSoftmaxWithLoss:
    """TimeAffine (W (D, V), b (V,)) followed by TimeSoftmaxWithLoss, fused and chunked.

    forward(hs (N, T, D), ts (N, T) int ids, -1 = ignored) -> float loss (the mean over
    the counted targets; 0.0 when all are ignored). With ``train_flg`` True (the default)
    it also computes dW, db and dhs (``backward`` writes dW, db into ``grads``); set it
    False to compute the loss only.
    backward(dout=1) -> dhs (N, T, D), scaled by dout (and the grads with it).
    predict(hs (N, T, D)) -> scores (N, T, V): the affine map alone, for generation.
    params = [W, b], the book's TimeAffine parameters.
    """

    def __init__(self, W, b, chunk_bytes=1 << 23):
        check_affine_params("TimeAffineSoftmaxWithLoss", W, b)
        xp = get_array_module(W)
        D, V = W.shape
        self.params = [W, b]
        self._grad = xp.zeros((D + 1, V), dtype=W.dtype)  # [dW; db] as backward writes it
        self.grads = [self._grad[:D], self._grad[D]]
        self._next_grad = xp.zeros((D + 1, V), dtype=W.dtype)  # forward's, until backward
        self._product = xp.empty((D + 1, V), dtype=W.dtype)  # scratch of add_product_t
        self.chunk_bytes = int(chunk_bytes)
        self.train_flg = True
        self.ignore_label = -1
        self.cache = None

    def predict(self, hs):
        """The scores hs @ W + b: (N, T, D) -> (N, T, V)."""
        W, b = self.params
        hs = as_float(hs, W.dtype, get_array_module(W), "TimeAffineSoftmaxWithLoss hs")
        check_shape(hs, (None, None, W.shape[0]), "TimeAffineSoftmaxWithLoss hs")
        N, T, D = hs.shape
        return (hs.reshape(N * T, D) @ W + b).reshape(N, T, -1)

    def forward(self, hs, ts):
        W, b = self.params
        xp = get_array_module(W)
        hs = as_float(hs, W.dtype, xp, "TimeAffineSoftmaxWithLoss hs")
        check_shape(hs, (None, None, W.shape[0]), "TimeAffineSoftmaxWithLoss hs")
        N, T, D = hs.shape
        V = W.shape[1]
        if N * T == 0:
            raise InputError(f"TimeAffineSoftmaxWithLoss got an empty batch of shape {hs.shape}")
        t = check_targets(ts, (N, T, V), self.ignore_label, "TimeAffineSoftmaxWithLoss", xp)
        mask = t != self.ignore_label  # (N*T,) the counted targets
        # the mean over the counted targets; with none counted the sum is 0, and so the loss
        count, coef = self._count(mask)
        mask = mask.astype(W.dtype)  # 1.0 counted, 0.0 ignored
        t = xp.where(mask, t, 0)  # any valid id on ignored rows; their terms are masked
        x1 = xp.empty((N * T, D + 1), dtype=W.dtype)  # [hs, 1]: db rides in the dW matmul
        x1[:, :D] = hs.reshape(N * T, D)
        x1[:, D] = 1
        train = bool(self.train_flg)
        dx = xp.empty((N * T, D), dtype=W.dtype) if train else None
        total = xp.zeros((), dtype=xp.float64)
        rows = max(1, min(N * T, self.chunk_bytes // (V * W.dtype.itemsize)))
        block = xp.empty((rows, V), dtype=W.dtype)  # one block of scores, reused
        for start in range(0, N * T, rows):
            x, tt = x1[start : start + rows], t[start : start + rows]
            keep = mask[start : start + rows]
            e, z, picked = self._exp_scores(x[:, :D], tt, block[: x.shape[0]])
            total += ((xp.log(z) - picked) * keep).sum(dtype=xp.float64)
            if train:
                scale = (coef * keep / z)[:, None]  # (r, 1) softmax = e / z, over count
                dxb = dx[start : start + rows]
                xp.matmul(e, W.T, out=dxb)  # (r, D)
                dxb *= scale
                if start == 0:  # [dW; db] = [x, 1].T @ (scale * e), block by block
                    xp.matmul((x * scale).T, e, out=self._next_grad)
                else:
                    add_product_t(self._next_grad, x * scale, e, self._product)
        if train:  # the one-hot part of dscores: - coef at each counted target
            minus = -coef * mask  # (N*T,)
            dx += minus[:, None] * W.T[t]  # (N*T, D) a gather of W's target columns
            scatter_add(self._next_grad.T, t, x1, weights=minus)  # [dW; db][:, t] -= coef x1
        self.cache = ((N, T, D), dx) if train else None
        return loss_value(total / count)

    def _count(self, mask):
        """(count, coef) for the counted targets ``mask`` (N*T,) bool: at least 1, and the
        gradient's factor 1 / count (on a GPU 0-d device arrays, coef of W's dtype, so
        nothing waits for them; Python numbers on NumPy)."""
        W = self.params[0]
        if is_device_array(W):
            count = get_array_module(W).maximum(mask.sum(), 1)
            return count, (1.0 / count).astype(W.dtype)
        count = max(int(mask.sum()), 1)
        return count, 1.0 / count

    def _exp_scores(self, x, t, s):
        """exp of the scores x @ W + b of one block, into ``s`` (r, V).

        Returns (e, z, picked): e = exp(scores - m) in ``s``, its row sums z (r,) and the
        target scores minus m (r,), where m = 0 when the row sums show that this is safe
        (see the module docstring) and the row max otherwise. On a GPU m is always the row
        max: that check reads z on the host, and the GPU would wait for it every block.
        """
        if not is_device_array(s):
            e, z, picked = self._exp_scores_unshifted(x, t, s)
            lo = float(np.finfo(s.dtype).tiny) ** 0.5
            if bool(((z >= lo) & (z <= 1 / lo)).all()):  # False for inf and NaN too
                return e, z, picked
        return self._exp_scores_shifted(x, t, s)

    def _exp_scores_unshifted(self, x, t, s):
        """_exp_scores with m = 0: exp() may overflow, which the row sums z then show."""
        W, b = self.params
        xp = get_array_module(W)
        xp.matmul(x, W, out=s)  # (r, V) this block's scores
        s += b
        picked = s[xp.arange(x.shape[0]), t]  # target scores, before exp() overwrites them
        with np.errstate(over="ignore", under="ignore"):  # told by z
            xp.exp(s, out=s)
        return s, s @ xp.ones(s.shape[1], dtype=s.dtype), picked  # row sums: a BLAS gemv

    def _exp_scores_shifted(self, x, t, s):
        """_exp_scores with m = the row max, so that exp() cannot overflow."""
        W, b = self.params
        xp = get_array_module(W)
        r = xp.arange(x.shape[0])
        xp.matmul(x, W, out=s)  # (r, V) this block's scores
        s += b
        s -= s.max(axis=1, keepdims=True)
        picked = s[r, t]
        xp.exp(s, out=s)
        return s, s @ xp.ones(s.shape[1], dtype=s.dtype), picked

    def backward(self, dout=1):
        if self.cache is None:
            raise RuntimeError(
                "TimeAffineSoftmaxWithLoss.backward needs a forward with train_flg=True first"
            )
        shape, dx = self.cache
        self.cache = None
        xp = get_array_module(dx)
        xp.multiply(self._next_grad, dout, out=self._grad)
        if dout != 1:
            dx *= dout
        return dx.reshape(shape)
