"""The ``zeronlp`` command: train, evaluate and use the book's models.

    zeronlp train spiral                       the book's chapter 1 two-layer net
    zeronlp train date   [--model attention]   date normalisation (seq2seq, ch. 7-8)
    zeronlp train date --model transformer --layers 2 --heads 4 --ff 256
    zeronlp train addition --model peeky --reverse
    zeronlp train ptb    [--model rnnlm]       language models on Penn Treebank (ch. 5-6)
    zeronlp train word2vec [--model cbow]      word vectors on Penn Treebank (ch. 3-4)
    zeronlp eval RUN                           test accuracy or perplexity of a run
    zeronlp translate RUN "september 27, 1994" [--beam 5]
    zeronlp generate RUN --start you           text from a language model
    zeronlp similar RUN you                    nearest words (word2vec runs, book .pkl)
    zeronlp analogy RUN take took go           a:b = c:?
    zeronlp plot RUN                           PNG of a run's history

``train`` writes a run directory (see zeronlp.cli.runs); the other commands read one.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ..errors import TrainingDiverged, UserError
from . import runs, train, use


def _common_train(p, epochs, batch_size, lr, max_grad):
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr, help="learning rate")
    p.add_argument("--max-grad", type=float, default=max_grad, help="gradient clipping norm")
    p.add_argument("--seed", type=int, default=1984)
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/TASK-MODEL-TIME)")
    p.add_argument("--gpu", action="store_true", help="train on the GPU with CuPy")
    p.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")


def _transformer_args(p, dropout=True):
    """Options of the Transformer models (--model transformer)."""
    g = p.add_argument_group("transformer (--model transformer)")
    g.add_argument("--d-model", type=int, help="model width (default 64 seq2seq, 128 ptb)")
    g.add_argument("--layers", type=int, default=2, help="encoder and decoder layers")
    g.add_argument("--heads", type=int, default=4, help="attention heads")
    g.add_argument("--ff", type=int, default=256, help="feed-forward width")
    if dropout:
        g.add_argument("--dropout", type=float, default=0.1, help="dropout ratio")
    g.add_argument("--activation", choices=["relu", "gelu"], default="relu")
    g.add_argument("--post-norm", action="store_true", help="post-norm layers (default pre-norm)")


def _add_train(sub):
    train_p = sub.add_parser("train", help="train a model on a task")
    tasks = train_p.add_subparsers(dest="task", required=True, metavar="TASK")

    sp = tasks.add_parser("spiral", help="two-layer net on the spiral data (book ch. 1)")
    sp.add_argument("--epochs", type=int, default=300)
    sp.add_argument("--batch-size", type=int, default=30)
    sp.add_argument("--hidden", type=int, default=10)
    sp.add_argument("--lr", type=float, default=1.0)
    sp.add_argument("--seed", type=int, default=1984)
    sp.add_argument("--plot", metavar="PNG", help="write the loss curve to this PNG file")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=train.train_spiral)

    # --batch-size and --lr default to None and are resolved per model in train.py
    # (train.seq2seq_defaults): zeronlp's recommended settings for the RNN models on date,
    # the book's chapter 7 settings on addition, Adam 0.001 / batch 128 for the Transformer
    for task, defaults in (
        ("date", dict(model="attention", wordvec=16, hidden=256, epochs=2, reverse=True)),
        ("addition", dict(model="peeky", wordvec=16, hidden=128, epochs=25, reverse=True)),
    ):
        p = tasks.add_parser(task, help=f"seq2seq on the {task} data (book ch. 7-8)")
        p.add_argument("--model", choices=sorted(train.SEQ2SEQ_MODELS), default=defaults["model"])
        p.add_argument("--wordvec", type=int, default=defaults["wordvec"])
        p.add_argument("--hidden", type=int, default=defaults["hidden"])
        p.add_argument(
            "--reverse",
            action=argparse.BooleanOptionalAction,
            default=defaults["reverse"],
            help="reverse the questions (book ch. 7.4)",
        )
        p.add_argument("--data", metavar="FILE", help="a data file of the book's format")
        p.add_argument("--train-size", type=int, help="use only the first N training examples")
        p.add_argument(
            "--lr-factor", type=float, help="multiply the learning rate by this after every epoch"
        )
        _transformer_args(p)
        _common_train(p, defaults["epochs"], None, None, 5.0)
        p.set_defaults(func=train.train_seq2seq)

    p = tasks.add_parser("ptb", help="RNN language model on Penn Treebank (book ch. 5-6)")
    p.add_argument("--model", choices=sorted(train.LM_MODELS), default="rnnlm")
    p.add_argument("--wordvec", type=int, default=100)
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--dropout", type=float, default=0.5, help="dropout ratio (better, transformer)")
    p.add_argument("--time-size", type=int, default=35, help="truncated BPTT length")
    p.add_argument(
        "--lr-decay",
        type=float,
        default=1.0,
        help="divide the learning rate by this when validation perplexity rises",
    )
    p.add_argument("--train-size", type=int, help="use only the first N training tokens")
    p.add_argument("--eval-size", type=int, help="validate on the first N validation tokens")
    _transformer_args(p, dropout=False)
    # lr None: 20 (SGD, the book's) for the RNNs, 0.001 (Adam) for the Transformer
    _common_train(p, 4, 20, None, 0.25)
    p.set_defaults(func=train.train_ptb)

    p = tasks.add_parser("word2vec", help="CBOW or SkipGram on Penn Treebank (book ch. 3-4)")
    p.add_argument("--model", choices=["cbow", "skipgram"], default="cbow")
    p.add_argument("--hidden", type=int, default=100, help="word vector size")
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold (0: off)")
    _common_train(p, 5, 4000, 0.025, None)
    p.set_defaults(func=train.train_word2vec)


def _add_use(sub):
    p = sub.add_parser("eval", help="test accuracy (seq2seq) or perplexity (ptb) of a run")
    p.add_argument("run", help="run directory")
    p.add_argument("--split", default="test", choices=["train", "valid", "test"])
    p.add_argument("--beam", type=int, help="beam search of this width (seq2seq)")
    p.add_argument(
        "--data",
        metavar="FILE",
        help="seq2seq: evaluate on this file (default: the task's data found now)",
    )
    p.set_defaults(func=use.evaluate)

    p = sub.add_parser("translate", help="answer questions with a seq2seq run")
    p.add_argument("run", help="run directory")
    p.add_argument("questions", nargs="+", metavar="QUESTION")
    p.add_argument("--beam", type=int, help="beam search of this width (default greedy)")
    p.add_argument("--attention", metavar="PNG", help="write the attention heatmap here")
    p.set_defaults(func=use.translate)

    p = sub.add_parser("generate", help="generate text with a language-model run")
    p.add_argument("run", help="run directory")
    p.add_argument("--start", default="you", help="start word(s); all but the last are a prompt")
    p.add_argument("--length", type=int, default=100, help="words to generate")
    p.add_argument("--method", choices=["sample", "greedy", "beam"], default="sample")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=int)
    p.add_argument("--beam", type=int, default=5, help="beam width (method beam)")
    p.add_argument(
        "--skip",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="never generate N, <unk>, $ (the book's skip words)",
    )
    p.add_argument("--seed", type=int)
    p.set_defaults(func=use.generate)

    p = sub.add_parser("similar", help="nearest words by cosine similarity")
    p.add_argument("run", help="run directory, .npz with a vocabulary, or the book's .pkl")
    p.add_argument("words", nargs="+", metavar="WORD")
    p.add_argument("--top", type=int, default=5)
    p.set_defaults(func=use.similar)

    p = sub.add_parser("analogy", help="a:b = c:? with word vectors")
    p.add_argument("run", help="run directory, .npz with a vocabulary, or the book's .pkl")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("c")
    p.add_argument("--top", type=int, default=5)
    p.set_defaults(func=use.analogy)

    p = sub.add_parser("plot", help="PNG of a run's per-epoch history")
    p.add_argument("run", help="run directory")
    p.set_defaults(func=use.plot)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="zeronlp", description="Train and use NLP models written from scratch in NumPy."
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of every error"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    _add_use(sub)
    return parser


def _version():
    from .. import __version__

    return f"zeronlp {__version__} (NumPy {np.__version__})"


def main(argv=None):
    """Run the command; returns its exit status.

    Errors a user can cause (zeronlp.errors.UserError: a bad option, a malformed file, data
    of the wrong kind) are one line and status 2; a stopped training run is one line and
    status 1; any other exception is a bug inside zeronlp and keeps its traceback, as does
    every error with ``--debug``. A run that fails before its first checkpoint leaves no
    run directory behind.
    """
    args = build_parser().parse_args(argv)
    if getattr(args, "seed", None) is not None and args.func is not train.train_spiral:
        from .. import backend

        backend.seed(args.seed)
    try:
        status = args.func(args)
    except TrainingDiverged as e:
        runs.release_unfinished()
        if args.debug:
            raise
        print(
            f"zeronlp: training stopped: {e}; the run directory holds the last finite parameters",
            file=sys.stderr,
        )
        return 1
    except UserError as e:
        runs.release_unfinished()
        if args.debug:
            raise
        print(f"zeronlp: error: {e}", file=sys.stderr)
        return 2
    except BaseException:
        runs.release_unfinished()
        raise
    runs.forget_claims()
    return status


if __name__ == "__main__":
    sys.exit(main())
