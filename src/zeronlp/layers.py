"""Basic layers of the book (chapters 1-4), with hand-written forward and backward.

Layer protocol (kept exactly as the book has it):

- ``layer.params``: list of arrays; ``layer.grads``: arrays of the same shapes, same order.
- ``forward(...)`` caches what ``backward`` needs; ``backward(dout)`` returns the gradient
  with respect to the inputs and writes parameter gradients in place
  (``self.grads[0][...] = dW``), never rebinding list entries: optimizers and parent models
  hold references to them.
- Layers keep the dtype they are given; models create float32 parameters.
"""

from __future__ import annotations

import numpy as np

from .backend import (
    can_check_values,
    device_of,
    get_array_module,
    loss_value,
    on_device_of,
    scatter_add,
)
from .errors import InputError, InputTypeError
from .functions import labels_from, log_softmax, sigmoid, softmax, softplus

# ---------------------------------------------------------------- input checks


def as_ids(idx, vocab_size, xp=np, name="ids"):
    """Word ids as an integer array (any shape), checked against the vocabulary size.

    Accepts a Python int, a list or an integer array. Raises InputTypeError (a TypeError)
    for non-integer ids and InputError (a ValueError) for ids outside [0, vocab_size):
    NumPy would silently read row V-1 for id -1, which hides bugs. The range check reads
    the ids, so for ids already on a GPU it runs only inside ``backend.device_checks()``
    (check them on the host before they move; a training step never waits for the host).
    """
    idx = xp.asarray(idx)
    if idx.dtype == bool or not np.issubdtype(idx.dtype, np.integer):
        raise InputTypeError(f"{name} must be integers, got dtype {idx.dtype}")
    if idx.size and can_check_values(idx):
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= vocab_size:
            raise InputError(
                f"{name} must lie in [0, {vocab_size}) (the vocabulary size), "
                f"got ids from {lo} to {hi}"
            )
    return idx


def check_last_dim(x, expected, layer):
    """Raise InputTypeError unless x is an array, InputError unless its last axis has
    length ``expected``."""
    shape = getattr(x, "shape", None)
    if shape is None:
        raise InputTypeError(f"{layer} expects an array, got {type(x).__name__}")
    if len(shape) == 0 or shape[-1] != expected:
        raise InputError(
            f"{layer} expects input of shape (..., {expected}), got shape {tuple(shape)}"
        )


def check_same_shape(a, b, what_a, what_b):
    if tuple(a.shape) != tuple(b.shape):
        raise InputError(
            f"{what_b} of shape {tuple(b.shape)} does not match {what_a} of shape {tuple(a.shape)}"
        )


# ---------------------------------------------------------------- affine maps


class MatMul:
    """x @ W without bias. W: (D, H); x: (..., D) -> (..., H)."""

    def __init__(self, W):
        self.params = [W]
        self.grads = [get_array_module(W).zeros_like(W)]
        self.x = None

    def forward(self, x):
        (W,) = self.params
        check_last_dim(x, W.shape[0], "MatMul")
        self.x = x
        return x @ W

    def backward(self, dout):
        (W,) = self.params
        x2 = self.x.reshape(-1, W.shape[0])
        d2 = dout.reshape(-1, W.shape[1])
        self.grads[0][...] = x2.T @ d2
        return dout @ W.T


class Affine:
    """x @ W + b. W: (D, H), b: (H,); x: (..., D) -> (..., H)."""

    def __init__(self, W, b):
        self.params = [W, b]
        xp = get_array_module(W)
        self.grads = [xp.zeros_like(W), xp.zeros_like(b)]
        self.x = None

    def forward(self, x):
        W, b = self.params
        check_last_dim(x, W.shape[0], "Affine")
        self.x = x
        # one 2-D matmul for any leading axes (a stacked matmul would loop over them)
        out = x.reshape(-1, W.shape[0]) @ W
        out += b
        return out.reshape(x.shape[:-1] + (W.shape[1],))

    def backward(self, dout):
        W, b = self.params
        x2 = self.x.reshape(-1, W.shape[0])
        d2 = dout.reshape(-1, W.shape[1])
        self.grads[0][...] = x2.T @ d2
        self.grads[1][...] = d2.sum(axis=0)
        return (d2 @ W.T).reshape(self.x.shape)


# ---------------------------------------------------------------- activations and losses


class Sigmoid:
    """Elementwise logistic function, any shape."""

    def __init__(self):
        self.params, self.grads = [], []
        self.out = None

    def forward(self, x):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class Softmax:
    """Softmax over the last axis, any leading axes."""

    def __init__(self):
        self.params, self.grads = [], []
        self.out = None

    def forward(self, x):
        self.out = softmax(x)
        return self.out

    def backward(self, dout):
        y = self.out
        dx = y * dout
        dx -= y * dx.sum(axis=-1, keepdims=True)
        return dx


class SoftmaxWithLoss:
    """Softmax followed by the mean cross-entropy over the batch.

    forward(x, t): x (N, C) scores; t (N,) class ids or (N, C) one-hot -> float loss.
    backward(dout=1) -> dx (N, C) = (softmax(x) - onehot(t)) * dout / N.
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.y = None
        self.t = None

    def forward(self, x, t):
        if x.ndim != 2:
            raise InputError(f"SoftmaxWithLoss expects scores of shape (N, C), got {x.shape}")
        if x.shape[0] == 0:
            raise InputError("SoftmaxWithLoss got an empty batch")
        xp = get_array_module(x)
        self.t = labels_from(t, x.shape)
        logp = log_softmax(x)
        self.y = xp.exp(logp)
        N = x.shape[0]
        return loss_value(-logp[xp.arange(N), self.t].sum() / N)

    def backward(self, dout=1):
        xp = get_array_module(self.y)
        N = self.y.shape[0]
        dx = self.y.copy()
        dx[xp.arange(N), self.t] -= 1
        dx *= dout / N
        return dx


class SigmoidWithLoss:
    """Sigmoid followed by the mean binary cross-entropy.

    forward(x, t): x scores of any shape; t labels of the same shape, 0/1 ints or
    probabilities in [0, 1] -> float loss (mean over all elements).
    backward(dout=1) -> dx = (sigmoid(x) - t) * dout / t.size.
    The loss is computed as softplus(x) - t * x, exact even when sigmoid(x) rounds to 0 or 1.
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.y = None
        self.t = None

    def forward(self, x, t):
        xp = get_array_module(x)
        t = xp.asarray(t)
        check_same_shape(x, t, "scores", "labels")
        if t.size == 0:
            raise InputError("SigmoidWithLoss got an empty batch")
        if can_check_values(t) and (float(t.min()) < 0 or float(t.max()) > 1):
            raise InputError(
                f"SigmoidWithLoss labels must lie in [0, 1], got values from "
                f"{float(t.min())} to {float(t.max())}"
            )
        # integer labels would promote float32 scores to float64 in (y - t)
        self.t = t = t.astype(x.dtype, copy=False)
        self.y = sigmoid(x)
        return loss_value((softplus(x) - t * x).sum() / t.size)

    def backward(self, dout=1):
        return (self.y - self.t) * (dout / self.t.size)


class Dropout:
    """Inverted dropout: in training, zero each element with probability ``dropout_ratio``
    and scale the survivors by 1 / (1 - ratio), so evaluation needs no rescaling.

    forward(x, train_flg=True) -> same shape as x.
    """

    def __init__(self, dropout_ratio=0.5):
        if not 0.0 <= dropout_ratio < 1.0:
            raise InputError(f"dropout_ratio must lie in [0, 1), got {dropout_ratio}")
        self.params, self.grads = [], []
        self.dropout_ratio = dropout_ratio
        self.mask = None

    def forward(self, x, train_flg=True):
        if not train_flg:
            self.mask = None
            return x
        xp = get_array_module(x)
        keep = xp.random.rand(*x.shape) > self.dropout_ratio
        self.mask = keep.astype(x.dtype) * (1.0 / (1.0 - self.dropout_ratio))
        return x * self.mask

    def backward(self, dout):
        return dout if self.mask is None else dout * self.mask


# ---------------------------------------------------------------- embeddings


class Embedding:
    """Row lookup W[idx]. W: (V, D); idx: int, list or int array of any shape (S...)
    -> (S..., D). backward(dout (S..., D)) writes dW and returns None (ids have no gradient).
    """

    def __init__(self, W):
        self.params = [W]
        self.grads = [get_array_module(W).zeros_like(W)]
        self.idx = None

    def forward(self, idx):
        (W,) = self.params
        self.idx = as_ids(idx, W.shape[0], get_array_module(W))
        return W[self.idx]

    def backward(self, dout):
        (dW,) = self.grads
        expected = tuple(self.idx.shape) + tuple(dW.shape[1:])
        if tuple(dout.shape) != expected:
            raise InputError(
                f"Embedding.backward expects dout of shape {expected}, got {tuple(dout.shape)}"
            )
        dW[...] = 0
        scatter_add(dW, self.idx, dout)
        return None


class EmbeddingDot:
    """Dot product of h with the embedding rows of the target ids (word2vec output side).

    W: (V, D); forward(h (N, D), idx (N,)) -> (N,) scores; backward(dout (N,)) -> dh (N, D).
    """

    def __init__(self, W):
        self.embed = Embedding(W)
        self.params = self.embed.params
        self.grads = self.embed.grads
        self.cache = None

    def forward(self, h, idx):
        target_W = self.embed.forward(idx)
        check_same_shape(target_W, h, "the target embeddings", "h")
        out = (target_W * h).sum(axis=1)
        self.cache = (h, target_W)
        return out

    def backward(self, dout):
        h, target_W = self.cache
        dout = dout.reshape(dout.shape[0], 1)
        self.embed.backward(dout * h)
        return dout * target_W


class UnigramSampler:
    """Draws negative samples from the unigram distribution raised to ``power``.

    get_negative_sample(target (N,)) -> (N, sample_size) ids, never equal to the row's
    target. All N * sample_size ids come from one vectorized draw: a uniform number in
    [0, 1 - p(target)) is mapped through the cumulative distribution with the target's
    interval cut out, which is exactly sampling from p restricted to the other words. Ids
    may repeat within a row (sampling with replacement, as word2vec and gensim do).

    The tables live where the targets live (copied to a GPU once, on first use there), and
    the draw never reads a value back, so on a GPU it never makes the host wait.
    """

    def __init__(self, corpus, power, sample_size):
        corpus = np.asarray(corpus)
        if corpus.size == 0:
            raise InputError("UnigramSampler needs a non-empty corpus")
        corpus = as_ids(corpus.reshape(-1), np.iinfo(np.int64).max, name="corpus ids")
        counts = np.bincount(corpus)
        if np.count_nonzero(counts) < 2:
            raise InputError("UnigramSampler needs at least two distinct words in the corpus")
        if sample_size < 1:
            raise InputError(f"sample_size must be >= 1, got {sample_size}")
        self.sample_size = sample_size
        self.vocab_size = counts.size
        p = counts.astype(np.float64) ** power
        self.word_p = p / p.sum()
        self.cdf = np.cumsum(self.word_p)
        self.cdf[-1] = 1.0
        # the most probable word other than w, for the rare draw that rounding puts on w
        first, second = np.argsort(-self.word_p, kind="stable")[:2]
        self.other = np.where(np.arange(self.vocab_size) == first, second, first)
        self._tables = {"cpu": (self.cdf, self.word_p, self.other)}

    def _tables_for(self, target):
        """(cdf, word_p, other) on the device of ``target``, copied there once."""
        device = device_of(target)
        if device not in self._tables:
            xp = get_array_module(target)
            with on_device_of(target):
                self._tables[device] = tuple(
                    xp.asarray(a) for a in (self.cdf, self.word_p, self.other)
                )
        return self._tables[device]

    def get_negative_sample(self, target):
        xp = get_array_module(target)
        target = as_ids(target, self.vocab_size, xp, name="target ids").reshape(-1)
        cdf, word_p, other = self._tables_for(target)
        p_t = word_p[target][:, None]  # (N, 1)
        lo_t = cdf[target][:, None] - p_t  # where the target's interval starts
        shape = (target.size, self.sample_size)
        u = xp.random.random_sample(shape) * (1.0 - p_t)
        u += p_t * (u >= lo_t)  # jump over the target's interval of the CDF
        negative = xp.searchsorted(cdf, u, side="right")
        xp.minimum(negative, self.vocab_size - 1, out=negative)
        # Rounding at an interval edge can still land on the target (a chance of the order
        # of float64's rounding error); such a draw takes another word without a
        # data-dependent loop.
        clash = negative == target[:, None]
        return xp.where(clash, other[target][:, None], negative)


class NegativeSamplingLoss:
    """Binary cross-entropy of the positive target and ``sample_size`` negative samples.

    W: (V, D) output embedding; corpus: ids used to build the sampling distribution.
    forward(h (N, D), target (N,)) -> float loss: mean over the batch of the positive
    loss plus the sum of the negative losses (the book's total).
    backward(dout=1) -> dh (N, D).

    Unlike the book, which keeps sample_size + 1 EmbeddingDot layers that all share W (so W
    appears sample_size + 1 times in ``params``), the positive and negative scores are
    computed in one batched gather and W appears once in ``params`` with one summed gradient.
    """

    def __init__(self, W, corpus, power=0.75, sample_size=5):
        self.sample_size = sample_size
        self.sampler = UnigramSampler(corpus, power, sample_size)
        self.params = [W]
        self.grads = [get_array_module(W).zeros_like(W)]
        self.cache = None

    def forward(self, h, target):
        (W,) = self.params
        xp = get_array_module(W)
        target = as_ids(target, W.shape[0], xp, name="target ids")
        if target.ndim != 1 or h.shape != (target.shape[0], W.shape[1]):
            raise InputError(
                f"NegativeSamplingLoss expects h of shape (N, {W.shape[1]}) and target of "
                f"shape (N,), got h {tuple(h.shape)} and target {tuple(target.shape)}"
            )
        if target.size == 0:
            raise InputError("NegativeSamplingLoss got an empty batch")
        negative = self.sampler.get_negative_sample(target)
        ids = xp.concatenate([target[:, None], negative], axis=1)  # (N, S+1)
        target_W = W[ids]  # (N, S+1, D)
        score = (target_W @ h[:, :, None])[:, :, 0]  # (N, S+1)
        self.cache = (h, ids, target_W, score)
        N = target.shape[0]
        # label 1 for column 0 (the positive), 0 for the negatives
        return loss_value((softplus(score).sum() - score[:, 0].sum()) / N)

    def backward(self, dout=1):
        h, ids, target_W, score = self.cache
        N = h.shape[0]
        dscore = sigmoid(score)
        dscore[:, 0] -= 1.0
        dscore *= dout / N
        (dW,) = self.grads
        dW[...] = 0
        scatter_add(dW, ids, dscore[:, :, None] * h[:, None, :])
        return (dscore[:, None, :] @ target_W)[:, 0, :]
