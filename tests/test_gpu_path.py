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


# ---------------------------------------------------------------- no host syncs in a step
#
# fake_cupy arrays raise on any host read inside allow_synchronize(False), as CuPy does
# under cupyx.allow_synchronize(False); a training step (forward, backward, clipping, the
# optimizer) must run under it. The loss is read afterwards, as the progress bar does.


@pytest.fixture
def fake_gpu(monkeypatch):
    import fake_cupy

    return fake_cupy.install(monkeypatch)


def _models():
    from zeronlp import models

    V = 13
    corpus = np.arange(60) % V
    lm_x = np.arange(12).reshape(2, 6) % V
    s2s_x, s2s_t = np.arange(10).reshape(2, 5) % V, (np.arange(12).reshape(2, 6) + 3) % V
    contexts, target = np.stack([corpus[:8], corpus[2:10]], axis=1), corpus[1:9]
    return {
        "SimpleRnnlm": (lambda: models.SimpleRnnlm(V, 4, 5), lm_x, (lm_x + 1) % V),
        "Rnnlm": (lambda: models.Rnnlm(V, 4, 5), lm_x, (lm_x + 1) % V),
        "BetterRnnlm": (lambda: models.BetterRnnlm(V, 6, 6, 0.5), lm_x, (lm_x + 1) % V),
        "TransformerLM": (
            lambda: models.TransformerLM(V, d_model=8, num_heads=2, d_ff=16, max_len=8),
            lm_x,
            (lm_x + 1) % V,
        ),
        "Seq2seq": (lambda: models.Seq2seq(V, 4, 5), s2s_x, s2s_t),
        "PeekySeq2seq": (lambda: models.PeekySeq2seq(V, 4, 5), s2s_x, s2s_t),
        "AttentionSeq2seq": (lambda: models.AttentionSeq2seq(V, 4, 5), s2s_x, s2s_t),
        "TransformerSeq2seq": (
            lambda: models.TransformerSeq2seq(V, d_model=8, num_heads=2, d_ff=16, max_len=8),
            s2s_x,
            s2s_t,
        ),
        "CBOW": (lambda: models.CBOW(V, 4, 1, corpus), contexts, target),
        "SkipGram": (lambda: models.SkipGram(V, 4, 1, corpus), contexts, target),
    }


def _train_step(model, x, t, optimizer):
    from zeronlp.optimizers import clip_grads

    loss = model.forward(x, t)
    model.backward()
    clip_grads(model.grads, 0.5)
    optimizer.update(model.params, model.grads)
    return loss


# TimeSoftmaxWithLoss still reads its targets' range, the scores' max and the counted rows
# on the host (time_layers.py, being split into a package): the models with it wait once
# per step there. strict: this test fails as soon as that is fixed, to drop the mark.
_SOFTMAX_SYNCS = pytest.mark.xfail(
    strict=True, reason="TimeSoftmaxWithLoss reads device values on the host"
)
_STEP_MODELS = [
    n if n in ("CBOW", "SkipGram") else pytest.param(n, marks=_SOFTMAX_SYNCS)
    for n in sorted(_models())
]


@pytest.mark.parametrize("name", _STEP_MODELS)
def test_a_training_step_never_reads_the_device(fake_gpu, name):
    from zeronlp.optimizers import Adam

    make, x, t = _models()[name]
    model = make()
    assert all(isinstance(p, fake_gpu.ndarray) for p in model.params)
    x, t = fake_gpu.asarray(x), fake_gpu.asarray(t)  # the batch moves before the step
    optimizer = Adam(0.01)
    with fake_gpu.allow_synchronize(False):
        loss = _train_step(model, x, t, optimizer)
    assert np.isfinite(float(loss))  # the one read: the loss shown to the user
