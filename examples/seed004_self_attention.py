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

zeronlp.attention.Seed004SelfAttention is the corrected construction; this script prints
the notebook's shapes and then checks every gradient numerically (float64, small sizes).

    python examples/seed004_self_attention.py
"""

import numpy as np

from zeronlp.attention import Seed004SelfAttention
from zeronlp.datasets import sequence
from zeronlp.gradcheck import format_errors, gradcheck


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
