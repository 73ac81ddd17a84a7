"""One training step of the book's Rnnlm shape, zeronlp against the same model in PyTorch.

    python benchmarks/bench_rnnlm_step.py [--threads 2] [--rounds 5] [--reps 20]
    python benchmarks/bench_rnnlm_step.py --profile   # zeronlp's time, layer by layer

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
import subprocess
import sys
from pathlib import Path

from bench_time_lstm import compare, report, thread_env, time_reps

V, D, H, N, T = 10000, 100, 100, 20, 35
LR = 0.1


def batches(rng, count=8):
    """Random id batches (inputs, targets), the same on both sides."""
    ids = rng.integers(0, V, size=(count, N, T + 1))
    return [(b[:, :-1], b[:, 1:]) for b in ids]


def numpy_model():
    """The zeronlp model, its optimizer and data: (layers, loss_layer, params, grads, opt, data)."""
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
    return (embed, lstm, affine), loss_layer, params, grads, opt, batches(rng)


def worker_numpy(reps, warmup):
    (embed, lstm, affine), loss_layer, params, grads, opt, data = numpy_model()
    it = iter(range(10**9))

    def step():
        xs, ts = data[next(it) % len(data)]
        out = affine.forward(lstm.forward(embed.forward(xs)))
        loss_layer.forward(out, ts)
        embed.backward(lstm.backward(affine.backward(loss_layer.backward())))
        opt.update(params, grads)

    return time_reps(step, reps, warmup)


def profile(reps):
    """Best time of each phase of the zeronlp step over ``reps`` steps, and the cost of one
    pass over the (N*T, V) scores and of the output matmuls alone (in-process)."""
    import time

    import numpy as np

    (embed, lstm, affine), loss_layer, params, grads, opt, data = numpy_model()
    names = ["embed fwd", "lstm fwd", "affine fwd", "loss fwd", "loss bwd", "affine bwd"]
    names += ["lstm bwd", "embed bwd", "sgd update"]
    rows = []
    for i in range(reps + 2):
        xs, ts = data[i % len(data)]
        t = [time.perf_counter()]
        ys = embed.forward(xs)
        t.append(time.perf_counter())
        ys = lstm.forward(ys)
        t.append(time.perf_counter())
        ys = affine.forward(ys)
        t.append(time.perf_counter())
        loss_layer.forward(ys, ts)
        t.append(time.perf_counter())
        d = loss_layer.backward()
        t.append(time.perf_counter())
        d = affine.backward(d)
        t.append(time.perf_counter())
        d = lstm.backward(d)
        t.append(time.perf_counter())
        embed.backward(d)
        t.append(time.perf_counter())
        opt.update(params, grads)
        t.append(time.perf_counter())
        if i >= 2:
            rows.append(np.diff(t) * 1e3)
    rows = np.array(rows)
    print(f"zeronlp Rnnlm step: best total {rows.sum(axis=1).min():.1f} ms (best of {reps})")
    for name, ms in zip(names, rows.min(axis=0), strict=True):
        print(f"  {name:<12} {ms:6.2f} ms")
    f = np.float32
    rng = np.random.default_rng(0)
    x1 = rng.standard_normal((N * T, H + 1)).astype(f)
    W1 = rng.standard_normal((H + 1, V)).astype(f)
    s = rng.standard_normal((N * T, V)).astype(f)
    W = W1[:H]
    flops = 2 * N * T * (H + 1) * V
    one = {
        "scores = [x,1] @ [W;b]": lambda: x1 @ W1,
        "[dW;db] = [x,1].T @ d": lambda: x1.T @ s,
        "dx = d @ W.T": lambda: s @ W.T,
    }
    print("  the three output matmuls alone:")
    for name, fn in one.items():
        ms = min(time_reps(fn, reps, 1)) * 1e3
        print(f"    {name:<24} {ms:6.2f} ms  {flops / ms / 1e6:5.0f} GFLOP/s")
    e = np.empty_like(s)
    passes = {
        "row max": lambda: s.max(axis=1),
        "exp": lambda: np.exp(s, out=e),
        "row sum": lambda: e.sum(axis=1),
        "scale in place": lambda: e.__imul__(f(0.5)),
    }
    print(f"  one pass over the ({N * T}, {V}) float32 scores (NumPy, one core):")
    for name, fn in passes.items():
        print(f"    {name:<24} {min(time_reps(fn, reps, 1)) * 1e3:6.2f} ms")


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
    ap.add_argument("--worker", choices=["zeronlp", "torch", "profile"])
    ap.add_argument("--profile", action="store_true", help="where zeronlp's time goes")
    args = ap.parse_args()
    if args.worker == "profile":
        profile(args.reps)
        return
    if args.profile:
        cmd = [sys.executable, __file__, "--worker", "profile", "--reps", str(args.reps)]
        subprocess.run(cmd, env=thread_env(args.threads), check=True)
        return
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
