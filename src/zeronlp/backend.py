"""Array backend: NumPy by default, CuPy on request, with the same layer code.

Layers never branch on the device. They ask the arrays they are given which module owns
them (``get_array_module(x)``, like ``cupy.get_array_module``) and create new arrays with
that module. Parameters are created on the current device by models through ``xp()``.

Switch to the GPU with ``zeronlp.use_gpu()`` or by setting the environment variable
``ZERONLP_GPU=1`` before importing zeronlp.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

try:  # CuPy is an optional extra: pip install "zeronlp[gpu]"
    import cupy as _cupy
except Exception:  # ImportError, or a CuPy without a usable CUDA runtime
    _cupy = None

_current = np
_float_dtype = np.dtype(np.float32)


def gpu_available() -> bool:
    """True when CuPy is importable and sees at least one CUDA device."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def use_gpu() -> None:
    """Create new parameters and data on the GPU (CuPy) from now on."""
    global _current
    if not gpu_available():
        raise RuntimeError(
            "use_gpu() needs CuPy and a CUDA GPU; install the extra with "
            "pip install 'zeronlp[gpu]' on a machine with a GPU"
        )
    _current = _cupy


def use_cpu() -> None:
    """Create new parameters and data with NumPy (the default)."""
    global _current
    _current = np


_float_dtype = np.dtype(np.float32)


def xp():
    """The array module new arrays are created with: ``numpy`` or ``cupy``."""
    return _current


def float_dtype():
    """The dtype models create their parameters with: float32 unless changed."""
    return _float_dtype


@contextlib.contextmanager
def default_float(dtype):
    """Create model parameters with ``dtype`` inside the block (float64 for gradient checks).

    with default_float(np.float64):
        model = Rnnlm(vocab_size=10, wordvec_size=3, hidden_size=4)
    """
    global _float_dtype
    previous, _float_dtype = _float_dtype, np.dtype(dtype)
    try:
        yield
    finally:
        _float_dtype = previous


def is_gpu() -> bool:
    return _current is not np


def get_array_module(*arrays):
    """The module (numpy or cupy) that owns the given arrays; numpy for plain Python values."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def to_cpu(x):
    """A NumPy array with the data of ``x`` (a no-op for NumPy arrays and Python values)."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy.asnumpy(x)
    return np.asarray(x)


def to_gpu(x):
    """A CuPy array with the data of ``x``; raises when no GPU is available."""
    if not gpu_available():
        raise RuntimeError("to_gpu() needs CuPy and a CUDA GPU")
    return _cupy.asarray(x)


def to_device(x):
    """Move ``x`` to the current device (see ``use_gpu``/``use_cpu``)."""
    return to_gpu(x) if is_gpu() else to_cpu(x)


def seed(s: int) -> None:
    """Seed every random generator zeronlp draws from (NumPy's global one, and CuPy's)."""
    np.random.seed(s)
    if _cupy is not None and gpu_available():
        _cupy.random.seed(s)


def scatter_add(target, indices, values, rows=None, weights=None) -> None:
    """Add rows into ``target`` at ``indices``, summing repeated indices, in place.

    target: (V, D...); indices: int or int array of any shape (M...);
    values: (M..., D...) -> target[indices[k]] += values[k] for every k.
    With ``rows`` (M,) and/or ``weights`` (M,): target[indices[k]] += weights[k] *
    values[rows[k]], without forming the (M, D) products (word2vec's sparse updates).

    This is the backward of a row gather (``W[idx]``). NumPy's ``np.add.at`` does it but
    slowly (a few microseconds per row). Here the ids are sorted once (a radix sort for
    small vocabularies); ids seen once (most of them) are added with one fancy-indexed
    ``+=``, which is safe because they are distinct; runs of repeated ids are summed in a
    few buckets of similar run length, each one padded (u, m, D) gather and one sum, so
    the cost is O(M * D) with a Python loop over at most log2(M) buckets and no BLAS call
    (BLAS threads slow down badly on a busy machine). See benchmarks/bench_embedding.py.
    CuPy has a fast atomic ``add.at`` kernel, which is used there.
    """
    module = get_array_module(target)
    flat_idx = module.asarray(indices).reshape(-1)
    values = module.asarray(values)
    if rows is None:
        values = values.reshape((flat_idx.size,) + target.shape[1:])
    if module is not np:
        gathered = values if rows is None else values[rows]
        if weights is not None:
            gathered = gathered * weights.reshape((-1,) + (1,) * (gathered.ndim - 1))
        module.add.at(target, flat_idx, gathered)
        return
    if flat_idx.size == 0:
        return
    if rows is None:
        rows = np.arange(flat_idx.size)
    order = _argsort_ids(flat_idx, target.shape[0])
    sorted_idx, sorted_rows = flat_idx[order], rows[order]
    sorted_w = None if weights is None else weights[order]
    is_start = np.empty(sorted_idx.size, dtype=bool)
    is_start[0] = True
    np.not_equal(sorted_idx[1:], sorted_idx[:-1], out=is_start[1:])
    starts = np.flatnonzero(is_start)
    run_len = np.diff(np.append(starts, sorted_idx.size))

    once = starts[run_len == 1]
    gathered = values[sorted_rows[once]]
    if sorted_w is not None:
        gathered *= _column(sorted_w[once], gathered)
    target[sorted_idx[once]] += gathered

    many = np.flatnonzero(run_len > 1)
    if many.size == 0:
        return
    bucket = np.ceil(np.log2(run_len[many])).astype(np.int64)  # run lengths in (2^(b-1), 2^b]
    for b in np.unique(bucket):
        sel = many[bucket == b]
        width = np.arange(1 << int(b))
        valid = width < run_len[sel, None]  # (u, m): padding beyond each run is masked
        pos = np.where(valid, starts[sel, None] + width, 0)
        mask = valid if sorted_w is None else np.where(valid, sorted_w[pos], 0)
        gathered = values[sorted_rows[pos]]  # (u, m, D...)
        gathered *= _column(mask.astype(gathered.dtype, copy=False), gathered)
        target[sorted_idx[starts[sel]]] += gathered.sum(axis=1)


def _column(w, like):
    """Weights w reshaped to broadcast over the trailing (D...) axes of ``like``."""
    return w.reshape(w.shape + (1,) * (like.ndim - w.ndim))


def _argsort_ids(ids, vocab_size):
    """Stable argsort of ids; int16 keys (when the vocabulary allows) get a radix sort."""
    if vocab_size <= np.iinfo(np.int16).max:
        ids = ids.astype(np.int16)
    return np.argsort(ids, kind="stable")


if os.environ.get("ZERONLP_GPU", "").strip().lower() in {"1", "true", "yes", "on"}:
    use_gpu()
