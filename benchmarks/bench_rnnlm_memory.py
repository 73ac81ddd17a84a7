"""Extra memory of one Rnnlm training step at a large vocabulary, by tracemalloc.

    python benchmarks/bench_rnnlm_memory.py [--vocab 50000] [--steps 3]

V=50000 (default), D=H=100, N=20, T=35, float32: ``zeronlp.training.train_step`` (forward,
backward, clip_grads(0.25), SGD) on random ids. One step runs first so that every buffer a
model keeps from step to step exists (the resting state); then tracemalloc (NumPy reports
its array allocations to it) records the peak of memory allocated above that state during
each of ``--steps`` further steps. Printed: the largest of those peaks in MiB, and, for
scale, the size of the (N*T, V) float32 score matrix. The figure is deterministic (no
timing), so the load of a shared machine does not change it.

The script imports this checkout's ``src/zeronlp``; point PYTHONPATH at another checkout
to measure that one instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import tracemalloc
from pathlib import Path

for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # see DESIGN.md's speed rules
    os.environ.pop(_var, None)
if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

N, T, D, H = 20, 35, 100, 100
MIB = 1024 * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=50000)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    import numpy as np

    import zeronlp
    from zeronlp import backend
    from zeronlp.models import Rnnlm
    from zeronlp.optimizers import SGD
    from zeronlp.training import train_step

    V = args.vocab
    backend.seed(0)
    model, opt = Rnnlm(V, D, H), SGD(20.0)
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, V, size=(N, T + 1)) for _ in range(args.steps + 1)]
    train_step(model, opt, batches[0][:, :-1], batches[0][:, 1:], max_grad=0.25)  # warm
    peaks = []
    for b in batches[1:]:
        tracemalloc.start()
        train_step(model, opt, b[:, :-1], b[:, 1:], max_grad=0.25)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    print(f"zeronlp from {Path(zeronlp.__file__).parent}")
    print(f"Rnnlm training step, V={V} D={D} H={H} N={N} T={T} float32")
    print(f"  extra memory of one step (tracemalloc peak): {max(peaks) / MIB:.1f} MiB")
    print(f"  for scale, the (N*T, V) float32 scores: {N * T * V * 4 / MIB:.1f} MiB")


if __name__ == "__main__":
    main()
