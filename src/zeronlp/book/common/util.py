"""The book's ``common/util.py`` over zeronlp's ``text``, ``optimizers``, ``backend`` and
``training``: same names, arguments and returns, and it prints where the book prints.

What differs from calling zeronlp directly (README, "Where zeronlp's own API differs from
the book"):
``most_similar`` and ``analogy`` print their results and return None (zeronlp's return the
list and print only with ``verbose=True``); an unknown word prints ``<word> is not found``
(zeronlp raises KeyError); ``eval_perplexity`` prints the book's ``evaluating
perplexity ...`` and its last ``i / n`` line;
``eval_seq2seq`` prints the book's marks; ``normalize`` works in place as the book's.
"""

# ruff: noqa: UP031 (the book's %-formats, kept so the printed text is visibly its own)

import os
import sys

import numpy

from ... import text as _text
from ...backend import to_cpu, to_gpu
from ...optimizers import clip_grads as _clip_grads
from ...text import convert_one_hot, cos_similarity, create_co_matrix, create_contexts_target
from ...training import eval_perplexity as _eval_perplexity
from .np import GPU, np

__all__ = [
    "GPU",
    "np",
    "preprocess",
    "cos_similarity",
    "most_similar",
    "convert_one_hot",
    "create_co_matrix",
    "ppmi",
    "create_contexts_target",
    "to_cpu",
    "to_gpu",
    "clip_grads",
    "eval_perplexity",
    "eval_seq2seq",
    "analogy",
    "normalize",
]


def preprocess(text):
    """text -> (corpus (n_words,) int ids, word_to_id, id_to_word), zeronlp's ``preprocess``."""
    return _text.preprocess(text)


def ppmi(C, verbose=False, eps=1e-8):
    """PPMI matrix (V, V) float32 of co-occurrence counts C (V, V); verbose prints progress."""
    return _text.ppmi(to_cpu(C), verbose=verbose, eps=eps)


def clip_grads(grads, max_norm):
    """Scale the gradients in place so that their global L2 norm is at most ``max_norm``."""
    _clip_grads(grads, max_norm)


def _unknown(words, word_to_id):
    """Print the book's message for the first word missing from the vocabulary."""
    for word in words:
        if word not in word_to_id:
            print("%s is not found" % word)
            return True
    return False


def most_similar(query, word_to_id, id_to_word, word_matrix, top=5):
    """Print the ``top`` words closest (cosine) to ``query``, as the book; returns None."""
    if _unknown([query], word_to_id):
        return
    result = _text.most_similar(query, word_to_id, id_to_word, to_cpu(word_matrix), top)
    print("\n[query] " + query)
    for word, similarity in result:
        # the book collects the similarities in a float64 array: its digits are float64's
        print(" %s: %s" % (word, numpy.float64(similarity)))


def analogy(a, b, c, word_to_id, id_to_word, word_matrix, top=5, answer=None):
    """Print the words d of a : b = c : d (and the score of ``answer``); returns None."""
    if _unknown([a, b, c], word_to_id):
        return
    W = to_cpu(word_matrix)
    _text.analogy(a, b, c, word_to_id, id_to_word, W, top, answer, verbose=True)


def normalize(x):
    """Rows (or a vector) scaled to unit length IN PLACE, as the book's; returns x."""
    x[...] = _text.normalize(to_cpu(x))
    return x


def eval_perplexity(model, corpus, batch_size=10, time_size=35):
    """Perplexity of a language model on a corpus, printing the book's progress lines.

    zeronlp's ``training.eval_perplexity`` does the work (with its progress bar on a
    terminal); the book's last ``i / max_iters`` line is printed when it ends.
    """
    print("evaluating perplexity ...")
    corpus = to_cpu(corpus)
    ppl = _eval_perplexity(model, corpus, batch_size, time_size, verbose=sys.stderr.isatty())
    max_iters = (len(corpus) - 1) // (batch_size * time_size)
    sys.stdout.write("\r%d / %d" % (max_iters - 1, max_iters))
    print("")
    return ppl


def eval_seq2seq(model, question, correct, id_to_char, verbose=False, is_reverse=False):
    """1 if the model answers ``question`` (1, Tq) exactly as ``correct`` (1, Ta, starting
    with the start id), else 0; ``verbose`` prints Q, T and the guess with the book's marks."""
    correct = to_cpu(correct).flatten()
    start_id, correct = int(correct[0]), correct[1:]
    guess = model.generate(question, start_id, len(correct))

    question = "".join(id_to_char[int(c)] for c in to_cpu(question).flatten())
    correct = "".join(id_to_char[int(c)] for c in correct)
    guess = "".join(id_to_char[int(c)] for c in guess)

    if verbose:
        if is_reverse:
            question = question[::-1]
        colors = {"ok": "\033[92m", "fail": "\033[91m", "close": "\033[0m"}
        print("Q", question)
        print("T", correct)
        if correct == guess:
            mark = "O" if os.name == "nt" else colors["ok"] + "☑" + colors["close"]
        else:
            mark = "X" if os.name == "nt" else colors["fail"] + "☒" + colors["close"]
        print(mark + " " + guess)
        print("---")
    return 1 if guess == correct else 0
