"""Embedding backward: 20x35 ids into a 10000x650 table (the book's Rnnlm/BetterRnnlm shape).

Compares zeronlp's Embedding.backward (zero dW, then backend.scatter_add) with the same
layer using np.add.at (the book's code) and with PyTorch nn.Embedding's backward, all
float32. The ids follow a Zipf law, like words in a text, so repeated ids are common.

    python benchmarks/bench_embedding.py [--threads 2]
"""

import numpy as np
from harness import main

V, D, N, T = 10000, 650, 20, 35


def _inputs():
    rng = np.random.default_rng(0)
    p = 1.0 / np.arange(1, V + 1)
    ids = rng.choice(V, size=(N, T), p=p / p.sum())
    dout = rng.standard_normal((N, T, D)).astype(np.float32)
    W = (0.01 * rng.standard_normal((V, D))).astype(np.float32)
    return ids, dout, W


def zeronlp_scatter_add():
    from zeronlp.layers import Embedding

    ids, dout, W = _inputs()
    layer = Embedding(W)
    layer.forward(ids)
    return lambda: layer.backward(dout)


def numpy_add_at():
    ids, dout, W = _inputs()
    dW = np.zeros_like(W)

    def backward():  # the book's Embedding.backward
        dW[...] = 0
        np.add.at(dW, ids, dout)

    return backward


def torch_embedding():
    import torch

    ids, dout, W = _inputs()
    emb = torch.nn.Embedding(V, D)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(W))
    tids, tdout = torch.from_numpy(ids), torch.from_numpy(dout)

    def backward():
        emb.weight.grad = None
        emb(tids).backward(tdout)

    return backward


CASES = {
    "zeronlp (scatter_add)": zeronlp_scatter_add,
    "numpy np.add.at (book)": numpy_add_at,
    "torch nn.Embedding": torch_embedding,
}

if __name__ == "__main__":
    main(CASES, baseline="numpy np.add.at (book)", description=__doc__.splitlines()[0])
