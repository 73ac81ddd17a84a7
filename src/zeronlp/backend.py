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


def scatter_add(target, indices, values) -> None:
    """Add rows of ``values`` into ``target`` at ``indices``, summing repeated indices.

    target: (V, D...); indices: int or int array of any shape (M...);
    values: (M..., D...) -> target[indices[k]] += values[k] for every k, in place.

    This is the backward of a row gather (``W[idx]``). NumPy's ``np.add.at`` does it but
    slowly (a few microseconds per row). We sort the ids once; ids seen once (most of them)
    are added with one fancy-indexed ``+=``, which is safe because those ids are distinct,
    and the runs of repeated ids are summed with one ``np.add.reduceat`` over just their rows.
    See benchmarks/bench_embedding.py for the measured ratio. CuPy has a fast atomic
    ``add.at`` kernel, so it is used there directly.
    """
    module = get_array_module(target)
    indices = module.asarray(indices)
    values = module.asarray(values)
    flat_idx = indices.reshape(-1)
    flat_val = values.reshape((flat_idx.size,) + target.shape[1:])
    if module is not np:
        module.add.at(target, flat_idx, flat_val)
        return
    if flat_idx.size == 0:
        return
    order = np.argsort(flat_idx, kind="stable")
    sorted_idx = flat_idx[order]
    is_start = np.empty(sorted_idx.size, dtype=bool)
    is_start[0] = True
    np.not_equal(sorted_idx[1:], sorted_idx[:-1], out=is_start[1:])
    starts = np.flatnonzero(is_start)
    run_len = np.diff(np.append(starts, sorted_idx.size))

    single = starts[run_len == 1]
    target[sorted_idx[single]] += flat_val[order[single]]

    repeated = run_len > 1
    if repeated.any():
        rows = np.flatnonzero(np.repeat(repeated, run_len))  # sorted positions in long runs
        target[sorted_idx[starts[repeated]]] += _segment_sum(
            flat_val[order[rows]], run_len[repeated]
        )


def _segment_sum(values, lengths):
    """Sums of consecutive runs of rows: values (sum(lengths), ...) -> (len(lengths), ...).

    ``np.add.reduceat`` does this but runs a slow inner loop per run along axis 0; for the
    usual few dozen runs of a text batch, a (runs, rows) 0/1 matrix times the rows is a
    single BLAS call and about twice as fast. Large cases fall back to reduceat, whose cost
    does not grow with runs * rows.
    """
    n_runs, n_rows = lengths.size, values.shape[0]
    if n_runs * n_rows <= 1 << 16 and values.dtype.kind == "f":
        run_of_row = np.repeat(np.arange(n_runs), lengths)
        onehot = np.zeros((n_runs, n_rows), dtype=values.dtype)
        onehot[run_of_row, np.arange(n_rows)] = 1
        return (onehot @ values.reshape(n_rows, -1)).reshape((n_runs,) + values.shape[1:])
    return np.add.reduceat(values, np.cumsum(lengths) - lengths, axis=0)


if os.environ.get("ZERONLP_GPU", "").strip().lower() in {"1", "true", "yes", "on"}:
    use_gpu()
