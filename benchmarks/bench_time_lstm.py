"""TimeLSTM forward + backward against PyTorch's nn.LSTM on the CPU, same thread count.

    python benchmarks/bench_time_lstm.py [--threads 2] [--rounds 5] [--reps 5]
    python benchmarks/bench_time_lstm.py --profile   # zeronlp's time, matmul by matmul

Shape: N=20, T=35, D=H=650, float32 (the book's BetterRnnlm layer). Each side runs in its
own process (DESIGN.md: thread pools that spin after a call steal the cores from each
other in one process), alternating A B A B for ``--rounds`` rounds; each process warms up
and then times ``--reps`` iterations, keeping the best one (other load on a shared machine
only adds time). Printed: for each side the median over rounds of those per-round best
times, and the throughput ratio zeronlp / PyTorch (> 1: zeronlp is faster). Goal: >= 0.9.

The workers import this checkout's ``src/zeronlp`` (put on the child processes'
PYTHONPATH), so the figures are for the code next to this script.

This file also holds the small harness (``compare``) that bench_rnnlm_step.py uses.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import harness

SRC = Path(__file__).resolve().parent.parent / "src"
N, T, D, H = 20, 35, 650, 650


def thread_env(threads, src=SRC):
    """harness.thread_env (BLAS pools limited, OpenBLAS free to pick its kernel), with
    zeronlp imported from ``src``."""
    env = harness.thread_env(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def print_blas(threads):
    """Print the BLAS library and kernel NumPy uses in a worker's environment."""
    harness.print_blas(thread_env(threads))


def time_reps(step, reps, warmup):
    """Per-iteration wall times of ``step()`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def compare(script, impls, threads, rounds, reps, warmup, extra=(), srcs=None):
    """Run ``script --worker IMPL`` for each impl in turn, ``rounds`` times (A B A B ...).

    ``srcs`` maps an impl name "WORKER@LABEL" to another zeronlp source folder: that impl
    runs WORKER on that checkout (a before/after comparison in one alternating run).
    Each worker prints one JSON line {"times": [...]}. Returns {impl: [best time of each
    round]}.
    """
    srcs = srcs or {}
    results = {impl: [] for impl in impls}
    for _ in range(rounds):
        for impl in impls:
            env = thread_env(threads, srcs.get(impl, SRC))
            worker = impl.partition("@")[0]
            cmd = [sys.executable, str(script), "--worker", worker, "--threads", str(threads)]
            cmd += ["--reps", str(reps), "--warmup", str(warmup), *extra]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"worker {impl} failed:\n{proc.stderr}")
            times = json.loads(proc.stdout.strip().splitlines()[-1])["times"]
            # the best of a process's reps: on a shared machine other load only ever adds
            # time, so the minimum is the least disturbed measurement (as timeit does)
            results[impl].append(min(times))
    return results


def report(results, ours="zeronlp", ref="torch", unit_work=None, unit="it"):
    """Print each side's median over rounds of the per-round best time, and the throughput
    ratio ours / ref from those medians (plus the ratio within each round); returns it."""
    med = {k: statistics.median(v) for k, v in results.items()}
    per_round = [r / o for o, r in zip(results[ours], results[ref], strict=True)]
    for k, v in results.items():
        line = f"{k:>8}: {med[k] * 1e3:8.2f} ms"
        if unit_work:
            line += f"  ({unit_work / med[k]:,.0f} {unit}/s)"
        line += "   rounds: " + " ".join(f"{x * 1e3:.1f}" for x in v)
        print(line)
    ratio = med[ref] / med[ours]
    print(
        f"throughput {ours} / {ref}: {ratio:.2f}x  "
        f"(per round: {' '.join(f'{x:.2f}' for x in per_round)})"
    )
    return ratio


def worker_numpy(reps, warmup):
    """TimeLSTM, the layer the models use."""
    import numpy as np

    from zeronlp.time_layers import TimeLSTM

    rng = np.random.default_rng(0)
    s = 1 / np.sqrt(H)
    Wx = (rng.standard_normal((D, 4 * H)) * s).astype(np.float32)
    Wh = (rng.standard_normal((H, 4 * H)) * s).astype(np.float32)
    b = np.zeros(4 * H, dtype=np.float32)
    layer = TimeLSTM(Wx, Wh, b)
    xs = rng.standard_normal((N, T, D)).astype(np.float32)
    dhs = rng.standard_normal((N, T, H)).astype(np.float32)

    def step():
        layer.forward(xs)
        layer.backward(dhs)

    return time_reps(step, reps, warmup)


def worker_torch(reps, warmup, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(D, H, batch_first=True)
    xs = torch.randn(N, T, D, requires_grad=True)  # dxs too, as TimeLSTM.backward returns it
    dhs = torch.randn(N, T, H)

    def step():
        lstm.zero_grad()
        xs.grad = None
        out, _ = lstm(xs)
        out.backward(dhs)

    return time_reps(step, reps, warmup)


def best_ms(fn, reps):
    """Best wall time of ``fn()`` over ``reps`` calls after one warm-up call, in ms."""
    return min(time_reps(fn, reps, 1)) * 1e3


def profile(reps):
    """Where TimeLSTM's time goes: the whole layer, then the same matmuls alone (in-process,
    best of ``reps``). The per-step (N, H) @ (H, 4H) matmuls are the ones that cannot be
    batched; the rest is elementwise gate math on one core."""
    import numpy as np

    from zeronlp.time_layers import TimeLSTM

    rng = np.random.default_rng(0)
    f = np.float32
    Wx = (rng.standard_normal((D, 4 * H)) / 25).astype(f)
    Wh = (rng.standard_normal((H, 4 * H)) / 25).astype(f)
    layer = TimeLSTM(Wx, Wh, np.zeros(4 * H, dtype=f))
    xs = rng.standard_normal((N, T, D)).astype(f)
    dhs = rng.standard_normal((N, T, H)).astype(f)
    xs2 = xs.reshape(N * T, D)
    da2 = rng.standard_normal((N * T, 4 * H)).astype(f)
    h = rng.standard_normal((N, H)).astype(f)
    da_t = rng.standard_normal((N, 4 * H)).astype(f)
    WhT = np.ascontiguousarray(Wh.T)
    out4, out1 = np.empty((N, 4 * H), f), np.empty((N, H), f)

    def steps(fn):
        return lambda: [fn() for _ in range(T)]

    fwd = best_ms(lambda: layer.forward(xs), reps)
    total = best_ms(lambda: (layer.forward(xs), layer.backward(dhs)), reps)
    proj = 2 * N * T * D * 4 * H  # flops of the (N*T, D) @ (D, 4H) matmul
    rec = 2 * N * T * H * 4 * H  # flops of T (N, H) @ (H, 4H) matmuls
    parts = {  # name: (ms, flops)
        "input projection (N*T,D)@(D,4H)": (best_ms(lambda: xs2 @ Wx, reps), proj),
        "forward steps T x (N,H)@(H,4H)": (
            best_ms(steps(lambda: np.matmul(h, Wh, out=out4)), reps),
            rec,
        ),
        "backward steps T x (N,4H)@(4H,H)": (
            best_ms(steps(lambda: np.matmul(da_t, WhT, out=out1)), reps),
            rec,
        ),
        "dWx (D,N*T)@(N*T,4H)": (best_ms(lambda: xs2.T @ da2, reps), proj),
        "dWh (H,N*T)@(N*T,4H)": (best_ms(lambda: xs2[:, :H].T @ da2, reps), rec),
        "dxs (N*T,4H)@(4H,D)": (best_ms(lambda: da2 @ Wx.T, reps), proj),
    }
    print(f"TimeLSTM forward {fwd:.1f} ms, forward+backward {total:.1f} ms (best of {reps})")
    for name, (ms, flops) in parts.items():
        print(f"  {name:<36} {ms:6.1f} ms  {flops / ms / 1e6:5.0f} GFLOP/s")
    rest = total - sum(ms for ms, _ in parts.values())
    print(f"  {'everything else (gate math, copies)':<36} {rest:6.1f} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--worker", choices=["zeronlp", "torch", "profile"])
    ap.add_argument("--profile", action="store_true", help="where zeronlp's time goes")
    args = ap.parse_args()
    if args.worker == "zeronlp":
        print(json.dumps({"times": worker_numpy(args.reps, args.warmup)}))
        return
    if args.worker == "torch":
        print(json.dumps({"times": worker_torch(args.reps, args.warmup, args.threads)}))
        return
    if args.worker == "profile":
        profile(args.reps)
        return
    if args.profile:
        cmd = [sys.executable, __file__, "--worker", "profile", "--reps", str(args.reps)]
        subprocess.run(cmd, env=thread_env(args.threads), check=True)
        return
    print(
        f"TimeLSTM forward+backward, N={N} T={T} D={D} H={H} float32, "
        f"{args.threads} threads, {args.rounds} rounds x {args.reps} reps"
    )
    print_blas(args.threads)
    impls = ["zeronlp", "torch"]
    results = compare(Path(__file__), impls, args.threads, args.rounds, args.reps, args.warmup)
    report(results)


if __name__ == "__main__":
    main()
