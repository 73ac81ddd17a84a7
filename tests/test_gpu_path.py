"""CPU-side tests of the GPU path: what can be proven without CuPy or a GPU."""

import types

import numpy as np
import pytest
from step_cases import STEP_MODELS, model_cases, train_step

from zeronlp import backend
from zeronlp.gradcheck import gradcheck


class _FakeCupyRandom:
    """CuPy's random API as gradcheck uses it: a global RandomState object, no get/set state."""

    class RandomState:
        def __init__(self, seed=None):
            self._rng = np.random.RandomState(seed)

        def rand(self, *shape):
            return self._rng.rand(*shape)

    def __init__(self):
        self._state = self.RandomState(12345)

    def get_random_state(self):
        return self._state

    def set_random_state(self, state):
        self._state = state


@pytest.fixture
def fake_cupy_random(monkeypatch):
    random = _FakeCupyRandom()
    fake = types.SimpleNamespace(
        random=random,
        ndarray=type("NotAnArray", (), {}),
        cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1)),
    )
    monkeypatch.setattr(backend, "_cupy", fake)
    return random


class _CupyDropout:
    """A dropout layer that draws from CuPy's global generator (as Dropout does on a GPU)."""

    params, grads = [], []

    def __init__(self, random):
        self.random = random

    def forward(self, x):
        self.mask = self.random.get_random_state().rand(*x.shape) > 0.5
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


def test_gradcheck_replays_cupys_random_draws(fake_cupy_random):
    original = fake_cupy_random.get_random_state()
    x = np.random.default_rng(0).standard_normal((4, 5))
    errors = gradcheck(_CupyDropout(fake_cupy_random), x)
    assert errors["inputs[0]"] < 1e-8
    assert fake_cupy_random.get_random_state() is original  # the user's generator is back


# ---------------------------------------------------------------- no host syncs in a step
#
# fake_cupy arrays raise on any host read inside allow_synchronize(False), as CuPy does
# under cupyx.allow_synchronize(False); a training step (forward, backward, clipping, the
# optimizer) must run under it. The loss is read afterwards, as the progress bar does.


def fake_cupy_module():
    import fake_cupy

    return fake_cupy


@pytest.fixture
def fake_gpu(monkeypatch):
    import fake_cupy

    return fake_cupy.install(monkeypatch)


@pytest.mark.parametrize(
    "read",
    [
        lambda a: float(a.sum()),
        lambda a: int(a.sum()),
        lambda a: bool(a.sum()),
        lambda a: a.sum().item(),
        lambda a: a.tolist(),
        lambda a: f"{a.sum():.3f}",
        lambda a: a[a > 0],
        lambda a: fake_cupy_module().flatnonzero(a),
        lambda a: a.nonzero(),
    ],
)
def test_fake_cupy_catches_every_host_read(fake_gpu, read):
    a = fake_gpu.asarray(np.array([1.5, -2.0]))
    assert isinstance(a.sum(), fake_gpu.ndarray) and isinstance(a[0], fake_gpu.ndarray)
    with fake_gpu.allow_synchronize(False), pytest.raises(fake_gpu.SynchronizeError):
        read(a)
    read(a)  # allowed outside


@pytest.mark.parametrize("name", STEP_MODELS)
def test_a_training_step_never_reads_the_device(fake_gpu, name):
    from zeronlp.optimizers import Adam

    make, x, t = model_cases()[name]
    model = make()
    assert all(isinstance(p, fake_gpu.ndarray) for p in model.params)
    x, t = fake_gpu.asarray(x), fake_gpu.asarray(t)  # the batch moves before the step
    optimizer = Adam(0.01)
    with fake_gpu.allow_synchronize(False):
        loss = train_step(model, x, t, optimizer)
    assert np.isfinite(float(loss))  # the one read: the loss shown to the user


@pytest.mark.parametrize("case", ["some ignored", "all ignored", "large scores"])
def test_fused_output_layer_on_a_device_equals_numpy(fake_gpu, case):
    """On a device the layer always shifts by the row max and keeps the count there."""
    from zeronlp.fused import TimeAffineSoftmaxWithLoss

    rng = np.random.default_rng(3)
    N, T, D, V = 2, 5, 4, 11
    hs, W, b = _f32(rng, N, T, D), _f32(rng, D, V), _f32(rng, V)
    ts = rng.integers(0, V, (N, T))
    ts[0, 1] = -1
    if case == "all ignored":
        ts[:] = -1
    if case == "large scores":  # exp() of the unshifted scores overflows float32
        W *= 100
    results = []
    for xp in (np, fake_gpu):
        layer = TimeAffineSoftmaxWithLoss(xp.asarray(W), xp.asarray(b), chunk_bytes=3 * V * 4)
        with fake_gpu.allow_synchronize(xp is np):
            loss = layer.forward(xp.asarray(hs), xp.asarray(ts))
            dhs = layer.backward(2.0)
        results.append([float(loss), *map(fake_gpu.asnumpy, [dhs, *layer.grads])])
    for ours, numpy_ in zip(*results, strict=True):
        np.testing.assert_allclose(ours, numpy_, rtol=1e-5, atol=1e-6)
    assert np.isfinite(results[1][0]) and (case != "all ignored" or results[1][0] == 0.0)


# ---------------------------------------------------------------- kernels' reference formulas
#
# Each CuPy kernel in zeronlp.fused.cupy_kernels is tested equal to its NumPy reference on a GPU
# (tests/test_gpu.py); here each reference is proven equal to the layer code it stands for.


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def test_lstm_kernel_references_equal_the_layer_step():
    from zeronlp.fused import cupy_kernels as K
    from zeronlp.time_layers import recurrent as R

    rng = np.random.default_rng(0)
    N, H = 3, 5
    a, m, c_prev = _f32(rng, N, 4 * H), _f32(rng, N, 4 * H), _f32(rng, N, H)
    gates, c, tc, h = a.copy(), *(np.empty((N, H), "f") for _ in range(3))
    K.lstm_step_forward(gates, m, c_prev, c, tc, h)
    h_ref, c_ref, cache = R.lstm_step(a + m, c_prev)  # the book-shaped step
    _, f, g, i, o, tc_ref = cache
    # sigmoid through tanh of the halved input: equal to float32 round-off
    for x, y in [(gates, np.hstack([f, g, i, o])), (c, c_ref), (tc, tc_ref), (h, h_ref)]:
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
    dh, dh_out, dc = _f32(rng, N, H), _f32(rng, N, H), _f32(rng, N, H)
    da = np.empty((N, 4 * H), "f")
    dc_prev = K.lstm_step_backward(dh, dh_out, dc, c_prev, tc, gates, da)
    da_ref, dc_prev_ref = R.lstm_step_backward(dh + dh_out, dc, cache)
    np.testing.assert_allclose(da, da_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dc_prev, dc_prev_ref, rtol=1e-5, atol=1e-6)


def test_gru_kernel_references_equal_the_layer_step():
    from zeronlp.fused import cupy_kernels as K
    from zeronlp.time_layers import recurrent as R

    rng = np.random.default_rng(1)
    N, H = 3, 5
    a, Wh, h_prev = _f32(rng, N, 3 * H), _f32(rng, H, 3 * H), _f32(rng, N, H)
    h_ref, cache = R.gru_step(a, h_prev, Wh)  # the book-shaped step
    _, z, r, h_hat = cache
    gates, rh, h = a.copy(), np.empty((N, H), "f"), np.empty((N, H), "f")
    K.gru_gates(gates, h_prev @ Wh[:, : 2 * H], h_prev, rh)
    K.gru_output(gates, rh @ Wh[:, 2 * H :], h_prev, h)
    for x, y in [(gates, np.hstack([z, r, h_hat])), (rh, r * h_prev), (h, h_ref)]:
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
    dh = _f32(rng, N, H)
    da_ref, dh_prev_ref = R.gru_step_backward(dh, cache, Wh)
    WhT = np.ascontiguousarray(Wh.T)
    da = np.empty_like(a)
    K.gru_backward_h(dh, h_prev, gates, da)
    dh_prev = K.gru_backward_zr(dh, da[:, 2 * H :] @ WhT[2 * H :], h_prev, gates, da)
    dh_prev += da[:, : 2 * H] @ WhT[: 2 * H]
    np.testing.assert_allclose(da, da_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dh_prev, dh_prev_ref, rtol=1e-5, atol=1e-6)


def test_softmax_loss_kernel_references_equal_the_loss_layer():
    from zeronlp import time_layers as TL
    from zeronlp.fused import cupy_kernels as K

    rng = np.random.default_rng(2)
    N, T, V = 2, 3, 7
    xs, ts = _f32(rng, N, T, V), rng.integers(0, V, (N, T))
    ts[0, 1] = -1  # an ignored target
    layer = TL.TimeSoftmaxWithLoss()
    loss = layer.forward(xs, ts)
    dxs = layer.backward(2.0)
    x, t = xs.reshape(N * T, V), ts.reshape(-1)
    m = x.max(axis=1)
    s = K.softmax_row_sums(x, m)
    counted = t != -1
    count = int(counted.sum())
    rows = np.flatnonzero(counted)
    ours = (np.log(s[rows]) + m[rows] - x[rows, t[rows]]).sum() / count
    np.testing.assert_allclose(ours, loss, rtol=1e-6)
    coef = 2.0 / count
    scale = np.where(counted, coef / s, 0).astype(np.float32)
    dx = K.softmax_loss_grad(x, m, scale, t, coef)
    np.testing.assert_allclose(dx.reshape(N, T, V), dxs, rtol=1e-5, atol=1e-7)
    assert dx.dtype == np.float32


def _counted_reads(fake_gpu, monkeypatch):
    """The trainer's reads of the device (to_cpu), counted and allowed; any other raises."""
    from zeronlp.training import trainer

    reads = []

    def to_cpu(x):
        reads.append(x.shape)
        with fake_gpu.allow_synchronize(True):
            return backend.to_cpu(x)

    monkeypatch.setattr(trainer, "to_cpu", to_cpu)
    return reads


@pytest.mark.parametrize("max_grad", [0.5, None])
def test_the_trainers_step_reads_the_device_once(fake_gpu, monkeypatch, max_grad):
    from zeronlp.optimizers import SGD, Adam
    from zeronlp.training.trainer import train_step

    reads = _counted_reads(fake_gpu, monkeypatch)
    for optimizer in (Adam(0.01), SGD(0.1)):
        make, x, t = model_cases()["Rnnlm"]
        model = make()
        x, t = fake_gpu.asarray(x), fake_gpu.asarray(t)
        with fake_gpu.allow_synchronize(False):
            loss = train_step(model, optimizer, x, t, max_grad)
        assert isinstance(loss, float) and np.isfinite(loss)
    assert reads == [(3,), (3,)]  # per step: the loss, the norm and one flag for every check


@pytest.mark.parametrize("fault", ["nan gradient", "nan loss", "overflowing update"])
def test_the_trainers_device_step_puts_a_non_finite_step_back(fake_gpu, monkeypatch, fault):
    from zeronlp.errors import TrainingDiverged
    from zeronlp.optimizers import SGD
    from zeronlp.training.trainer import train_step

    reads = _counted_reads(fake_gpu, monkeypatch)
    make, x, t = model_cases()["Rnnlm"]
    model = make()
    before = [fake_gpu.asnumpy(p) for p in model.params]
    backward, forward = model.backward, model.forward
    if fault == "nan gradient":
        monkeypatch.setattr(model, "backward", lambda: (backward(), model.grads[0].fill(np.nan)))
    if fault == "nan loss":
        monkeypatch.setattr(model, "forward", lambda x, t: forward(x, t) * np.nan)
    lr = 1e39 if fault == "overflowing update" else 0.1
    message = {"nan gradient": "gradient norm became nan", "nan loss": "loss became nan"}
    with pytest.raises(TrainingDiverged, match=message.get(fault, "made parameters non-finite")):
        # NumPy warns where a GPU would not: the overflow is what this case makes
        with fake_gpu.allow_synchronize(False), np.errstate(over="ignore", invalid="ignore"):
            train_step(model, SGD(lr), fake_gpu.asarray(x), fake_gpu.asarray(t), 5.0, backup=[])
    assert len(reads) == 1
    for a, b in zip(before, model.params, strict=True):
        np.testing.assert_array_equal(a, fake_gpu.asnumpy(b))
