"""The ``zeronlp`` command.

zeronlp train spiral            # the book's chapter 1: a two-layer net on the spiral data
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def _train_spiral(args):
    from .backend import seed
    from .datasets import spiral
    from .models import TwoLayerNet
    from .optimizers import SGD
    from .training import Trainer

    seed(args.seed)
    x, t = spiral.load_data()
    model = TwoLayerNet(input_size=2, hidden_size=args.hidden, output_size=3)
    trainer = Trainer(model, SGD(lr=args.lr))
    trainer.fit(x, t, args.epochs, args.batch_size, eval_interval=10, verbose=not args.quiet)
    loss = model.forward(x, t)
    accuracy = float((model.predict(x).argmax(axis=1) == t.argmax(axis=1)).mean())
    print(f"spiral: {args.epochs} epochs, final loss {loss:.4f}, training accuracy {accuracy:.1%}")
    if args.plot:
        trainer.plot(args.plot)
        print(f"loss curve written to {args.plot}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="zeronlp", description="Train and evaluate NLP models written from scratch in NumPy."
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model on a task")
    tasks = train.add_subparsers(dest="task", required=True)

    sp = tasks.add_parser("spiral", help="two-layer net on the spiral data (book chapter 1)")
    sp.add_argument("--epochs", type=int, default=300)
    sp.add_argument("--batch-size", type=int, default=30)
    sp.add_argument("--hidden", type=int, default=10)
    sp.add_argument("--lr", type=float, default=1.0)
    sp.add_argument("--seed", type=int, default=1984)
    sp.add_argument("--plot", metavar="PNG", help="write the loss curve to this PNG file")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=_train_spiral)
    return parser


def _version():
    from . import __version__

    return f"zeronlp {__version__} (NumPy {np.__version__})"


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as e:
        print(f"zeronlp: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
