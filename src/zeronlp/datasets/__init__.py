"""Datasets: find, download, verify, cache or generate them.

Modules follow the book's ``dataset`` package: ``ptb``, ``sequence``, ``spiral``
(``from dataset import ptb`` becomes ``from zeronlp.datasets import ptb``); ``analogy`` is a
word-analogy test set in PTB's vocabulary (beyond the book).
"""

from . import ptb, sequence, spiral
from ._files import DatasetNotFoundError, DataWarning, cache_dir, data_dir

__all__ = [
    "DataWarning",
    "DatasetNotFoundError",
    "cache_dir",
    "data_dir",
    "ptb",
    "sequence",
    "spiral",
]
