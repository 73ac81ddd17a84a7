"""The ``zeronlp`` command: train, evaluate and use the book's models.

    zeronlp train spiral                       the book's chapter 1 two-layer net
    zeronlp train date   [--model attention]   date normalisation (seq2seq, ch. 7-8)
    zeronlp train date --model transformer --layers 2 --heads 4 --ff 256
    zeronlp train addition --model peeky --reverse
    zeronlp train ptb    [--model rnnlm]       language models on Penn Treebank (ch. 5-6)
    zeronlp train word2vec [--model cbow]      word vectors on Penn Treebank (ch. 3-4)
    zeronlp eval RUN                           test accuracy or perplexity of a run
    zeronlp translate RUN "september 27, 1994" [--beam 5 | --top-p 0.9]
    zeronlp generate RUN --start you           text from a language model
    zeronlp similar RUN you                    nearest words (word2vec runs, book .pkl)
    zeronlp analogy RUN take took go           a:b = c:?
    zeronlp plot RUN                           a run's pictures (curves, attention, word map)

``train`` writes a run directory (see zeronlp.cli.runs); the other commands read one.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .. import distributed
from ..errors import TrainingDiverged, UserError
from . import options, runs, train, use


def _common_train(
    p, epochs, batch_size, lr, max_grad, batch_note="", lr_note="", clip=True, unit="examples"
):
    """Options every task takes; a None default is chosen per model (said in the notes).
    ``unit``: what a batch counts (examples, the ptb streams, word2vec's targets)."""
    p.add_argument("--epochs", type=options.count, default=epochs, help="passes over the data")
    p.add_argument(
        "--batch-size",
        type=options.count,
        default=batch_size,
        help=f"{unit} per update" + (f" (default: {batch_note})" if batch_size is None else ""),
    )
    p.add_argument(
        "--lr",
        type=options.positive,
        default=lr,
        help="learning rate" + (f" (default: {lr_note})" if lr is None else ""),
    )
    if clip:  # word2vec's sparse SGD does not clip
        p.add_argument(
            "--max-grad",
            type=options.positive,
            default=max_grad,
            help="clip gradients to this global norm"
            + (" (default: no clipping)" if max_grad is None else ""),
        )
    p.add_argument(
        "--seed", type=options.seed, default=1984, help="random seed (initial weights, batches)"
    )
    p.add_argument("--out", metavar="DIR", help="run directory (default: runs/TASK-MODEL-TIME)")
    p.add_argument("--gpu", action="store_true", help="train on the GPU with CuPy")
    p.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    _threads_arg(p)


def _schedule_arg(p):
    p.add_argument(
        "--schedule",
        metavar="SPEC",
        type=options.schedule_spec,
        help="learning-rate schedule, set before every update: constant, "
        "cosine[:warmup=N,min_lr=X], step[:size=N,gamma=X], noam[:warmup=N,factor=X] "
        "(transformer), plateau[:factor=X] (ptb: divide on rising validation perplexity); "
        "--lr is the peak (default: the model's fixed rate and --lr-factor/--lr-decay)",
    )


def _set_help(p, option, text):
    next(a for a in p._actions if option in a.option_strings).help = text


def _threads_arg(p):
    p.add_argument(
        "--threads",
        type=options.count,
        default=options.DEFAULT_THREADS,
        help="BLAS threads (NumPy's matrix products); 1 is fastest for these small models, "
        "above all on a busy machine",
    )


def _transformer_args(p, d_model, dropout=True):
    """Options of the Transformer models (--model transformer)."""
    g = p.add_argument_group("transformer (--model transformer)")
    g.add_argument("--d-model", type=options.count, default=d_model, help="model width")
    g.add_argument("--layers", type=options.count, default=2, help="encoder and decoder layers")
    g.add_argument("--heads", type=options.count, default=4, help="attention heads")
    g.add_argument("--ff", type=options.count, default=256, help="feed-forward width")
    if dropout:
        g.add_argument("--dropout", type=options.ratio, default=0.1, help="dropout ratio")
    g.add_argument(
        "--activation", choices=["relu", "gelu"], default="relu", help="feed-forward activation"
    )
    g.add_argument("--post-norm", action="store_true", help="post-norm layers (default: pre-norm)")


def _add_train(sub):
    train_p = sub.add_parser("train", help="train a model on a task")
    tasks = train_p.add_subparsers(dest="task", required=True, metavar="TASK")

    sp = tasks.add_parser("spiral", help="two-layer net on the spiral data (book ch. 1)")
    sp.add_argument("--hidden", type=options.count, default=10, help="hidden layer size")
    sp.add_argument(
        "--plot", metavar="PNG", help="also write the loss curve to this PNG file (default: none)"
    )
    _common_train(sp, 300, 30, 1.0, None)
    _set_help(sp, "--out", "write a run directory here (default: none)")
    sp.set_defaults(func=train.train_spiral, parser=sp)

    # --batch-size and --lr default to None and are resolved per model in train.py
    # (train.seq2seq_defaults): zeronlp's recommended settings for the RNN models on date,
    # the book's chapter 7 settings on addition, Adam 0.001 / batch 128 for the Transformer
    for task, defaults in (
        ("date", dict(model="attention", wordvec=16, hidden=256, epochs=2, reverse=True)),
        ("addition", dict(model="peeky", wordvec=16, hidden=128, epochs=25, reverse=True)),
    ):
        p = tasks.add_parser(task, help=f"seq2seq on the {task} data (book ch. 7-8)")
        p.add_argument(
            "--model",
            choices=sorted(train.SEQ2SEQ_MODELS),
            default=defaults["model"],
            help="which seq2seq model",
        )
        p.add_argument(
            "--wordvec", type=options.count, default=defaults["wordvec"], help="embedding size"
        )
        p.add_argument(
            "--hidden", type=options.count, default=defaults["hidden"], help="LSTM state size"
        )
        p.add_argument(
            "--reverse",
            action=argparse.BooleanOptionalAction,
            default=defaults["reverse"],
            help="reverse the questions (book ch. 7.4)",
        )
        p.add_argument(
            "--data",
            metavar="FILE",
            help=f"a data file of the book's format (default: the book's {task}.txt when "
            "found under $ZERONLP_DATA/sequence/, else generated data)",
        )
        p.add_argument(
            "--train-size",
            type=options.count,
            help="use only the first N training examples (default: all)",
        )
        lr_default = "0.2 with the RNN models, 1 with the Transformer" if task == "date" else "1"
        p.add_argument(
            "--lr-factor",
            type=options.positive,
            help=f"multiply the learning rate by this after every epoch (default: {lr_default})",
        )
        _transformer_args(p, 64)
        _schedule_arg(p)
        if task == "date":
            batch_note = "64 for the RNN models, 128 for the Transformer"
            lr_note = "Adam 0.005 for the RNN models, 0.001 for the Transformer"
        else:
            batch_note, lr_note = "128 (the book's)", "Adam 0.001 (the book's)"
        _common_train(p, defaults["epochs"], None, None, 5.0, batch_note, lr_note)
        p.set_defaults(func=train.train_seq2seq, parser=p)

    p = tasks.add_parser("ptb", help="RNN language model on Penn Treebank (book ch. 5-6)")
    p.add_argument(
        "--model", choices=sorted(train.LM_MODELS), default="rnnlm", help="which language model"
    )
    p.add_argument("--wordvec", type=options.count, default=100, help="embedding size")
    p.add_argument("--hidden", type=options.count, default=100, help="RNN state size")
    p.add_argument(
        "--dropout", type=options.ratio, default=0.5, help="dropout ratio (better, transformer)"
    )
    p.add_argument("--time-size", type=options.count, default=35, help="truncated BPTT length")
    p.add_argument(
        "--tokenizer",
        choices=["word", "bpe"],
        default="word",
        help="word: PTB's 10,000 words (the book's); bpe: byte-level BPE subwords trained on "
        "the training split, saved in the run directory",
    )
    p.add_argument(
        "--vocab-size",
        type=options.count,
        help="BPE vocabulary size: the 256 bytes plus the merges (--tokenizer bpe; default: 2000)",
    )
    p.add_argument(
        "--lr-decay",
        type=options.positive,
        default=1.0,
        help="divide the learning rate by this when validation perplexity rises (1: never)",
    )
    p.add_argument(
        "--train-size",
        type=options.count,
        help="use only the first N training tokens (default: all)",
    )
    p.add_argument(
        "--eval-size",
        type=options.count,
        help="score only the first N validation and test tokens, for a quick check (default: all)",
    )
    _transformer_args(p, 128, dropout=False)
    _schedule_arg(p)
    lr_note = ", ".join(f"{lr:g} for {m}" for m, lr in train.PTB_LR.items())
    lr_note += " (SGD; Adam for transformer)"
    _common_train(p, 4, 20, None, 0.25, lr_note=lr_note, unit="streams of the text (rows)")
    p.set_defaults(func=train.train_ptb, parser=p)

    p = tasks.add_parser("word2vec", help="CBOW or SkipGram on Penn Treebank (book ch. 3-4)")
    p.add_argument("--model", choices=["cbow", "skipgram"], default="cbow", help="which model")
    p.add_argument("--hidden", type=options.count, default=100, help="word vector size")
    p.add_argument(
        "--window", type=options.count, default=5, help="context words on each side of a target"
    )
    p.add_argument(
        "--sample",
        type=options.non_negative,
        default=1e-3,
        help="subsampling threshold of frequent words (0: off)",
    )
    p.add_argument(
        "--train-size",
        type=options.count,
        help="use only the first N training tokens (default: all)",
    )
    lr_note = f"{train.WORD2VEC_LR:g}, decaying linearly to 0.0001"
    batch_note = "4000 for cbow, 4000 // (2 * --window) for skipgram (400 at --window 5)"
    _common_train(p, 5, None, None, None, batch_note, lr_note, clip=False, unit="targets")
    p.set_defaults(func=train.train_word2vec, parser=p)


def _add_use(sub):
    p = sub.add_parser("eval", help="test accuracy (seq2seq) or perplexity (ptb) of a run")
    p.add_argument("run", help="run directory")
    p.add_argument(
        "--split",
        default="test",
        choices=["train", "valid", "test"],
        help="which part of the data to score",
    )
    p.add_argument(
        "--beam",
        type=options.count,
        help="beam search of this width (seq2seq runs; default: greedy)",
    )
    p.add_argument(
        "--data",
        metavar="FILE",
        help="seq2seq: evaluate on this file (default: the task's data found now)",
    )
    _threads_arg(p)
    p.set_defaults(func=use.evaluate, parser=p)

    p = sub.add_parser("translate", help="answer questions with a seq2seq run")
    p.add_argument("run", help="run directory")
    p.add_argument("questions", nargs="+", metavar="QUESTION", type=options.text)
    p.add_argument("--beam", type=options.count, help="beam search of this width (default: greedy)")
    p.add_argument(
        "--temperature",
        type=options.positive,
        help="sample the answer at this temperature (default: greedy)",
    )
    p.add_argument(
        "--top-p",
        type=options.probability,
        help="sample the answer within the nucleus of this probability mass (default: greedy)",
    )
    p.add_argument(
        "--seed", type=options.seed, help="random seed of the sampling (default: unseeded)"
    )
    p.add_argument(
        "--attention", metavar="PNG", help="write the attention heatmap here (default: none)"
    )
    _threads_arg(p)
    p.set_defaults(func=use.translate, parser=p)

    p = sub.add_parser("generate", help="generate text with a language-model run")
    p.add_argument("run", help="run directory")
    p.add_argument(
        "--start",
        default="you",
        type=options.text,
        help="start word(s); all but the last are a prompt",
    )
    p.add_argument(
        "--length",
        type=options.count,
        default=100,
        help="words to generate (tokens, for a run with a subword tokenizer)",
    )
    p.add_argument(
        "--method",
        choices=["sample", "greedy", "beam"],
        default="sample",
        help="how the next word is chosen",
    )
    p.add_argument(
        "--temperature",
        type=options.positive,
        default=1.0,
        help="sampling temperature (below 1: safer words)",
    )
    p.add_argument(
        "--top-k", type=options.count, help="sample among the k likeliest words (default: all)"
    )
    p.add_argument(
        "--top-p",
        type=options.probability,
        help="sample within the nucleus: the likeliest words whose probabilities sum to at "
        "least P (default: all)",
    )
    p.add_argument("--beam", type=options.count, default=5, help="beam width (method beam)")
    p.add_argument(
        "--skip",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="never generate N, <unk>, $ (the book's skip words; word-level runs only)",
    )
    p.add_argument(
        "--seed", type=options.seed, help="random seed of the sampling (default: unseeded)"
    )
    _threads_arg(p)
    p.set_defaults(func=use.generate, parser=p)

    p = sub.add_parser("similar", help="nearest words by cosine similarity")
    p.add_argument("run", help="run directory, .npz with a vocabulary, or the book's .pkl")
    p.add_argument("words", nargs="+", metavar="WORD", type=options.text)
    p.add_argument("--top", type=options.count, default=5, help="how many neighbours to show")
    p.set_defaults(func=use.similar, parser=p)

    p = sub.add_parser("analogy", help="a:b = c:? with word vectors")
    p.add_argument("run", help="run directory, .npz with a vocabulary, or the book's .pkl")
    p.add_argument("a", type=options.text)
    p.add_argument("b", type=options.text)
    p.add_argument("c", type=options.text)
    p.add_argument("--top", type=options.count, default=5, help="how many answers to show")
    p.set_defaults(func=use.analogy, parser=p)

    p = sub.add_parser("plot", help="PNGs of a run: history, attention, word map")
    p.add_argument("run", help="run directory")
    p.set_defaults(func=use.plot, parser=p)


def build_parser():
    parser = options.Parser(
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
    comm = distributed.Communicator()
    try:
        comm = distributed.world()  # under mpiexec -n R: the R ranks of a data-parallel run
        with options.blas_threads(args):
            status = args.func(args)
    except TrainingDiverged as e:
        runs.release_unfinished()
        if args.debug:
            raise
        print(
            f"zeronlp: training stopped: {e}; the run directory holds the last finite parameters",
            file=sys.stderr,
        )
        return _end(comm, 1)
    except UserError as e:
        runs.release_unfinished()
        if args.debug:
            raise
        same_everywhere = isinstance(e, distributed.DistributedError)  # raised on every rank
        if comm.is_root or not same_everywhere:
            print(f"zeronlp: error: {e}", file=sys.stderr)
        return 2 if same_everywhere else _end(comm, 2)
    except BaseException:
        runs.release_unfinished()
        raise
    runs.forget_claims()
    return status


def _end(comm, code):
    """Exit status ``code``; with other ranks, end them too (they may wait for this one)."""
    if comm.size > 1:
        comm.abort(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
