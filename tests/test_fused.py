"""The fused output layer equals the book-shaped layers it replaces, and the models use it."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from zeronlp.backend import default_float, seed
from zeronlp.fused import TimeAffineSoftmaxWithLoss
from zeronlp.models import BetterRnnlm, Rnnlm, TransformerLM
from zeronlp.time_layers import TimeAffine, TimeEmbedding, TimeLSTM, TimeSoftmaxWithLoss


def _tol(dtype):
    return 1e-12 if dtype == np.float64 else 2e-6


# ---------------------------------------------------------------- the fused output layer


def _output_case(rng, dtype, ignored, tied, top=0.0, N=4, T=5, D=3, V=6):
    E = rng.standard_normal((V, D)).astype(dtype)
    W = E.T if tied else np.ascontiguousarray(E.T)  # tied: a transposed view, as BetterRnnlm
    b = (rng.standard_normal(V) + top).astype(dtype)
    hs = rng.standard_normal((N, T, D)).astype(dtype)
    ts = rng.integers(0, V, size=(N, T))  # N*T targets over V ids: repeats for sure
    if ignored == "some":
        ts[0, :2] = -1
    elif ignored == "all":
        ts[:] = -1
    return W, b, hs, ts


def _book_pair(W, b, hs, ts, dout):
    affine, loss = TimeAffine(W, b), TimeSoftmaxWithLoss()
    value = loss.forward(affine.forward(hs), ts)
    dhs = affine.backward(loss.backward(dout))
    return value, dhs, affine.grads


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ignored", ["none", "some", "all"])
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("rows", [1, 3, 20, 1000])  # rows per chunk: 1, uneven, exact, one chunk
# top shifts every score: 0 needs no max shift; +-100 overflow / underflow exp() in float32
# only (float64 goes on unshifted), +-1000 in both: the block is redone with the shift
@pytest.mark.parametrize("top", [0.0, 100.0, -100.0, 1000.0, -1000.0])
def test_fused_output_equals_time_affine_and_softmax_loss(dtype, ignored, tied, rows, top):
    rng = np.random.default_rng(3)
    W, b, hs, ts = _output_case(rng, dtype, ignored, tied, top)
    ref_value, ref_dhs, ref_grads = _book_pair(W, b, hs, ts, 2.5)
    layer = TimeAffineSoftmaxWithLoss(W, b, chunk_bytes=rows * W.shape[1] * W.dtype.itemsize)
    value = layer.forward(hs, ts)
    dhs = layer.backward(2.5)
    tol = _tol(dtype)
    assert value == pytest.approx(ref_value, rel=tol, abs=tol)
    np.testing.assert_allclose(dhs, ref_dhs, rtol=tol, atol=tol)
    for g, ref in zip(layer.grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, ref, rtol=tol, atol=tol)
    assert dhs.dtype == dtype and layer.grads[0].dtype == dtype
    if ignored == "all":
        assert value == 0.0 and not dhs.any() and not any(g.any() for g in layer.grads)
    else:
        assert np.abs(dhs).max() > 1e-3  # a real gradient, not an empty comparison
    np.testing.assert_allclose(layer.predict(hs), TimeAffine(W, b).forward(hs), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows", [1, 4, 1000])
def test_fused_output_redoes_only_the_blocks_whose_scores_are_large(dtype, rows):
    """Rows 5-6 of 20 have scores near 30000 (exp() overflows in both dtypes without the
    shift) and rows 12 near -30000 (underflows): their blocks take the shifted path, the
    others the unshifted one, and all rows equal the book-shaped layers'."""
    rng = np.random.default_rng(9)
    W, b, hs, ts = _output_case(rng, dtype, "some", False)
    hs = hs.copy()
    hs[1, :2] *= 10000.0  # rows 5 and 6 of the (N*T,) rows
    hs[2, 2] *= -10000.0  # row 12
    ref_value, ref_dhs, ref_grads = _book_pair(W, b, hs, ts, 1.0)
    layer = TimeAffineSoftmaxWithLoss(W, b, chunk_bytes=rows * W.shape[1] * W.dtype.itemsize)
    assert np.isfinite(ref_value) and ref_value > 100  # the large rows dominate the loss
    tol = _tol(dtype)
    assert layer.forward(hs, ts) == pytest.approx(ref_value, rel=tol)
    np.testing.assert_allclose(layer.backward(), ref_dhs, rtol=tol, atol=tol)
    for g, ref in zip(layer.grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, ref, rtol=tol, atol=tol * 10000)  # x holds 1e4


def test_fused_output_one_hot_targets_and_evaluation_mode():
    rng = np.random.default_rng(4)
    W, b, hs, ts = _output_case(rng, np.float64, "none", False)
    ref_value, _, _ = _book_pair(W, b, hs, ts, 1)
    layer = TimeAffineSoftmaxWithLoss(W, b)
    assert layer.forward(hs, np.eye(W.shape[1])[ts]) == pytest.approx(ref_value, rel=1e-12)
    layer.train_flg = False  # the loss only: no gradients, so no backward
    layer.grads[0][...] = 7.0
    assert layer.forward(hs, ts) == pytest.approx(ref_value, rel=1e-12)
    assert (layer.grads[0] == 7.0).all()
    with pytest.raises(RuntimeError, match="train_flg=True"):
        layer.backward()


def test_fused_output_bad_targets():
    layer = TimeAffineSoftmaxWithLoss(np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"\[0, 4\).*-1.*from 0 to 4"):
        layer.forward(np.zeros((2, 3, 3)), np.array([[0, 1, 2], [3, 4, 0]]))
    with pytest.raises(ValueError, match=r"hs must have shape \(\?, \?, 3\)"):
        layer.forward(np.zeros((2, 3, 4)), np.zeros((2, 3), int))


def test_fused_output_empty_batch_is_a_user_error():
    """As for TimeSoftmaxWithLoss: the user's empty batch is an InputError (one line and
    exit 2 in the CLI), not a bare ValueError that reads as a bug inside zeronlp."""
    from zeronlp.errors import InputError

    layer = TimeAffineSoftmaxWithLoss(np.zeros((3, 4)), np.zeros(4))
    for hs, ts in [
        (np.zeros((0, 2, 3)), np.zeros((0, 2), int)),
        (np.zeros((2, 0, 3)), np.zeros((2, 0), int)),
    ]:
        with pytest.raises(InputError, match="empty batch"):
            layer.forward(hs, ts)


def test_fused_output_never_holds_the_scores():
    """At N*T = 700, V = 20000 the float32 scores take 53 MiB; with chunks of 2 MiB the
    layer's forward and backward together allocate a few chunks and the (N*T, D + 1) inputs."""
    rng = np.random.default_rng(5)
    N, T, D, V = 20, 35, 16, 20000
    W = (rng.standard_normal((D, V)) * 0.1).astype(np.float32)
    layer = TimeAffineSoftmaxWithLoss(W, np.zeros(V, np.float32), chunk_bytes=1 << 21)
    hs = rng.standard_normal((N, T, D)).astype(np.float32)
    ts = rng.integers(0, V, size=(N, T))
    tracemalloc.start()
    layer.forward(hs, ts)
    layer.backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"


# ---------------------------------------------------------------- the models use them


class BookRnnlm:
    """The book's Rnnlm from the book-shaped layers, sharing another model's arrays."""

    def __init__(self, params):
        E, Wx, Wh, b, W, bo = params
        self.layers = [TimeEmbedding(E), TimeLSTM(Wx, Wh, b, stateful=True), TimeAffine(W, bo)]
        self.loss = TimeSoftmaxWithLoss()
        self.grads = [g for layer in self.layers for g in layer.grads]

    def forward(self, xs, ts):
        for layer in self.layers:
            xs = layer.forward(xs)
        return self.loss.forward(xs, ts)

    def backward(self):
        d = self.loss.backward()
        for layer in reversed(self.layers):
            d = layer.backward(d)


def test_rnnlm_uses_the_fused_output_and_equals_the_book_shaped_model():
    seed(0)
    with default_float(np.float64):
        model = Rnnlm(11, 4, 5)
    assert type(model.lstm_layer) is TimeLSTM  # the book's layer (docs/time_layers.md: why)
    assert isinstance(model.loss_layer, TimeAffineSoftmaxWithLoss)
    book = BookRnnlm(model.params)
    rng = np.random.default_rng(7)
    for _ in range(2):  # the state carries over in both
        xs, ts = rng.integers(0, 11, (3, 4)), rng.integers(0, 11, (3, 4))
        assert model.forward(xs, ts) == pytest.approx(book.forward(xs, ts), rel=1e-12)
        model.backward()
        book.backward()
        for g, ref in zip(model.grads, book.grads, strict=True):
            np.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", [BetterRnnlm, TransformerLM])
def test_other_language_models_use_the_fused_output(cls):
    seed(0)
    model = cls(10, 8, 8) if cls is BetterRnnlm else cls(10, 8, 2, 16, 1)
    assert isinstance(model.loss_layer, TimeAffineSoftmaxWithLoss)


def test_fused_output_writes_grads_in_backward_only():
    """A forward (of a numerical gradient check, say) between a backward and the update
    leaves the gradients alone, as with every other layer."""
    rng = np.random.default_rng(8)
    W, b, hs, ts = _output_case(rng, np.float64, "none", False)
    layer = TimeAffineSoftmaxWithLoss(W, b)
    layer.forward(hs, ts)
    layer.backward()
    grads = [g.copy() for g in layer.grads]
    layer.forward(hs + 1.0, ts)
    for g, before in zip(layer.grads, grads, strict=True):
        np.testing.assert_array_equal(g, before)
