"""One training step of the book's Rnnlm shape, zeronlp against the same model in PyTorch.

    python benchmarks/bench_rnnlm_step.py [--threads 2] [--rounds 5] [--reps 20]

V=10000, D=H=100, N=20, T=35, float32: TimeEmbedding -> TimeLSTM (stateful) -> TimeAffine
-> TimeSoftmaxWithLoss, backward, SGD update; PyTorch: nn.Embedding -> nn.LSTM ->
nn.Linear -> F.cross_entropy, backward, torch.optim.SGD (state carried over, detached, as
the book's truncated BPTT). Both sides run in separate processes with the same thread
count, alternating A B A B (see bench_time_lstm.py). Printed: median time per step,
tokens/s (N*T per step) and the throughput ratio zeronlp / PyTorch. Goal: >= 1.5.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench_time_lstm import compare, report, time_reps

V, D, H, N, T = 10000, 100, 100, 20, 35
LR = 0.1


def batches(rng, count=8):
    """Random id batches (inputs, targets), the same on both sides."""
    ids = rng.integers(0, V, size=(count, N, T + 1))
    return [(b[:, :-1], b[:, 1:]) for b in ids]


def worker_numpy(reps, warmup):
    import numpy as np

    from zeronlp.optimizers import SGD
    from zeronlp.time_layers import (
        TimeAffine,
        TimeEmbedding,
        TimeLSTM,
        TimeSoftmaxWithLoss,
    )

    rng = np.random.default_rng(0)
    f = np.float32
    embed = TimeEmbedding((rng.standard_normal((V, D)) / 100).astype(f))
    lstm = TimeLSTM(
        (rng.standard_normal((D, 4 * H)) / np.sqrt(D)).astype(f),
        (rng.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(f),
        np.zeros(4 * H, dtype=f),
        stateful=True,
    )
    affine = TimeAffine((rng.standard_normal((H, V)) / np.sqrt(H)).astype(f), np.zeros(V, dtype=f))
    loss_layer = TimeSoftmaxWithLoss()
    layers = [embed, lstm, affine]
    params = [p for layer in layers for p in layer.params]
    grads = [g for layer in layers for g in layer.grads]
    opt = SGD(LR)
    data = batches(rng)
    it = iter(range(10**9))

    def step():
        xs, ts = data[next(it) % len(data)]
        out = affine.forward(lstm.forward(embed.forward(xs)))
        loss_layer.forward(out, ts)
        embed.backward(lstm.backward(affine.backward(loss_layer.backward())))
        opt.update(params, grads)

    return time_reps(step, reps, warmup)


def worker_torch(reps, warmup, threads):
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    embed = torch.nn.Embedding(V, D)
    lstm = torch.nn.LSTM(D, H, batch_first=True)
    linear = torch.nn.Linear(H, V)
    params = [*embed.parameters(), *lstm.parameters(), *linear.parameters()]
    opt = torch.optim.SGD(params, lr=LR)
    data = [
        (torch.from_numpy(x), torch.from_numpy(t)) for x, t in batches(np.random.default_rng(0))
    ]
    state = {"hc": None, "i": 0}

    def step():
        xs, ts = data[state["i"] % len(data)]
        state["i"] += 1
        opt.zero_grad()
        out, (h, c) = lstm(embed(xs), state["hc"])
        state["hc"] = (h.detach(), c.detach())
        loss = F.cross_entropy(linear(out).reshape(N * T, V), ts.reshape(N * T))
        loss.backward()
        opt.step()
        loss.item()  # the zeronlp side returns the loss as a Python float too

    return time_reps(step, reps, warmup)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--worker", choices=["zeronlp", "torch"])
    args = ap.parse_args()
    if args.worker == "zeronlp":
        print(json.dumps({"times": worker_numpy(args.reps, args.warmup)}))
        return
    if args.worker == "torch":
        print(json.dumps({"times": worker_torch(args.reps, args.warmup, args.threads)}))
        return
    print(
        f"Rnnlm training step, V={V} D={D} H={H} N={N} T={T} float32, "
        f"{args.threads} threads, {args.rounds} rounds x {args.reps} reps"
    )
    results = compare(
        Path(__file__), ["zeronlp", "torch"], args.threads, args.rounds, args.reps, args.warmup
    )
    report(results, unit_work=N * T, unit="tokens")


if __name__ == "__main__":
    main()
