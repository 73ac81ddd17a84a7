"""One command for a machine with one GPU: the GPU tests and zeronlp's speed against PyTorch.

    python benchmarks/gpu_check.py                 # on the GPU machine (needs CuPy, PyTorch)
    python benchmarks/gpu_check.py --cpu           # tiny sizes, NumPy against PyTorch CPU

In at most ``--budget`` seconds (480, 8 minutes, by default) it runs, each stage with its
own time limit, so a stage that hangs cannot take the others' time:

1. the GPU tests (``pytest -m gpu``: layers, models, decoding, word2vec, checkpoints,
   kernels, each compared with NumPy; training steps under cupyx.allow_synchronize(False));
2. tokens per second of a training step (forward, backward, gradient clipping where the
   book clips, the optimizer's update, and the loss read back as a progress bar does) of
   zeronlp on CuPy and of the same model in PyTorch CUDA, on the same batch sizes: Rnnlm
   and BetterRnnlm 2x650 (the book's chapter 6 settings, PTB's 10,000 words),
   AttentionSeq2seq (the date task with the book's chapter 8 settings), TransformerLM
   (zeronlp's default sizes), and CBOW words per second (the book's chapter 4 settings).
   Each side runs in its own process, alternating (zeronlp, torch, zeronlp, torch) while
   time is left; the report gives the median of each side and the ratio;
3. if PTB is found (ZERONLP_DATA or the cache) and time is left: the book's BetterRnnlm
   2x650 trained on PTB for as many steps as the time allows, its time per epoch
   extrapolated from those steps and its validation perplexity after them.

It writes ``report.md`` and ``report.json`` into ``--out`` (gpu_check_report/) and prints
the markdown. ``--cpu`` runs the same code with tiny sizes on NumPy and PyTorch CPU, so the
script is known to work on any machine apart from its CuPy calls.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The book's settings (chapters 4, 6, 8); TransformerLM: zeronlp's default sizes.
FULL = {
    "rnnlm": dict(V=10000, D=100, H=100, N=20, T=35, lr=20.0, clip=0.25),
    "better_rnnlm": dict(V=10000, D=650, H=650, N=20, T=35, lr=20.0, clip=0.25, dropout=0.5),
    "attention_seq2seq": dict(V=59, D=16, H=256, N=128, Tq=29, Ta=11, clip=5.0),
    "transformer_lm": dict(V=10000, D=128, heads=4, d_ff=512, layers=2, N=32, T=128),
    "cbow": dict(V=10000, H=100, window=5, N=100, negatives=5),
}
TINY = {
    "rnnlm": dict(V=50, D=8, H=8, N=4, T=5, lr=20.0, clip=0.25),
    "better_rnnlm": dict(V=50, D=8, H=8, N=4, T=5, lr=20.0, clip=0.25, dropout=0.5),
    "attention_seq2seq": dict(V=20, D=4, H=8, N=4, Tq=6, Ta=4, clip=5.0),
    "transformer_lm": dict(V=50, D=8, heads=2, d_ff=16, layers=2, N=4, T=8),
    "cbow": dict(V=50, H=8, window=2, N=10, negatives=5),
}
TARGETS = {"better_rnnlm": 0.5, "transformer_lm": 0.7}  # zeronlp / PyTorch, from issue 15
TITLES = {
    "rnnlm": "Rnnlm (V=10000, 100/100, batch 20x35)",
    "better_rnnlm": "BetterRnnlm 2x650 (batch 20x35, dropout 0.5)",
    "attention_seq2seq": "AttentionSeq2seq (date: 16/256, batch 128)",
    "transformer_lm": "TransformerLM (d=128, 4 heads, 2 layers, batch 32x128)",
    "cbow": "CBOW (V=10000, H=100, window 5, batch 100), words/s",
}


def tokens_per_step(case, s):
    if case == "attention_seq2seq":
        return s["N"] * (s["Tq"] + s["Ta"] - 1)  # encoder and decoder positions
    if case == "cbow":
        return s["N"]  # targets
    return s["N"] * s["T"]


# ---------------------------------------------------------------- workers (one process each)


def _batches(case, s, rng, count=4):
    """``count`` random (x, t) batches of NumPy ids in the case's shapes."""
    out = []
    for _ in range(count):
        if case == "attention_seq2seq":
            x = rng.integers(0, s["V"], (s["N"], s["Tq"]))
            t = rng.integers(0, s["V"], (s["N"], s["Ta"]))
        elif case == "cbow":
            x = rng.integers(0, s["V"], (s["N"], 2 * s["window"]))
            t = rng.integers(0, s["V"], s["N"])
        else:
            x = rng.integers(0, s["V"], (s["N"], s["T"]))
            t = rng.integers(0, s["V"], (s["N"], s["T"]))
        out.append((x, t))
    return out


def zeronlp_step_fn(case, s, gpu):
    """A zero-argument training step of zeronlp's model; it returns the loss as a float."""
    import numpy as np

    from zeronlp import backend, models
    from zeronlp.optimizers import SGD, Adam, clip_grads

    rng = np.random.default_rng(0)
    if gpu:
        backend.use_gpu()
    if case == "rnnlm":
        model, opt = models.Rnnlm(s["V"], s["D"], s["H"]), SGD(s["lr"])
    elif case == "better_rnnlm":
        model = models.BetterRnnlm(s["V"], s["D"], s["H"], s["dropout"])
        opt = SGD(s["lr"])
    elif case == "attention_seq2seq":
        model, opt = models.AttentionSeq2seq(s["V"], s["D"], s["H"]), Adam()
    elif case == "transformer_lm":
        model = models.TransformerLM(
            s["V"], s["D"], s["heads"], s["d_ff"], s["layers"], max_len=s["T"]
        )
        opt = Adam(1e-3)
    else:
        corpus = rng.integers(0, s["V"], 10 * s["V"])
        model, opt = models.CBOW(s["V"], s["H"], s["window"], corpus), Adam()
    batches = [tuple(backend.to_device(a) for a in b) for b in _batches(case, s, rng)]
    clip = s.get("clip")
    step_no = [0]

    def step():
        x, t = batches[step_no[0] % len(batches)]
        step_no[0] += 1
        loss = model.forward(x, t)
        model.backward()
        if clip is not None:
            clip_grads(model.grads, clip)
        opt.update(model.params, model.grads)
        return float(loss)  # the one host read per step: the loss a progress bar shows

    return step, (lambda: None)


def torch_step_fn(case, s, gpu):
    """The same model, batch and optimizer in PyTorch (cuDNN's LSTM on a GPU)."""
    import numpy as np
    import torch
    from torch import nn

    device = torch.device("cuda" if gpu else "cpu")
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    V = s["V"]

    if case in ("rnnlm", "better_rnnlm"):
        layers = 2 if case == "better_rnnlm" else 1
        p = s.get("dropout", 0.0)

        class LM(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(V, s["D"])
                self.drop = nn.Dropout(p)
                self.lstm = nn.LSTM(s["D"], s["H"], layers, batch_first=True, dropout=p)
                self.out = nn.Linear(s["H"], V)
                if case == "better_rnnlm":
                    self.out.weight = self.embed.weight  # weight tying, as the book
                self.state = None

            def forward(self, x, t):
                if self.state is not None:  # truncated BPTT: the state carries over
                    self.state = tuple(h.detach() for h in self.state)
                hs, self.state = self.lstm(self.drop(self.embed(x)), self.state)
                scores = self.out(self.drop(hs))
                return nn.functional.cross_entropy(scores.reshape(-1, V), t.reshape(-1))

        model = LM().to(device)
        opt = torch.optim.SGD(model.parameters(), lr=s["lr"])
    elif case == "attention_seq2seq":

        class AttnS2S(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc_embed, self.dec_embed = nn.Embedding(V, s["D"]), nn.Embedding(V, s["D"])
                self.enc = nn.LSTM(s["D"], s["H"], batch_first=True)
                self.dec = nn.LSTM(s["D"], s["H"], batch_first=True)
                self.out = nn.Linear(2 * s["H"], V)

            def forward(self, x, t):
                hs, (h, c) = self.enc(self.enc_embed(x))
                dec_hs, _ = self.dec(self.dec_embed(t[:, :-1]), (h, torch.zeros_like(c)))
                a = torch.softmax(dec_hs @ hs.transpose(1, 2), dim=-1)  # (N, Ta-1, Tq)
                scores = self.out(torch.cat([a @ hs, dec_hs], dim=-1))
                return nn.functional.cross_entropy(scores.reshape(-1, V), t[:, 1:].reshape(-1))

        model = AttnS2S().to(device)
        opt = torch.optim.Adam(model.parameters())
    elif case == "transformer_lm":
        D, T = s["D"], s["T"]

        class TLM(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(V, D)
                position = torch.arange(T)[:, None]
                freq = torch.exp(torch.arange(0, D, 2) * (-math.log(10000.0) / D))
                pe = torch.zeros(T, D)
                pe[:, 0::2], pe[:, 1::2] = torch.sin(position * freq), torch.cos(position * freq)
                self.register_buffer("pe", pe)
                layer = nn.TransformerEncoderLayer(
                    D, s["heads"], s["d_ff"], 0.1, "gelu", batch_first=True, norm_first=True
                )
                self.blocks = nn.TransformerEncoder(layer, s["layers"], enable_nested_tensor=False)
                self.norm, self.out = nn.LayerNorm(D), nn.Linear(D, V)
                self.drop = nn.Dropout(0.1)
                self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(T))

            def forward(self, x, t):
                h = self.drop(self.embed(x) * math.sqrt(D) + self.pe[: x.shape[1]])
                h = self.blocks(h, mask=self.mask, is_causal=True)
                scores = self.out(self.norm(h))
                return nn.functional.cross_entropy(scores.reshape(-1, V), t.reshape(-1))

        model = TLM().to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        corpus = rng.integers(0, V, 10 * V)
        p = np.bincount(corpus, minlength=V).astype(np.float64) ** 0.75
        word_p = torch.tensor(p / p.sum(), dtype=torch.float32, device=device)

        class CBOW(nn.Module):
            def __init__(self):
                super().__init__()
                self.w_in = nn.Embedding(V, s["H"])
                self.w_out = nn.Embedding(V, s["H"])
                nn.init.normal_(self.w_in.weight, std=0.01)
                nn.init.normal_(self.w_out.weight, std=0.01)

            def forward(self, contexts, target):
                h = self.w_in(contexts).mean(dim=1)  # (N, H)
                neg = torch.multinomial(word_p, target.numel() * s["negatives"], True)
                ids = torch.cat([target[:, None], neg.view(-1, s["negatives"])], dim=1)
                score = (self.w_out(ids) @ h[:, :, None])[:, :, 0]  # (N, 1 + negatives)
                sign = torch.ones_like(score)
                sign[:, 0] = -1.0  # label 1 for the target, 0 for the negatives
                return nn.functional.softplus(sign * score).sum() / target.numel()

        model = CBOW().to(device)
        opt = torch.optim.Adam(model.parameters())
    batches = [tuple(torch.as_tensor(a, device=device) for a in b) for b in _batches(case, s, rng)]
    clip = s.get("clip")
    step_no = [0]

    def step():
        x, t = batches[step_no[0] % len(batches)]
        step_no[0] += 1
        opt.zero_grad(set_to_none=True)
        loss = model(x, t)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss.item()  # as zeronlp's: the loss read back once per step

    sync = torch.cuda.synchronize if gpu else (lambda: None)
    return step, sync


def measure(case, side, gpu, tiny, seconds):
    """Steps of one side for ``seconds`` after a warm-up; a dict of figures."""
    sizes = (TINY if tiny else FULL)[case]
    make = zeronlp_step_fn if side == "zeronlp" else torch_step_fn
    step, sync = make(case, sizes, gpu)
    start = time.perf_counter()
    for _ in range(3):  # warm-up: CuPy compiles its kernels, cuDNN picks algorithms
        loss = step()
    sync()
    warmup_s = time.perf_counter() - start
    steps, start = 0, time.perf_counter()
    while steps < 3 or time.perf_counter() - start < seconds:
        loss = step()
        steps += 1
    sync()
    elapsed = time.perf_counter() - start
    return {
        "case": case,
        "side": side,
        "steps": steps,
        "step_ms": 1000 * elapsed / steps,
        "tokens_per_s": tokens_per_step(case, sizes) * steps / elapsed,
        "warmup_s": warmup_s,
        "last_loss": loss,
        "finite": math.isfinite(loss),
    }


def ptb_epoch(gpu, seconds, tiny=False):
    """BetterRnnlm 2x650 on PTB (the book's chapter 6 run) for ``seconds`` of steps.

    ``tiny``: 16 units instead of 650 and the first 3,000 validation words (a dry run)."""
    import numpy as np

    from zeronlp import backend, models
    from zeronlp.datasets import ptb
    from zeronlp.optimizers import SGD, clip_grads
    from zeronlp.training import eval_perplexity

    corpus, _, _ = ptb.load_data("train")
    corpus_val, _, _ = ptb.load_data("val")
    if gpu:
        backend.use_gpu()
    s = dict(FULL["better_rnnlm"], **(dict(D=16, H=16) if tiny else {}))
    if tiny:
        corpus_val = corpus_val[:3000]
    model, opt = models.BetterRnnlm(s["V"], s["D"], s["H"], s["dropout"]), SGD(s["lr"])
    N, T = s["N"], s["T"]
    jump = (len(corpus) - 1) // N
    steps_per_epoch = (len(corpus) - 1) // (N * T)
    offsets = np.arange(N)[:, None] * jump + np.arange(T)
    data = backend.to_device(corpus)
    start, steps, losses = time.perf_counter(), 0, []
    while steps < steps_per_epoch and time.perf_counter() - start < seconds:
        idx = backend.to_device((offsets + steps * T) % len(corpus))
        loss = model.forward(data[idx], data[(idx + 1) % len(corpus)])
        model.backward()
        clip_grads(model.grads, s["clip"])
        opt.update(model.params, model.grads)
        losses.append(float(loss))
        steps += 1
    train_s = time.perf_counter() - start
    model.reset_state()
    start = time.perf_counter()
    ppl = eval_perplexity(model, corpus_val, batch_size=10, time_size=35)
    return {
        "steps": steps,
        "steps_per_epoch": steps_per_epoch,
        "epoch_fraction": steps / steps_per_epoch,
        "train_s": train_s,
        "epoch_s_extrapolated": train_s / steps * steps_per_epoch,
        "train_perplexity_last_100": math.exp(statistics.mean(losses[-100:])),
        "val_perplexity": ppl,
        "eval_s": time.perf_counter() - start,
    }


def _worker(args):
    if args.worker == "ptb":
        result = ptb_epoch(not args.cpu, args.seconds, tiny=args.cpu)
    else:
        case, side = args.worker.split(":")
        result = measure(case, side, not args.cpu, args.cpu, args.seconds)
    print(json.dumps(result))


# ---------------------------------------------------------------- the driver


def _env(threads):
    env = dict(os.environ)
    # this workplace pins old OpenBLAS kernels; users do not: benchmark what they get
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    src = str(ROOT / "src")  # this checkout's zeronlp, installed or not
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Budget:
    """The seconds left of the whole run; every stage asks it for its time limit."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()


def _run(cmd, timeout, threads):
    """(returncode or 'timeout', stdout, stderr) of a child process, killed at ``timeout``."""
    try:
        out = subprocess.run(
            cmd, env=_env(threads), capture_output=True, text=True, timeout=max(timeout, 1)
        )
    except subprocess.TimeoutExpired as e:
        return "timeout", e.stdout or "", e.stderr or ""
    return out.returncode, out.stdout, out.stderr


_PROBE = """
import json, platform
info = {"python": platform.python_version(), "machine": platform.machine()}
def probe(name, get):
    try:
        info[name] = get()
    except Exception as e:  # what is missing is part of the report
        info[name] = f"unavailable ({type(e).__name__}: {e})"
def blas():
    import threadpoolctl
    keys = ("internal_api", "version", "architecture", "num_threads")
    pools = threadpoolctl.threadpool_info()
    return [{k: p.get(k) for k in keys} for p in pools if p.get("user_api") == "blas"]
import numpy
info["numpy"] = numpy.__version__
probe("blas", blas)
probe("cupy", lambda: __import__("cupy").__version__)
if not info["cupy"].startswith("unavailable"):
    import cupy
    probe("cuda_runtime", lambda: cupy.cuda.runtime.runtimeGetVersion())
    probe("gpu", lambda: cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
probe("torch", lambda: __import__("torch").__version__)
if not info["torch"].startswith("unavailable"):
    import torch
    probe("torch_cuda", lambda: torch.cuda.is_available())
print(json.dumps(info, default=str))
"""


def environment():
    """Versions, the BLAS kernel, the GPU: probed in a child process (benchmark settings)."""
    rc, out, err = _run([sys.executable, "-c", _PROBE], 120, 1)
    if rc != 0:
        return {"probe": f"failed: {(err.strip().splitlines() or [str(rc)])[-1]}"}
    return json.loads(out.strip().splitlines()[-1])


def gpu_tests(timeout):
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider"]
    cmd += [str(ROOT / "tests")]
    start = time.monotonic()
    rc, out, err = _run(cmd, timeout, 4)
    summary = (out.strip().splitlines() or ["(no output)"])[-1]
    return {
        "returncode": rc,
        "summary": summary,
        "seconds": time.monotonic() - start,
        "failures": [ln for ln in out.splitlines() if ln.startswith(("FAILED", "ERROR"))][:30],
    }


def throughput(args, budget, cases, results, round_no):
    """One round of processes per case, zeronlp then torch, while time is left; called
    again, the rounds alternate further (zeronlp, torch, zeronlp, torch)."""
    script = str(Path(__file__).resolve())
    per_child = args.seconds + args.startup
    for case in cases:
        for side in ("zeronlp", "torch"):
            if budget.left() - args.reserve < per_child:
                results[case]["errors"].append(f"{side} round {round_no + 1}: no time left")
                continue
            if args.in_process:  # the tests' dry run: no child processes
                try:
                    res = measure(case, side, not args.cpu, args.cpu, args.seconds)
                except ImportError as e:
                    results[case]["errors"].append(f"{side}: {e}")
                    continue
                results[case][side].append(res)
                continue
            cmd = [sys.executable, script, "--worker", f"{case}:{side}"]
            cmd += ["--seconds", str(args.seconds)] + (["--cpu"] if args.cpu else [])
            rc, out, err = _run(cmd, per_child, args.threads)
            if rc == 0:
                results[case][side].append(json.loads(out.strip().splitlines()[-1]))
            else:
                last = (err.strip().splitlines() or [str(rc)])[-1]
                results[case]["errors"].append(f"{side} round {round_no + 1}: {rc}: {last}")


def summarise(results):
    rows = {}
    for case, r in results.items():
        ours = [x["tokens_per_s"] for x in r["zeronlp"]]
        ref = [x["tokens_per_s"] for x in r["torch"]]
        row = {
            "zeronlp_tokens_per_s": statistics.median(ours) if ours else None,
            "torch_tokens_per_s": statistics.median(ref) if ref else None,
            "zeronlp_step_ms": statistics.median(x["step_ms"] for x in r["zeronlp"])
            if ours
            else None,
            "torch_step_ms": statistics.median(x["step_ms"] for x in r["torch"]) if ref else None,
            "processes": [len(ours), len(ref)],
            "target": TARGETS.get(case),
            "errors": r["errors"],
        }
        if ours and ref:
            row["ratio"] = row["zeronlp_tokens_per_s"] / row["torch_tokens_per_s"]
        rows[case] = row
    return rows


def _fmt(x, spec=",.0f"):
    return "-" if x is None else format(x, spec)


def markdown(report):
    device = "GPU (CuPy vs PyTorch CUDA)" if not report["cpu_mode"] else "CPU dry run"
    lines = [f"# zeronlp GPU check: {device}", ""]
    env = report["environment"]
    lines.append(
        "Environment: "
        + ", ".join(f"{k} {env[k]}" for k in ("gpu", "cupy", "cuda_runtime", "torch") if k in env)
    )
    if report["cpu_mode"]:
        lines += ["", "Tiny sizes, NumPy against PyTorch CPU: these figures say nothing about"]
        lines += ["speed; the run proves the script works."]
    t = report.get("gpu_tests")
    if t:
        lines += ["", f"GPU tests: {t['summary']} ({t['seconds']:.0f} s)"]
        lines += [f"- {f}" for f in t["failures"]]
    lines += ["", "| model | zeronlp tokens/s | PyTorch tokens/s | ratio | target |"]
    lines += ["|---|---:|---:|---:|---:|"]
    for case, row in report["throughput"].items():
        ratio = _fmt(row.get("ratio"), ".2f")
        target = "-" if row["target"] is None else f">= {row['target']}"
        zr, tr = _fmt(row["zeronlp_tokens_per_s"]), _fmt(row["torch_tokens_per_s"])
        title = f"{case} (tiny sizes)" if report["cpu_mode"] else TITLES[case]
        lines.append(f"| {title} | {zr} | {tr} | {ratio} | {target} |")
    errors = [f"{c}: {e}" for c, row in report["throughput"].items() for e in row["errors"]]
    if errors:
        lines += ["", "Not measured:"] + [f"- {e}" for e in errors]
    p = report.get("ptb")
    if p and "error" not in p:
        units = 16 if report["cpu_mode"] else 650
        lines += [
            "",
            f"BetterRnnlm 2x{units} on PTB: {p['steps']} of {p['steps_per_epoch']} steps of an "
            f"epoch in {p['train_s']:.0f} s, so {p['epoch_s_extrapolated']:.0f} s per epoch "
            f"(extrapolated); validation perplexity after them {p['val_perplexity']:.1f}.",
        ]
    elif p:
        lines += ["", f"PTB run: {p['error']}"]
    lines += ["", f"Total time: {report['seconds']:.0f} s."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", "--dry-run", action="store_true", help="tiny sizes, no GPU")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for everything")
    parser.add_argument("--seconds", type=float, default=None, help="timed seconds per process")
    parser.add_argument("--startup", type=float, default=75.0, help="seconds allowed per process")
    parser.add_argument("--reserve", type=float, default=20.0, help="seconds kept for the report")
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads per process (GPU: 4, --cpu: 1)"
    )
    parser.add_argument("--cases", default=",".join(FULL), help="comma-separated cases")
    parser.add_argument("--no-tests", action="store_true", help="skip pytest -m gpu")
    parser.add_argument("--no-ptb", action="store_true", help="skip the PTB run")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path("gpu_check_report"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 0.5 if args.cpu else 6.0
    if args.threads is None:  # a busy 2-core machine starves PyTorch's second thread
        args.threads = 1 if args.cpu else 4
    if args.worker:
        return _worker(args)

    started = time.monotonic()
    budget = Budget(args.budget)
    cases = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(cases) - set(FULL))
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {sorted(FULL)}")
    env = environment()
    print("environment:", json.dumps(env), flush=True)
    if not args.cpu and str(env.get("gpu", "unavailable")).startswith("unavailable"):
        why = env.get("gpu", env.get("cupy", "no CuPy"))
        print(f"CuPy is not available with a GPU ({why}): --cpu runs the dry run", file=sys.stderr)
        return 2
    report = {"cpu_mode": args.cpu, "environment": env, "budget_s": args.budget}
    if not args.no_tests:
        report["gpu_tests"] = gpu_tests(min(180.0, budget.left() / 3))
        print("GPU tests:", report["gpu_tests"]["summary"], flush=True)
    results = {c: {"zeronlp": [], "torch": [], "errors": []} for c in cases}
    throughput(args, budget, cases, results, 0)
    ptb_seconds = min(5.0 if args.cpu else 150.0, budget.left() - args.reserve - 90.0)
    if not args.no_ptb and ptb_seconds > (1 if args.cpu else 30):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "ptb"]
        cmd += ["--seconds", str(ptb_seconds)] + (["--cpu"] if args.cpu else [])
        rc, out, err = _run(cmd, ptb_seconds + 80, args.threads)
        if rc == 0:
            report["ptb"] = json.loads(out.strip().splitlines()[-1])
        else:
            report["ptb"] = {"error": (err.strip().splitlines() or [str(rc)])[-1]}
    throughput(args, budget, cases, results, 1)  # a second process per side if time is left
    for case in cases:  # a round that found no time is no error once one round ran
        if results[case]["zeronlp"] and results[case]["torch"]:
            results[case]["errors"] = [e for e in results[case]["errors"] if "no time" not in e]
    report["throughput"] = summarise(results)
    report["raw"] = results
    report["seconds"] = time.monotonic() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2, default=str))
    text = markdown(report)
    (args.out / "report.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
