"""A word-analogy test set in PTB's vocabulary, and analogy accuracy of word vectors.

The usual test set (Mikolov et al.'s Google analogies) needs a download and most of its words
are not among PTB's 10,000. This set is written out here instead: word pairs of nine
relations, every word one of PTB's (a test checks it against the PTB training text). As in
the Google set, a question takes two pairs (a, b) and (c, d) of one relation and asks
a : b = c : ?, with d the answer; every ordered choice of two different pairs is a question.

Pairs were chosen by hand from relations the Google set has (capital-country, country-
nationality, family/gender, comparative, superlative, past tense, plural, present participle,
third person) and kept when both words are in PTB's vocabulary. Many are rare in PTB, so the
set is hard for vectors trained on PTB alone.
"""

from __future__ import annotations

import numpy as np

RELATIONS: dict[str, list[tuple[str, str]]] = {
    "capital-country": [
        ("tokyo", "japan"), ("paris", "france"), ("london", "britain"), ("bonn", "germany"),
        ("beijing", "china"), ("rome", "italy"), ("madrid", "spain"), ("seoul", "korea"),
        ("taipei", "taiwan"), ("cairo", "egypt"),
    ],
    "country-nationality": [
        ("japan", "japanese"), ("france", "french"), ("britain", "british"),
        ("germany", "german"), ("china", "chinese"), ("canada", "canadian"),
        ("italy", "italian"), ("spain", "spanish"), ("mexico", "mexican"),
        ("russia", "russian"), ("india", "indian"), ("australia", "australian"),
        ("switzerland", "swiss"), ("korea", "korean"), ("brazil", "brazilian"),
        ("israel", "israeli"), ("egypt", "egyptian"), ("europe", "european"),
        ("america", "american"),
    ],
    "gender": [
        ("he", "she"), ("his", "her"), ("man", "woman"), ("men", "women"), ("king", "queen"),
        ("mr.", "mrs."), ("father", "mother"), ("brother", "sister"), ("son", "daughter"),
        ("boy", "girl"), ("husband", "wife"), ("sons", "daughters"),
    ],
    "comparative": [
        ("big", "bigger"), ("high", "higher"), ("low", "lower"), ("large", "larger"),
        ("strong", "stronger"), ("small", "smaller"), ("good", "better"), ("bad", "worse"),
        ("great", "greater"), ("weak", "weaker"), ("cheap", "cheaper"), ("long", "longer"),
        ("short", "shorter"), ("fast", "faster"), ("slow", "slower"), ("hard", "harder"),
        ("easy", "easier"), ("early", "earlier"), ("late", "later"), ("wide", "wider"),
    ],
    "superlative": [
        ("big", "biggest"), ("high", "highest"), ("low", "lowest"), ("large", "largest"),
        ("small", "smallest"), ("good", "best"), ("bad", "worst"), ("great", "greatest"),
        ("strong", "strongest"),
    ],
    "past-tense": [
        ("take", "took"), ("go", "went"), ("say", "said"), ("buy", "bought"), ("sell", "sold"),
        ("make", "made"), ("see", "saw"), ("come", "came"), ("get", "got"), ("give", "gave"),
        ("rise", "rose"), ("fall", "fell"), ("pay", "paid"), ("find", "found"),
        ("think", "thought"), ("know", "knew"), ("tell", "told"), ("begin", "began"),
        ("run", "ran"), ("write", "wrote"), ("grow", "grew"), ("hold", "held"),
        ("leave", "left"), ("lose", "lost"), ("win", "won"), ("bring", "brought"),
    ],
    "plural": [
        ("year", "years"), ("company", "companies"), ("share", "shares"), ("price", "prices"),
        ("market", "markets"), ("bank", "banks"), ("bond", "bonds"), ("stock", "stocks"),
        ("analyst", "analysts"), ("month", "months"), ("day", "days"), ("week", "weeks"),
        ("investor", "investors"), ("plan", "plans"), ("child", "children"),
        ("rate", "rates"), ("quarter", "quarters"), ("car", "cars"), ("man", "men"),
        ("woman", "women"),
    ],
    "present-participle": [
        ("go", "going"), ("say", "saying"), ("buy", "buying"), ("sell", "selling"),
        ("make", "making"), ("take", "taking"), ("rise", "rising"), ("fall", "falling"),
        ("pay", "paying"),
    ],
    "third-person": [
        ("say", "says"), ("buy", "buys"), ("sell", "sells"), ("make", "makes"),
        ("take", "takes"), ("go", "goes"), ("rise", "rises"), ("pay", "pays"),
    ],
}  # fmt: skip


def questions(relations=None) -> list[tuple[str, str, str, str, str]]:
    """Every question (relation, a, b, c, d): a : b = c : d, from two different pairs."""
    relations = RELATIONS if relations is None else relations
    return [
        (name, a, b, c, d)
        for name, pairs in relations.items()
        for a, b in pairs
        for c, d in pairs
        if (a, b) != (c, d)
    ]


def analogy_accuracy(word_vecs, word_to_id, qs=None, chunk=1024) -> dict[str, float]:
    """Accuracy of 3CosAdd on the questions: {relation: accuracy, ..., "all": accuracy}.

    word_vecs: (V, D). For a : b = c : ?, the answer is the word whose unit vector has the
    largest dot product with normalize(b - a + c) (the book's ``analogy`` on normalized
    vectors), a, b and c excluded. Questions with a word outside word_to_id count as wrong.
    """
    qs = questions() if qs is None else qs
    W = np.asarray(word_vecs, dtype=np.float64)
    norms = np.linalg.norm(W, axis=1, keepdims=True)
    W = W / np.where(norms == 0, 1, norms)
    known = [all(w in word_to_id for w in q[1:]) for q in qs]
    ids = np.array([[word_to_id[w] for w in q[1:]] for q, k in zip(qs, known, strict=True) if k])
    correct = np.zeros(len(qs), dtype=bool)
    if len(ids):
        hits = []
        for s in range(0, len(ids), chunk):  # chunks of questions: scores are (chunk, V)
            a, b, c, d = ids[s : s + chunk].T
            query = W[b] - W[a] + W[c]
            query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
            scores = query @ W.T
            rows = np.arange(len(a))
            scores[rows, a] = scores[rows, b] = scores[rows, c] = -np.inf
            hits.append(scores.argmax(axis=1) == d)
        correct[np.flatnonzero(known)] = np.concatenate(hits)
    names = np.array([q[0] for q in qs])
    result = {name: float(correct[names == name].mean()) for name in dict.fromkeys(names)}
    result["all"] = float(correct.mean()) if len(qs) else 0.0
    return result
