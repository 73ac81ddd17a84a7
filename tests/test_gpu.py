"""GPU tests (marker ``gpu``): CuPy gives the NumPy results, and a step never waits.

Each test runs twice: on CuPy (marker ``gpu``; skipped without CuPy and a CUDA GPU; run
them with ``python -m pytest -m gpu`` or ``benchmarks/gpu_check.py``) and on fake_cupy,
the CPU stand-in, so that the tests themselves are known to work on every machine.
"""

import numpy as np
import pytest
from step_cases import STEP_MODELS, model_cases, train_step

from zeronlp import backend

RTOL, ATOL = 2e-4, 2e-5  # float32, with different summation orders on the two devices


@pytest.fixture(params=[pytest.param("cupy", marks=pytest.mark.gpu), "fake_cupy"])
def cp(request, monkeypatch):
    """CuPy (on a GPU) or fake_cupy (NumPy arrays that raise on host reads)."""
    if request.param == "fake_cupy":
        import fake_cupy

        return fake_cupy.install(monkeypatch)
    if not backend.gpu_available():
        pytest.skip("needs CuPy and a CUDA GPU")
    import cupy

    return cupy


def no_sync(cp):
    """cupyx.allow_synchronize(False), or fake_cupy's copy of it."""
    if hasattr(cp, "allow_synchronize"):
        return cp.allow_synchronize(False)
    import cupyx

    return cupyx.allow_synchronize(False)


def on_gpu(make, cpu_model):
    """make() built on the GPU, with the parameters of the NumPy model ``cpu_model``.

    Copied in place (io.copy_into_params): gradients and buffers that are views of one
    array (TimeAffine's) stay views, as they would not if each array were moved alone.
    """
    from zeronlp.io import copy_into_params

    backend.use_gpu()
    try:
        model = make()
    finally:
        backend.use_cpu()
    copy_into_params(model.params, [backend.to_cpu(p) for p in cpu_model.params])
    return model


def _close(gpu, cpu, what):
    np.testing.assert_allclose(backend.to_cpu(gpu), cpu, rtol=RTOL, atol=ATOL, err_msg=what)


# ---------------------------------------------------------------- layers


def _layer_cases(rng):
    """{name: (make(m) -> layer, inputs)}; make(m) builds the layer from weights moved by m
    (np.asarray or cp.asarray), the same weights on both devices."""
    from zeronlp import attention as A
    from zeronlp import layers as L
    from zeronlp import time_layers as TL

    def f(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    def made(cls, *weights, **kwargs):
        return lambda m: cls(*map(m, weights), **kwargs)

    N, T, D, H, V = 3, 4, 5, 6, 11
    ids = rng.integers(0, V, (N, T))
    lstm = [f(D, 4 * H), f(H, 4 * H), f(4 * H)]
    heads = [a for _ in range(4) for a in (f(D, D), f(D))]  # Wq, bq, Wk, bk, Wv, bv, Wo, bo
    return {
        "MatMul": (made(L.MatMul, f(D, H)), (f(N, D),)),
        "Affine": (made(L.Affine, f(D, H), f(H)), (f(N, D),)),
        "Sigmoid": (made(L.Sigmoid), (f(N, D),)),
        "Softmax": (made(L.Softmax), (f(N, D),)),
        "SoftmaxWithLoss": (made(L.SoftmaxWithLoss), (f(N, V), ids[:, 0])),
        "SigmoidWithLoss": (made(L.SigmoidWithLoss), (f(N, T), (ids % 2).astype(np.float32))),
        "Embedding": (made(L.Embedding, f(V, D)), (ids,)),
        "EmbeddingDot": (made(L.EmbeddingDot, f(V, D)), (f(N, D), ids[:, 0])),
        "TimeRNN": (made(TL.TimeRNN, f(D, H), f(H, H), f(H)), (f(N, T, D),)),
        "TimeLSTM": (made(TL.TimeLSTM, *lstm), (f(N, T, D),)),
        "TimeGRU": (made(TL.TimeGRU, f(D, 3 * H), f(H, 3 * H), f(3 * H)), (f(N, T, D),)),
        "TimeBiLSTM": (made(TL.TimeBiLSTM, *lstm, *[a + 1 for a in lstm]), (f(N, T, D),)),
        "TimeEmbedding": (made(TL.TimeEmbedding, f(V, D)), (ids,)),
        "TimeAffine": (made(TL.TimeAffine, f(D, H), f(H)), (f(N, T, D),)),
        "TimeSoftmaxWithLoss": (made(TL.TimeSoftmaxWithLoss), (f(N, T, V), ids)),
        "TimeAttention": (made(A.TimeAttention), (f(N, T, H), f(N, T + 1, H))),
        "MultiHeadAttention": (made(A.MultiHeadAttention, *heads, num_heads=1), (f(N, T, D),)),
        "LayerNorm": (made(A.LayerNorm, f(D), f(D)), (f(N, T, D),)),
        "FeedForward": (made(A.FeedForward, f(D, H), f(H), f(H, D), f(D)), (f(N, T, D),)),
    }


@pytest.mark.parametrize("name", sorted(_layer_cases(np.random.default_rng(0))))
def test_layer_forward_and_backward_equal_numpy(cp, name):
    rng = np.random.default_rng(1)
    make, inputs = _layer_cases(rng)[name]
    cpu, gpu = make(np.asarray), make(cp.asarray)
    out = cpu.forward(*inputs)
    out_gpu = gpu.forward(*(cp.asarray(x) for x in inputs))
    if np.ndim(out) == 0:  # a loss layer
        _close(out_gpu, out, f"{name} loss")
        dx, dx_gpu = cpu.backward(), gpu.backward()
    else:
        _close(out_gpu, out, f"{name} forward")
        dout = rng.standard_normal(np.shape(out)).astype(np.float32)
        dx, dx_gpu = cpu.backward(dout), gpu.backward(cp.asarray(dout))
    for i, (a, b) in enumerate(zip(_tuple(dx), _tuple(dx_gpu), strict=True)):
        if a is not None:
            _close(b, a, f"{name} input gradient {i}")
    for i, (g, g_gpu) in enumerate(zip(cpu.grads, gpu.grads, strict=True)):
        _close(g_gpu, g, f"{name} grads[{i}]")


def _tuple(x):
    return x if isinstance(x, tuple) else (x,)


def test_gradcheck_on_cupy_in_float64(cp):
    from zeronlp.gradcheck import gradcheck
    from zeronlp.layers import NegativeSamplingLoss
    from zeronlp.time_layers import TimeDropout, TimeLSTM

    rng = np.random.default_rng(2)
    lstm = TimeLSTM(*(cp.asarray(rng.standard_normal(s)) for s in [(3, 8), (2, 8), (8,)]))
    errors = gradcheck(lstm, cp.asarray(rng.standard_normal((2, 3, 3))))
    assert max(errors.values()) < 1e-6, errors
    # random draws on the GPU (dropout, negative sampling) must replay in every forward
    errors = gradcheck(TimeDropout(0.5), cp.asarray(rng.standard_normal((2, 3, 4))))
    assert max(errors.values()) < 1e-6, errors
    ns = NegativeSamplingLoss(cp.asarray(rng.standard_normal((9, 4))), np.arange(9), 0.75, 3)
    errors = gradcheck(ns, cp.asarray(rng.standard_normal((5, 4))), cp.arange(5))
    assert max(errors.values()) < 1e-6, errors


# ---------------------------------------------------------------- models


@pytest.mark.parametrize("name", STEP_MODELS)
def test_training_step_never_waits_for_the_host(cp, name):
    from zeronlp.optimizers import Adam

    make, x, t = model_cases()[name]
    backend.use_gpu()
    try:
        model = make()
    finally:
        backend.use_cpu()
    x, t = cp.asarray(x), cp.asarray(t)  # the batch moves before the step
    optimizer = Adam(0.01)
    train_step(model, x, t, optimizer)  # warm-up: kernels compile, tables move once
    with no_sync(cp):
        loss = train_step(model, x, t, optimizer)
    assert np.isfinite(float(loss))  # the one read: the loss shown to the user


@pytest.mark.parametrize("name", sorted(model_cases()))
def test_training_step_equals_numpy(cp, name):
    from zeronlp.optimizers import Adam

    make, x, t = model_cases(dropout_ratio=0.0)[name]
    cpu = make()
    gpu = on_gpu(make, cpu)
    if name in ("CBOW", "SkipGram"):  # each device has its own generator: same negatives
        draw = cpu.ns_loss.sampler.get_negative_sample

        def same_draw(target, move):
            np.random.seed(1)
            return move(draw(backend.to_cpu(target)))

        cpu.ns_loss.sampler.get_negative_sample = lambda t: same_draw(t, np.asarray)
        gpu.ns_loss.sampler.get_negative_sample = lambda t: same_draw(t, cp.asarray)
    loss = train_step(cpu, x, t, Adam(0.01))
    loss_gpu = train_step(gpu, cp.asarray(x), cp.asarray(t), Adam(0.01))
    _close(loss_gpu, loss, f"{name} loss")
    for i, (p, p_gpu) in enumerate(zip(cpu.params, gpu.params, strict=True)):
        _close(p_gpu, p, f"{name} params[{i}] after one step")


def test_decoding_on_the_gpu_equals_numpy(cp):
    from zeronlp.models import AttentionSeq2seq, Rnnlm

    np.random.seed(0)
    lm = Rnnlm(20, 8, 8)
    lm_gpu = on_gpu(lambda: Rnnlm(20, 8, 8), lm)
    for method in ("greedy", "beam"):
        lm.reset_state(), lm_gpu.reset_state()
        assert lm_gpu.generate(3, sample_size=6, method=method) == lm.generate(
            3, sample_size=6, method=method
        )
    lm_gpu.reset_state()
    sampled = lm_gpu.generate(3, sample_size=6, method="sample", skip_ids=[5])
    assert len(sampled) == 6 and all(0 <= i < 20 and i != 5 for i in sampled[1:])
    s2s = AttentionSeq2seq(20, 8, 8)
    s2s_gpu = on_gpu(lambda: AttentionSeq2seq(20, 8, 8), s2s)
    xs = np.arange(12).reshape(3, 4) % 20
    for method in ("greedy", "beam"):
        np.testing.assert_array_equal(
            backend.to_cpu(s2s_gpu.generate_batch(cp.asarray(xs), 1, 5, method)),
            s2s.generate_batch(xs, 1, 5, method),
        )
    sampled = s2s_gpu.generate_batch(cp.asarray(xs), 1, 5, "sample")
    assert backend.get_array_module(sampled) is cp and sampled.shape == (3, 5)


def test_word2vec_trains_on_the_gpu(cp):
    from zeronlp.models import CBOW
    from zeronlp.optimizers import Adam

    rng = np.random.default_rng(3)
    corpus = rng.integers(0, 30, 2000)
    contexts = np.stack([corpus[:-2], corpus[2:]], axis=1)
    target = corpus[1:-1]
    backend.use_gpu()
    try:
        model = CBOW(30, 8, 1, corpus)
    finally:
        backend.use_cpu()
    optimizer = Adam(0.01)
    contexts, target = cp.asarray(contexts), cp.asarray(target)
    losses = [float(train_step(model, contexts, target, optimizer)) for _ in range(30)]
    assert losses[-1] < losses[0]
    assert backend.get_array_module(model.word_vecs) is cp


def test_save_on_gpu_load_on_cpu_and_back(cp, tmp_path):
    from zeronlp.models import Rnnlm

    np.random.seed(0)
    cpu = Rnnlm(20, 8, 8)
    gpu = on_gpu(lambda: Rnnlm(20, 8, 8), cpu)
    path = gpu.save_params(tmp_path / "gpu.npz")
    back_on_cpu = Rnnlm(20, 8, 8)
    back_on_cpu.load_params(path)
    for p, q in zip(cpu.params, back_on_cpu.params, strict=True):
        np.testing.assert_array_equal(q, p)
        assert isinstance(q, np.ndarray)
    path = cpu.save_params(tmp_path / "cpu.npz")
    backend.use_gpu()
    try:
        again = Rnnlm(20, 8, 8)
    finally:
        backend.use_cpu()
    again.load_params(path)
    for p, q in zip(cpu.params, again.params, strict=True):
        assert backend.get_array_module(q) is cp
        np.testing.assert_array_equal(backend.to_cpu(q), p)


# ---------------------------------------------------------------- fused kernels


@pytest.fixture
def real_cp(cp):
    """CuPy itself: the kernels are CUDA code, fake_cupy cannot run them."""
    if not backend.is_device_array(cp.zeros(1)) or hasattr(cp, "allow_synchronize"):
        pytest.skip("CUDA kernels need CuPy and a GPU")
    return cp


def _both(cp, *arrays):
    """The arrays as NumPy copies and as CuPy copies."""
    return [a.copy() for a in arrays], [cp.asarray(a) for a in arrays]


def _same(gpu_arrays, cpu_arrays, what):
    for k, (g, c) in enumerate(zip(gpu_arrays, cpu_arrays, strict=True)):
        _close(g, c, f"{what} array {k}")


@pytest.mark.parametrize("N,H", [(1, 1), (3, 5), (20, 650)])
def test_lstm_kernels_equal_their_reference(real_cp, N, H):
    from zeronlp.fused import cupy_kernels as K

    rng = np.random.default_rng(4)

    def f(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    out = [np.zeros((N, H), np.float32) for _ in range(3)]
    cpu, gpu = _both(real_cp, f(N, 4 * H), f(N, 4 * H), f(N, H), *out)
    K.lstm_step_forward(*cpu)  # NumPy arrays: the reference formula
    K.lstm_step_forward(*gpu)  # CuPy arrays: the kernel
    _same([gpu[0], *gpu[3:]], [cpu[0], *cpu[3:]], "LSTM forward")
    gates, tc, c_prev = cpu[0], cpu[4], cpu[2]
    args = (f(N, H), f(N, H), f(N, H), c_prev, tc, gates, np.zeros((N, 4 * H), np.float32))
    cpu, gpu = _both(real_cp, *args)
    dc_prev = K.lstm_step_backward(*cpu)
    dc_prev_gpu = K.lstm_step_backward(*gpu)
    _same([gpu[-1], dc_prev_gpu], [cpu[-1], dc_prev], "LSTM backward")


@pytest.mark.parametrize("N,H", [(1, 1), (3, 5), (20, 650)])
def test_gru_kernels_equal_their_reference(real_cp, N, H):
    from zeronlp.fused import cupy_kernels as K

    rng = np.random.default_rng(5)

    def f(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    a, m, mh, h_prev = f(N, 3 * H), f(N, 2 * H), f(N, H), f(N, H)
    z = np.zeros((N, H), np.float32)
    cpu, gpu = _both(real_cp, a, m, h_prev, z)
    K.gru_gates(*cpu), K.gru_gates(*gpu)
    _same([gpu[0], gpu[3]], [cpu[0], cpu[3]], "GRU gates")
    gates = cpu[0]
    cpu, gpu = _both(real_cp, gates, mh, h_prev, z)
    K.gru_output(*cpu), K.gru_output(*gpu)
    _same([gpu[0], gpu[3]], [cpu[0], cpu[3]], "GRU output")
    gates = cpu[0]
    dh, drh, da = f(N, H), f(N, H), np.zeros((N, 3 * H), np.float32)
    cpu, gpu = _both(real_cp, dh, h_prev, gates, da)
    K.gru_backward_h(*cpu), K.gru_backward_h(*gpu)
    _same([gpu[3]], [cpu[3]], "GRU backward h~")
    cpu, gpu = _both(real_cp, dh, drh, h_prev, gates, da)
    dh_prev, dh_prev_gpu = K.gru_backward_zr(*cpu), K.gru_backward_zr(*gpu)
    _same([gpu[4], dh_prev_gpu], [cpu[4], dh_prev], "GRU backward z, r")


@pytest.mark.parametrize("B,V", [(1, 2), (7, 13), (64, 10000)])
def test_softmax_loss_kernels_equal_their_reference(real_cp, B, V):
    from zeronlp.fused import cupy_kernels as K

    rng = np.random.default_rng(6)
    x = (3 * rng.standard_normal((B, V))).astype(np.float32)
    m = x.max(axis=1)
    t = rng.integers(0, V, B)
    t[0] = -1  # an ignored row: scale 0, no target column
    s = K.softmax_row_sums(x, m)
    s_gpu = K.softmax_row_sums(real_cp.asarray(x), real_cp.asarray(m))
    _close(s_gpu, s, "row sums")
    scale = np.where(t >= 0, 0.5 / s, 0).astype(np.float32)
    dx = K.softmax_loss_grad(x, m, scale, t, 0.5)
    cpu_args = (x, m, scale, t)
    dx_gpu = K.softmax_loss_grad(*(real_cp.asarray(a) for a in cpu_args), 0.5)
    _close(dx_gpu, dx, "loss gradient")
    assert dx_gpu.dtype == np.float32
