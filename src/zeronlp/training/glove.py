"""GloVe training: distance-weighted co-occurrence counts and AdaGrad on the touched rows.

``cooccurrence(corpus, vocab_size, window_size)`` counts, for every word i and every word j
at distance d <= window_size on either side of it, X_ij += 1 / d (the paper's weighting:
near words count more). One vectorized pass per distance, summed by a sparse matrix.

``train_glove(model, X)`` shuffles the nonzero cells every epoch and takes them in batches:
per batch the gradients of the gathered rows (``glove_loss_grads``) are summed per word id
and each touched row gets the book's AdaGrad step, h += g^2; W -= lr g / (sqrt(h) + 1e-7).
Rows a batch does not touch have zero gradient, for which AdaGrad changes nothing, so one
batch step equals ``optimizers.AdaGrad`` on the model's dense gradients (tested); only the
touched rows are read and written. The reference code updates after every single cell
(in parallel threads, without locks); batches sum the updates of a cell's rows instead,
which AdaGrad's per-coordinate scaling keeps in range.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from ..backend import get_array_module, scatter_add, to_cpu
from ..layers import as_ids


def cooccurrence(corpus, vocab_size, window_size=10):
    """X (V, V) scipy CSR float64: X[i, j] = sum over occurrences of j at distance d <= window
    around an occurrence of i of 1/d. Symmetric.

    corpus: (T,) word ids.
    """
    corpus = as_ids(to_cpu(corpus), vocab_size, np, name="corpus ids").reshape(-1)
    if window_size < 1:
        raise ValueError(f"window_size must be >= 1, got {window_size}")
    rows, cols, vals = [], [], []
    for d in range(1, window_size + 1):  # one shift per distance, every pair at once
        left, right = corpus[:-d], corpus[d:]
        rows += [left, right]
        cols += [right, left]
        vals.append(np.full(2 * left.size, 1.0 / d))
    if not vals or not sum(v.size for v in vals):
        return sp.csr_matrix((vocab_size, vocab_size))
    X = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(vocab_size, vocab_size),
    )
    return X.tocsr()  # sums repeated (i, j)


class _SparseAdaGrad:
    """The book's AdaGrad for one parameter, applied to given rows only."""

    def __init__(self, param, lr):
        self.param, self.lr = param, lr
        self.h = get_array_module(param).zeros_like(param)

    def step(self, ids, grads):
        """ids (N,) with repeats, grads (N, ...) per cell: summed per id, then one step."""
        module = get_array_module(self.param)
        rows, slot = module.unique(ids, return_inverse=True)  # touched rows; ids = rows[slot]
        g = module.zeros((rows.size,) + self.param.shape[1:], dtype=self.param.dtype)
        scatter_add(g, slot, grads)
        h = self.h[rows] + g * g
        self.h[rows] = h
        self.param[rows] -= self.lr * g / (module.sqrt(h) + 1e-7)


def train_glove(
    model, X, epochs=25, lr=0.05, batch_size=8192, seed=None, verbose=True
) -> list[float]:
    """Train ``model`` (a GloVe) on the co-occurrence matrix X with AdaGrad; see the module.

    X: (V, V) scipy sparse or dense array of counts (zero cells are skipped).
    epochs: passes over the nonzero cells. lr: AdaGrad's rate (the paper's 0.05).
    Returns the loss J per epoch (summed over all cells, as the paper's objective).
    """
    from ..models.glove import GloVe, glove_loss_grads

    if not isinstance(model, GloVe):
        raise TypeError(f"train_glove trains a GloVe model, got {type(model).__name__}")
    X = sp.coo_matrix(X)
    if X.shape != (model.vocab_size, model.vocab_size):
        raise ValueError(f"X must be ({model.vocab_size}, {model.vocab_size}), got {X.shape}")
    keep = X.data > 0
    if not keep.any():
        raise ValueError("X has no positive count")
    module = get_array_module(model.params[0])
    dtype = model.params[0].dtype
    i_all = module.asarray(X.row[keep].astype(np.int64))
    j_all = module.asarray(X.col[keep].astype(np.int64))
    x_all = module.asarray(X.data[keep].astype(dtype))
    W, W_ctx, b, b_ctx = model.params
    steps = [_SparseAdaGrad(p, lr) for p in model.params]
    rng = np.random.default_rng(seed if seed is not None else np.random.randint(2**31))
    history = []
    n = x_all.size
    for _ in tqdm(range(epochs), desc="glove", disable=not verbose):
        order = module.asarray(rng.permutation(n))
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            i, j, x = i_all[idx], j_all[idx], x_all[idx]
            loss, dwi, dwj, dbi, dbj = glove_loss_grads(
                W[i], W_ctx[j], b[i], b_ctx[j], x, model.x_max, model.alpha
            )
            if not np.isfinite(loss):
                raise FloatingPointError("GloVe loss is not finite; lower lr")
            for step, ids, g in zip(steps, (i, j, i, j), (dwi, dwj, dbi, dbj), strict=True):
                step.step(ids, g)
            total += loss
        history.append(total)
    return history
