"""TransformerLM generation of 256 tokens, with and without the key/value cache.

The model is the CLI's PTB Transformer size (vocab 10000, d_model 128, 4 heads, d_ff 512,
2 layers, max_len 512 so the window never slides); greedy decoding of 256 tokens after a
one-word start, batch 1, float32. ``use_cache=True`` runs one position per step;
``use_cache=False`` re-runs the whole prefix each step. Each side runs in its own process,
alternating (A B A B), with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset; the BLAS kernel is
printed. Both sides must give the same tokens.

    python benchmarks/bench_kv_cache.py [--threads 2] [--rounds 3] [--tokens 256]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def _model():
    import zeronlp
    from zeronlp.models import TransformerLM

    zeronlp.seed(0)
    return TransformerLM(10000, 128, 4, 512, 2, dropout_ratio=0.0, max_len=512)


def _worker(use_cache, tokens, repeat):
    from threadpoolctl import threadpool_info

    model = _model()
    times, ids = [], None
    for _ in range(repeat + 1):  # the first run warms up
        model.reset_state()
        start = time.perf_counter()
        ids = model.generate(0, sample_size=tokens + 1, method="greedy", use_cache=use_cache)
        times.append(time.perf_counter() - start)
    blas = [(i.get("internal_api"), i.get("architecture")) for i in threadpool_info()]
    print(json.dumps({"time": statistics.median(times[1:]), "ids": ids, "blas": blas}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--case", choices=["cached", "uncached"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        _worker(args.case == "cached", args.tokens, args.repeat)
        return
    env = dict(os.environ)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(var, None)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    results, tokens = {"cached": [], "uncached": []}, {}
    blas = None
    for _ in range(args.rounds):
        for case in results:
            cmd = [sys.executable, os.path.abspath(__file__), "--case", case]
            cmd += ["--tokens", str(args.tokens), "--repeat", str(args.repeat)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            results[case].append(row["time"])
            tokens[case], blas = row["ids"], row["blas"]
    assert tokens["cached"] == tokens["uncached"], "cached and uncached tokens differ"
    print(__doc__.splitlines()[0])
    print(f"BLAS: {blas}; threads={args.threads}, rounds={args.rounds}")
    med = {case: statistics.median(ts) for case, ts in results.items()}
    for case, t in med.items():
        print(f"  {case:<9} {t * 1e3:9.1f} ms for {args.tokens} tokens")
    print(f"  speed-up of the key/value cache: {med['uncached'] / med['cached']:.1f}x")


if __name__ == "__main__":
    main()
