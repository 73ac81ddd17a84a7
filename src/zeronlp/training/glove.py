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
from ..errors import InputError, InputTypeError, TrainingDiverged
from ..layers import as_ids


def cooccurrence(corpus, vocab_size, window_size=10):
    """X (V, V) scipy CSR float64: X[i, j] = sum over occurrences of j at distance d <= window
    around an occurrence of i of 1/d. Symmetric.

    corpus: (T,) word ids.
    """
    corpus = as_ids(to_cpu(corpus), vocab_size, np, name="corpus ids").reshape(-1)
    if window_size < 1:
        raise InputError(f"window_size must be >= 1, got {window_size}")
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


def _adagrad_rows(param, h, rows, g, lr):
    """The book's AdaGrad on param[rows] with gradient g (len(rows), ...): h += g^2; step."""
    module = get_array_module(param)
    h_rows = h[rows]
    h_rows += g * g
    h[rows] = h_rows
    step = module.sqrt(h_rows, out=h_rows)  # h_rows is not needed any more
    step += 1e-7
    module.divide(g, step, out=step)
    step *= lr
    param[rows] -= step


def _sum_by_id(ids, *grads):
    """Touched rows and the per-row sums of each gradient: ids (N,), grads (N,) or (N, D)."""
    module = get_array_module(ids)
    rows, slot = module.unique(ids, return_inverse=True)  # ids = rows[slot]
    cols = [g.reshape(g.shape[0], -1) for g in grads]
    both = module.concatenate(cols, axis=1)  # one scatter for a weight row and its bias
    summed = module.zeros((rows.size, both.shape[1]), dtype=both.dtype)
    scatter_add(summed, slot, both)
    out, k = [], 0
    for g, c in zip(grads, cols, strict=True):
        out.append(summed[:, k : k + c.shape[1]].reshape((rows.size,) + g.shape[1:]))
        k += c.shape[1]
    return rows, out


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
        raise InputTypeError(f"train_glove trains a GloVe model, got {type(model).__name__}")
    X = sp.coo_matrix(X)
    if X.shape != (model.vocab_size, model.vocab_size):
        raise InputError(f"X must be ({model.vocab_size}, {model.vocab_size}), got {X.shape}")
    keep = X.data > 0
    if not keep.any():
        raise InputError("X has no positive count")
    module = get_array_module(model.params[0])
    dtype = model.params[0].dtype
    i_all = module.asarray(X.row[keep].astype(np.int64))
    j_all = module.asarray(X.col[keep].astype(np.int64))
    x_all = module.asarray(X.data[keep].astype(dtype))
    W, W_ctx, b, b_ctx = model.params
    hs = [module.zeros_like(p) for p in model.params]  # AdaGrad's sums of squared gradients
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
                raise TrainingDiverged("GloVe loss is not finite (no step applied); lower lr")
            rows, (gw, gb) = _sum_by_id(i, dwi, dbi)
            _adagrad_rows(W, hs[0], rows, gw, lr)
            _adagrad_rows(b, hs[2], rows, gb, lr)
            rows, (gw, gb) = _sum_by_id(j, dwj, dbj)
            _adagrad_rows(W_ctx, hs[1], rows, gw, lr)
            _adagrad_rows(b_ctx, hs[3], rows, gb, lr)
            total += loss
        history.append(total)
    return history
