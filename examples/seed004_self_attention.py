"""Seed 004, done right: self-attention over the date questions, forward and backward.

A learner's notebook ("seed 004") builds Key = TimeAffine(TimeEmbedding(xs)),
Query = Value = TimeAffine(one-hot xs) with their own weights, the scores
softmax(Q K^T / sqrt(d)) and the weighted sum of the values. Its forward is right; its
backward is not:

- the scale: it multiplied the gradient by -(scores ** 2) instead of 1 / sqrt(d);
- the key gradient: Q^T dS (N, d, T) instead of dS^T Q (N, T, d), silently reshaped by the
  book's TimeAffine;
- the value gradient: the loop read the zero array it was filling (dvalue) instead of dZ,
  so dV was 0, and the Value layer's backward was never called.

``Seed004SelfAttention`` below is the corrected construction; this script prints
the notebook's shapes and then checks every gradient numerically (float64, small sizes).

    python examples/seed004_self_attention.py
"""

import numpy as np

from zeronlp.attention import ScaledDotProductAttention
from zeronlp.backend import get_array_module
from zeronlp.datasets import sequence
from zeronlp.gradcheck import format_errors, gradcheck
from zeronlp.layers import as_ids
from zeronlp.time_layers import TimeAffine, TimeEmbedding


class Seed004SelfAttention:
    """The worked example of learner notebook seed 004: self-attention over date questions.

    Key = TimeAffine(TimeEmbedding(xs)); Query and Value = TimeAffine of the one-hot ids;
    Z = softmax(Query Key^T / sqrt(d)) Value. Weights passed in as the book does:
    W_embed (V, D); W_key (D, d), b_key (d,); W_query (V, d), b_query (d,);
    W_value (V, d), b_value (d,). params in that order.

    forward(xs (N, T) int ids) -> Z (N, T, d); ``score`` keeps the weights (N, T, T).
    backward(dZ (N, T, d)) -> None (ids have no gradient); fills every grad.

    What the notebook's backward got wrong, and what this class does instead:
    - scale: the scores were divided by sqrt(d), so their gradient is multiplied by
      1 / sqrt(d). The notebook multiplied by -(out ** 2), the derivative of 1 / x applied
      to the wrong thing (the scaled scores are not a divisor).
    - key gradient: scores = Q K^T, so dK = dS^T Q (N, T, d). The notebook's
      ``matmul(out_query_T, dx)`` is Q^T dS, of shape (N, d, T); it ran only because the
      book's TimeAffine.backward reshapes dout to (N*T, -1), which silently reads the
      (N, d, T) array as (N, T, d) (here it raises a shape error).
    - value gradient: Z = A V, so dV = A^T dZ. The notebook's loop read ``dvalue`` (zeros)
      instead of ``dZ`` and computed ``v += v * w``, so dV was always 0, and it never
      called the Value layer's backward at all.
    - bookkeeping: ``self.grads.append(...)`` inside forward grew the list on every call,
      and the forward used the global ``d`` instead of the layer's own size.
    The attention itself is ``ScaledDotProductAttention`` (the same math as every other
    attention layer here); the weighted sum is one batched matmul, not three Python loops.
    """

    def __init__(self, W_embed, W_key, b_key, W_query, b_query, W_value, b_value):
        self.key_embed = TimeEmbedding(W_embed)
        self.key = TimeAffine(W_key, b_key)
        self.query = TimeAffine(W_query, b_query)
        self.value = TimeAffine(W_value, b_value)
        self.attention = ScaledDotProductAttention()
        layers = (self.key_embed, self.key, self.query, self.value)
        self.params = [p for layer in layers for p in layer.params]
        self.grads = [g for layer in layers for g in layer.grads]
        self.score = None

    def forward(self, xs):
        W_query = self.query.params[0]
        xp = get_array_module(W_query)
        V = W_query.shape[0]
        ids = as_ids(xs, V, xp)
        if ids.ndim != 2:
            raise ValueError(f"Seed004SelfAttention expects ids (N, T), got {tuple(ids.shape)}")
        onehot = xp.eye(V, dtype=W_query.dtype)[ids]  # (N, T, V), the notebook's np.eye(V)[xs]
        k = self.key.forward(self.key_embed.forward(ids))
        q = self.query.forward(onehot)
        v = self.value.forward(onehot)
        z = self.attention.forward(q, k, v)
        self.score = self.attention.weights
        return z

    def backward(self, dz):
        dq, dk, dv = self.attention.backward(dz)
        self.key_embed.backward(self.key.backward(dk))
        self.query.backward(dq)
        self.value.backward(dv)
        return None


def build(V, D, d, dtype=np.float64):
    """The notebook's layers, with its initialisation (np.random.rand) and weights passed
    in, the book's way."""
    nr = np.random.rand

    def w(*shape):
        return nr(*shape).astype(dtype)

    return Seed004SelfAttention(
        w(V, D), w(D, d), np.zeros(d, dtype),  # Key: embedding + affine
        w(V, d), np.zeros(d, dtype),  # Query: one-hot ids through an affine
        w(V, d), np.zeros(d, dtype),  # Value: one-hot ids through an affine
    )  # fmt: skip


def main():
    np.random.seed(0)
    (x_train, _), _, (char_to_id, _) = sequence.load_data("date", return_vocab=True)
    V, D, d = len(char_to_id), 512, 64
    xs = x_train[:10]

    layer = build(V, D, d, np.float32)
    Z = layer.forward(xs)
    dZ = np.ones_like(Z)
    layer.backward(dZ)
    print("score shape:", layer.score.shape)  # (10, 29, 29), as in the notebook
    print("Z shape:", Z.shape)  # (10, 29, 64)
    print("dW_value shape:", layer.grads[5].shape, "nonzero:", bool(np.any(layer.grads[5])))

    # the gradient check: tiny sizes, float64, O(1) weights (np.random.rand's 0..1 keys
    # saturate the softmax at D = 512)
    small = build(V, 6, 4)
    for p in small.params:
        p[...] = np.random.randn(*p.shape) * 0.5
    errors = gradcheck(small, xs[:2, :7])
    # the key bias adds one constant to every score of a row, which softmax ignores: its true
    # gradient is 0, so a relative error there compares round-off with round-off
    key_bias = errors.pop("params[2]")
    print("gradient check (relative error; a correct backward gives ~1e-8 or less):")
    print(format_errors(errors))
    print(
        f"params[2] (key bias): true gradient 0 (softmax ignores a constant added to a row); "
        f"backward gives max |.| {float(np.abs(small.grads[2]).max()):.1e}, so its relative "
        f"error ({key_bias:.0e}) compares round-off with round-off"
    )


if __name__ == "__main__":
    main()
