"""One training step of the book's Rnnlm shape, zeronlp against the same model in PyTorch.

    python benchmarks/bench_rnnlm_step.py [--threads 2] [--rounds 5] [--reps 20]
    python benchmarks/bench_rnnlm_step.py --profile   # zeronlp's time, layer by layer

    python benchmarks/bench_rnnlm_step.py --before ../old/src   # also time another checkout
    python benchmarks/bench_rnnlm_step.py --bound     # the fastest step this machine allows

V=10000, D=H=100, N=20, T=35, float32, one iteration of `zeronlp train ptb --model rnnlm`:
the next batch of the truncated-BPTT streams (``RnnlmTrainer.get_batch``) through a
random corpus of the PTB training split's length, then ``zeronlp.models.Rnnlm``
(TimeEmbedding -> TimeLSTM (stateful) -> TimeAffineSoftmaxWithLoss) forward and
backward, clip_grads(0.25) and SGD(lr 20), i.e. ``zeronlp.training.train_step``. Against
the same iteration in PyTorch (nn.Embedding -> nn.LSTM -> nn.Linear -> F.cross_entropy,
backward, clip_grad_norm_, torch.optim.SGD; state carried over, detached, as the book's
truncated BPTT) and in the book's code (book_rnnlm.py, with the book's get_batch). The
sides run in separate processes with the same thread count, alternating A B C A B C (see
bench_time_lstm.py). Printed: median time per step, tokens/s (N*T per step), the
throughput ratios zeronlp / PyTorch (goal >= 1.5) and zeronlp / the book's code, and the
time of one PTB training epoch (1,327 steps) that each step time implies.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_time_lstm import compare, print_blas, report, thread_env, time_reps

V, D, H, N, T = 10000, 100, 100, 20, 35
LR, MAX_GRAD = 20.0, 0.25  # the book's ch. 6 settings
EPOCH_TOKENS = 929589  # the PTB training split
EPOCH_STEPS = EPOCH_TOKENS // (N * T)  # iterations in one epoch


def batches(rng, count=8):
    """Random id batches (inputs, targets) for the profile."""
    ids = rng.integers(0, V, size=(count, N, T + 1))
    return [(b[:, :-1], b[:, 1:]) for b in ids]


def corpus():
    """A random corpus of the PTB training split's length: (ids, next ids), every side's."""
    import numpy as np

    ids = np.random.default_rng(0).integers(0, V, size=EPOCH_TOKENS + 1)
    return ids[:-1], ids[1:]


def numpy_model():
    """The zeronlp Rnnlm's layers and data: (layers, loss_layer, params, grads, opt, data)."""
    import numpy as np

    from zeronlp import backend
    from zeronlp.models import Rnnlm
    from zeronlp.optimizers import SGD

    backend.seed(0)
    model = Rnnlm(V, D, H)
    data = batches(np.random.default_rng(0))
    return model.layers, model.loss_layer, model.params, model.grads, SGD(LR), data


def worker_numpy(reps, warmup):
    from zeronlp import backend
    from zeronlp.models import Rnnlm
    from zeronlp.optimizers import SGD
    from zeronlp.training import RnnlmTrainer, train_step

    backend.seed(0)
    model = Rnnlm(V, D, H)
    opt = SGD(LR)
    trainer = RnnlmTrainer(model, opt)
    trainer.time_idx = 0
    xs, ts = corpus()

    def step():
        batch_x, batch_t = trainer.get_batch(xs, ts, N, T)
        train_step(model, opt, batch_x, batch_t, max_grad=MAX_GRAD)

    return time_reps(step, reps, warmup)


def worker_book(reps, warmup):
    import numpy as np
    from book_rnnlm import SGD, BatchReader, Rnnlm, fit_step

    model = Rnnlm(V, D, H, np.random.default_rng(0))
    opt = SGD(LR)
    reader = BatchReader()
    xs, ts = corpus()

    def step():
        fit_step(model, opt, reader, xs, ts, N, T, MAX_GRAD)

    return time_reps(step, reps, warmup)


PHASES = ["embed fwd", "lstm fwd", "output fwd+bwd", "output bwd", "lstm bwd", "embed bwd"]
PHASES += ["clip + sgd"]


def phase_times(reps):
    """ms of each of the zeronlp step's PHASES, (reps, len(PHASES)), after 2 untimed steps."""
    import numpy as np

    from zeronlp.optimizers import clip_grads

    (embed, lstm), loss_layer, params, grads, opt, data = numpy_model()
    rows = []
    for i in range(reps + 2):
        xs, ts = data[i % len(data)]
        t = [time.perf_counter()]
        ys = embed.forward(xs)
        t.append(time.perf_counter())
        ys = lstm.forward(ys)
        t.append(time.perf_counter())
        loss_layer.forward(ys, ts)  # the fused layer: loss and gradients, chunk by chunk
        t.append(time.perf_counter())
        d = loss_layer.backward()
        t.append(time.perf_counter())
        d = lstm.backward(d)
        t.append(time.perf_counter())
        embed.backward(d)
        t.append(time.perf_counter())
        clip_grads(grads, MAX_GRAD)
        opt.update(params, grads)
        t.append(time.perf_counter())
        if i >= 2:
            rows.append(np.diff(t) * 1e3)
    return np.array(rows)


def profile(reps):
    """Best time of each phase of the zeronlp step over ``reps`` steps, and the cost of one
    pass over the (N*T, V) scores and of the output matmuls alone (in-process)."""
    import numpy as np

    rows = phase_times(reps)
    print(f"zeronlp Rnnlm step: best total {rows.sum(axis=1).min():.1f} ms (best of {reps})")
    for name, ms in zip(PHASES, rows.min(axis=0), strict=True):
        print(f"  {name:<14} {ms:6.2f} ms")
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


def floor(reps):
    """The parts of the step that no NumPy implementation of the math can skip, and the
    rest of zeronlp's step as written, in seconds (best of ``reps`` each, in-process).

    products: the three (N*T, H) x (H, V) float32 products of the output layer (scores,
    dW, dh), each alone on fresh arrays: BLAS at its best on these shapes.
    exp: one exp() over the (N*T, V) scores, which the softmax needs in any order.
    rest: the other layers' phases of the real step (LSTM and embedding forward and
    backward, clipping and SGD), each at its best.
    step: the whole of zeronlp's step (``train_step``), for reference.
    """
    import numpy as np

    f = np.float32
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N * T, H)).astype(f)
    W = rng.standard_normal((H, V)).astype(f)
    d = rng.standard_normal((N * T, V)).astype(f)
    e, dW, dx = np.empty_like(d), np.empty_like(W), np.empty_like(x)
    products = [
        lambda: np.matmul(x, W, out=e),  # scores
        lambda: np.matmul(x.T, d, out=dW),  # dW
        lambda: np.matmul(d, W.T, out=dx),  # dh
    ]
    parts = {"products": sum(min(time_reps(fn, reps, 1)) for fn in products)}
    parts["exp"] = min(time_reps(lambda: np.exp(d, out=e), reps, 1))

    rows = phase_times(reps) / 1e3  # (reps, phases) in seconds, as time_reps gives
    phase = {name: rows[:, i] for i, name in enumerate(PHASES)}
    parts["lstm"] = min(phase["lstm fwd"] + phase["lstm bwd"])
    parts["embed"] = min(phase["embed fwd"] + phase["embed bwd"])
    parts["clip + sgd"] = min(phase["clip + sgd"])
    parts["step"] = min(worker_numpy(reps, 3))
    return parts


def bound(threads, rounds, reps):
    """Print what the 1.5x goal leaves for the rest of the step once the unavoidable output
    work is paid, from ``floor`` and PyTorch's step in alternating processes (medians over
    rounds of each process's best)."""
    env = thread_env(threads)
    got = {"floor": [], "torch": []}
    for _ in range(rounds):
        for worker in got:
            cmd = [sys.executable, __file__, "--worker", worker, "--threads", str(threads)]
            cmd += ["--reps", str(reps)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            got[worker].append(json.loads(out.stdout.strip().splitlines()[-1]))
    ms = {k: statistics.median(r[k] for r in got["floor"]) * 1e3 for k in got["floor"][0]}
    torch_ms = statistics.median(min(r["times"]) for r in got["torch"]) * 1e3
    print(f"Rnnlm step bound, {threads} threads, {rounds} rounds x {reps} reps (medians of bests)")
    print_blas(threads)
    must = ms["products"] + ms["exp"]
    rest = ms["lstm"] + ms["embed"] + ms["clip + sgd"]
    goal = torch_ms / 1.5
    print(f"  PyTorch step                          {torch_ms:7.2f} ms")
    print(f"  zeronlp step (train_step)             {ms['step']:7.2f} ms  "
          f"= {torch_ms / ms['step']:.2f}x PyTorch")  # fmt: skip
    gflop = 2 * N * T * H * V / 1e9
    print(f"  output products (3 x {gflop:.1f} GFLOP)       {ms['products']:7.2f} ms")
    print(f"  exp over the ({N * T}, {V}) scores     {ms['exp']:7.2f} ms")
    for k in ("lstm", "embed", "clip + sgd"):
        print(f"  {k + ' (as written)':<36}  {ms[k]:7.2f} ms")  # fmt: skip
    print(f"  1.5x PyTorch needs a step of          {goal:7.2f} ms")
    print(f"  left for all but products and exp     {goal - must:7.2f} ms "
          f"(the rest takes {rest:.2f} ms as written)")  # fmt: skip
    print(f"  best ratio with the rest as written, output work at its floor: "
          f"{torch_ms / (must + rest):.2f}x")  # fmt: skip
    print(f"  best ratio with LSTM, embedding, clipping and SGD free: {torch_ms / must:.2f}x")


def worker_torch(reps, warmup, threads):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    embed = torch.nn.Embedding(V, D)
    lstm = torch.nn.LSTM(D, H, batch_first=True)
    linear = torch.nn.Linear(H, V)
    params = [*embed.parameters(), *lstm.parameters(), *linear.parameters()]
    opt = torch.optim.SGD(params, lr=LR)
    xs_all, ts_all = (torch.from_numpy(a) for a in corpus())
    offsets = torch.arange(N)[:, None] * (EPOCH_TOKENS // N)
    state = {"hc": None, "i": 0}

    def step():
        idx = (offsets + state["i"] + torch.arange(T)) % EPOCH_TOKENS  # the same streams
        state["i"] += T
        xs, ts = xs_all[idx], ts_all[idx]
        opt.zero_grad()
        out, (h, c) = lstm(embed(xs), state["hc"])
        state["hc"] = (h.detach(), c.detach())
        loss = F.cross_entropy(linear(out).reshape(N * T, V), ts.reshape(N * T))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, MAX_GRAD)
        opt.step()
        loss.item()  # the zeronlp side returns the loss as a Python float too

    return time_reps(step, reps, warmup)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--worker", choices=["zeronlp", "torch", "book", "profile", "floor"])
    ap.add_argument("--before", help="another checkout's src folder, timed as zeronlp@before")
    ap.add_argument("--no-book", action="store_true", help="skip the book's code (slow)")
    ap.add_argument("--profile", action="store_true", help="where zeronlp's time goes")
    ap.add_argument("--bound", action="store_true", help="the fastest step this machine allows")
    args = ap.parse_args()
    if args.worker == "profile":
        profile(args.reps)
        return
    if args.worker == "floor":
        print(json.dumps(floor(args.reps)))
        return
    if args.bound:
        bound(args.threads, args.rounds, args.reps)
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
    if args.worker == "book":
        print(json.dumps({"times": worker_book(args.reps, args.warmup)}))
        return
    print(
        f"Rnnlm training step, V={V} D={D} H={H} N={N} T={T} float32, "
        f"{args.threads} threads, {args.rounds} rounds x {args.reps} reps"
    )
    print_blas(args.threads)
    impls = ["zeronlp", "torch"] + ([] if args.no_book else ["book"])
    srcs = {}
    if args.before:
        impls.append("zeronlp@before")
        srcs["zeronlp@before"] = str(Path(args.before).resolve())
    results = compare(
        Path(__file__), impls, args.threads, args.rounds, args.reps, args.warmup, srcs=srcs
    )
    report(results, unit_work=N * T, unit="tokens")
    if "zeronlp@before" in results:
        report({k: results[k] for k in ("zeronlp", "zeronlp@before")}, ref="zeronlp@before")
    if "book" in results:
        report({k: results[k] for k in ("zeronlp", "book")}, ref="book")
    for k, v in results.items():
        print(f"{k:>8}: one PTB epoch of {EPOCH_STEPS:,} steps at this rate: "
              f"{statistics.median(v) * EPOCH_STEPS:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
