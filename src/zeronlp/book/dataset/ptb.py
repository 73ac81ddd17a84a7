"""The book's ``dataset/ptb.py`` over ``zeronlp.datasets.ptb``: the same constants,
``load_vocab()`` and ``load_data(data_type='train')`` returns.

The files are not kept beside this module (as the book keeps them beside its ptb.py): they
are looked up in ``$ZERONLP_DATA/ptb/``, then in zeronlp's cache, then downloaded from
``url_base`` and checked by SHA-256. ``dataset_dir`` names the first of those directories.
"""

from ...datasets import cache_dir, data_dir
from ...datasets import ptb as _ptb

__all__ = [
    "url_base",
    "key_file",
    "save_file",
    "vocab_file",
    "dataset_dir",
    "load_vocab",
    "load_data",
]

url_base = _ptb.BASE_URL
key_file = {"train": "ptb.train.txt", "test": "ptb.test.txt", "valid": "ptb.valid.txt"}
save_file = {"train": "ptb.train.npy", "test": "ptb.test.npy", "valid": "ptb.valid.npy"}
vocab_file = "ptb.vocab.pkl"
dataset_dir = str((data_dir() or cache_dir()) / "ptb")


def load_vocab():
    """The training split's vocabulary: (word_to_id, id_to_word), 10,000 words."""
    return _ptb.load_vocab()


def load_data(data_type="train"):
    """(corpus (n_tokens,) int ids, word_to_id, id_to_word) of 'train', 'test' or 'valid'
    ('val')."""
    return _ptb.load_data(data_type)
