"""Every layer of zeronlp.layers: numerical gradient checks, PyTorch comparisons, bad input."""

import numpy as np
import pytest

from zeronlp.gradcheck import gradcheck
from zeronlp.layers import (
    Affine,
    Dropout,
    Embedding,
    EmbeddingDot,
    MatMul,
    NegativeSamplingLoss,
    Sigmoid,
    SigmoidWithLoss,
    Softmax,
    SoftmaxWithLoss,
    UnigramSampler,
)

TOL = 1e-7  # float64 central differences of a correct backward give ~1e-9


def assert_gradcheck(layer, *inputs, **kw):
    errors = gradcheck(layer, *inputs, **kw)
    assert errors, "gradcheck compared nothing"
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOL, f"{worst}: relative error {errors[worst]:.2e}"
    return errors


# ---------------------------------------------------------------- gradient checks

SHAPES = [(1, 3, 2), (4, 5, 3), (2, 1, 1)]  # (N, D, H), N=1 and width 1 included


@pytest.mark.parametrize("N,D,H", SHAPES)
def test_gradcheck_affine_and_matmul(N, D, H, rng):
    x = rng.standard_normal((N, D))
    errs = assert_gradcheck(Affine(rng.standard_normal((D, H)), rng.standard_normal(H)), x)
    assert set(errs) == {"params[0]", "params[1]", "inputs[0]"}
    assert_gradcheck(MatMul(rng.standard_normal((D, H))), x)


def test_gradcheck_affine_with_leading_axes(rng):
    assert_gradcheck(
        Affine(rng.standard_normal((4, 3)), rng.standard_normal(3)), rng.standard_normal((2, 5, 4))
    )


@pytest.mark.parametrize("shape", [(1, 1), (3, 4), (2, 3, 5)])
def test_gradcheck_activations(shape, rng):
    x = rng.standard_normal(shape) * 2
    assert_gradcheck(Sigmoid(), x)
    assert_gradcheck(Softmax(), x)


@pytest.mark.parametrize("N,C", [(1, 1), (1, 4), (5, 3)])
def test_gradcheck_softmax_with_loss(N, C, rng):
    x = rng.standard_normal((N, C)) * 3
    t = rng.integers(0, C, N)
    assert_gradcheck(SoftmaxWithLoss(), x, t)
    assert_gradcheck(SoftmaxWithLoss(), x, np.eye(C, dtype=int)[t])  # one-hot labels


@pytest.mark.parametrize("shape", [(1,), (6,), (3, 4)])
def test_gradcheck_sigmoid_with_loss(shape, rng):
    x = rng.standard_normal(shape) * 3
    assert_gradcheck(SigmoidWithLoss(), x, rng.integers(0, 2, shape))
    assert_gradcheck(SigmoidWithLoss(), x, rng.random(shape))  # soft labels


def test_gradcheck_dropout_uses_the_same_mask(rng):
    assert_gradcheck(Dropout(0.4), rng.standard_normal((5, 6)))


@pytest.mark.parametrize("idx", [3, [1, 1, 1], np.array([[0, 4], [4, 4], [2, 0]])])
def test_gradcheck_embedding(idx, rng):
    assert_gradcheck(Embedding(rng.standard_normal((5, 3))), np.asarray(idx))


def test_gradcheck_embedding_dot_repeated_ids_and_transposed_weight(rng):
    W_out = rng.standard_normal((3, 6))
    assert_gradcheck(EmbeddingDot(W_out.T), rng.standard_normal((4, 3)), np.array([2, 2, 0, 5]))


@pytest.mark.parametrize("N,sample_size", [(1, 1), (6, 3), (4, 5)])
def test_gradcheck_negative_sampling_loss(N, sample_size, rng):
    corpus = rng.integers(0, 8, 200)
    layer = NegativeSamplingLoss(rng.standard_normal((8, 4)), corpus, sample_size=sample_size)
    h = rng.standard_normal((N, 4))
    assert_gradcheck(layer, h, rng.integers(0, 8, N))


def test_gradcheck_catches_a_wrong_backward(rng):
    class WrongSigmoid(Sigmoid):
        def backward(self, dout):  # forgets the (1 - y) factor
            return dout * self.out

    errors = gradcheck(WrongSigmoid(), rng.standard_normal((3, 3)))
    assert errors["inputs[0]"] > 0.1


def test_gradcheck_refuses_float32(rng):
    with pytest.raises(TypeError, match="float64"):
        gradcheck(Affine(np.ones((2, 2), "f"), np.zeros(2, "f")), np.ones((1, 2)))


# ---------------------------------------------------------------- the layer protocol


def test_grads_are_written_in_place_never_rebound(rng):
    layer = Affine(rng.standard_normal((3, 2)), rng.standard_normal(2))
    held = list(layer.grads)
    layer.forward(rng.standard_normal((4, 3)))
    layer.backward(rng.standard_normal((4, 2)))
    assert all(a is b for a, b in zip(held, layer.grads, strict=True))
    assert np.abs(held[0]).sum() > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_keep_their_dtype(dtype, rng):
    x = rng.standard_normal((4, 3)).astype(dtype)
    aff = Affine(rng.standard_normal((3, 5)).astype(dtype), np.zeros(5, dtype))
    y = aff.forward(x)
    assert y.dtype == dtype
    assert aff.backward(np.ones_like(y)).dtype == dtype
    assert all(g.dtype == dtype for g in aff.grads)
    for layer in (Sigmoid(), Softmax(), Dropout(0.5)):
        assert layer.forward(x).dtype == dtype
        assert layer.backward(np.ones_like(x)).dtype == dtype
    loss = SoftmaxWithLoss()
    loss.forward(x, np.array([0, 1, 2, 0]))
    assert loss.backward().dtype == dtype
    sig = SigmoidWithLoss()
    sig.forward(x, (x > 0).astype(int))
    assert sig.backward().dtype == dtype
    W = rng.standard_normal((6, 3)).astype(dtype)
    ns = NegativeSamplingLoss(W, np.arange(6).repeat(3), sample_size=2)
    ns.forward(x, np.array([0, 1, 5, 5]))
    assert ns.backward().dtype == dtype and ns.grads[0].dtype == dtype


def test_dropout_is_inverted_and_identity_in_evaluation(rng):
    x = np.ones((200, 50))
    layer = Dropout(0.3)
    y = layer.forward(x, train_flg=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_array_equal(layer.backward(x), y)  # the same mask
    np.testing.assert_array_equal(layer.forward(x, train_flg=False), x)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(1.0)


# ---------------------------------------------------------------- samplers


def test_unigram_sampler_never_draws_the_target_and_follows_p_power(rng):
    corpus = np.repeat(np.arange(5), [50, 20, 10, 5, 1])
    sampler = UnigramSampler(corpus, 0.75, 4)
    target = np.repeat(np.arange(5), 4000)
    neg = sampler.get_negative_sample(target)
    assert neg.shape == (target.size, 4)
    assert not (neg == target[:, None]).any()
    p = np.array([50, 20, 10, 5, 1], float) ** 0.75
    p /= p.sum()
    for w in range(5):  # restricted to the other words, the distribution is p renormalised
        drawn = neg[target == w].ravel()
        freq = np.bincount(drawn, minlength=5) / drawn.size
        expected = np.where(np.arange(5) == w, 0.0, p / (1 - p[w]))
        np.testing.assert_allclose(freq, expected, atol=0.012)


def test_unigram_sampler_two_words_always_draws_the_other():
    sampler = UnigramSampler([0, 0, 0, 0, 0, 0, 1], 0.75, 3)
    neg = sampler.get_negative_sample(np.array([0, 1, 0]))
    np.testing.assert_array_equal(neg, [[1, 1, 1], [0, 0, 0], [1, 1, 1]])


def test_unigram_sampler_replaces_a_draw_that_lands_on_the_target(monkeypatch):
    """A rounding clash takes the most probable other word, with no loop reading values."""
    sampler = UnigramSampler(np.repeat(np.arange(4), [5, 9, 2, 1]), 0.75, 3)
    monkeypatch.setattr(np, "searchsorted", lambda cdf, u, side: np.full(u.shape, 1))
    neg = sampler.get_negative_sample(np.array([1, 0, 3]))
    np.testing.assert_array_equal(neg, [[0, 0, 0], [1, 1, 1], [1, 1, 1]])


def test_unigram_sampler_is_seeded_by_numpy_global_seed():
    sampler = UnigramSampler(np.arange(100) % 17, 0.75, 5)
    np.random.seed(3)
    a = sampler.get_negative_sample(np.arange(10))
    np.random.seed(3)
    b = sampler.get_negative_sample(np.arange(10))
    np.testing.assert_array_equal(a, b)


def test_unigram_sampler_bad_input():
    with pytest.raises(ValueError, match="two distinct"):
        UnigramSampler([3, 3, 3], 0.75, 2)
    with pytest.raises(ValueError, match="non-empty"):
        UnigramSampler([], 0.75, 2)
    sampler = UnigramSampler([0, 1, 2], 0.75, 2)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        sampler.get_negative_sample(np.array([3]))


def test_negative_sampling_loss_equals_the_book_total(rng):
    """Loss = mean over the batch of -log s(pos) - sum log(1 - s(neg)), with the same draws."""
    W = rng.standard_normal((7, 3))
    corpus = rng.integers(0, 7, 100)
    layer = NegativeSamplingLoss(W, corpus, sample_size=4)
    h = rng.standard_normal((5, 3))
    target = np.array([0, 3, 3, 6, 1])
    np.random.seed(11)
    loss = layer.forward(h, target)
    np.random.seed(11)
    neg = layer.sampler.get_negative_sample(target)
    s = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    pos = (W[target] * h).sum(1)
    negs = np.einsum("nkd,nd->nk", W[neg], h)
    expected = np.mean(-np.log(s(pos)) - np.log(1 - s(negs)).sum(1))
    assert loss == pytest.approx(expected, rel=1e-12)
