"""Learning-rate schedules, each against its formula written out here."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zeronlp.optimizers import SGD, Adam
from zeronlp.schedules import (
    Constant,
    DivideOnPlateau,
    Noam,
    ScheduleError,
    StepDecay,
    WarmupCosine,
    from_spec,
)


def nanogpt_get_lr(it, learning_rate, warmup_iters, lr_decay_iters, min_lr):
    # nanoGPT's train.py get_lr, verbatim apart from the arguments
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


@given(
    step=st.integers(0, 3000),
    warmup=st.integers(0, 500),
    total=st.integers(501, 2000),
    lr=st.floats(1e-5, 10),
    min_frac=st.floats(0, 1),
)
def test_warmup_cosine_is_nanogpt(step, warmup, total, lr, min_frac):
    s = WarmupCosine(lr, total, warmup, min_lr=lr * min_frac)
    assert s(step) == pytest.approx(nanogpt_get_lr(step, lr, warmup, total, lr * min_frac))


def test_warmup_cosine_landmarks():
    s = WarmupCosine(1.0, total_steps=110, warmup_steps=10, min_lr=0.1)
    assert s(0) == pytest.approx(1 / 11)
    assert s(9) == pytest.approx(10 / 11)
    assert s(10) == pytest.approx(1.0)  # top of the warmup
    assert s(60) == pytest.approx(0.55)  # half way down the cosine: (lr + min_lr) / 2
    assert s(110) == pytest.approx(0.1) and s(10_000) == 0.1
    lrs = [s(i) for i in range(10, 111)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))


@given(step=st.integers(0, 10_000), size=st.integers(1, 1000), gamma=st.floats(0.01, 1))
def test_step_decay(step, size, gamma):
    assert StepDecay(0.5, size, gamma)(step) == pytest.approx(0.5 * gamma ** (step // size))


@given(step=st.integers(0, 100_000), d=st.integers(1, 1024), warmup=st.integers(1, 8000))
def test_noam_formula(step, d, warmup):
    # The Annotated Transformer's rate(): steps from 1
    s = step + 1
    expected = 2.0 * d**-0.5 * min(s**-0.5, s * warmup**-1.5)
    assert Noam(d, warmup, factor=2.0)(step) == pytest.approx(expected)


def test_noam_peak():
    s = Noam(512, 4000)
    lrs = np.array([s(i) for i in range(20_000)])
    assert lrs.argmax() == 3999  # s = warmup
    assert lrs.max() == pytest.approx(1 / math.sqrt(512 * 4000))


def test_divide_on_plateau_is_the_books_rule():
    # train_better_rnnlm.py: lr = 20; after each epoch, if ppl is not below the best, lr /= 4
    s = DivideOnPlateau(20.0)
    lrs, saved = [], []
    for ppl in [300.0, 200.0, 210.0, 200.0, 150.0, 150.1]:
        saved.append(s.observe(ppl))
        lrs.append(s(0))
    assert lrs == [20.0, 20.0, 5.0, 1.25, 1.25, 0.3125]
    assert saved == [True, True, False, False, True, False]
    back = DivideOnPlateau(1.0)
    back.load_state(s.state())
    assert (back.lr, back.best) == (0.3125, 150.0)
    floor = DivideOnPlateau(1.0, factor=10, min_lr=0.05)
    assert [floor.observe(x) or floor(0) for x in (1.0, 2.0, 2.0)] == [True, 0.1, 0.05]


def test_apply_sets_optimizer_lr_and_keeps_float32():
    W = np.ones(3, dtype=np.float32)
    for opt in (SGD(lr=1.0), Adam(lr=1.0)):
        lr = StepDecay(0.1, step_size=1, gamma=0.5).apply(opt, 2)
        assert opt.lr == lr == pytest.approx(0.025) and type(opt.lr) is float
        opt.update([W], [np.ones(3, dtype=np.float32)])
        assert W.dtype == np.float32
    assert type(Constant(3)(7)) is float


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: WarmupCosine(0.0, 100), "lr"),
        (lambda: WarmupCosine(1.0, 100, 100), "warmup_steps"),
        (lambda: WarmupCosine(1.0, 0), "total_steps"),
        (lambda: WarmupCosine(1.0, 100, min_lr=2.0), "min_lr"),
        (lambda: StepDecay(1.0, 0), "step_size"),
        (lambda: Noam(0), "d_model"),
        (lambda: DivideOnPlateau(float("nan")), "lr"),
        (lambda: Constant(1.0)(-1), "step"),
        (lambda: Constant(1.0)(1.5), "step"),
        (lambda: DivideOnPlateau(1.0).observe(float("nan")), "score"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ScheduleError, match=message):
        make()


def test_from_spec():
    s = from_spec("cosine:warmup=10,min_lr=0.1", lr=1.0, total_steps=110)
    assert isinstance(s, WarmupCosine) and s(60) == pytest.approx(0.55)
    s = from_spec("step:size=5,gamma=0.5", lr=2.0, total_steps=100)
    assert s(10) == pytest.approx(0.5)
    assert from_spec("step", lr=1.0, total_steps=100).step_size == 25
    assert from_spec("noam:warmup=100,factor=2", 1.0, 10, d_model=64)(99) == pytest.approx(
        2 / math.sqrt(64 * 100)
    )
    assert isinstance(from_spec("plateau:factor=2", 20.0, 10), DivideOnPlateau)
    assert from_spec("constant", 0.5, 10)(3) == 0.5


@pytest.mark.parametrize(
    "spec, message",
    [
        ("cosinus", "unknown schedule"),
        ("cosine:warm=3", "options"),
        ("cosine:warmup", "options"),
        ("cosine:warmup=1.5", "int"),
        ("noam", "d_model"),
        ("cosine:warmup=100", "warmup_steps"),
    ],
)
def test_from_spec_errors(spec, message):
    with pytest.raises(ScheduleError, match=message):
        from_spec(spec, lr=1.0, total_steps=100)


def test_schedule_error_is_a_user_error():
    from zeronlp.errors import UserError

    assert issubclass(ScheduleError, UserError) and issubclass(ScheduleError, ValueError)
