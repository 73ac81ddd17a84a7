import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import zeronlp
from zeronlp import backend
from zeronlp.backend import get_array_module, scatter_add, to_cpu


# (20, 5000): many long runs, the reduceat path; (1000, 700): a text batch, the matmul path
@pytest.mark.parametrize("V,M", [(1, 1), (3, 10), (50, 7), (1000, 700), (20, 5000)])
def test_scatter_add_equals_add_at(V, M, rng):
    idx = rng.integers(0, V, M)
    vals = rng.standard_normal((M, 5))
    ours, ref = np.zeros((V, 5)), np.zeros((V, 5))
    np.add.at(ref, idx, vals)
    scatter_add(ours, idx, vals)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_scatter_add_any_index_shape_and_accumulates(rng):
    idx = np.array([[2, 2], [0, 2]])
    vals = np.arange(12).reshape(2, 2, 3)
    target = np.ones((3, 3), dtype=int)
    scatter_add(target, idx, vals)
    np.testing.assert_array_equal(
        target, [[7, 8, 9], [1, 1, 1], [1 + 0 + 3 + 9, 1 + 1 + 4 + 10, 1 + 2 + 5 + 11]]
    )
    scatter_add(target, 1, np.array([5, 5, 5]))  # a single int id
    np.testing.assert_array_equal(target[1], [6, 6, 6])
    scatter_add(target, np.array([], dtype=int), np.zeros((0, 3), dtype=int))  # nothing


def test_array_module_defaults_to_numpy():
    assert get_array_module(np.zeros(2)) is np
    assert get_array_module(1.0, [1, 2]) is np
    assert backend.xp() is np
    assert isinstance(to_cpu([1, 2]), np.ndarray)


def test_seed_makes_draws_repeatable():
    zeronlp.seed(7)
    a = np.random.rand(3)
    zeronlp.seed(7)
    np.testing.assert_array_equal(a, np.random.rand(3))


def test_use_gpu_without_a_gpu_is_a_clear_error():
    if backend.gpu_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CuPy and a CUDA GPU"):
        zeronlp.use_gpu()
    assert backend.xp() is np


@pytest.mark.gpu
def test_layers_run_on_cupy_unchanged():
    if not backend.gpu_available():
        pytest.skip("needs CuPy and a CUDA GPU")
    import cupy as cp

    from zeronlp.layers import Embedding, NegativeSamplingLoss

    W = cp.asarray(np.random.randn(50, 8).astype("f"))
    emb = Embedding(W)
    ids = cp.asarray(np.array([[1, 2, 2], [0, 49, 1]]))
    out = emb.forward(ids)
    emb.backward(cp.ones_like(out))
    ref = np.zeros((50, 8), "f")
    np.add.at(ref, to_cpu(ids).ravel(), 1.0)
    np.testing.assert_allclose(to_cpu(emb.grads[0]), ref)
    ns = NegativeSamplingLoss(
        cp.asarray(np.random.randn(50, 8).astype("f")), np.arange(50), sample_size=3
    )
    loss = ns.forward(
        cp.asarray(np.random.randn(4, 8).astype("f")), cp.asarray(np.array([1, 2, 3, 4]))
    )
    assert np.isfinite(loss)
    assert get_array_module(ns.backward()) is cp


@settings(max_examples=60, deadline=None)
@given(
    idx=arrays(np.int64, st.integers(0, 40), elements=st.integers(0, 5)),
    dtype=st.sampled_from([np.float32, np.float64, np.int64]),
)
def test_scatter_add_property_equals_add_at(idx, dtype):
    vals = (np.arange(idx.size * 3).reshape(-1, 3) % 7 - 3).astype(dtype)
    ours, ref = np.ones((6, 3), dtype), np.ones((6, 3), dtype)
    np.add.at(ref, idx, vals)
    scatter_add(ours, idx, vals)
    np.testing.assert_array_equal(ours, ref)  # small integers: exact in every dtype


def test_scatter_add_with_rows_and_weights(rng):
    idx = rng.integers(0, 7, 300)  # long runs of repeated ids
    src = rng.standard_normal((40, 3))
    rows = rng.integers(0, 40, 300)
    w = rng.standard_normal(300)
    ref = np.zeros((7, 3))
    np.add.at(ref, idx, w[:, None] * src[rows])
    ours = np.zeros((7, 3))
    scatter_add(ours, idx, src, rows=rows, weights=w)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_gpu_variable_without_cupy_warns_instead_of_failing_import():
    if backend.gpu_available():
        pytest.skip("a GPU is present")
    code = (
        "import warnings; warnings.simplefilter('error', RuntimeWarning)\n"
        "try:\n    import zeronlp\nexcept RuntimeWarning as w:\n    print('WARNED', w)\n"
        "else:\n    print('NO WARNING')\n"
    )
    src = os.path.dirname(os.path.dirname(backend.__file__))  # this checkout's zeronlp
    env = dict(os.environ, ZERONLP_GPU="1", PYTHONPATH=src)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "WARNED" in out.stdout and "CuPy or a CUDA GPU is missing" in out.stdout
    out = subprocess.run(
        [sys.executable, "-c", "import zeronlp.backend as b; print(b.xp().__name__)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and out.stdout.strip() == "numpy", out.stderr


def test_device_helpers_on_numpy():
    x = np.zeros(3)
    assert backend.device_of(x) == "cpu" and not backend.is_device_array(x)
    with backend.on_device_of(x):
        pass
    assert backend.can_check_values(x)
    assert not backend.device_checks_enabled()
    with backend.device_checks():
        assert backend.device_checks_enabled()
    assert not backend.device_checks_enabled()
