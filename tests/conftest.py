import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seed_global_rng():
    # Layers draw from NumPy's global generator (dropout, negative sampling), as the book's do.
    np.random.seed(0)


#: The book's data files the tests read from $ZERONLP_DATA.
BOOK_DATA_FILES = (
    "ptb/ptb.train.txt",
    "ptb/ptb.valid.txt",
    "ptb/ptb.test.txt",
    "sequence/addition.txt",
    "sequence/date.txt",
    "book-params/Rnnlm.pkl",
    "book-params/AttentionSeq2seq.pkl",
    "book-params/cbow_params.pkl",
)
DATA_HINT = (
    "set ZERONLP_DATA to a folder holding the book's data files "
    "(ptb/, sequence/, book-params/ from the book's repository)"
)


def on_ci():
    """True when the environment variable CI is set (to anything but '', '0' or 'false')."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def book_data_dir():
    """The folder named by ZERONLP_DATA, or None with the reason why it cannot be used.

    On CI every file of BOOK_DATA_FILES must be there: a missing one is a reason too.
    """
    root = os.environ.get("ZERONLP_DATA")
    if not root:
        return None, f"ZERONLP_DATA is not set: {DATA_HINT}"
    path = Path(root)
    if not path.is_dir():
        return None, f"ZERONLP_DATA={root} is not a directory: {DATA_HINT}"
    if on_ci():
        missing = [name for name in BOOK_DATA_FILES if not (path / name).is_file()]
        if missing:
            return None, f"ZERONLP_DATA={root} lacks {', '.join(missing)}: {DATA_HINT}"
    return path, None


def require_book_data():
    """The book's data folder; skips the test without it, but fails it on CI (CI set),
    where a skip would hide that the tests of the book's data did not run."""
    path, reason = book_data_dir()
    if path is None:
        if on_ci():
            pytest.fail(f"CI is set but the book's data is missing: {reason}", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture
def data_dir():
    """The book's data folder named by ZERONLP_DATA (see require_book_data)."""
    return require_book_data()
