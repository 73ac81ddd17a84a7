"""Greedy, sampling and beam search on small Markov chains with known answers."""

import itertools

import numpy as np
import pytest

from zeronlp.decoding import beam_search, greedy_decode, sample_decode
from zeronlp.functions import log_softmax


def markov_step(logits):
    """A step function whose next-token scores depend only on the previous token."""

    def step(ids, state):
        return logits[ids], state

    return step


# From token 0: token 1 is likelier (0.6) but leads to a flat distribution; token 2 (0.4)
# leads almost surely to token 0. Greedy picks 1, beam search finds 2 -> 0.
P = np.array(
    [
        [0.0, 0.6, 0.4],
        [0.34, 0.33, 0.33],
        [0.98, 0.01, 0.01],
    ]
)
LOGITS = np.log(P + 1e-12)


def brute_force_best(logits, start, length):
    logp = log_softmax(logits)
    best, best_seq = -np.inf, None
    for seq in itertools.product(range(logits.shape[0]), repeat=length):
        prev, total = start, 0.0
        for tok in seq:
            total += logp[prev, tok]
            prev = tok
        if total > best:
            best, best_seq = total, seq
    return list(best_seq), best


def test_greedy_follows_the_likeliest_token():
    ids = greedy_decode(markov_step(LOGITS), None, np.array([0, 2]), max_len=3)
    assert ids.tolist() == [[1, 0, 1], [0, 1, 0]]


def test_beam_search_finds_what_greedy_misses():
    seq, score = beam_search(
        markov_step(LOGITS), None, np.array([0]), max_len=2, beam_width=2, length_penalty=0
    )
    assert seq.tolist() == [[2, 0]]
    assert score[0] == pytest.approx(np.log(0.4 * 0.98))
    greedy = greedy_decode(markov_step(LOGITS), None, np.array([0]), max_len=2)
    assert greedy.tolist() == [[1, 0]]


def test_beam_width_one_is_greedy(rng):
    logits = rng.standard_normal((6, 6))
    start = np.array([0, 3, 5])
    seq, _ = beam_search(markov_step(logits), None, start, max_len=5, beam_width=1)
    np.testing.assert_array_equal(seq, greedy_decode(markov_step(logits), None, start, 5))


def test_wide_beam_is_exact(rng):
    logits = rng.standard_normal((3, 3)) * 2
    seq, score = beam_search(
        markov_step(logits), None, np.array([1]), max_len=4, beam_width=27, length_penalty=0
    )
    best_seq, best = brute_force_best(logits, 1, 4)
    assert seq[0].tolist() == best_seq
    assert score[0] == pytest.approx(best)


def test_beam_search_all_beams_are_sorted_and_distinct(rng):
    logits = rng.standard_normal((5, 5))
    seqs, scores = beam_search(
        markov_step(logits), None, np.array([0, 1]), 3, beam_width=4, return_all=True
    )
    assert seqs.shape == (2, 4, 3) and scores.shape == (2, 4)
    assert (np.diff(scores, axis=1) <= 0).all()
    for n in range(2):
        assert len({tuple(s) for s in seqs[n].tolist()}) == 4


def test_eos_stops_and_pads():
    # token 2 is eos; from 0 the chain goes to 1, from 1 to eos
    logits = np.log(np.array([[0.01, 0.98, 0.01], [0.01, 0.01, 0.98], [0.3, 0.3, 0.4]]))
    ids = greedy_decode(markov_step(logits), None, np.array([0]), max_len=5, eos_id=2)
    assert ids.tolist() == [[1, 2, 2, 2, 2]]
    seq, score = beam_search(
        markov_step(logits), None, np.array([0]), 5, beam_width=3, eos_id=2, length_penalty=0
    )
    assert seq.tolist() == [[1, 2, 2, 2, 2]]
    assert score[0] == pytest.approx(np.log(0.98 * 0.98))


def test_beam_search_reorders_the_state():
    """The state follows its beam: here the state is the sequence so far, checked each step."""

    logits = np.random.default_rng(1).standard_normal((4, 4))

    def step(ids, state):
        history = np.concatenate([state, ids[:, None]], axis=1)
        return logits[ids], history

    start = np.array([3])
    seqs, _ = beam_search(
        step, np.zeros((1, 0), dtype=int), start, 4, beam_width=3, length_penalty=0
    )
    seq, _ = beam_search(markov_step(logits), None, start, 4, beam_width=3, length_penalty=0)
    np.testing.assert_array_equal(seqs, seq)


def test_sampling_follows_the_distribution_and_respects_options():
    np.random.seed(0)
    logits = np.log(np.array([[0.2, 0.5, 0.3]] * 3))
    ids = sample_decode(markov_step(logits), None, np.zeros(20000, dtype=int), 1)
    freq = np.bincount(ids[:, 0], minlength=3) / ids.shape[0]
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3], atol=0.015)
    ids = sample_decode(markov_step(logits), None, np.zeros(2000, dtype=int), 1, top_k=2)
    assert set(ids.ravel().tolist()) == {1, 2}
    ids = sample_decode(markov_step(logits), None, np.zeros(2000, dtype=int), 1, skip_ids=[1])
    assert set(ids.ravel().tolist()) == {0, 2}
    cold = sample_decode(markov_step(logits), None, np.zeros(2000, dtype=int), 1, temperature=0.05)
    assert (cold == 1).mean() > 0.99


def test_bad_arguments():
    step = markov_step(LOGITS)
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(step, None, np.array([0]), 0)
    with pytest.raises(ValueError, match="temperature"):
        sample_decode(step, None, np.array([0]), 2, temperature=0)
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(step, None, np.array([0]), 2, beam_width=0)
    with pytest.raises(ValueError, match="integer ids"):
        greedy_decode(step, None, np.array([0.5]), 2)
