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


@pytest.fixture
def fake_gpu(monkeypatch):
    import fake_cupy

    return fake_cupy.install(monkeypatch)


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
