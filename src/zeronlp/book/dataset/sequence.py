"""The book's ``dataset/sequence.py`` over ``zeronlp.datasets.sequence``.

``load_data(file_name='addition.txt', seed=1984)`` returns ``(x_train, t_train), (x_test,
t_test)`` as the book's; ``get_vocab()`` returns the module's ``char_to_id``, ``id_to_char``.
As in the book, that vocabulary is shared by every file loaded in the process (it grows
with each new file) and ``seed`` reseeds NumPy's global generator before the shuffle.
``'addition.txt'`` and ``'date.txt'`` are read from ``$ZERONLP_DATA/sequence/``; without
the book's file there, zeronlp generates data of the same format (other numbers and dates).
Any other name is a path; a missing file prints ``No file: <name>`` and returns None.
"""

# ruff: noqa: UP031 (the book's %-formats, kept so the printed text is visibly its own)

import os

import numpy

from ...datasets import sequence as _sequence

__all__ = ["id_to_char", "char_to_id", "load_data", "get_vocab"]

id_to_char = {}
char_to_id = {}


def _update_vocab(chars):
    for char in chars:
        if char not in char_to_id:
            tmp_id = len(char_to_id)
            char_to_id[char] = tmp_id
            id_to_char[tmp_id] = char


def load_data(file_name="addition.txt", seed=1984):
    """((x_train, t_train), (x_test, t_test)) of int ids, 90/10 split after a shuffle."""
    if file_name not in ("addition.txt", "date.txt") and not os.path.exists(file_name):
        print("No file: %s" % file_name)
        return None
    if seed is not None:
        numpy.random.seed(seed)  # the book's loader shuffles with the global generator
    train, test, (_, own_id_to_char) = _sequence.load_data(file_name, seed=None, return_vocab=True)
    # this file's ids -> the shared vocabulary's (new chars in order of first appearance)
    _update_vocab(own_id_to_char[i] for i in range(len(own_id_to_char)))
    lut = numpy.array([char_to_id[own_id_to_char[i]] for i in range(len(own_id_to_char))])
    return tuple((lut[x], lut[t]) for x, t in (train, test))


def get_vocab():
    return char_to_id, id_to_char
