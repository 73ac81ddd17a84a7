import numpy as np
import pytest

from zeronlp.backend import default_float, seed
from zeronlp.datasets import spiral
from zeronlp.gradcheck import gradcheck
from zeronlp.models import TwoLayerNet
from zeronlp.optimizers import SGD
from zeronlp.training import Trainer, remove_duplicate


def test_spiral_data_is_the_books():
    x, t = spiral.load_data()
    assert x.shape == (300, 2) and x.dtype == np.float32
    assert t.shape == (300, 3) and (t.sum(axis=1) == 1).all()
    # first point of each arm: radius 0
    np.testing.assert_array_equal(x[[0, 100, 200]], 0)
    assert np.abs(x).max() <= 1.0


def test_two_layer_net_gradients_end_to_end(rng):
    seed(0)
    with default_float(np.float64):
        model = TwoLayerNet(2, 4, 3)
    for p in model.params:  # O(1) weights: the 0.01 init gives gradients too small to compare
        p[...] = rng.standard_normal(p.shape)
    x = rng.standard_normal((5, 2))
    errors = gradcheck(model, x, np.array([0, 1, 2, 2, 0]))
    assert len(errors) == 5  # W1, b1, W2, b2 and x
    assert max(errors.values()) < 1e-7


def test_spiral_two_layer_net_learns_to_90_percent():
    seed(1984)
    x, t = spiral.load_data()
    model = TwoLayerNet(2, 10, 3)
    trainer = Trainer(model, SGD(lr=1.0))
    losses = trainer.fit(x, t, max_epoch=300, batch_size=30, eval_interval=10, verbose=False)
    assert losses[-1] < losses[0] / 5
    accuracy = (model.predict(x).argmax(1) == t.argmax(1)).mean()
    assert accuracy >= 0.90
    assert all(p.dtype == np.float32 for p in model.params)


def test_trainer_stops_on_nan_loss_before_updating():
    seed(0)
    x, t = spiral.load_data()
    model = TwoLayerNet(2, 4, 3)
    before = [p.copy() for p in model.params]
    x = x.copy()
    x[:] = np.nan
    with pytest.raises(FloatingPointError, match="loss became nan"):
        Trainer(model, SGD()).fit(x, t, max_epoch=1, batch_size=30, verbose=False)
    for a, b in zip(before, model.params, strict=True):
        np.testing.assert_array_equal(a, b)


def test_trainer_rejects_mismatched_data():
    with pytest.raises(ValueError, match="300 examples but t has 3"):
        Trainer(TwoLayerNet(2, 4, 3), SGD()).fit(
            np.zeros((300, 2), "f"), np.zeros((3, 3)), verbose=False
        )


def test_seq2seq_accuracy_refuses_bad_input_with_zeronlps_user_error():
    # a user error, so the CLI reports it in one line (a plain ValueError is a bug's traceback)
    from zeronlp.errors import InputError
    from zeronlp.models import Seq2seq
    from zeronlp.training import seq2seq_accuracy

    model = Seq2seq(5, 3, 4)
    with pytest.raises(InputError, match="4 questions but t has 3 answers"):
        seq2seq_accuracy(model, np.zeros((4, 2), int), np.zeros((3, 3), int))
    with pytest.raises(InputError, match="got no examples"):
        seq2seq_accuracy(model, np.zeros((0, 2), int), np.zeros((0, 3), int))


def test_remove_duplicate_sums_shared_and_tied_weights():
    W = np.arange(6.0).reshape(2, 3)
    b = np.zeros(3)
    params = [W, b, W, W.T]
    grads = [np.ones((2, 3)), np.ones(3), 2 * np.ones((2, 3)), np.arange(6.0).reshape(3, 2)]
    p, g = remove_duplicate(params, grads)
    assert len(p) == 2 and p[0] is W and p[1] is b
    np.testing.assert_array_equal(g[0], 3 + np.arange(6.0).reshape(3, 2).T)


# ---------------------------------------------------------------- language models and seq2seq


def test_rnnlm_trainer_batches_follow_the_books_streams():
    from zeronlp.training import RnnlmTrainer

    trainer = RnnlmTrainer(None, None)
    trainer.time_idx = 0
    xs = np.arange(100)
    bx, bt = trainer.get_batch(xs, xs + 1000, batch_size=4, time_size=3)
    np.testing.assert_array_equal(bx, [[0, 1, 2], [25, 26, 27], [50, 51, 52], [75, 76, 77]])
    np.testing.assert_array_equal(bt, bx + 1000)
    bx, _ = trainer.get_batch(xs, xs, 4, 3)
    np.testing.assert_array_equal(bx[0], [3, 4, 5])
    trainer.time_idx = 98
    bx, _ = trainer.get_batch(xs, xs, 4, 3)
    np.testing.assert_array_equal(bx[3], [73, 74, 75])  # wraps around the corpus end


def test_rnnlm_learns_a_repeating_corpus_to_low_perplexity():
    from zeronlp.models import Rnnlm
    from zeronlp.training import RnnlmTrainer, eval_perplexity

    seed(0)
    pattern = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7])
    corpus = np.tile(pattern, 200)
    xs, ts = corpus[:-1], corpus[1:]
    model = Rnnlm(vocab_size=10, wordvec_size=16, hidden_size=32)
    model.reset_state()
    start_ppl = eval_perplexity(model, corpus, batch_size=5, time_size=10)
    assert start_ppl == pytest.approx(10, rel=0.1)  # a fresh model is close to uniform
    trainer = RnnlmTrainer(model, SGD(lr=2.0))
    history = []

    def evaluate():
        model.reset_state()
        ppl = eval_perplexity(model, corpus, batch_size=5, time_size=10)
        model.reset_state()
        return {"ppl": ppl}

    trainer.fit(
        xs,
        ts,
        max_epoch=8,
        batch_size=10,
        time_size=10,
        max_grad=1.0,
        eval_fn=evaluate,
        verbose=False,
    )
    history = [h["ppl"] for h in trainer.history]
    assert len(history) == 8 and history[-1] < 1.3, history


def test_attention_seq2seq_learns_to_reverse_digits():
    """A real task in seconds: reverse 5 random digits (ids 0-9; 10 is the start symbol)."""
    from zeronlp.models import AttentionSeq2seq
    from zeronlp.optimizers import Adam
    from zeronlp.training import seq2seq_accuracy

    seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, (3000, 5))
    t = np.concatenate([np.full((3000, 1), 10), x[:, ::-1]], axis=1)
    model = AttentionSeq2seq(vocab_size=11, wordvec_size=16, hidden_size=64)
    trainer = Trainer(model, Adam(lr=0.01))
    trainer.fit(
        x[:2500],
        t[:2500],
        max_epoch=10,
        batch_size=64,
        max_grad=5.0,
        eval_fn=lambda: {"acc": seq2seq_accuracy(model, x[2500:], t[2500:])},
        verbose=False,
    )
    accuracy = trainer.history[-1]["acc"]
    assert accuracy >= 0.9, trainer.history
    beam = seq2seq_accuracy(model, x[2500:], t[2500:], method="beam", beam_width=3)
    assert beam >= accuracy - 0.02
