"""One PTB training epoch of the book's Rnnlm: zeronlp's RnnlmTrainer against the book's code.

    ZERONLP_DATA=../shared/data python benchmarks/bench_ptb_epoch.py [--threads 2] [--rounds 2]
    (without ZERONLP_DATA the PTB files are downloaded and cached, as ptb.load_data does)
    ... --iters 200     # a shorter run: the first 200 iterations of the epoch

The book's chapter 6 setting (wordvec 100, hidden 100, batch 20, 35 steps, SGD lr 20,
clip 0.25) on the PTB training split (929,589 tokens, 1,327 iterations): zeronlp's
``RnnlmTrainer.fit`` (what ``zeronlp train ptb --model rnnlm`` runs, without the validation
pass and the progress bar) against the book's RnnlmTrainer loop over its own layers
(book_rnnlm.py: get_batch, forward, backward, clip_grads, SGD, the loss sum). Each epoch
runs in its own process with the same thread count, alternating; printed: each side's
median wall time and the ratio of the two.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_time_lstm import thread_env

V, D, H, N, T = 10000, 100, 100, 20, 35
LR, MAX_GRAD = 20.0, 0.25


def corpus(iters):
    """PTB training ids (inputs, targets), cut to ``iters`` iterations when given."""
    from zeronlp.datasets import ptb

    ids, _, _ = ptb.load_data("train")
    if iters:
        ids = ids[: iters * N * T + 1]
    return ids[:-1], ids[1:]


def epoch_zeronlp(xs, ts):
    from zeronlp import backend
    from zeronlp.models import Rnnlm
    from zeronlp.optimizers import SGD
    from zeronlp.training import RnnlmTrainer

    backend.seed(0)
    trainer = RnnlmTrainer(Rnnlm(V, D, H), SGD(LR))
    start = time.perf_counter()
    trainer.fit(xs, ts, 1, N, T, max_grad=MAX_GRAD, eval_interval=20, verbose=False)
    return time.perf_counter() - start, trainer.ppl_list[-1]


def epoch_book(xs, ts):
    import numpy as np
    from book_rnnlm import SGD, BatchReader, Rnnlm, clip_grads

    model, optimizer, reader = Rnnlm(V, D, H, np.random.default_rng(0)), SGD(LR), BatchReader()
    max_iters = len(xs) // (N * T)
    total_loss, loss_count, ppl = 0.0, 0, None
    start = time.perf_counter()
    for it in range(max_iters):  # the book's RnnlmTrainer.fit, without its prints
        batch_x, batch_t = reader.get_batch(xs, ts, N, T)
        loss = model.forward(batch_x, batch_t)
        model.backward()
        clip_grads(model.grads, MAX_GRAD)
        optimizer.update(model.params, model.grads)
        total_loss += loss
        loss_count += 1
        if (it + 1) % 20 == 0:
            ppl = float(np.exp(total_loss / loss_count))
            total_loss, loss_count = 0.0, 0
    return time.perf_counter() - start, ppl


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--iters", type=int, help="time only this many iterations of the epoch")
    ap.add_argument("--worker", choices=["zeronlp", "book"])
    args = ap.parse_args()
    if args.worker:
        fn = epoch_zeronlp if args.worker == "zeronlp" else epoch_book
        seconds, ppl = fn(*corpus(args.iters))
        print(json.dumps({"time": seconds, "ppl": ppl}))
        return
    results = {"zeronlp": [], "book": []}
    for _ in range(args.rounds):
        for impl in results:
            cmd = [sys.executable, str(Path(__file__)), "--worker", impl]
            cmd += ["--iters", str(args.iters)] if args.iters else []
            proc = subprocess.run(
                cmd, env=thread_env(args.threads), capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                raise SystemExit(f"worker {impl} failed:\n{proc.stderr}")
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            results[impl].append(out["time"])
            print(f"  {impl:>8}: {out['time']:6.1f} s, last training perplexity {out['ppl']:.1f}")
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"PTB Rnnlm epoch, {args.threads} threads, {args.rounds} rounds (medians):")
    for k, v in med.items():
        print(f"  {k:>8}: {v:6.1f} s")
    print(f"zeronlp takes {med['zeronlp'] / med['book']:.2f}x the book code's time")


if __name__ == "__main__":
    main()
