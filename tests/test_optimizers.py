import math

import numpy as np
import pytest

from zeronlp.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, clip_grads

ALL = [SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam]


def problem(rng, dtype=np.float64):
    params = [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(4).astype(dtype)]
    grads_seq = [[rng.standard_normal(p.shape).astype(dtype) for p in params] for _ in range(5)]
    return params, grads_seq


@pytest.mark.parametrize("cls", ALL)
def test_updates_in_place_and_keep_float32(cls, rng):
    params, grads_seq = problem(rng, np.float32)
    held = list(params)
    before = [p.copy() for p in params]
    opt = cls(lr=0.1)
    for grads in grads_seq:
        opt.update(params, grads)
    assert all(a is b for a, b in zip(held, params, strict=True))
    assert all(p.dtype == np.float32 for p in params)
    assert any(not np.array_equal(a, b) for a, b in zip(before, params, strict=True))
    for state in ("v", "h", "m"):
        for s in getattr(opt, state, None) or []:
            assert s.dtype == np.float32


def book_nesterov(params, grads_seq, lr, m):
    v = [np.zeros_like(p) for p in params]
    for grads in grads_seq:
        for p, g, vi in zip(params, grads, v, strict=True):
            vi *= m
            vi -= lr * g
            p += m * m * vi
            p -= (1 + m) * lr * g


def book_adam(params, grads_seq, lr, b1, b2):
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for it, grads in enumerate(grads_seq, start=1):
        lr_t = lr * np.sqrt(1.0 - b2**it) / (1.0 - b1**it)
        for p, g, mi, vi in zip(params, grads, m, v, strict=True):
            mi += (1 - b1) * (g - mi)
            vi += (1 - b2) * (g**2 - vi)
            p -= lr_t * mi / (np.sqrt(vi) + 1e-7)


@pytest.mark.parametrize(
    "cls,ref,kw",
    [
        (Nesterov, book_nesterov, dict(lr=0.1, m=0.9)),
        (Adam, book_adam, dict(lr=0.01, b1=0.9, b2=0.999)),
    ],
)
def test_matches_the_books_formula(cls, ref, kw, rng):
    params, grads_seq = problem(rng)
    mine = [p.copy() for p in params]
    if cls is Nesterov:
        opt = cls(lr=kw["lr"], momentum=kw["m"])
    else:
        opt = cls(lr=kw["lr"], beta1=kw["b1"], beta2=kw["b2"])
    for grads in grads_seq:
        opt.update(mine, grads)
    ref(params, grads_seq, **kw)
    for a, b in zip(mine, params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_against_torch_optimizers(rng):
    torch = pytest.importorskip("torch")
    cases = [
        (SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1), 1e-12),
        (Momentum(lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), 1e-12),
        (AdaGrad(lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-7), 1e-12),
        (RMSprop(lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-7), 1e-12),
        # The book's Adam adds eps to sqrt(v) before the bias correction, PyTorch after it, so
        # the two differ by about eps / sqrt(v_hat) ~ 1e-6 relative here.
        (Adam(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-7), 1e-5),
    ]
    for ours, make_theirs, rtol in cases:
        params, grads_seq = problem(rng)
        tparams = [torch.tensor(p.copy(), requires_grad=True) for p in params]
        theirs = make_theirs(tparams)
        for grads in grads_seq:
            ours.update(params, grads)
            for tp, g in zip(tparams, grads, strict=True):
                tp.grad = torch.tensor(g)
            theirs.step()
        for a, b in zip(params, tparams, strict=True):
            np.testing.assert_allclose(
                a, b.detach().numpy(), rtol=rtol, err_msg=type(ours).__name__
            )


def test_mismatched_params_and_grads():
    with pytest.raises(ValueError, match="2 params but 1 grads"):
        SGD().update([np.zeros(2), np.zeros(3)], [np.zeros(2)])
    with pytest.raises(ValueError, match=r"shape \(2,\) but its grad has shape \(3,\)"):
        SGD().update([np.zeros(2)], [np.zeros(3)])


def test_clip_grads_by_global_norm():
    grads = [np.array([3.0, 0.0]), np.array([[4.0]])]  # global norm 5
    norm = clip_grads(grads, 1.0)
    assert norm == pytest.approx(5.0)
    total = math.sqrt(sum(float((g**2).sum()) for g in grads))
    assert total == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(grads[0], [0.6, 0.0], rtol=1e-5)
    small = [np.array([0.3, 0.4], dtype=np.float32)]
    clip_grads(small, 1.0)
    np.testing.assert_array_equal(small[0], np.array([0.3, 0.4], dtype=np.float32))
    assert small[0].dtype == np.float32


def test_clip_grads_leaves_non_finite_gradients_and_keeps_dtypes():
    grads = [np.array([3.0, np.inf], dtype=np.float32), np.array([1.0], dtype=np.float32)]
    norm = clip_grads(grads, 1.0)
    assert norm == math.inf and isinstance(norm, float)
    np.testing.assert_array_equal(grads[1], [1.0])  # not scaled by 0 or nan
    grads = [np.array([30.0, 40.0], dtype=np.float32), np.array([[0.0]], dtype=np.float64)]
    norm = clip_grads(grads, 5.0)
    assert norm == pytest.approx(50.0) and isinstance(norm, float)
    np.testing.assert_allclose(grads[0], [3.0, 4.0], rtol=1e-6)
    assert grads[0].dtype == np.float32 and grads[1].dtype == np.float64
    nan = [np.array([np.nan, 1.0])]
    assert math.isnan(clip_grads(nan, 1.0))
    assert nan[0][1] == 1.0
