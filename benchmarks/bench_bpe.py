"""Byte-level BPE training on PTB: zeronlp's incremental counts against minbpe's plain loop.

zeronlp's ``BPETokenizer`` (GPT-2 pre-split) learns ``--merges`` merges (default 10,000) on the
whole PTB training text; then it encodes the text and checks the round trip. The reference is
minbpe's ``RegexTokenizer.train`` loop (recount every pair of every chunk, merge everywhere,
repeat), written out below; it takes seconds per merge on PTB, so it runs ``--plain-merges``
merges (default 5) and the output gives its time per merge. Each side runs in its own process,
alternating, ``--rounds`` times; the first merges of both are compared.

    ZERONLP_DATA=/path/to/data python benchmarks/bench_bpe.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from zeronlp.datasets import ptb
from zeronlp.tokenizers import BPETokenizer, split_pattern

# ---------------------------------------------------------------- minbpe's loop (regex.py/base.py)


def get_stats(ids, counts):
    for pair in zip(ids, ids[1:]):  # noqa: B905 (minbpe's code)
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids, pair, idx):
    newids, i = [], 0
    while i < len(ids):
        if ids[i] == pair[0] and i < len(ids) - 1 and ids[i + 1] == pair[1]:
            newids.append(idx)
            i += 2
        else:
            newids.append(ids[i])
            i += 1
    return newids


def minbpe_train(text, n_merges):
    ids = [list(ch.encode("utf-8")) for ch in split_pattern("gpt2").findall(text)]
    merges = []
    for i in range(n_merges):
        stats = {}
        for chunk_ids in ids:
            get_stats(chunk_ids, stats)
        pair = max(stats, key=stats.get)
        ids = [merge(chunk_ids, pair, 256 + i) for chunk_ids in ids]
        merges.append(pair)
    return merges


# ---------------------------------------------------------------- cases


def run_case(name, n):
    text = ptb.data_path("train").read_text()
    split_pattern("gpt2")  # build the Unicode classes outside the timing (once per process)
    if name == "zeronlp":
        start = time.perf_counter()
        tok = BPETokenizer("gpt2").train(text, 256 + n)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        ids = tok.encode(text)
        encode_s = time.perf_counter() - start
        assert tok.decode(ids) == text
        return {
            **{"train_s": train_s, "merges": len(tok.merges), "encode_s": encode_s},
            **{"tokens": len(ids), "bytes": len(text.encode()), "first": tok.merges[:5]},
        }
    start = time.perf_counter()
    merges = minbpe_train(text, n)
    return {"train_s": time.perf_counter() - start, "merges": n, "first": merges[:5]}


def blas_line():
    try:
        from threadpoolctl import threadpool_info

        return "; ".join(f"{i['internal_api']} {i.get('architecture')}" for i in threadpool_info())
    except ImportError:
        return "threadpoolctl not installed"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--merges", type=int, default=10_000)
    p.add_argument("--plain-merges", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.n)))
        return
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    results = {"zeronlp": [], "minbpe": []}
    for _ in range(args.rounds):
        for name, n in (("zeronlp", args.merges), ("minbpe", args.plain_merges)):
            out = subprocess.run(
                [sys.executable, __file__, "--case", name, "--n", str(n)],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    ours, plain = results["zeronlp"], results["minbpe"]
    t_ours = statistics.median(r["train_s"] for r in ours)
    t_plain = statistics.median(r["train_s"] for r in plain) / args.plain_merges
    r = ours[0]
    print(f"BLAS: {blas_line()} (unused here: BPE is pure Python)")
    print(f"PTB train: {r['bytes']:,} bytes; rounds={args.rounds}, medians")
    per_merge = 1000 * t_ours / r["merges"]
    print(f"zeronlp  {r['merges']:,} merges in {t_ours:.2f} s ({per_merge:.2f} ms/merge)")
    print(f"minbpe   {t_plain:.2f} s/merge ({args.plain_merges} merges timed)")
    total = t_plain * r["merges"]
    print(
        f"minbpe's loop: ~{total / 60:.0f} min for {r['merges']:,} merges ({total / t_ours:.0f}x)"
    )
    enc = statistics.median(x["encode_s"] for x in ours)
    print(f"encode the whole text: {enc:.2f} s, {r['tokens']:,} tokens "
          f"({r['bytes'] / r['tokens']:.2f} bytes/token), round trip exact")  # fmt: skip
    print(f"first merges: zeronlp {r['first']} / minbpe {plain[0]['first']}")


if __name__ == "__main__":
    main()
