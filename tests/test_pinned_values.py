"""Values pinned by hand: perplexity and length-normalised beam search.

Each expected value here is computed independently of the code under test (NumPy softmax
over known scores, or every candidate answer scored by the model's own teacher-forced loss),
so dividing by the wrong count or dropping the length normalisation fails a test.
"""

import itertools
import math

import numpy as np
import pytest

from zeronlp.models import AttentionSeq2seq, PeekySeq2seq, Rnnlm, Seq2seq
from zeronlp.training import eval_perplexity

# ---------------------------------------------------------------- perplexity


class BigramModel:
    """A language model that is a table: p(next = j | current = i) = P[i, j].

    forward(xs (N, T), ts (N, T)) -> mean cross-entropy over the N*T pairs, like the
    book's language models.
    """

    def __init__(self, P):
        self.P = np.asarray(P, dtype=np.float64)

    def forward(self, xs, ts):
        return float(-np.log(self.P[xs, ts]).mean())


def covering_corpus(rng, V, batch_size, time_size, iters):
    """A random corpus of batch_size * time_size * iters + 1 ids: eval_perplexity's streams
    then read every consecutive pair (corpus[i], corpus[i + 1]) exactly once."""
    return rng.integers(0, V, size=batch_size * time_size * iters + 1)


def test_perplexity_of_a_bigram_table_is_the_hand_computed_value():
    # p(1 | 0) = 1/2 and p(0 | 1) = 1/4, so over 0 1 0 1 ... the mean cross-entropy is
    # (ln 2 + ln 4) / 2 = 1.5 ln 2 and the perplexity 2 ** 1.5
    P = [[0.5, 0.5], [0.25, 0.75]]
    corpus = np.array([0, 1] * 120 + [0])  # 241 ids: 2 streams x 4 steps x 30 iterations
    ppl = eval_perplexity(BigramModel(P), corpus, batch_size=2, time_size=4)
    assert ppl == pytest.approx(2**1.5, rel=1e-12)


@pytest.mark.parametrize("batch_size, time_size, iters", [(1, 5, 7), (3, 4, 5), (10, 35, 2)])
def test_perplexity_is_exp_of_the_mean_cross_entropy_over_all_pairs(
    rng, batch_size, time_size, iters
):
    V = 7
    P = rng.dirichlet(np.ones(V), size=V)  # (V, V) rows sum to 1
    corpus = covering_corpus(rng, V, batch_size, time_size, iters)
    expected = math.exp(-np.log(P[corpus[:-1], corpus[1:]]).mean())
    ppl = eval_perplexity(BigramModel(P), corpus, batch_size, time_size)
    assert ppl == pytest.approx(expected, rel=1e-12)


def test_perplexity_reads_the_books_streams_when_the_corpus_does_not_divide(rng):
    # 10 ids, 2 streams of 2 steps: jump = (10 - 1) // 2 = 4 and (10 - 1) // 4 = 2
    # iterations, so stream 0 reads the pairs starting at ids 0-3 and stream 1 those at 4-7;
    # the last pair (8, 9) is never read
    V = 5
    P = rng.dirichlet(np.ones(V), size=V)
    corpus = rng.integers(0, V, size=10)
    expected = math.exp(-np.log(P[corpus[:8], corpus[1:9]]).mean())
    ppl = eval_perplexity(BigramModel(P), corpus, batch_size=2, time_size=2)
    assert ppl == pytest.approx(expected, rel=1e-12)


def test_perplexity_of_an_rnnlm_whose_lstm_outputs_zeros(rng):
    """An Rnnlm with zero LSTM weights has h = 0 at every step (g = tanh(0) = 0, so c stays
    0), so its scores are the affine bias b everywhere: p(next) = softmax(b)."""
    V, batch_size, time_size, iters = 11, 4, 6, 3
    model = Rnnlm(V, 5, 8)
    embed_W, Wx, Wh, lstm_b, affine_W, affine_b = model.params
    for p in (Wx, Wh, lstm_b):
        p[...] = 0
    affine_b[...] = rng.normal(size=V)
    corpus = covering_corpus(rng, V, batch_size, time_size, iters)

    b = affine_b.astype(np.float64)
    log_p = b - b.max() - np.log(np.exp(b - b.max()).sum())  # NumPy log-softmax
    expected = math.exp(-log_p[corpus[1:]].mean())
    model.reset_state()
    ppl = eval_perplexity(model, corpus, batch_size, time_size)
    assert ppl == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------- beam search

V, EOS, START, MAX_LEN = 4, 1, 0, 3


def all_answers():
    """Every answer a decoder can give in MAX_LEN steps, cut after its first EOS:
    1 + 3 + 9 ending with EOS and 27 without, 40 in all."""
    others = [v for v in range(V) if v != EOS]
    for n in range(MAX_LEN):
        for head in itertools.product(others, repeat=n):
            yield [*head, EOS]
    for seq in itertools.product(others, repeat=MAX_LEN):
        yield list(seq)


def best_answer(model, x, length_penalty):
    """The answer with the highest log p / length ** length_penalty, and that score, found by
    scoring every answer with the model's teacher-forced loss (its mean cross-entropy)."""
    best, best_score = None, -math.inf
    for answer in all_answers():
        ts = np.array([[START, *answer]])
        log_p = -len(answer) * float(model.forward(x, ts))
        score = log_p / len(answer) ** length_penalty
        if score > best_score:
            best, best_score = answer, score
    return best, best_score


# A seed per model for which normalising changes the answer, by a clear margin
@pytest.mark.parametrize(
    "model_cls, seed", [(Seq2seq, 11), (PeekySeq2seq, 17), (AttentionSeq2seq, 9)]
)
def test_beam_search_with_eos_normalises_by_length(model_cls, seed):
    model = model_cls(V, 3, 5)
    weights = np.random.default_rng(seed)
    for p in model.params:
        p[...] = weights.normal(size=p.shape)
    x = np.array([[2, 3, 2]])

    normalised, _ = best_answer(model, x, length_penalty=1.0)
    raw, _ = best_answer(model, x, length_penalty=0.0)
    assert normalised != raw  # the case tells the two rankings apart

    # 40 beams hold every answer, so beam search must find the best one
    for length_penalty, expected in [(1.0, normalised), (0.0, raw)]:
        ids = model.generate(
            x, START, MAX_LEN, method="beam", beam_width=40, eos_id=EOS,
            length_penalty=length_penalty,
        )  # fmt: skip
        assert ids == expected + [EOS] * (MAX_LEN - len(expected)), length_penalty
