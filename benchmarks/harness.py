"""A small harness that times benchmark cases in separate processes, alternating.

Each case runs in a fresh Python process with the same thread count for NumPy's BLAS and
PyTorch: in one process their thread pools keep spinning after each call and steal the
cores from each other, which skews the comparison by 2x or more. Cases run round-robin
(A B A B ...) so that a burst of load from other users of the machine hits all of them.

A benchmark script defines ``CASES = {name: setup}``, where ``setup()`` builds the inputs
and returns a zero-argument function to time, and calls ``main(CASES, baseline=...)`` or
``main(CASES, pairs=[(ours, reference), ...])``. Case names containing "torch" get
``torch.set_num_threads(threads)``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def thread_env(threads):
    """Every BLAS/OpenMP pool limited to ``threads``, and OpenBLAS free to pick its own
    kernel: this workplace pins old kernels with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
    which users don't have."""
    env = dict(os.environ)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(var, None)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def print_blas(env):
    """Print the BLAS library and kernel NumPy uses in a worker's environment ``env``."""
    code = (
        "import numpy, threadpoolctl\n"
        "for i in threadpoolctl.threadpool_info():\n"
        "    if i.get('user_api') == 'blas':\n"
        "        print('BLAS:', i.get('internal_api'), i.get('version'),"
        " 'kernel', i.get('architecture'), 'threads', i.get('num_threads'))"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=False)


def _time_case(setup, repeat, min_time):
    fn = setup()
    fn()  # warm up: first-call allocations, lazy imports
    times = []
    deadline = time.perf_counter() + min_time
    while len(times) < repeat or time.perf_counter() < deadline:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _worker(cases, name, threads, repeat, min_time):
    if "torch" in name:
        import torch

        torch.set_num_threads(threads)
    print(json.dumps({"time": _time_case(cases[name], repeat, min_time)}))


def main(cases, baseline=None, description="", rounds=3, repeat=20, min_time=1.0, pairs=()):
    """Time every case; print each against ``baseline`` and each (ours, reference) pair."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=2, help="threads for BLAS and PyTorch")
    parser.add_argument("--rounds", type=int, default=rounds, help="alternating rounds")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        _worker(cases, args.case, args.threads, repeat, min_time)
        return None

    script = os.path.abspath(sys.argv[0])
    print_blas(thread_env(args.threads))
    results = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name in cases:
            out = subprocess.run(
                [sys.executable, script, "--case", name, "--threads", str(args.threads)],
                env=thread_env(args.threads),
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                print(f"{name}: failed\n{out.stderr}", file=sys.stderr)
                results[name].append(float("nan"))
                continue
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1])["time"])
    medians = {name: statistics.median(ts) for name, ts in results.items()}
    print(description)
    print(f"threads={args.threads}, rounds={args.rounds} (median of per-process medians)")
    for name, t in medians.items():
        ratio = f"   {medians[baseline] / t:6.2f}x the speed of {baseline}" if baseline else ""
        print(f"  {name:<32} {t * 1e3:9.3f} ms{ratio}")
    for ours, reference in pairs:
        speed = medians[reference] / medians[ours]
        print(
            f"  ratio: {ours} runs at {speed:.2f}x the speed of {reference} "
            f"(takes {1 / speed:.2f}x its time)"
        )
    return medians
