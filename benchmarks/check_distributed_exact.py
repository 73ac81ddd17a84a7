"""Exactness of data-parallel training on PTB: R ranks against one process, same global batch.

    ZERONLP_DATA=/path/to/data python benchmarks/check_distributed_exact.py [--steps 42]

Trains the book's Rnnlm (10000, 100, 100; batch 20 x 35, SGD lr 20, clip 0.25) on the first
steps x 700 tokens of PTB in one process and under ``mpiexec -n R``, in float32 and in
float64, and prints the largest parameter difference after 1 step and after ``--steps``.
The same two runs in one process with 1 and with 2 BLAS threads show how far float32
rounding alone (the order of a matmul's sums) moves the parameters over the same steps.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_distributed import _env, _mpiexec


def worker(out, dtype, steps):
    import numpy as np

    from zeronlp import backend, models, optimizers
    from zeronlp.datasets import ptb
    from zeronlp.distributed import world
    from zeronlp.training import RnnlmTrainer

    comm = world()
    backend.seed(1984)
    corpus, _, _ = ptb.load_data("train")
    corpus = corpus[: steps * 20 * 35 + 1]
    with backend.default_float(np.dtype(dtype)):
        model = models.Rnnlm(10000, 100, 100)
    trainer = RnnlmTrainer(model, optimizers.SGD(20.0), comm=comm)
    trainer.fit(corpus[:-1], corpus[1:], 1, 20, 35, max_grad=0.25, verbose=False)
    if comm.is_root:
        np.savez(out, *[backend.to_cpu(p) for p in model.params])


def _train(out, dtype, steps, ranks, threads=1):
    script = [sys.executable, os.path.abspath(__file__), "--worker", out, dtype, str(steps)]
    cmd = script if ranks == 1 else [_mpiexec(), "-n", str(ranks), *script]
    subprocess.run(cmd, env=_env(threads), check=True, timeout=1800)


def _max_diff(a, b):
    import numpy as np

    with np.load(a) as x, np.load(b) as y:
        return max(float(np.abs(x[k] - y[k]).max()) for k in x.files)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=42)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        out, dtype, steps = args.worker
        worker(out, dtype, int(steps))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for dtype in ("float32", "float64"):
            for steps in (1, args.steps):
                one, many = (str(Path(tmp) / f"{dtype}-{steps}-{r}.npz") for r in (1, args.ranks))
                _train(one, dtype, steps, 1)
                _train(many, dtype, steps, args.ranks)
                print(
                    f"{dtype}, {steps:3d} steps: 1 process vs {args.ranks} ranks, largest "
                    f"parameter difference {_max_diff(one, many):.3g}"
                )
        one_thread = str(Path(tmp) / f"float32-{args.steps}-1.npz")
        two_threads = str(Path(tmp) / "threads2.npz")
        _train(two_threads, "float32", args.steps, 1, threads=2)
        print(
            f"float32, {args.steps:3d} steps: 1 process, 1 vs 2 BLAS threads, largest "
            f"parameter difference {_max_diff(one_thread, two_threads):.3g}"
        )


if __name__ == "__main__":
    main()
