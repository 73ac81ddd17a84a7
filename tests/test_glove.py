"""GloVe: gradients checked, co-occurrence counts against a loop, AdaGrad step, training."""

import numpy as np
import pytest

from zeronlp.backend import default_float
from zeronlp.gradcheck import gradcheck
from zeronlp.models.glove import GloVe, glove_weight
from zeronlp.optimizers import AdaGrad
from zeronlp.training.glove import cooccurrence, train_glove


def tiny(V=6, D=3, seed=0, **kw):
    rng = np.random.default_rng(seed)
    with default_float(np.float64):
        model = GloVe(V, D, **kw)
    for p in model.params:  # O(1) weights so the gradients are not tiny
        p[...] = rng.standard_normal(p.shape)
    return model, rng


@pytest.mark.parametrize("x_max", [100.0, 2.0])
def test_gradients(x_max):
    model, rng = tiny(x_max=x_max)
    i = np.array([0, 1, 1, 5, 2, 0])  # repeated rows sum their gradients
    j = np.array([1, 0, 1, 3, 2, 1])
    x = rng.uniform(0.3, 5.0, size=6)
    errors = gradcheck(model, i, j, x)
    assert max(errors.values()) < 1e-6, errors


def test_loss_is_the_papers_formula():
    model, rng = tiny(x_max=3.0, alpha=0.75)
    W, Wc, b, bc = model.params
    i, j, x = np.array([0, 4]), np.array([2, 2]), np.array([1.5, 7.0])
    f = np.array([(1.5 / 3.0) ** 0.75, 1.0])
    diff = (W[i] * Wc[j]).sum(1) + b[i] + bc[j] - np.log(x)
    assert model.forward(i, j, x) == pytest.approx(0.5 * (f * diff**2).sum())
    np.testing.assert_allclose(glove_weight(np.array([0.5, 3.0, 9.0]), 3.0, 1.0), [1 / 6, 1, 1])
    np.testing.assert_allclose(model.word_vecs, W + Wc)


def book_style_cooccurrence(corpus, V, window):
    X = np.zeros((V, V))
    for t, w in enumerate(corpus):
        for d in range(1, window + 1):
            for s in (t - d, t + d):
                if 0 <= s < len(corpus):
                    X[w, corpus[s]] += 1.0 / d
    return X


@pytest.mark.parametrize("window", [1, 3])
def test_cooccurrence_against_a_loop(window):
    corpus = np.random.default_rng(1).integers(0, 7, size=40)
    X = cooccurrence(corpus, 7, window)
    np.testing.assert_allclose(X.toarray(), book_style_cooccurrence(corpus, 7, window))


def test_train_step_equals_dense_adagrad():
    """One batch of train_glove = forward/backward + the book's AdaGrad on dense grads."""
    model, rng = tiny(V=8, D=4)
    ref, _ = tiny(V=8, D=4)
    X = np.zeros((8, 8))
    X[[0, 1, 1, 3, 7], [1, 0, 2, 3, 0]] = [2.0, 2.0, 0.5, 4.0, 1.0]
    train_glove(model, X, epochs=1, lr=0.05, batch_size=100, seed=0, verbose=False)
    i, j = np.nonzero(X)
    ref.forward(i, j, X[i, j])
    ref.backward()
    AdaGrad(lr=0.05).update(ref.params, ref.grads)
    for p, q in zip(model.params, ref.params, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)


def test_training_fits_a_small_matrix():
    # a V=30 corpus with structure: words in two groups co-occur within their group
    rng = np.random.default_rng(0)
    corpus = np.concatenate([rng.integers(0, 15, 3000), rng.integers(15, 30, 3000)])
    np.random.seed(0)
    model = GloVe(30, 10, x_max=10.0)
    X = cooccurrence(corpus, 30, window_size=3)
    history = train_glove(model, X, epochs=30, lr=0.05, batch_size=64, seed=0, verbose=False)
    assert history[-1] < 0.1 * history[0]
    assert model.params[0].dtype == np.float32
    v = model.word_vecs / np.linalg.norm(model.word_vecs, axis=1, keepdims=True)
    sim = v @ v.T
    same = sim[:15, :15].mean() + sim[15:, 15:].mean()
    assert same / 2 > sim[:15, 15:].mean() + 0.3


def test_bad_input():
    model = GloVe(5, 2)
    with pytest.raises(ValueError, match="one shape"):
        model.forward([0, 1], [1], [1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        model.forward([0], [1], [0.0])
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        model.forward([5], [1], [1.0])
    with pytest.raises(TypeError, match="GloVe"):
        train_glove(object(), np.ones((5, 5)))
    with pytest.raises(ValueError, match="no positive"):
        train_glove(model, np.zeros((5, 5)))


def test_non_finite_loss_stops_before_any_step():
    from zeronlp.errors import TrainingDiverged, UserError

    model = GloVe(4, 2)
    before = [p.copy() for p in model.params]
    X = np.ones((4, 4))
    X[0, 1] = np.inf
    with pytest.raises(TrainingDiverged, match="not finite"):
        train_glove(model, X, epochs=1, batch_size=100, verbose=False)
    for p, q in zip(model.params, before, strict=True):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(UserError):
        model.forward([0], [1], [0.0])
