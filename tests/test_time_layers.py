"""Tests of zeronlp.time_layers: gradient checks, PyTorch comparisons, the seeds' numbers."""

from __future__ import annotations

import numpy as np
import pytest

from zeronlp.convert import lstm_params_from_torch, lstm_params_to_torch
from zeronlp.gradcheck import gradcheck
from zeronlp.time_layers import (
    GRU,
    LSTM,
    RNN,
    TimeAffine,
    TimeBiLSTM,
    TimeDropout,
    TimeEmbedding,
    TimeGRU,
    TimeLSTM,
    TimeRNN,
    TimeSigmoidWithLoss,
    TimeSoftmaxWithLoss,
)

GRAD_TOL = 1e-6  # float64 central differences give ~1e-8 for a correct backward

# (N, T, D, H), edge cases included
SHAPES = [(2, 3, 4, 3), (1, 1, 2, 1), (1, 4, 1, 1), (3, 1, 2, 2), (2, 5, 3, 1)]


def weights(rng, D, H, gates, dtype=np.float64, scale=0.5):
    Wx = (rng.standard_normal((D, gates * H)) * scale).astype(dtype)
    Wh = (rng.standard_normal((H, gates * H)) * scale).astype(dtype)
    b = (rng.standard_normal(gates * H) * scale).astype(dtype)
    return Wx, Wh, b


def assert_grads_ok(errors):
    assert errors, "gradcheck compared nothing"
    worst = max(errors, key=errors.get)
    assert errors[worst] < GRAD_TOL, (worst, errors)


class StateLayer:
    """Wraps a Time recurrent layer so that gradcheck also checks the initial-state
    gradients: forward(xs, h0[, c0]) -> hs, backward(dhs) -> (dxs, dh0[, dc0])."""

    def __init__(self, layer):
        self.layer = layer
        self.params, self.grads = layer.params, layer.grads

    def forward(self, xs, *state):
        self.layer.set_state(*state)
        return self.layer.forward(xs)

    def backward(self, dhs):
        dxs = self.layer.backward(dhs)
        if isinstance(self.layer, TimeLSTM):
            return dxs, self.layer.dh, self.layer.dc
        return dxs, self.layer.dh


# ---------------------------------------------------------------- gradient checks


@pytest.mark.parametrize("N,T,D,H", SHAPES)
@pytest.mark.parametrize("cls,gates", [(TimeRNN, 1), (TimeLSTM, 4), (TimeGRU, 3)])
def test_time_recurrent_gradcheck(cls, gates, N, T, D, H):
    rng = np.random.default_rng(N * 100 + T * 10 + D + H)
    xs = rng.standard_normal((N, T, D))
    assert_grads_ok(gradcheck(cls(*weights(rng, D, H, gates)), xs))


@pytest.mark.parametrize("N,T,D,H", SHAPES[:3])
@pytest.mark.parametrize("cls,gates", [(TimeRNN, 1), (TimeLSTM, 4), (TimeGRU, 3)])
def test_time_recurrent_gradcheck_initial_state(cls, gates, N, T, D, H):
    rng = np.random.default_rng(7 + N + T)
    layer = StateLayer(cls(*weights(rng, D, H, gates), stateful=True))
    xs = rng.standard_normal((N, T, D))
    state = [rng.standard_normal((N, H)) for _ in range(2 if cls is TimeLSTM else 1)]
    errors = gradcheck(layer, xs, *state)
    assert len(errors) == 3 + 1 + len(state)
    assert_grads_ok(errors)


@pytest.mark.parametrize("N,D,H", [(2, 3, 4), (1, 1, 1), (3, 2, 1)])
def test_step_layers_gradcheck(N, D, H):
    rng = np.random.default_rng(3)
    x, h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    c = rng.standard_normal((N, H))
    assert_grads_ok(gradcheck(RNN(*weights(rng, D, H, 1)), x, h))
    errors = gradcheck(LSTM(*weights(rng, D, H, 4)), x, h, c)
    expected = {"params[0]", "params[1]", "params[2]", "inputs[0]", "inputs[1]", "inputs[2]"}
    assert set(errors) == expected
    assert_grads_ok(errors)
    assert_grads_ok(gradcheck(GRU(*weights(rng, D, H, 3)), x, h))


@pytest.mark.parametrize("N,T,D,H", SHAPES[:3])
def test_time_bilstm_gradcheck(N, T, D, H):
    rng = np.random.default_rng(11)
    layer = TimeBiLSTM(*weights(rng, D, H, 4), *weights(rng, D, H, 4))
    assert_grads_ok(gradcheck(layer, rng.standard_normal((N, T, D))))


@pytest.mark.parametrize("N,T", [(2, 3), (1, 1)])
def test_time_embedding_affine_gradcheck(N, T):
    rng = np.random.default_rng(5)
    ids = np.array([[1, 4, 1], [0, 4, 4]])[:N, :T]  # repeated ids
    assert_grads_ok(gradcheck(TimeEmbedding(rng.standard_normal((5, 3))), ids))
    affine = TimeAffine(rng.standard_normal((3, 4)), rng.standard_normal(4))
    assert_grads_ok(gradcheck(affine, rng.standard_normal((N, T, 3))))


@pytest.mark.parametrize(
    "ts", [[[1, 4, 0], [2, -1, 4]], [[-1, -1, 3], [-1, -1, -1]], [[0, 1, 2], [3, 4, 0]]]
)
def test_time_softmax_with_loss_gradcheck(ts):
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((2, 3, 5)) * 3
    assert_grads_ok(gradcheck(TimeSoftmaxWithLoss(), xs, np.array(ts)))


def test_time_sigmoid_with_loss_and_dropout_gradcheck():
    rng = np.random.default_rng(4)
    xs = rng.standard_normal((3, 4)) * 3
    ts = (rng.random((3, 4)) > 0.5).astype(np.int64)
    assert_grads_ok(gradcheck(TimeSigmoidWithLoss(), xs, ts))
    drop = TimeDropout(0.3)
    assert_grads_ok(gradcheck(drop, rng.standard_normal((2, 3, 4))))


# ---------------------------------------------------------------- against PyTorch


def _t(a, requires_grad=False):
    torch = pytest.importorskip("torch")
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=requires_grad)


def _torch_lstm(Wx, Wh, b, bidirectional_reverse=None):
    torch = pytest.importorskip("torch")
    D, H = Wx.shape[0], Wh.shape[0]
    lstm = torch.nn.LSTM(D, H, batch_first=True, bidirectional=bidirectional_reverse is not None)
    lstm = lstm.double()
    with torch.no_grad():
        suffixes = [("", (Wx, Wh, b))]
        if bidirectional_reverse is not None:
            suffixes.append(("_reverse", bidirectional_reverse))
        for suffix, (wx, wh, bb) in suffixes:
            w_ih, w_hh, bias = lstm_params_to_torch(wx, wh, bb)
            getattr(lstm, "weight_ih_l0" + suffix).copy_(torch.from_numpy(w_ih))
            getattr(lstm, "weight_hh_l0" + suffix).copy_(torch.from_numpy(w_hh))
            getattr(lstm, "bias_ih_l0" + suffix).copy_(torch.from_numpy(bias))
            getattr(lstm, "bias_hh_l0" + suffix).zero_()
    return lstm


def _torch_grad_book_layout(lstm, suffix=""):
    """PyTorch's LSTM gradients mapped to the book's (dWx, dWh, db)."""
    g = {name: p.grad.numpy() for name, p in lstm.named_parameters()}
    return lstm_params_from_torch(
        g["weight_ih_l0" + suffix], g["weight_hh_l0" + suffix], g["bias_ih_l0" + suffix]
    )


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("N,T,D,H", SHAPES)
@pytest.mark.parametrize("with_state", [False, True])
def test_time_lstm_matches_torch(N, T, D, H, with_state):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(N + 2 * T + 3 * D + 5 * H)
    Wx, Wh, b = weights(rng, D, H, 4)
    xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    layer = TimeLSTM(Wx, Wh, b, stateful=with_state)
    if with_state:
        layer.set_state(h0, c0)
    hs = layer.forward(xs)
    dxs = layer.backward(dhs)

    lstm = _torch_lstm(Wx, Wh, b)
    x_t = _t(xs, True)
    h0_t, c0_t = (
        _t(h0 if with_state else np.zeros((N, H)), True),
        _t(c0 if with_state else 0 * c0, True),
    )
    out, (hT, cT) = lstm(x_t, (h0_t[None], c0_t[None]))
    out.backward(torch.from_numpy(dhs))
    _close(hs, out.detach().numpy())
    _close(layer.h, hT[0].detach().numpy())
    _close(layer.c, cT[0].detach().numpy())
    _close(dxs, x_t.grad.numpy())
    for ours, theirs in zip(layer.grads, _torch_grad_book_layout(lstm), strict=True):
        _close(ours, theirs)
    _close(layer.dh, h0_t.grad.numpy())
    _close(layer.dc, c0_t.grad.numpy())


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_time_rnn_matches_torch(N, T, D, H):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(17 + N + T + D + H)
    Wx, Wh, b = weights(rng, D, H, 1)
    xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    h0 = rng.standard_normal((N, H))
    layer = TimeRNN(Wx, Wh, b, stateful=True)
    layer.set_state(h0)
    hs = layer.forward(xs)
    dxs = layer.backward(dhs)

    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
        rnn.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        rnn.bias_ih_l0.copy_(torch.from_numpy(b))
        rnn.bias_hh_l0.zero_()
    x_t, h0_t = _t(xs, True), _t(h0, True)
    out, _ = rnn(x_t, h0_t[None])
    out.backward(torch.from_numpy(dhs))
    _close(hs, out.detach().numpy())
    _close(dxs, x_t.grad.numpy())
    _close(layer.grads[0], rnn.weight_ih_l0.grad.numpy().T)
    _close(layer.grads[1], rnn.weight_hh_l0.grad.numpy().T)
    _close(layer.grads[2], rnn.bias_ih_l0.grad.numpy())
    _close(layer.dh, h0_t.grad.numpy())


@pytest.mark.parametrize("N,T,D,H", SHAPES[:3])
def test_time_bilstm_matches_torch(N, T, D, H):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(23)
    fw, bw = weights(rng, D, H, 4), weights(rng, D, H, 4)
    xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, 2 * H))
    layer = TimeBiLSTM(*fw, *bw)
    hs = layer.forward(xs)
    dxs = layer.backward(dhs)

    lstm = _torch_lstm(*fw, bidirectional_reverse=bw)
    x_t = _t(xs, True)
    out, _ = lstm(x_t)
    out.backward(torch.from_numpy(dhs))
    _close(hs, out.detach().numpy())
    _close(dxs, x_t.grad.numpy())
    theirs = _torch_grad_book_layout(lstm) + _torch_grad_book_layout(lstm, "_reverse")
    for ours, ref in zip(layer.grads, theirs, strict=True):
        _close(ours, ref)


@pytest.mark.parametrize("offset", [0.0, 300.0, -300.0, 55.0])  # +-300: exp() needs the shift
@pytest.mark.parametrize("N,T,V", [(2, 3, 5), (1, 1, 4), (3, 4, 1)])
def test_time_softmax_with_loss_matches_torch(N, T, V, offset):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(N * T * V)
    xs = rng.standard_normal((N, T, V)) * 4 + offset
    ts = rng.integers(0, V, size=(N, T))
    ts[0, 0] = -1
    if N * T == 1:
        ts[0, 0] = V - 1
    layer = TimeSoftmaxWithLoss()
    loss = layer.forward(xs, ts)
    dxs = layer.backward(2.5)
    x_t = _t(xs, True)
    ref = torch.nn.functional.cross_entropy(
        x_t.reshape(N * T, V), torch.from_numpy(ts.reshape(-1)), ignore_index=-1
    )
    (ref * 2.5).backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    _close(dxs, x_t.grad.numpy())


def test_time_sigmoid_with_loss_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    xs = rng.standard_normal((3, 5)) * 5
    ts = (rng.random((3, 5)) > 0.5).astype(np.float64)
    layer = TimeSigmoidWithLoss()
    loss = layer.forward(xs, ts)
    dxs = layer.backward(1.5)
    x_t = _t(xs, True)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(x_t, torch.from_numpy(ts))
    (ref * 1.5).backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    _close(dxs, x_t.grad.numpy())


def test_lstm_params_mapping_round_trip():
    rng = np.random.default_rng(0)
    Wx, Wh, b = weights(rng, 3, 2, 4)
    w_ih, w_hh, bias = lstm_params_to_torch(Wx, Wh, b)
    assert w_ih.shape == (8, 3) and w_hh.shape == (8, 2) and bias.shape == (8,)
    # torch's i block is the book's third block, f the first
    np.testing.assert_array_equal(w_ih[:2], Wx[:, 4:6].T)
    np.testing.assert_array_equal(w_ih[2:4], Wx[:, 0:2].T)
    half = bias / 2
    back = lstm_params_from_torch(w_ih, w_hh, half, half)
    for a, b2 in zip(back, (Wx, Wh, b), strict=True):
        np.testing.assert_allclose(a, b2, rtol=0, atol=1e-15)


def test_time_affine_matches_torch_and_keeps_grad_arrays():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    E = rng.standard_normal((5, 3))
    b = rng.standard_normal(5)
    layer = TimeAffine(E.T, b)  # weight tying: W is a transposed view of an embedding
    grads_before = [id(g) for g in layer.grads]
    xs, dout = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 5))
    out = layer.forward(xs)
    dxs = layer.backward(dout)
    x_t, W_t, b_t = _t(xs, True), _t(E.T, True), _t(b, True)
    ref = x_t @ W_t + b_t
    ref.backward(torch.from_numpy(dout))
    _close(out, ref.detach().numpy())
    _close(dxs, x_t.grad.numpy())
    _close(layer.grads[0], W_t.grad.numpy())
    _close(layer.grads[1], b_t.grad.numpy())
    assert [id(g) for g in layer.grads] == grads_before
    assert layer.grads[0].shape == (3, 5) and layer.grads[1].shape == (5,)


def _sig(x):
    return 1 / (1 + np.exp(-x))


def test_gru_is_the_books_formulation():
    """Pins the forward formula (gradcheck alone would accept any differentiable one)."""
    rng = np.random.default_rng(12)
    N, T, D, H = 2, 3, 4, 3
    Wx, Wh, b = weights(rng, D, H, 3)
    xs = rng.standard_normal((N, T, D))
    hs = TimeGRU(Wx, Wh, b).forward(xs)
    h = np.zeros((N, H))
    for t in range(T):
        x = xs[:, t]
        z = _sig(x @ Wx[:, :H] + h @ Wh[:, :H] + b[:H])
        r = _sig(x @ Wx[:, H : 2 * H] + h @ Wh[:, H : 2 * H] + b[H : 2 * H])
        hh = np.tanh(x @ Wx[:, 2 * H :] + (r * h) @ Wh[:, 2 * H :] + b[2 * H :])
        h = (1 - z) * h + z * hh
        np.testing.assert_allclose(hs[:, t], h, rtol=1e-12, atol=1e-14)
    # the book's first GRU(Wx, Wh) had no bias (its erratum added one): b=None is a zero bias
    step = GRU(Wx, Wh)
    np.testing.assert_array_equal(step.params[2], np.zeros(3 * H))
    h1 = step.forward(xs[:, 0], np.zeros((N, H)))
    np.testing.assert_allclose(h1, TimeGRU(Wx, Wh).forward(xs[:, :1])[:, 0], rtol=1e-14)
    step.backward(np.ones((N, H)))
    assert step.dWx is step.grads[0] and step.dWh is step.grads[1]


def test_gru_exposes_the_books_gradient_names():
    """The book's corrected GRU sets dWx, dWh and db after backward; a notebook reads them."""
    rng = np.random.default_rng(14)
    N, D, H = 2, 3, 4
    step = GRU(*weights(rng, D, H, 3))
    step.forward(rng.standard_normal((N, D)), rng.standard_normal((N, H)))
    step.backward(rng.standard_normal((N, H)))
    assert step.dWx is step.grads[0] and step.dWh is step.grads[1] and step.db is step.grads[2]
    assert np.abs(step.db).max() > 0  # a real gradient


def test_step_layers_equal_time_layers_with_state():
    rng = np.random.default_rng(13)
    N, D, H = 3, 2, 4
    x = rng.standard_normal((N, D))
    h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    w = weights(rng, D, H, 4)
    h1, c1 = LSTM(*w).forward(x, h0, c0)
    lstm = TimeLSTM(*w, stateful=True)
    lstm.set_state(h0, c0)
    np.testing.assert_allclose(lstm.forward(x[:, None])[:, 0], h1, rtol=1e-14)
    np.testing.assert_allclose(lstm.c, c1, rtol=1e-14)
    w = weights(rng, D, H, 1)
    rnn = TimeRNN(*w, stateful=True)
    rnn.set_state(h0)
    np.testing.assert_allclose(rnn.forward(x[:, None])[:, 0], RNN(*w).forward(x, h0), rtol=1e-14)
    w = weights(rng, D, H, 3)
    gru = TimeGRU(*w, stateful=True)
    gru.set_state(h0)
    np.testing.assert_allclose(gru.forward(x[:, None])[:, 0], GRU(*w).forward(x, h0), rtol=1e-14)


# ---------------------------------------------------------------- stateful halves


@pytest.mark.parametrize("cls,gates", [(TimeRNN, 1), (TimeLSTM, 4), (TimeGRU, 3)])
def test_stateful_halves_equal_one_call(cls, gates):
    rng = np.random.default_rng(9)
    w = weights(rng, 3, 4, gates, dtype=np.float32)
    xs = rng.standard_normal((2, 6, 3)).astype(np.float32)
    whole = cls(*w).forward(xs)
    layer = cls(*w, stateful=True)
    first, second = layer.forward(xs[:, :3]), layer.forward(xs[:, 3:])
    np.testing.assert_array_equal(np.concatenate([first, second], axis=1), whole)
    # not stateful: every call starts from zeros
    plain = cls(*w)
    plain.forward(xs[:, :3])
    np.testing.assert_array_equal(plain.forward(xs[:, 3:]), cls(*w).forward(xs[:, 3:]))
    layer.reset_state()
    np.testing.assert_array_equal(layer.forward(xs), whole)


# ---------------------------------------------------------------- the seeds' numbers


def _tanh_free(a):
    return a


def _tanh_free_backward(dh, h):
    return dh


class IdentityTimeRNN(TimeRNN):
    """Seed 002's TimeRNN: it drops the tanh on purpose to check numbers by hand."""

    activation = staticmethod(_tanh_free)
    activation_backward = staticmethod(_tanh_free_backward)


class IdentityRNN(RNN):
    activation = staticmethod(_tanh_free)
    activation_backward = staticmethod(_tanh_free_backward)


def _seed002_inputs():
    batch_x = np.array([[0, 1, 2]], dtype=np.int32)
    embed_W = np.arange(28).reshape(7, 4)
    rnn_w = (np.ones((4, 3), "f"), np.ones((3, 3), "f"), np.full((3,), 3, "f"))
    return batch_x, embed_W, rnn_w


def test_seed002_time_embedding_and_identity_rnn():
    batch_x, embed_W, rnn_w = _seed002_inputs()
    embed = TimeEmbedding(embed_W)
    out = embed.forward(batch_x)
    np.testing.assert_array_equal(out, [[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]])
    rnn = IdentityTimeRNN(*rnn_w)
    hs = rnn.forward(out.astype("f"))  # the notebook's TimeEmbedding returned float32
    assert hs.dtype == np.float32
    np.testing.assert_array_equal(hs, [[[9] * 3, [52] * 3, [197] * 3]])
    dxs = rnn.backward(np.array([[[1, 1, 1], [2, 2, 2], [3, 3, 3]]], dtype="f"))
    np.testing.assert_array_equal(rnn.grads[0], [[68] * 3, [116] * 3, [164] * 3, [212] * 3])
    np.testing.assert_array_equal(rnn.grads[1], np.full((3, 3), 255))
    np.testing.assert_array_equal(rnn.grads[2], [48, 48, 48])
    np.testing.assert_array_equal(dxs, [[[102] * 4, [33] * 4, [9] * 4]])
    np.testing.assert_array_equal(rnn.dh, [[102, 102, 102]])
    # the notebook's integer embedding weights get integer gradients
    embed.backward(dxs.astype(embed_W.dtype))
    expected = np.zeros((7, 4), dtype=int)
    expected[0], expected[1], expected[2] = 102, 33, 9
    np.testing.assert_array_equal(embed.grads[0], expected)


def test_seed002_identity_rnn_steps():
    """The per-step values the notebook prints inside its RNN.backward."""
    _, _, rnn_w = _seed002_inputs()
    xs = np.arange(12, dtype="f").reshape(3, 4)
    h_prevs = [np.zeros((1, 3), "f"), np.full((1, 3), 9, "f"), np.full((1, 3), 52, "f")]
    printed = {  # step: (db, dWh, dh_prev, dWx rows)
        2: (3, 156, 9, [24, 27, 30, 33]),
        1: (11, 99, 33, [44, 55, 66, 77]),
        0: (34, 0, 102, [0, 34, 68, 102]),
    }
    dh = np.zeros((1, 3), "f")
    for t in (2, 1, 0):
        step = IdentityRNN(*rnn_w)
        step.forward(xs[t : t + 1], h_prevs[t])
        _, dh = step.backward(np.full((1, 3), t + 1, "f") + dh)
        db, dWh, dh_prev, dWx = printed[t]
        np.testing.assert_array_equal(step.grads[2], [db] * 3)
        np.testing.assert_array_equal(step.grads[1], np.full((3, 3), dWh))
        np.testing.assert_array_equal(dh, [[dh_prev] * 3])
        np.testing.assert_array_equal(step.grads[0], np.repeat(np.array(dWx)[:, None], 3, 1))


def test_seed002_real_tanh_rnn_matches_torch():
    torch = pytest.importorskip("torch")
    batch_x, embed_W, rnn_w = _seed002_inputs()
    xs = TimeEmbedding(embed_W.astype(np.float64)).forward(batch_x) / 10
    Wx, Wh, b = (w.astype(np.float64) / 10 for w in rnn_w)
    rnn = TimeRNN(Wx, Wh, b)
    hs = rnn.forward(xs)
    dhs = np.array([[[1.0] * 3, [2.0] * 3, [3.0] * 3]])
    dxs = rnn.backward(dhs)
    ref = torch.nn.RNN(4, 3, batch_first=True).double()
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
        ref.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        ref.bias_ih_l0.copy_(torch.from_numpy(b))
        ref.bias_hh_l0.zero_()
    x_t = _t(xs, True)
    out, _ = ref(x_t)
    out.backward(torch.from_numpy(dhs))
    _close(hs, out.detach().numpy())
    _close(dxs, x_t.grad.numpy())
    _close(rnn.grads[0], ref.weight_ih_l0.grad.numpy().T)
    _close(rnn.grads[1], ref.weight_hh_l0.grad.numpy().T)


def test_seed003_time_embedding():
    np.random.seed(1234)
    embed_W = np.random.randn(10, 3)
    np.testing.assert_allclose(embed_W[0], [4.71435164e-01, -1.19097569e00, 1.43270697e00])
    xs = np.array([[2, 5, 1, 4], [3, 2, 7, 8]])
    layer = TimeEmbedding(embed_W)
    out = layer.forward(xs)
    np.testing.assert_array_equal(out, embed_W[xs])
    dout = np.random.randn(2, 4, 3)
    printed_dout = [
        [[-0.39784023, 0.33743765, 1.04757857], [1.04593826, 0.86371729, -0.12209157]],
        [[0.03614194, -2.0749776, 0.2477922], [-0.89715678, -0.13679483, 0.01828919]],
    ]
    np.testing.assert_allclose(dout[:, :2], printed_dout, rtol=1e-7)
    np.testing.assert_allclose(dout[0, 2], [0.12471295, -0.32279481, 0.84167471], rtol=1e-7)
    assert layer.backward(dout) is None
    dW = layer.grads[0]
    # what the notebook printed before its output was cut off
    np.testing.assert_array_equal(dW[0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(dW[1], [0.12471295, -0.32279481, 0.84167471], rtol=1e-7)
    np.testing.assert_allclose(dW[2], [-1.29499701, 0.20064282, 1.06586776], rtol=1e-7)
    assert f"{dW[3, 0]:.6f}" == "0.036142"
    expected = np.zeros_like(embed_W)
    np.add.at(expected, xs, dout)
    np.testing.assert_allclose(dW, expected, rtol=1e-15)


# ---------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_kept(dtype):
    rng = np.random.default_rng(1)
    N, T, D, H, V = 2, 3, 4, 5, 6
    xs = rng.standard_normal((N, T, D)).astype(dtype)
    dhs = rng.standard_normal((N, T, H)).astype(dtype)
    layers = [
        TimeRNN(*weights(rng, D, H, 1, dtype)),
        TimeLSTM(*weights(rng, D, H, 4, dtype)),
        TimeGRU(*weights(rng, D, H, 3, dtype)),
        TimeAffine(*weights(rng, D, H, 1, dtype)[::2]),
    ]
    for layer in layers:
        hs = layer.forward(xs)
        assert hs.dtype == dtype, type(layer).__name__
        assert layer.backward(dhs).dtype == dtype, type(layer).__name__
        assert all(g.dtype == dtype for g in layer.grads)
    bi = TimeBiLSTM(*weights(rng, D, H, 4, dtype), *weights(rng, D, H, 4, dtype))
    assert bi.forward(xs).dtype == dtype
    assert bi.backward(np.concatenate([dhs, dhs], axis=2)).dtype == dtype
    emb = TimeEmbedding(rng.standard_normal((V, D)).astype(dtype))
    assert emb.forward(np.array([[0, 1, 5]])).dtype == dtype
    loss_layer = TimeSoftmaxWithLoss()
    loss = loss_layer.forward(rng.standard_normal((N, T, V)).astype(dtype), np.zeros((N, T), int))
    assert isinstance(loss, float)
    assert loss_layer.backward().dtype == dtype
    drop = TimeDropout(0.5)
    assert drop.forward(xs).dtype == dtype
    assert drop.backward(xs).dtype == dtype


def test_float64_input_to_float32_layer_stays_float32():
    rng = np.random.default_rng(1)
    layer = TimeLSTM(*weights(rng, 3, 2, 4, np.float32))
    hs = layer.forward(rng.standard_normal((2, 3, 3)))
    assert hs.dtype == np.float32
    assert layer.backward(np.ones((2, 3, 2))).dtype == np.float32


# ---------------------------------------------------------------- losses, dropout, errors


def test_all_targets_ignored_gives_zero_loss_and_gradient():
    xs = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    layer = TimeSoftmaxWithLoss()
    with np.errstate(all="raise"):
        loss = layer.forward(xs, np.full((2, 3), -1))
        dxs = layer.backward()
    assert loss == 0.0
    assert dxs.shape == xs.shape and dxs.dtype == np.float32
    assert not dxs.any()


def test_softmax_loss_one_hot_targets_and_large_scores():
    xs = np.array([[[1000.0, 0.0, -1000.0], [0.0, 1.0, 2.0]]])
    ts = np.array([[0, 2]])
    layer = TimeSoftmaxWithLoss()
    loss = layer.forward(xs, ts)
    expected = (0.0 + (np.log(np.exp([0.0, 1.0, 2.0]).sum()) - 2.0)) / 2
    assert loss == pytest.approx(expected, rel=1e-12)
    one_hot = np.eye(3)[ts]
    assert TimeSoftmaxWithLoss().forward(xs, one_hot) == pytest.approx(expected, rel=1e-12)
    dxs = layer.backward()
    assert np.isfinite(dxs).all()
    np.testing.assert_allclose(dxs.sum(axis=2), 0, atol=1e-15)


@pytest.mark.parametrize("top", [50.0, 57.0, 58.0, 87.0, -58.0, -100.0])
def test_softmax_loss_float32_near_exp_limits(top):
    """Both the unshifted and the max-shifted exp() paths stay finite and exact in float32."""
    rng = np.random.default_rng(0)
    xs64 = rng.standard_normal((2, 3, 10)) + top
    ts = rng.integers(0, 10, size=(2, 3))
    ref = TimeSoftmaxWithLoss()
    expected = ref.forward(xs64, ts)
    dref = ref.backward()
    layer = TimeSoftmaxWithLoss()
    with np.errstate(all="raise"):
        loss = layer.forward(xs64.astype(np.float32), ts)
        dxs = layer.backward()
    assert loss == pytest.approx(expected, rel=1e-5, abs=1e-5)
    np.testing.assert_allclose(dxs, dref, atol=1e-6)


def test_softmax_loss_backward_twice_is_an_error():
    layer = TimeSoftmaxWithLoss()
    layer.forward(np.zeros((1, 2, 3)), np.array([[0, 1]]))
    layer.backward()
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward()


def test_time_dropout_train_and_eval():
    np.random.seed(0)
    xs = np.ones((50, 20, 10), dtype=np.float32)
    drop = TimeDropout(0.25)
    assert drop.train_flg is True
    out = drop.forward(xs)
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.02
    dout = np.full_like(xs, 2.0)
    np.testing.assert_array_equal(drop.backward(dout), np.where(kept, 2 / 0.75, 0).astype("f"))
    drop.train_flg = False
    np.testing.assert_array_equal(drop.forward(xs), xs)
    np.testing.assert_array_equal(drop.backward(dout), dout)


def test_time_sigmoid_with_loss_values():
    xs = np.array([[0.0, 2.0], [-1.0, 3.0]])
    ts = np.array([[1, 0], [0, 1]])
    loss = TimeSigmoidWithLoss().forward(xs, ts)
    p = 1 / (1 + np.exp(-xs))
    expected = -np.mean(ts * np.log(p) + (1 - ts) * np.log(1 - p))
    assert loss == pytest.approx(expected, rel=1e-12)


def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(0)
    lstm = TimeLSTM(*weights(rng, 3, 2, 4))
    with pytest.raises(RuntimeError, match="forward first"):
        lstm.backward(np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match=r"shape \(\?, \?, 3\).*\(2, 3, 4\)"):
        lstm.forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="shape"):
        lstm.forward(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="float"):
        lstm.forward(np.zeros((2, 3, 3), dtype=int))
    with pytest.raises(ValueError, match="empty"):
        lstm.forward(np.zeros((0, 3, 3)))
    lstm.forward(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3, 2\)"):
        lstm.backward(np.zeros((2, 3, 3)))
    stateful = TimeLSTM(*weights(rng, 3, 2, 4), stateful=True)
    stateful.set_state(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"state h must have shape \(2, 2\)"):
        stateful.forward(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="4H"):
        TimeLSTM(*weights(rng, 3, 2, 3))
    with pytest.raises(TypeError, match="float"):
        TimeRNN(np.ones((3, 2), int), np.ones((2, 2), int), np.ones(2, int))
    with pytest.raises(TypeError, match="dtype"):
        TimeRNN(np.ones((3, 2)), np.ones((2, 2), "f"), np.ones(2))
    with pytest.raises(TypeError, match="keyword"):
        TimeGRU(*weights(rng, 3, 2, 3)[:2], True)

    emb = TimeEmbedding(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"\[0, 5\).*from 0 to 5"):
        emb.forward(np.array([[0, 5]]))
    with pytest.raises(TypeError, match="integers"):
        emb.forward(np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        emb.forward(np.array([0, 1]))

    loss = TimeSoftmaxWithLoss()
    xs = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"\[0, 4\).*-1.*from 0 to 4"):
        loss.forward(xs, np.array([[0, 1, 2], [3, 4, 0]]))
    with pytest.raises(ValueError, match="from -2"):
        loss.forward(xs, np.array([[0, 1, 2], [3, -2, 0]]))
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        loss.forward(xs, np.zeros((3, 2), int))
    with pytest.raises(TypeError, match="integers"):
        loss.forward(xs, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(N, T, V\)"):
        loss.forward(np.zeros((2, 3)), np.zeros(2, int))
    with pytest.raises(ValueError, match=r"\(\?, \?, 4\)"):
        TimeAffine(np.zeros((4, 2)), np.zeros(2)).forward(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"b of shape \(2,\)"):
        TimeAffine(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(TypeError, match="float W"):
        TimeAffine(np.zeros((4, 2), int), np.zeros(2, int))


def test_seed004_transposed_gradient_is_explained_in_the_learners_terms():
    """Seed 004's key gradient Q^T dS is (N, d, T) where TimeAffine produced (N, T, d); the
    book's TimeAffine silently reshapes it. The error names the layer and both shapes."""
    rng = np.random.default_rng(0)
    N, T, D, d = 10, 29, 16, 64
    key = TimeAffine(rng.standard_normal((D, d)), np.zeros(d))
    out = key.forward(rng.standard_normal((N, T, D)))
    q, ds = rng.standard_normal((N, T, d)), rng.standard_normal((N, T, T))
    dkey = np.matmul(q.transpose(0, 2, 1), ds)  # the notebook's matmul(out_query_T, dx)
    assert dkey.shape == (N, d, T) and out.shape == (N, T, d)
    with pytest.raises(ValueError) as err:
        key.backward(dkey)
    message = str(err.value)
    for part in (
        "TimeAffine.backward got dout of shape (10, 64, 29)",
        "its forward produced an output of shape (10, 29, 64)",
        "must have that output's shape",
        "transposed",
    ):
        assert part in message


@pytest.mark.parametrize("cls", [TimeRNN, TimeLSTM, TimeGRU])
def test_a_carried_state_of_another_batch_size_is_dropped(cls):
    """A state left by a batch of another size starts afresh (as reset_state would); a
    state given with set_state must fit."""
    rng = np.random.default_rng(0)
    gates = {TimeRNN: 1, TimeLSTM: 4, TimeGRU: 3}[cls]
    layer = cls(*weights(rng, 3, 2, gates), stateful=True)
    fresh = cls(*[p.copy() for p in layer.params], stateful=True)
    layer.forward(rng.standard_normal((10, 4, 3)))
    xs = rng.standard_normal((1, 4, 3))
    np.testing.assert_array_equal(layer.forward(xs), fresh.forward(xs))
    layer.set_state(np.zeros((10, 2)))
    with pytest.raises(ValueError, match=r"state h must have shape \(1, 2\), got \(10, 2\)"):
        layer.forward(xs)


def test_softmax_loss_never_reads_the_device_in_a_step(monkeypatch):
    # the book-shaped loss on (fake) GPU arrays: no host read in forward or backward
    import fake_cupy

    gpu = fake_cupy.install(monkeypatch)
    rng = np.random.default_rng(0)
    xs, ts = rng.standard_normal((2, 3, 5)).astype(np.float32), rng.integers(0, 5, (2, 3))
    ts[0, 1] = -1
    cpu = TimeSoftmaxWithLoss()
    loss, dxs = cpu.forward(xs, ts), cpu.backward(2.0)
    layer = TimeSoftmaxWithLoss()
    with gpu.allow_synchronize(False):
        gpu_loss = layer.forward(gpu.asarray(xs), gpu.asarray(ts))
        gpu_dxs = layer.backward(2.0)
    assert float(gpu_loss) == pytest.approx(loss, rel=1e-6)
    np.testing.assert_allclose(np.asarray(gpu_dxs), dxs, rtol=1e-6)
    ignored = TimeSoftmaxWithLoss()
    with gpu.allow_synchronize(False):
        none_counted = ignored.forward(gpu.asarray(xs), gpu.asarray(np.full((2, 3), -1)))
        zero = ignored.backward()
    assert float(none_counted) == 0.0 and not np.asarray(zero).any()
