"""One PTB training epoch of the book's Rnnlm: zeronlp's RnnlmTrainer against the book's code.

    ZERONLP_DATA=/path/to/data python benchmarks/bench_ptb_epoch.py [--threads 2] [--rounds 2]
    (without ZERONLP_DATA the PTB files are downloaded and cached, as ptb.load_data does)
    ... --iters 200     # a shorter run: the first 200 iterations of the epoch
    ... --segment 0     # each epoch in one go, the two sides one after the other

The book's chapter 6 setting (wordvec 100, hidden 100, batch 20, 35 steps, SGD lr 20,
clip 0.25) on the PTB training split (929,589 tokens, 1,327 iterations): zeronlp's
``RnnlmTrainer.fit`` (what ``zeronlp train ptb --model rnnlm`` runs, without the validation
pass and the progress bar) against the book's RnnlmTrainer loop over its own layers
(book_rnnlm.py: get_batch, forward, backward, clip_grads, SGD, the loss sum).

Each side runs its whole epoch in its own process with the same thread count, but the two
take turns: ``--segment`` iterations of one (default 100), then of the other, and so on,
each waiting while the other runs (after a 0.2 s pause so that the other's BLAS threads
have gone to sleep). The time of an epoch is the sum of its segments. On a shared machine
the speed changes from minute to minute (other tenants' load on the CPU caches and
memory); whole epochs run one after the other (``--segment 0``) meet different spells of
it, while turns of a few seconds put both sides through the same ones. Printed: each
round's epoch times and ratio, then the medians over the rounds.
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


class Pacer:
    """Splits a worker's epoch into segments of ``every`` iterations. ``tick()`` is called
    before each iteration; at a segment's start it reports the time of the last segment on
    stdout and waits for a line on stdin (the controller's turn signal) before going on.
    Only the time between the signal and the next report counts."""

    def __init__(self, every):
        self.every, self.count, self.start = every, 0, None

    def tick(self):
        if self.count % self.every == 0:
            if self.start is None:  # data loaded, model built: ready to be timed
                print(json.dumps({"ready": True}), flush=True)
            else:
                self.report(done=False)
            sys.stdin.readline()
            self.start = time.perf_counter()
        self.count += 1

    def report(self, done, ppl=None):
        seconds = time.perf_counter() - self.start
        print(json.dumps({"time": seconds, "done": done, "ppl": ppl}), flush=True)


def epoch_zeronlp(xs, ts, pacer):
    from zeronlp import backend
    from zeronlp.models import Rnnlm
    from zeronlp.optimizers import SGD
    from zeronlp.training import RnnlmTrainer

    class PacedTrainer(RnnlmTrainer):
        def get_batch(self, *args):  # fit() calls it once per iteration
            pacer.tick()
            return super().get_batch(*args)

    backend.seed(0)
    trainer = PacedTrainer(Rnnlm(V, D, H), SGD(LR))
    trainer.fit(xs, ts, 1, N, T, max_grad=MAX_GRAD, eval_interval=20, verbose=False)
    pacer.report(done=True, ppl=trainer.ppl_list[-1])


def epoch_book(xs, ts, pacer):
    import numpy as np
    from book_rnnlm import SGD, BatchReader, Rnnlm, fit_step

    model, optimizer, reader = Rnnlm(V, D, H, np.random.default_rng(0)), SGD(LR), BatchReader()
    max_iters = len(xs) // (N * T)
    total_loss, loss_count, ppl = 0.0, 0, None
    for it in range(max_iters):  # the book's RnnlmTrainer.fit, without its prints
        pacer.tick()
        total_loss += fit_step(model, optimizer, reader, xs, ts, N, T, MAX_GRAD)
        loss_count += 1
        if (it + 1) % 20 == 0:
            ppl = float(np.exp(total_loss / loss_count))
            total_loss, loss_count = 0.0, 0
    pacer.report(done=True, ppl=ppl)


def start_worker(impl, args):
    cmd = [sys.executable, str(Path(__file__)), "--worker", impl, "--segment", str(args.segment)]
    cmd += ["--iters", str(args.iters)] if args.iters else []
    env = thread_env(args.threads)
    return subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def run_round(args):
    """One epoch of each side, taking turns; returns {impl: (seconds, last perplexity)}."""
    workers = {impl: start_worker(impl, args) for impl in ("zeronlp", "book")}
    for impl, proc in workers.items():  # both loaded before either is timed
        if not proc.stdout.readline():
            raise SystemExit(f"worker {impl} failed (exit code {proc.wait()})")
    totals = dict.fromkeys(workers, 0.0)
    result = {}
    while len(result) < len(workers):
        for impl, proc in workers.items():
            if impl in result:
                continue
            time.sleep(0.2)  # the other side's BLAS threads stop spinning
            proc.stdin.write("go\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if not line:
                raise SystemExit(f"worker {impl} failed (exit code {proc.wait()})")
            out = json.loads(line)
            totals[impl] += out["time"]
            if out["done"]:
                result[impl] = (totals[impl], out["ppl"])
                proc.wait()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--iters", type=int, help="time only this many iterations of the epoch")
    ap.add_argument(
        "--segment", type=int, default=100, help="iterations per turn (0: whole epochs)"
    )
    ap.add_argument("--worker", choices=["zeronlp", "book"])
    args = ap.parse_args()
    if args.worker:
        xs, ts = corpus(args.iters)
        every = args.segment or len(xs)  # 0: the whole epoch is one segment
        fn = epoch_zeronlp if args.worker == "zeronlp" else epoch_book
        fn(xs, ts, Pacer(every))
        return
    results = {"zeronlp": [], "book": []}
    for r in range(args.rounds):
        out = run_round(args)
        for impl, (seconds, _) in out.items():
            results[impl].append(seconds)
        (z, z_ppl), (b, b_ppl) = out["zeronlp"], out["book"]
        print(
            f"  round {r + 1}: zeronlp {z:6.1f} s (training ppl {z_ppl:.1f}), "
            f"book {b:6.1f} s (training ppl {b_ppl:.1f}), ratio {z / b:.2f}",
            flush=True,
        )
    med = {k: statistics.median(v) for k, v in results.items()}
    turns = f"turns of {args.segment} iterations" if args.segment else "whole epochs"
    print(f"PTB Rnnlm epoch, {args.threads} threads, {args.rounds} rounds, {turns} (medians):")
    for k, v in med.items():
        print(f"  {k:>8}: {v:6.1f} s")
    print(f"zeronlp takes {med['zeronlp'] / med['book']:.2f}x the book code's time")


if __name__ == "__main__":
    main()
