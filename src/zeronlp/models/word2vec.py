"""word2vec with negative sampling (book chapter 4): CBOW and SkipGram.

Both follow the layer protocol, so the book's mini-batch ``Trainer`` trains them; for corpora
the size of PTB use ``zeronlp.training.word2vec.train_word2vec``, which updates only the
rows a batch touches (timings in docs/word2vec.md).

Unlike the book, which keeps one Embedding layer per context column (W_in listed 2*window
times in ``params``) and one NegativeSamplingLoss per context in SkipGram, each model has a
single Embedding over all context columns and a single NegativeSamplingLoss, so
``params = [W_in, W_out]`` with each matrix once. The losses and gradients are the book's.
"""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module, to_cpu
from ..errors import InputError
from ..layers import Embedding, NegativeSamplingLoss, as_ids
from .base import BaseModel
from .init import randn


def _init_weights(vocab_size, hidden_size):
    """The book's initialisation: 0.01 * randn for W_in and W_out, (V, H) each."""
    W_in = randn(vocab_size, hidden_size, scale=0.01)
    W_out = randn(vocab_size, hidden_size, scale=0.01)
    return W_in, W_out


class _Word2Vec(BaseModel):
    """What CBOW and SkipGram share: the two weight matrices and the input checks."""

    def __init__(self, vocab_size, hidden_size, window_size, corpus):
        if vocab_size < 2 or hidden_size < 1 or window_size < 1:
            raise InputError(
                "word2vec needs vocab_size >= 2, hidden_size >= 1 and window_size >= 1, got "
                f"{vocab_size}, {hidden_size}, {window_size}"
            )
        # the sampler's distribution lives on the host (NumPy), like the book's
        corpus_ids = as_ids(to_cpu(corpus), vocab_size, np, name="corpus ids")
        W_in, W_out = _init_weights(vocab_size, hidden_size)
        # the corpus only shapes the sampler; a checkpoint's config should not hold the text
        self.config.pop("corpus", None)
        self.vocab_size, self.hidden_size, self.window_size = vocab_size, hidden_size, window_size
        self.in_layer = Embedding(W_in)
        self.ns_loss = NegativeSamplingLoss(W_out, corpus_ids, power=0.75, sample_size=5)
        self.params = [W_in, W_out]
        self.grads = [self.in_layer.grads[0], self.ns_loss.grads[0]]
        self.word_vecs = W_in  # the book's name for the learned distributed representations

    def _check(self, contexts, target):
        """contexts (N, 2*window) and target (N,) word ids, checked; returns them as arrays."""
        module = get_array_module(self.params[0])
        contexts = as_ids(contexts, self.vocab_size, module, name="context ids")
        target = as_ids(target, self.vocab_size, module, name="target ids")
        width = 2 * self.window_size
        if contexts.ndim != 2 or contexts.shape[1] != width:
            raise InputError(
                f"{type(self).__name__} with window_size={self.window_size} expects contexts of "
                f"shape (N, {width}), got {tuple(contexts.shape)}"
            )
        if target.shape != (contexts.shape[0],):
            raise InputError(
                f"target must have shape ({contexts.shape[0]},) to match contexts, "
                f"got {tuple(target.shape)}"
            )
        if target.size == 0:
            raise InputError(f"{type(self).__name__} got an empty batch")
        return contexts, target


class CBOW(_Word2Vec):
    """Continuous bag of words: predict the target from the mean of its context vectors.

    forward(contexts (N, 2*window) ids, target (N,) ids) -> float loss, the mean over the
    batch of the negative-sampling loss (positive plus 5 negatives, the book's total).
    backward(dout=1) -> None; writes grads = [dW_in, dW_out], both (V, H).
    """

    def forward(self, contexts, target):
        contexts, target = self._check(contexts, target)
        # (N, 2w) -> (N, 2w, H) in one gather; the book's h = sum of 2w layers * 1 / (2w)
        h = self.in_layer.forward(contexts).sum(axis=1)
        h *= 1.0 / contexts.shape[1]
        return self.ns_loss.forward(h, target)

    def backward(self, dout=1):
        dh = self.ns_loss.backward(dout)
        dh *= 1.0 / (2 * self.window_size)
        N, width = self.in_layer.idx.shape
        module = get_array_module(dh)
        self.in_layer.backward(module.broadcast_to(dh[:, None, :], (N, width, dh.shape[1])))
        return None


class SkipGram(_Word2Vec):
    """Skip-gram: predict each of the 2*window context words from the target's vector.

    forward(contexts (N, 2*window) ids, target (N,) ids) -> float loss: the book's sum over
    the 2*window context columns of each column's mean negative-sampling loss.
    backward(dout=1) -> None; writes grads = [dW_in, dW_out], both (V, H).
    """

    def forward(self, contexts, target):
        contexts, target = self._check(contexts, target)
        N, width = contexts.shape
        h = self.in_layer.forward(target)  # (N, H)
        module = get_array_module(h)
        # All columns in one NegativeSamplingLoss call. Column-major order (column 0's N rows
        # first) makes its single draw of negatives consume the random stream exactly as
        # the book's 2*window layers drawing (N, 5) each in turn.
        h_rep = module.broadcast_to(h, (width, N, h.shape[1])).reshape(width * N, -1)
        loss = self.ns_loss.forward(h_rep, contexts.T.reshape(-1))
        return loss * width  # the layer averages over width * N rows; the book sums columns

    def backward(self, dout=1):
        width = 2 * self.window_size
        dh_rep = self.ns_loss.backward(dout * width)
        dh = dh_rep.reshape(width, -1, dh_rep.shape[1]).sum(axis=0)
        self.in_layer.backward(dh)
        return None
