"""The PTB analogy set and analogy_accuracy (3CosAdd, the book's analogy)."""

import numpy as np
import pytest

from zeronlp import text
from zeronlp.datasets.analogy import RELATIONS, analogy_accuracy, questions


def test_every_word_is_in_ptb(data_dir):
    words = set((data_dir / "ptb" / "ptb.train.txt").read_text().split())
    missing = {w for pairs in RELATIONS.values() for p in pairs for w in p} - words
    assert not missing


def test_questions():
    qs = questions()
    assert len(qs) == sum(len(p) * (len(p) - 1) for p in RELATIONS.values())
    assert ("past-tense", "take", "took", "go", "went") in qs
    assert all(len(set(q[1:])) >= 3 for q in qs)
    for pairs in RELATIONS.values():
        assert len(set(pairs)) == len(pairs)


def vocab():
    words = sorted({w for pairs in RELATIONS.values() for p in pairs for w in p})
    return {w: i for i, w in enumerate(words)}, dict(enumerate(words))


def test_accuracy_equals_the_books_analogy():
    word_to_id, id_to_word = vocab()
    rng = np.random.default_rng(0)
    W = rng.standard_normal((len(word_to_id), 4))
    # make some analogies true: b = a + offset of the relation
    for pairs in list(RELATIONS.values())[:3]:
        offset = rng.standard_normal(4) * 3
        for a, b in pairs:
            W[word_to_id[b]] = W[word_to_id[a]] + offset
    qs = questions()
    result = analogy_accuracy(W, word_to_id, qs)
    Wn = text.normalize(W)
    book = [
        text.analogy(a, b, c, word_to_id, id_to_word, Wn, top=1)[0][0] == d for _, a, b, c, d in qs
    ]
    assert result["all"] == pytest.approx(np.mean(book))
    names = [q[0] for q in qs]
    for name in RELATIONS:
        assert result[name] == pytest.approx(
            np.mean([h for h, n in zip(book, names, strict=True) if n == name])
        )
    assert 0 < result["all"] < 1


def test_perfect_vectors_and_unknown_words():
    # one-hot "meaning" plus a shared relation direction: every question answerable
    pairs = [("a", "b"), ("c", "d"), ("e", "f")]
    word_to_id = {w: i for i, w in enumerate("abcdef")}
    W = np.zeros((6, 4))
    for k, (x, y) in enumerate(pairs):
        W[word_to_id[x], k] = W[word_to_id[y], k] = 1
        W[word_to_id[y], 3] = 1
    qs = questions({"r": pairs})
    assert analogy_accuracy(W, word_to_id, qs) == {"r": 1.0, "all": 1.0}
    del word_to_id["f"]
    assert analogy_accuracy(W[:5], word_to_id, qs)["all"] == pytest.approx(2 / 6)
