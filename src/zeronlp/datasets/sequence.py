"""Character-level seq2seq toy datasets of the book (chapter 7-8): addition and date formats.

``load_data(file_name_or_path='addition.txt', seed=1984)`` returns
``(x_train, t_train), (x_test, t_test)`` exactly as the book's ``dataset/sequence.py`` (same
90/10 split for the same seed). Each line of a file is ``question`` + ``'_'`` + ``answer``, every
line of a file the same width: ``16+75  _91  `` (7 + 5 chars) or
``september 27, 1994           _1994-09-27`` (29 + 11 chars).

Names ``'addition'``/``'addition.txt'`` and ``'date'``/``'date.txt'`` are the book's datasets:
the book's file is read from ``$ZERONLP_DATA/sequence/`` when it is there; otherwise 50,000 lines
are generated with ``generate_addition``/``generate_date`` (seed ``GENERATED_SEED``) and kept in
``<cache>/sequence/`` so the same data comes back offline. Anything else is a path to a file of
that format (write ``./addition.txt`` to load a local file of a book name).

Unlike the book, each dataset has its own vocabulary: the book keeps one module-global
``char_to_id`` that grows with every file loaded, so loading 'date.txt' after 'addition.txt'
gave ids that depend on the order of the calls. ``get_vocab()`` returns the vocabulary of the
most recently loaded dataset (the book's usage); ``load_data(..., return_vocab=True)`` returns a
dataset's own vocabulary with its arrays.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError, InputError, MissingFileError
from ..io import atomic_write_text
from ._files import cache_dir, data_dir, read_text

GENERATED_LINES = 50_000
#: Seed of the data generated when the book's file is absent; part of the cache file name.
GENERATED_SEED = 2017
# Bump when a generator's output changes, so stale cached files are not reused.
_GENERATOR_VERSION = 1

_last_vocab: tuple[dict[str, int], dict[int, str]] = ({}, {})


# ---------------------------------------------------------------- loading


def load_data(file_name_or_path="addition.txt", seed=1984, return_vocab=False, char_to_id=None):
    """Questions and answers as char ids, shuffled with ``seed`` and split 90/10 like the book.

    Returns ((x_train, t_train), (x_test, t_test)): x (N, Q) int64, t (N, A) int64, with
    Q, A the widths of the question and of '_' + answer (7, 5 for addition; 29, 11 for date).
    With ``return_vocab=True`` also returns this dataset's (char_to_id, id_to_char) as a third
    element. ``seed=None`` shuffles with NumPy's global generator (as the book does). NumPy's
    global random state is not touched for an int seed (the book's loader reseeded it).
    ``char_to_id`` (a trained run's vocabulary) encodes with those ids instead of numbering
    the characters; a character it lacks is a DataError naming its line.
    """
    global _last_vocab
    path = data_file(file_name_or_path)
    # split('\n'), not splitlines(): a question may hold \x0c or \u2028, which are chars
    # of the dataset, not line breaks (read_text already turned \r\n into \n)
    lines = read_text(path).split("\n")
    x, t, vocab = encode_lines(lines, source=str(path), char_to_id=char_to_id)
    rng = np.random.RandomState(seed) if seed is not None else np.random
    # RandomState.permutation(n) is the book's np.random.seed(seed); np.random.shuffle(arange)
    indices = rng.permutation(len(x))
    x, t = x[indices], t[indices]
    split_at = len(x) - len(x) // 10
    data = (x[:split_at], t[:split_at]), (x[split_at:], t[split_at:])
    _last_vocab = vocab
    return (*data, vocab) if return_vocab else data


def get_vocab() -> tuple[dict[str, int], dict[int, str]]:
    """(char_to_id, id_to_char) of the dataset most recently loaded by ``load_data``."""
    return _last_vocab


def encode_lines(lines: list[str], source: str = "<lines>", char_to_id=None):
    """Lines 'question_answer' -> x (N, Q) int64, t (N, A) int64 and (char_to_id, id_to_char).

    Split at each line's first '_' (kept at the start of the answer, as in the book). Char ids
    in order of first appearance reading question then answer line by line, as the book's,
    or those of ``char_to_id`` when it is given (then returned as the vocabulary).
    """
    lines = [ln for ln in lines if ln]  # a trailing blank line is not a sample
    if not lines:
        raise DataError(f"{source}: no lines")
    q_len = lines[0].find("_")
    width = len(lines[0])
    for i, ln in enumerate(lines):
        if ln.find("_") != q_len or len(ln) != width or q_len < 0:
            raise DataError(
                f"{source} line {i + 1}: expected question of {q_len} chars + '_' + answer, "
                f"{width} chars in all (like line 1), got {ln!r}"
            )
    # One array of code points, then ids by first appearance via np.unique's first indices.
    codes = np.frombuffer("".join(lines).encode("utf-32-le"), dtype=np.uint32)
    uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    if char_to_id is not None:
        return _encode_with(char_to_id, uniq, first, inverse, lines, width, q_len, source)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    ids = rank[inverse].astype(np.int64).reshape(len(lines), width)
    chars = [chr(c) for c in uniq[order]]
    vocab = ({c: i for i, c in enumerate(chars)}, dict(enumerate(chars)))
    return ids[:, :q_len], ids[:, q_len:], vocab


def _encode_with(char_to_id, uniq, first, inverse, lines, width, q_len, source):
    """encode_lines' ids under a given vocabulary; unknown characters name their line."""
    unknown = [i for i, c in enumerate(uniq.tolist()) if chr(c) not in char_to_id]
    if unknown:
        chars = "".join(chr(uniq[i]) for i in unknown)
        line = int(first[unknown[0]]) // width + 1
        raise DataError(
            f"{source} line {line}: character(s) {chars!r} not in the vocabulary it is "
            "encoded with (data of another kind than the model was trained on?)"
        )
    table = np.array([char_to_id[chr(c)] for c in uniq.tolist()], dtype=np.int64)
    ids = table[inverse].reshape(len(lines), width)
    vocab = (dict(char_to_id), {i: c for c, i in char_to_id.items()})
    return ids[:, :q_len], ids[:, q_len:], vocab


def data_file(name) -> Path:
    """The file ``load_data(name)`` reads: the book's or generated data, or a path."""
    return _resolve(name)


def _resolve(name) -> Path:
    key = str(name)
    key = key[:-4] if key in ("addition.txt", "date.txt") else key
    if key in _GENERATORS:
        data = data_dir()
        if data is not None and (data / "sequence" / f"{key}.txt").is_file():
            return data / "sequence" / f"{key}.txt"
        return generated_path(key)
    path = Path(name).expanduser()
    if not path.is_file():
        raise MissingFileError(
            f"no sequence data file {str(path)!r}; give a path to a file of lines "
            f"'question_answer', or one of the names 'addition', 'date'"
        )
    return path


def generated_path(name: str, n: int = GENERATED_LINES, seed: int = GENERATED_SEED) -> Path:
    """Cache file of generated data for ``name`` ('addition' or 'date'), written if missing."""
    fname = f"{name}-generated-v{_GENERATOR_VERSION}-n{n}-seed{seed}.txt"
    path = cache_dir() / "sequence" / fname
    if not _complete(path, n):  # missing, or cut short (a disk full, a copy interrupted)
        atomic_write_text(path, "".join(ln + "\n" for ln in _GENERATORS[name](n, seed)))
    return path


def _complete(path, n):
    """True when a generated file holds n whole lines: its lines are fixed-width ASCII, so
    its size is n * (width + 1) bytes, width from its first line."""
    try:
        with open(path, "rb") as f:
            first = f.readline()
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return False
    return first.endswith(b"\n") and size == n * len(first)


# ---------------------------------------------------------------- generators


def generate_addition(n: int = GENERATED_LINES, seed: int = 0) -> list[str]:
    """``n`` lines like the book's addition.txt: ``'16+75  _91  '`` (7 + '_' + 4 chars).

    Like the generator the book's file comes from (Keras' addition example): each number has
    1 to 3 digits drawn uniformly (so small numbers are common), and no unordered pair {a, b}
    appears twice. Deterministic for a seed (NumPy's RandomState, a frozen stream).
    """
    if not 0 < n <= 200_000:  # 500,500 pairs exist, but the last ones are very rare draws
        raise InputError(f"n must be in 1..200000, got {n}")
    rs = np.random.RandomState(seed)
    a = np.empty(0, dtype=np.int64)
    b = np.empty(0, dtype=np.int64)
    while a.size < n:
        a = np.concatenate([a, _random_numbers(rs, 2 * n)])
        b = np.concatenate([b, _random_numbers(rs, 2 * n)])
        key = np.minimum(a, b) * 1000 + np.maximum(a, b)
        _, first = np.unique(key, return_index=True)
        keep = np.sort(first)  # first occurrence of each pair, in draw order
        a, b = a[keep], b[keep]
    a, b = a[:n], b[:n]
    return [f"{f'{x}+{y}':<7}_{x + y:<4}" for x, y in zip(a.tolist(), b.tolist(), strict=True)]


def _random_numbers(rs, size):
    # A string of 1-3 uniform digits read as an int (leading zeros allowed, as Keras does)
    # is a uniform draw from [0, 10**n_digits).
    n_digits = rs.randint(1, 4, size=size)
    return rs.randint(0, 10**n_digits).astype(np.int64)


# written out, not strftime("%B"), which spells them in the user's LC_TIME locale
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
_MONTHS += ["September", "October", "November", "December"]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# The book's date.txt spans 1970-01-01 .. 2017-07-24.
_FIRST_DAY, _LAST_DAY = np.datetime64("1970-01-01"), np.datetime64("2017-07-24")


def generate_date(n: int = GENERATED_LINES, seed: int = 0) -> list[str]:
    """``n`` lines like the book's date.txt: a date spelled by a human, '_' and ISO date.

    Question padded to 29 chars, answer ``_YYYY-MM-DD`` (11 chars). The spellings and their
    shares are those of the book's file (uniform days in 1970-01-01..2017-07-24; one of four
    formats, each a quarter; named formats in Title case half the time, else lower or UPPER):
    ``8/19/03``, ``Sep 27, 1994``, ``September 27, 1994``, ``Tuesday, September 27, 1994``.
    """
    rs = np.random.RandomState(seed)
    days = _FIRST_DAY + rs.randint(0, int((_LAST_DAY - _FIRST_DAY).astype(np.int64)) + 1, size=n)
    formats = rs.randint(0, 4, size=n)
    cases = rs.choice(3, size=n, p=[0.5, 0.25, 0.25])
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    month_start = days.astype("datetime64[M]")
    month = month_start.astype(np.int64) % 12 + 1
    day = (days - month_start).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
    lines = []
    for y, m, d, w, f, c in zip(
        *(v.tolist() for v in (year, month, day, weekday, formats, cases)), strict=True
    ):
        month_name = _MONTHS[m - 1]
        q = (
            f"{m}/{d}/{y % 100:02d}",
            f"{month_name[:3]} {d}, {y}",
            f"{month_name} {d}, {y}",
            f"{_WEEKDAYS[w]}, {month_name} {d}, {y}",
        )[f]
        q = (q, q.lower(), q.upper())[c]
        lines.append(f"{q:<29}_{y:04d}-{m:02d}-{d:02d}")
    return lines


_GENERATORS = {"addition": generate_addition, "date": generate_date}
