"""Data-parallel training steps: R ranks x 1 thread against 1 process x R threads.

    ZERONLP_DATA=/path/to/data python benchmarks/bench_distributed.py [--ranks 2] [--rounds 3]
    ... --models rnnlm date        # a subset of: rnnlm, better, date

For each model, one process with R BLAS threads (what a user runs without MPI) and
``mpiexec -n R`` with one thread per rank (zeronlp.distributed: each rank takes B/R rows of
the global batch B, one Allreduce per step) run the same training steps, in separate
processes, alternating A B A B. Printed per model: the median step time of each side, their
ratio, and for the ranks the share of the step spent in the gradient Allreduce (waiting for
the slower rank included) and in a bare Allreduce of the same buffer (the transfer alone),
with the bytes reduced per step.

Models (the settings of ``zeronlp train``): rnnlm = Rnnlm(10000, 100, 100) on PTB, batch 20 x
35 steps, SGD, clip 0.25 (the book's chapter 6); better = BetterRnnlm(10000, 200, 200,
dropout 0.5), the same batch; date = AttentionSeq2seq(59, 16, 256), batch 64, Adam, clip 5.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
STEPS = {"rnnlm": 40, "better": 12, "date": 40}  # timed steps per run (after 3 warm-up)
WARMUP = 3


# ---------------------------------------------------------------- worker (one run)


class _TimedComm:
    """Wraps a communicator and records the time of each gradient Allreduce."""

    def __init__(self, comm):
        self.inner, self.times = comm, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def allreduce_grads(self, grads, loss=None):
        t0 = time.perf_counter()
        loss = self.inner.allreduce_grads(grads, loss)
        self.times.append(time.perf_counter() - t0)
        return loss


def _setup(name, comm):
    """(model, optimizer, next_batch(), max_grad) of a benchmark model."""
    import numpy as np

    from zeronlp import backend, models, optimizers
    from zeronlp.training import RnnlmTrainer

    backend.seed(1984)
    if name == "date":
        from zeronlp.cli.train import load_sequence_task

        (x, t), _, (char_to_id, _) = load_sequence_task("date")
        model = models.AttentionSeq2seq(len(char_to_id), 16, 256)
        rows, B = comm.shard(64), 64
        state = {"i": 0}

        def next_batch():
            start = (state["i"] * B) % (len(x) - B)
            state["i"] += 1
            return x[start + rows.start : start + rows.stop], t[
                start + rows.start : start + rows.stop
            ]

        return model, optimizers.Adam(0.005), next_batch, 5.0
    from zeronlp.datasets import ptb

    corpus, _, _ = ptb.load_data("train")
    if name == "rnnlm":
        model = models.Rnnlm(10000, 100, 100)
    else:
        model = models.BetterRnnlm(10000, 200, 200, 0.5)
    trainer = RnnlmTrainer(model, optimizers.SGD(20.0), comm=comm)
    trainer.time_idx, trainer.rows = 0, comm.shard(20)
    xs, ts = np.asarray(corpus[:-1]), np.asarray(corpus[1:])
    return model, trainer.optimizer, lambda: trainer.get_batch(xs, ts, 20, 35), 0.25


def worker(name):
    import numpy as np
    from threadpoolctl import threadpool_info

    from zeronlp.distributed import world
    from zeronlp.training import train_step

    comm = _TimedComm(world())
    model, optimizer, next_batch, max_grad = _setup(name, comm)
    comm.broadcast_params(model.params)
    comm.split_random_streams()
    steps = []
    for i in range(WARMUP + STEPS[name]):
        if i == WARMUP:
            comm.times.clear()
        x, t = next_batch()
        t0 = time.perf_counter()
        train_step(model, optimizer, x, t, max_grad, comm=comm)
        if i >= WARMUP:
            steps.append(time.perf_counter() - t0)
    n_values = sum(g.size for g in model.grads) + 1
    bare = []
    if comm.size > 1:  # the same Allreduce alone, the ranks in step: the transfer itself
        buf = np.zeros(n_values, dtype=np.float32)
        for _ in range(20):
            comm.comm.Barrier()
            t0 = time.perf_counter()
            comm.comm.Allreduce(comm.MPI.IN_PLACE, buf, op=comm.MPI.SUM)
            bare.append(time.perf_counter() - t0)
    if comm.is_root:
        blas = {(i.get("internal_api"), i.get("architecture")) for i in threadpool_info()}
        print(json.dumps({
            "step": statistics.median(steps),
            "allreduce": statistics.median(comm.times) if comm.size > 1 else 0.0,
            "bare": statistics.median(bare) if bare else 0.0,
            "bytes": 4 * n_values,
            "blas": sorted(map(str, blas)),
        }))  # fmt: skip


# ---------------------------------------------------------------- driver


def _env(threads):
    env = dict(os.environ)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # this workplace pins old kernels
        env.pop(var, None)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env


def _mpiexec():
    scripts = Path(sysconfig.get_path("scripts")) / "mpiexec"
    return str(scripts) if scripts.exists() else shutil.which("mpiexec")


def _run(name, ranks, threads=None):
    """One run: 1 process x ``threads`` (default R) threads when ranks == 1, else the ranks."""
    script = [sys.executable, os.path.abspath(__file__), "--worker", name]
    if ranks == 1:
        cmd, env = script, _env(threads or _RANKS)
    else:
        cmd, env = [_mpiexec(), "-n", str(ranks), *script], _env(1)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"{name} with {ranks} rank(s) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


_RANKS = 2


def main():
    global _RANKS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["rnnlm", "better", "date"])
    parser.add_argument(
        "--one-thread", action="store_true", help="also time 1 process x 1 thread (per round)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    _RANKS = R = args.ranks
    for name in args.models:
        one, many, single = [], [], []
        for _ in range(args.rounds):  # alternating: a spell of load hits both sides
            one.append(_run(name, 1))
            many.append(_run(name, R))
            if args.one_thread:
                single.append(_run(name, 1, threads=1))
        t1 = statistics.median(r["step"] for r in one)
        tR = statistics.median(r["step"] for r in many)
        comm = statistics.median(r["allreduce"] for r in many)
        bare = statistics.median(r["bare"] for r in many)
        mb = many[0]["bytes"] / 1e6
        print(f"{name}: BLAS {one[0]['blas']}")
        print(
            f"  1 process x {R} threads {t1 * 1e3:8.1f} ms/step   {R} ranks x 1 thread "
            f"{tR * 1e3:8.1f} ms/step   ranks run at {t1 / tR:.2f}x the speed"
        )
        print(
            f"  Allreduce of {mb:.2f} MB/step: {comm * 1e3:.2f} ms with waiting "
            f"({comm / tR:.1%} of the step), {bare * 1e3:.2f} ms bare ({bare / tR:.1%})"
        )
        print(f"  rounds (ms): 1x{R} {[round(r['step'] * 1e3, 1) for r in one]}, "
              f"{R}x1 {[round(r['step'] * 1e3, 1) for r in many]}")  # fmt: skip
        if single:
            t11 = statistics.median(r["step"] for r in single)
            print(
                f"  1 process x 1 thread {t11 * 1e3:8.1f} ms/step: {R} ranks run at "
                f"{t11 / tR:.2f}x its speed; rounds (ms) "
                f"{[round(r['step'] * 1e3, 1) for r in single]}"
            )


if __name__ == "__main__":
    main()
