"""CPU-side tests of the GPU path: what can be proven without CuPy or a GPU."""

import types

import numpy as np
import pytest

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
