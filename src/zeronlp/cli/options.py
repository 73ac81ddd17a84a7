"""Option types and the parser class of the ``zeronlp`` command.

Every numeric option is checked when it is parsed, so a bad value is one line and exit
code 2 before anything is loaded, allocated or written.
"""

from __future__ import annotations

import argparse
import difflib
import math
import sys


def _number(text, convert, what):
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def count(text):
    """An integer >= 1: sizes, epochs, heads, beam width, top-k, length."""
    value = _number(text, int, "a whole number >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return value


def positive(text):
    """A finite number > 0: learning rate, temperature, clipping norm."""
    value = _number(text, float, "a number > 0")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def non_negative(text):
    """A finite number >= 0 (the subsampling threshold; 0 turns it off)."""
    value = _number(text, float, "a number >= 0")
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def ratio(text):
    """A dropout ratio in [0, 1)."""
    value = _number(text, float, "a number in [0, 1)")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return value


def probability(text):
    """A probability mass in (0, 1]: top-p."""
    value = _number(text, float, "a number in (0, 1]")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1], got {text}")
    return value


def schedule_spec(text):
    """A learning-rate schedule spec NAME[:key=value,...] (zeronlp.schedules.from_spec),
    checked for its form here; values that depend on the run (a warmup longer than the
    run) are checked when the run knows its length."""
    from ..schedules import ScheduleError, from_spec

    try:
        from_spec(text, lr=1.0, total_steps=2**62, d_model=1)
    except ScheduleError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def seed(text):
    """A random seed: a whole number in [0, 2**32) (NumPy's range)."""
    value = _number(text, int, "a whole number >= 0")
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be a whole number in [0, 2**32), got {text}")
    return value


def text(value):
    """A non-empty string (a question, start words)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Help that shows every option's default ("(default: 2)"), unless the help text
    already says it or there is none to show (a flag, or a default chosen per model)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and "default" not in text
            and default not in (None, False, argparse.SUPPRESS)
        ):
            text += " (default: %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (exit code 2) and whose unknown
    options are named, with the closest known option as a suggestion."""

    def __init__(self, *args, formatter_class=Formatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)

    def parse_args(self, args=None, namespace=None):
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = getattr(namespace, "parser", self)
            parser.error(unrecognized(parser, extras))
        return namespace


def unrecognized(parser, extras):
    """'unrecognized option --ephocs (did you mean --epochs?)' for the first unknown one."""
    options = [s for a in parser._actions for s in a.option_strings if s.startswith("--")]
    first = next((e for e in extras if e.startswith("-")), extras[0])
    if not first.startswith("-"):
        return f"unexpected argument {first!r}"
    name = first.split("=", 1)[0]
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unrecognized option {name}{hint}"


# The models are small (matrices of 100-650 columns), so a second BLAS thread has little to
# share, and on a busy machine threads that wait for a core stall each other (README,
# "Threads"); one thread also gives the same numbers every run.
DEFAULT_THREADS = 1


def blas_threads(args):
    """A context manager that limits NumPy's BLAS to ``args.threads`` threads (if given)."""
    import contextlib

    threads = getattr(args, "threads", None)
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")
