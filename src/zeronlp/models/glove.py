"""GloVe: global vectors from co-occurrence counts (Pennington, Socher and Manning 2014).

Where word2vec predicts words from their neighbours one window at a time, GloVe fits the
logarithm of the whole co-occurrence matrix X by a weighted least-squares problem:

    J = 1/2 sum_{i,j: X_ij > 0} f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2
    f(x) = (x / x_max)^alpha if x < x_max else 1

w (word) and w~ (context) are two (V, D) matrices, b and b~ their biases. The weighting f
keeps rare, noisy pairs from counting as much as frequent ones and caps the most frequent.
The word vectors are w + w~ (the paper's choice). The factor 1/2 is the reference C code's.

``GloVe`` follows the layer protocol for a batch of nonzero cells (ids i, j and counts x), so
``gradcheck`` checks it; ``zeronlp.training.glove.train_glove`` trains it on PTB with AdaGrad
on the rows a batch touches, using the same ``glove_loss_grads``.
"""

from __future__ import annotations

import numpy as np

from ..backend import float_dtype, get_array_module, scatter_add, xp
from ..errors import InputError
from ..layers import as_ids
from .base import BaseModel


def glove_weight(x, x_max, alpha):
    """f(x) = min((x / x_max)^alpha, 1): x (N,) positive counts -> (N,), x's dtype."""
    module = get_array_module(x)
    return module.minimum((x / x_max) ** alpha, 1).astype(x.dtype, copy=False)


def glove_loss_grads(wi, wj, bi, bj, x, x_max, alpha):
    """The loss of N cells and its gradients with respect to the gathered rows.

    wi, wj: (N, D) rows of w and w~; bi, bj: (N,) biases; x: (N,) counts > 0.
    Returns loss (a float: 1/2 sum f(x) diff^2), dwi (N, D), dwj (N, D), dbi (N,), dbj (N,),
    with diff = wi . wj + bi + bj - log x.
    """
    module = get_array_module(wi)
    diff = (wi * wj).sum(axis=1) + bi + bj - module.log(x)  # (N,)
    fdiff = glove_weight(x, x_max, alpha) * diff  # (N,): dJ/d(diff)
    loss = 0.5 * float((fdiff * diff).sum())
    return loss, fdiff[:, None] * wj, fdiff[:, None] * wi, fdiff, fdiff


class GloVe(BaseModel):
    """GloVe's parameters and loss: params = [W (V, D), W_ctx (V, D), b (V,), b_ctx (V,)].

    forward(i, j, x): ids (N,), ids (N,), counts (N,) float -> the loss J of these cells.
    backward(dout=1): writes the (dense) gradients of the four parameters.
    Initialisation for all four: uniform in [-0.5, 0.5) / D (the reference code divides by
    D + 1, the length of its rows, which hold the bias).
    """

    def __init__(self, vocab_size, hidden_size, x_max=100.0, alpha=0.75):
        if vocab_size < 1 or hidden_size < 1 or x_max <= 0 or alpha < 0:
            raise InputError(
                "GloVe needs vocab_size >= 1, hidden_size >= 1, x_max > 0 and alpha >= 0, got "
                f"{vocab_size}, {hidden_size}, {x_max}, {alpha}"
            )
        module, dtype = xp(), float_dtype()
        V, D = vocab_size, hidden_size

        def init(*shape):
            return ((module.random.rand(*shape) - 0.5) / D).astype(dtype)

        self.vocab_size, self.hidden_size = V, D
        self.x_max, self.alpha = float(x_max), float(alpha)
        self.params = [init(V, D), init(V, D), init(V), init(V)]
        self.grads = [module.zeros_like(p) for p in self.params]
        self.cache = None

    @property
    def word_vecs(self):
        """(V, D): w + w~, the paper's word vectors."""
        return self.params[0] + self.params[1]

    def _check(self, i, j, x):
        module = get_array_module(self.params[0])
        i = as_ids(i, self.vocab_size, module, name="word ids")
        j = as_ids(j, self.vocab_size, module, name="context ids")
        x = module.asarray(x)
        if i.ndim != 1 or i.shape != j.shape or x.shape != i.shape or i.size == 0:
            raise InputError(
                f"GloVe expects ids i, j and counts x of one shape (N,) with N > 0, got "
                f"{tuple(i.shape)}, {tuple(j.shape)}, {tuple(x.shape)}"
            )
        if not np.issubdtype(x.dtype, np.floating) or not bool((x > 0).all()):
            raise InputError("GloVe counts x must be positive floats")
        return i, j, x.astype(self.params[0].dtype, copy=False)

    def forward(self, i, j, x):
        i, j, x = self._check(i, j, x)
        W, W_ctx, b, b_ctx = self.params
        loss, *grads = glove_loss_grads(W[i], W_ctx[j], b[i], b_ctx[j], x, self.x_max, self.alpha)
        self.cache = (i, j, grads)
        return loss

    def backward(self, dout=1):
        i, j, (dwi, dwj, dbi, dbj) = self.cache
        for g, ids, d in zip(self.grads, (i, j, i, j), (dwi, dwj, dbi, dbj), strict=True):
            g[...] = 0
            scatter_add(g, ids, d * dout)
        return None
