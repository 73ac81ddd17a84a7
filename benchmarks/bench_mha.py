"""MultiHeadAttention forward + backward: N=32, T=64, D=256, 8 heads, float32, self-attention.

Compares zeronlp's MultiHeadAttention (hand-written NumPy forward and backward) with
PyTorch CPU nn.MultiheadAttention (autograd backward) at the same thread count; each case
runs in its own process, alternating. Both compute the outputs, the input gradient and all
eight parameter gradients for a fixed dout.

    python benchmarks/bench_mha.py [--threads 2] [--rounds 3]
"""

import numpy as np
from harness import main

N, T, D, HEADS = 32, 64, 256, 8


def _inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    dout = rng.standard_normal((N, T, D)).astype(np.float32)
    weights = []
    for _ in range(4):
        weights.append((rng.standard_normal((D, D)) / np.sqrt(D)).astype(np.float32))
        weights.append((0.1 * rng.standard_normal(D)).astype(np.float32))
    return x, dout, weights


def zeronlp_mha():
    from zeronlp.attention import MultiHeadAttention

    x, dout, weights = _inputs()
    layer = MultiHeadAttention(*weights, HEADS)

    def step():
        layer.forward(x)
        layer.backward(dout)

    return step


def torch_mha():
    import torch

    x, dout, weights = _inputs()
    m = torch.nn.MultiheadAttention(D, HEADS, batch_first=True)
    with torch.no_grad():  # the same weights: torch keeps (out, in) blocks q, k, v
        Wq, bq, Wk, bk, Wv, bv, Wo, bo = (torch.from_numpy(w) for w in weights)
        m.in_proj_weight.copy_(torch.cat([Wq.T, Wk.T, Wv.T]))
        m.in_proj_bias.copy_(torch.cat([bq, bk, bv]))
        m.out_proj.weight.copy_(Wo.T)
        m.out_proj.bias.copy_(bo)
    tx = torch.from_numpy(x).requires_grad_(True)
    tdout = torch.from_numpy(dout)

    def step():
        m.zero_grad(set_to_none=True)
        tx.grad = None
        out, _ = m(tx, tx, tx, need_weights=False)
        out.backward(tdout)

    return step


CASES = {
    "zeronlp MultiHeadAttention": zeronlp_mha,
    "torch nn.MultiheadAttention": torch_mha,
}

if __name__ == "__main__":
    main(
        CASES,
        pairs=[("zeronlp MultiHeadAttention", "torch nn.MultiheadAttention")],
        description=__doc__.splitlines()[0],
    )
