import numpy as np
import pytest

from zeronlp.functions import (
    cross_entropy_error,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softmax_cross_entropy,
)


def test_sigmoid_stable_for_large_inputs():
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = sigmoid(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-30)
    x64 = np.linspace(-30, 30, 101)
    np.testing.assert_allclose(sigmoid(x64), 1 / (1 + np.exp(-x64)), rtol=1e-12)


def test_relu():
    np.testing.assert_array_equal(relu(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 3.0])


@pytest.mark.parametrize("shape", [(5,), (3, 5), (2, 3, 5)])
def test_softmax_and_log_softmax_any_leading_axes(shape, rng):
    x = rng.standard_normal(shape) * 3
    ref = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(softmax(x), ref, rtol=1e-12)
    np.testing.assert_allclose(log_softmax(x), np.log(ref), rtol=1e-12)


def test_softmax_stable_for_logits_of_1e4():
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 0.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is right
        y = softmax(x)
        ly = log_softmax(x)
    assert y.dtype == np.float32 and ly.dtype == np.float32
    np.testing.assert_allclose(y, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-7)
    np.testing.assert_allclose(ly[0], [0, -1e4, -2e4], rtol=1e-6)
    assert np.isfinite(ly).all()


def test_cross_entropy_ids_and_one_hot_agree(rng):
    y = softmax(rng.standard_normal((4, 6)))
    t = np.array([0, 5, 2, 2])
    one_hot = np.eye(6, dtype=int)[t]
    expected = -np.mean(np.log(y[np.arange(4), t] + 1e-7))
    assert cross_entropy_error(y, t) == pytest.approx(expected)
    assert cross_entropy_error(y, one_hot) == pytest.approx(expected)
    # a single example, as the book allows
    assert cross_entropy_error(y[1], 5) == pytest.approx(-np.log(y[1, 5] + 1e-7))


def test_softmax_cross_entropy_matches_definition(rng):
    x = rng.standard_normal((2, 3, 7))
    t = rng.integers(0, 7, (2, 3))
    p = softmax(x)
    expected = -np.log(np.take_along_axis(p, t[..., None], -1)).mean()
    assert softmax_cross_entropy(x, t) == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_rejects_bad_labels(rng):
    y = softmax(rng.standard_normal((3, 4)))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        cross_entropy_error(y, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="do not fit"):
        cross_entropy_error(y, np.array([0, 1]))
    with pytest.raises(TypeError, match="integers"):
        cross_entropy_error(y, np.array([0.0, 1.0, 2.0]))
