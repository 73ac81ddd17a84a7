"""The Penn Treebank language-modelling corpus (Mikolov's preprocessed version), as in the book.

``load_data('train'|'valid'|'val'|'test') -> (corpus, word_to_id, id_to_word)``: each line's
words followed by ``<eos>``; the vocabulary (10,000 words) comes from the training split, ids in
order of first appearance, exactly as the book's ``dataset/ptb.py``. Files are found in
``$ZERONLP_DATA/ptb/``, then the cache (``<cache>/ptb/``), then downloaded from the URL the book
uses and verified by SHA-256 (see ``zeronlp.datasets._files``).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, InputError
from ._files import find_file, read_text

BASE_URL = "https://raw.githubusercontent.com/tomsercu/lstm/master/data/"

#: file name -> SHA-256. Tests swap this (and BASE_URL) to serve files from 127.0.0.1.
REGISTRY = {
    "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
}

_SPLITS = {"train": "train", "valid": "valid", "val": "valid", "test": "test"}


def data_path(data_type: str = "train"):
    """Path of the text file of a split, downloading it into the cache if needed."""
    if data_type not in _SPLITS:
        raise InputError(f"data_type must be one of {sorted(_SPLITS)}, got {data_type!r}")
    fname = f"ptb.{_SPLITS[data_type]}.txt"
    return find_file("ptb", fname, BASE_URL + fname, REGISTRY[fname])


def _words(data_type: str) -> list[str]:
    # Every PTB line starts with ' ' and ends with ' \n', so the book's replace('\n', '<eos>')
    # gives the same tokens as this; the explicit spaces also keep lines without those blanks
    # correct.
    text = read_text(data_path(data_type))
    return text.replace("\n", " <eos> ").split()


def load_vocab() -> tuple[dict[str, int], dict[int, str]]:
    """The training split's vocabulary: (word_to_id, id_to_word), ids by first appearance."""
    return _vocab(_words("train"))


def _vocab(words: list[str]) -> tuple[dict[str, int], dict[int, str]]:
    # dict.fromkeys keeps the first occurrence of each word in order: the book's loop, in C.
    uniq = dict.fromkeys(words)
    return {w: i for i, w in enumerate(uniq)}, dict(enumerate(uniq))


def load_data(data_type: str = "train"):
    """Token ids of a split and the (training) vocabulary.

    data_type: 'train', 'valid' (or 'val') or 'test'.
    Returns corpus: (n_tokens,) int64 ids, word_to_id: dict, id_to_word: dict.
    Tokens: 929,589 (train), 73,760 (valid), 82,430 (test); vocabulary 10,000.
    """
    words = _words(data_type)
    # The vocabulary is always the training split's, so valid/test ids mean the same words.
    word_to_id, id_to_word = _vocab(words) if data_type == "train" else load_vocab()
    return _ids(words, word_to_id, data_type, "the training vocabulary"), word_to_id, id_to_word


def load_corpus(data_type, word_to_id):
    """Token ids of a split under a given vocabulary (a trained run's own): (n_tokens,) int64.

    A word the vocabulary lacks is a DataError naming it: ids always mean the words the
    model was trained on, whatever file is found now.
    """
    return _ids(_words(data_type), word_to_id, data_type, "the run's vocabulary")


def _ids(words, word_to_id, data_type, vocab_name):
    try:
        return np.fromiter(map(word_to_id.__getitem__, words), dtype=np.int64, count=len(words))
    except KeyError as err:
        raise DataError(
            f"word {err.args[0]!r} of the {data_type!r} split ({data_path(data_type)}) is not "
            f"in {vocab_name}"
        ) from None
