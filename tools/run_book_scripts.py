"""Run the book's chapter scripts (ch01-ch08) on zeronlp after the README's import rewrite.

    ZERONLP_DATA=/path/to/data python tools/run_book_scripts.py BOOK_CHECKOUT

BOOK_CHECKOUT: a clone of github.com/oreilly-japan/deep-learning-from-scratch-2.

The scripts are copied out of the book's checkout into a scratch directory WITHOUT the book's
``common/`` and ``dataset/`` (so nothing can fall back to them), their imports are rewritten
(``from common`` -> ``from zeronlp.book.common``, ``from dataset`` ->
``from zeronlp.book.dataset``; nothing else), ``max_epoch = N`` is set to ``--max-epoch``
(long trainings are shortened in epochs only), and each script runs in its chapter's folder
as the book runs it (``cd ch06 && python eval.py``), without a display (MPLBACKEND=Agg).
The book's published parameter files (ch04/cbow_params.pkl, ch06/Rnnlm.pkl,
ch08/AttentionSeq2seq.pkl) are put back before every script, so an eval script reads the
published file even after a shortened training script has overwritten it. Missing ones are
taken from ``$ZERONLP_DATA/book-params/``.

Prints one line per script (ran / failed and why, seconds) and, with --show, its output.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PUBLISHED = {"ch04": ["cbow_params.pkl"], "ch06": ["Rnnlm.pkl"], "ch08": ["AttentionSeq2seq.pkl"]}
IMPORT_REWRITE = re.compile(r"^(\s*from\s+)(common|dataset)\b", re.MULTILINE)
MAX_EPOCH = re.compile(r"^max_epoch = \d+", re.MULTILINE)
# the order the book's README runs them in: a chapter's training before its users
ORDER = {"train.py": 0, "train_rnnlm.py": 0, "train_better_rnnlm.py": 1}


def rewrite(source: str, max_epoch: int) -> str:
    """The README's one-line import rewrite, and the shortened epoch count."""
    source = IMPORT_REWRITE.sub(r"\1zeronlp.book.\2", source)
    return MAX_EPOCH.sub(f"max_epoch = {max_epoch}", source)


def copy_chapters(book: Path, work: Path, max_epoch: int) -> list[Path]:
    scripts = []
    for chapter in sorted(book.glob("ch0[1-8]")):
        dest = work / chapter.name
        shutil.copytree(chapter, dest)
        for py in sorted(dest.glob("*.py")):
            py.write_text(rewrite(py.read_text(encoding="utf-8"), max_epoch), encoding="utf-8")
            scripts.append(py)
    return scripts


def restore_published(book: Path, work: Path) -> None:
    data = os.environ.get("ZERONLP_DATA", "")
    for chapter, names in PUBLISHED.items():
        for name in names:
            src = book / chapter / name
            if not src.is_file() and data:
                src = Path(data) / "book-params" / name
            if src.is_file():
                shutil.copyfile(src, work / chapter / name)


def failure_reason(output: str) -> str:
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.match(r"^\w+(\.\w+)*(Error|Exception|Interrupt)\b", ln):
            return ln.strip()[:160]
    return (lines[-1].strip() if lines else "no output")[:160]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("book", type=Path, help="a checkout of deep-learning-from-scratch-2")
    parser.add_argument("--max-epoch", type=int, default=1, help="epochs of every training")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per script")
    parser.add_argument("--only", nargs="*", help="run only these, e.g. ch06/eval.py")
    parser.add_argument("--show", action="store_true", help="print each script's output")
    parser.add_argument("--keep", type=Path, help="work here (kept) instead of a temp dir")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="book-scripts-"))
    work.mkdir(parents=True, exist_ok=True)
    scripts = copy_chapters(args.book.resolve(), work, args.max_epoch)
    scripts.sort(key=lambda p: (p.parent.name, ORDER.get(p.name, 2), p.name))
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    ran = 0
    for py in scripts:
        name = f"{py.parent.name}/{py.name}"
        if args.only and name not in args.only:
            continue
        restore_published(args.book.resolve(), work)
        start = time.time()
        try:
            proc = subprocess.run(
                [sys.executable, py.name],
                cwd=py.parent,
                env=env,
                capture_output=True,
                text=True,
                timeout=args.timeout,
            )
            ok = proc.returncode == 0
            status = "ran" if ok else "FAILED: " + failure_reason(proc.stderr or proc.stdout)
            out = proc.stdout if ok else proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            ok, status = False, f"TIMEOUT after {args.timeout} s"
        ran += ok
        print(f"{name:32s} {time.time() - start:7.1f} s  {status}", flush=True)
        if args.show:
            # a progress line rewritten with \r shows as its last state, as on a terminal
            lines = [ln.rsplit("\r", 1)[-1] for ln in out.strip().split("\n")]
            print("    " + "\n    ".join(lines[-25:]), flush=True)
    print(f"{ran} scripts ran (work dir {work})")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
