"""Metrics: BLEU equal to sacreBLEU on random corpora, exact match, edit distance."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zeronlp.metrics import (
    MetricInputError,
    corpus_bleu,
    edit_distance,
    exact_match,
    sentence_bleu,
    tokenize_13a,
)

sacrebleu = pytest.importorskip("sacrebleu")

# few words, so that n-grams match often; punctuation, digits and entities exercise 13a
WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "The", "1.5", "3,000", "9-5", "end."]
PUNCT = [".", ",", "!", "?", "-", "&amp;", "&quot;", "(", ")", "'s", "<skipped>", "e.g.", ";"]
token = st.sampled_from(WORDS + PUNCT)
sentence = st.lists(token, max_size=14).map(" ".join) | st.text(
    st.sampled_from("ab .,-&;0123\n\t"), max_size=20
)


@st.composite
def corpus(draw):
    n = draw(st.integers(1, 6))
    n_refs = draw(st.integers(1, 3))
    refs = [draw(st.lists(sentence, min_size=n, max_size=n)) for _ in range(n_refs)]
    # hypotheses: a reference with some words changed, or anything
    hyps = []
    for i in range(n):
        if draw(st.booleans()):
            words = refs[0][i].split()
            for _ in range(draw(st.integers(0, 3))):
                if words:
                    words[draw(st.integers(0, len(words) - 1))] = draw(token)
            hyps.append(" ".join(words))
        else:
            hyps.append(draw(sentence))
    return hyps, refs


@settings(max_examples=200, deadline=None)
@given(data=corpus())
def test_corpus_bleu_equals_sacrebleu(data):
    hyps, refs = data
    ours = corpus_bleu(hyps, refs)
    theirs = sacrebleu.corpus_bleu(hyps, refs)
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)
    assert (ours.sys_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    assert ours.counts == theirs.counts and ours.totals == theirs.totals
    assert ours.bp == pytest.approx(theirs.bp)


@settings(max_examples=150, deadline=None)
@given(data=corpus())
def test_sentence_bleu_equals_sacrebleu(data):
    hyps, refs = data
    ours = sentence_bleu(hyps[0], [r[0] for r in refs])
    theirs = sacrebleu.sentence_bleu(hyps[0], [r[0] for r in refs])
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(line=st.text(max_size=40) | sentence)
def test_tokenize_13a_equals_sacrebleu(line):
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    assert tokenize_13a(line) == Tokenizer13a()(line)


def test_bleu_known_values():
    refs = [["the cat sat on the mat"]]
    assert corpus_bleu(["the cat sat on the mat"], refs).score == pytest.approx(100)
    assert corpus_bleu(["dog"], refs).score == 0
    # 4 of 5 unigrams, 2/4 bigrams, 1/3 trigrams, 0/2 4-grams (smoothed to 1/(2*2)); BP exp(1-6/5)
    s = corpus_bleu(["the cat sat the mat"], refs)
    assert s.counts == [5, 3, 1, 0] and s.totals == [5, 4, 3, 2]
    expected = (5 / 5 * 3 / 4 * 1 / 3 * 1 / 4) ** 0.25 * 100 * 2.718281828459045 ** (1 - 6 / 5)
    assert s.score == pytest.approx(expected)
    assert float(s) == s.score and "BLEU = " in str(s)


def test_bleu_multiple_and_missing_references():
    hyps = ["a b c d", "x y"]
    refs = [["a b c d", "x y z"], [None, "x y"]]
    assert corpus_bleu(hyps, refs).score == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score)


@pytest.mark.parametrize(
    "hyps, refs, message",
    [
        (["a"], ["a"], "reference streams"),
        (["a"], [["a", "b"]], "2 lines"),
        ("a", [["a"]], "list of strings"),
        ([1], [["a"]], "list of strings"),
        (["a"], [[None]], "no reference"),
    ],
)
def test_bleu_bad_input(hyps, refs, message):
    with pytest.raises(MetricInputError, match=message):
        corpus_bleu(hyps, refs)


def test_exact_match():
    assert exact_match(["a", "b", "c"], ["a", "x", "c"]) == pytest.approx(2 / 3)
    with pytest.raises(MetricInputError, match="as many"):
        exact_match(["a"], ["a", "b"])


def naive_edit_distance(a, b):
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
    return d[-1][-1]


@settings(max_examples=150, deadline=None)
@given(a=st.text("abc\U0001f98a\ud800", max_size=12), b=st.text("abc\U0001f98a\ud800", max_size=12))
def test_edit_distance_equals_dynamic_programme(a, b):
    assert edit_distance(a, b) == naive_edit_distance(a, b)
    assert edit_distance(a.split("a"), b.split("a")) == naive_edit_distance(
        a.split("a"), b.split("a")
    )


def test_edit_distance_examples():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "") == 3
    assert edit_distance(["the", "cat"], ["the", "dog", "cat"]) == 1
    with pytest.raises(MetricInputError):
        edit_distance("abc", ["a"])


def test_errors_are_user_errors():
    from zeronlp.errors import UserError

    assert issubclass(MetricInputError, UserError) and issubclass(MetricInputError, ValueError)
