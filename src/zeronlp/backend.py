"""Array backend: NumPy by default, CuPy on request, with the same layer code.

Layers never branch on the device. They ask the arrays they are given which module owns
them (``get_array_module(x)``, like ``cupy.get_array_module``) and create new arrays with
that module. Parameters are created on the current device by models through ``xp()``.

Switch to the GPU with ``zeronlp.use_gpu()`` or by setting the environment variable
``ZERONLP_GPU=1`` before importing zeronlp (without CuPy or a GPU that variable only warns:
``import zeronlp`` never fails because of it).

A training step on the GPU never waits for the host: checks that need a value of a device
array (ids inside the vocabulary, labels inside the classes) run on NumPy inputs before
they move, and on device arrays only inside ``device_checks()`` (or with
``ZERONLP_DEVICE_CHECKS=1``), a debug mode that synchronises.
"""

from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np
import scipy.sparse as _sparse

from .errors import GPUUnavailableError

try:  # CuPy is an optional extra: pip install "zeronlp[gpu-cuda12]" (or gpu-cuda13)
    import cupy as _cupy
except Exception:  # ImportError, or a CuPy without a usable CUDA runtime
    _cupy = None

_current = np
_float_dtype = np.dtype(np.float32)
_TRUE = {"1", "true", "yes", "on"}
_device_checks = os.environ.get("ZERONLP_DEVICE_CHECKS", "").strip().lower() in _TRUE


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
        raise GPUUnavailableError(
            "use_gpu() needs CuPy and a CUDA GPU; on a machine with a GPU install the extra "
            "for its CUDA: pip install 'zeronlp[gpu-cuda12]' or 'zeronlp[gpu-cuda13]'"
        )
    _current = _cupy


def use_cpu() -> None:
    """Create new parameters and data with NumPy (the default)."""
    global _current
    _current = np


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


def is_device_array(x) -> bool:
    """True for an array that lives on a GPU (a CuPy array)."""
    return _cupy is not None and isinstance(x, _cupy.ndarray)


def device_of(x) -> str:
    """Where ``x`` lives: ``"cpu"`` or ``"cuda:<id>"``."""
    return f"cuda:{x.device.id}" if is_device_array(x) else "cpu"


def on_device_of(x):
    """A context in which new CuPy arrays are created on the GPU that holds ``x``.

    with on_device_of(model.params[0]):
        start = xp.asarray([start_id])  # on the model's GPU, not the current one
    A null context for NumPy arrays.
    """
    return x.device if is_device_array(x) else contextlib.nullcontext()


def device_checks_enabled() -> bool:
    """True inside ``device_checks()``: value checks of device arrays run (and synchronise)."""
    return _device_checks


@contextlib.contextmanager
def device_checks(enabled=True):
    """Check the values of device arrays too (ids in the vocabulary, labels in range).

    Those checks copy a value to the host and so make the GPU wait; outside this block
    they run only on NumPy arrays. Use it to debug a GPU run that gives odd numbers.
    """
    global _device_checks
    previous, _device_checks = _device_checks, bool(enabled)
    try:
        yield
    finally:
        _device_checks = previous


def can_check_values(x) -> bool:
    """True when a check may read the values of ``x`` without making a GPU wait."""
    return _device_checks or not is_device_array(x)


def loss_value(x):
    """A loss as layers return it: a Python float from NumPy, a 0-d array on a GPU.

    ``float()`` of a device value makes the host wait for the GPU, so a layer leaves that
    to whoever shows the loss (once per step, the progress bar); ``float(loss)``,
    ``math.isfinite(loss)`` and ``f"{loss:.3f}"`` work on both.
    """
    return x if is_device_array(x) else float(x)


def to_cpu(x):
    """A NumPy array with the data of ``x`` (a no-op for NumPy arrays; Python values become
    arrays)."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy.asnumpy(x)
    return np.asarray(x)


def to_gpu(x):
    """A CuPy array with the data of ``x``; raises when no GPU is available."""
    if not gpu_available():
        raise GPUUnavailableError("to_gpu() needs CuPy and a CUDA GPU")
    return _cupy.asarray(x)


def to_device(x):
    """Move ``x`` to the current device (see ``use_gpu``/``use_cpu``)."""
    return to_gpu(x) if is_gpu() else to_cpu(x)


def seed(s: int) -> None:
    """Seed every random generator zeronlp draws from (NumPy's global one, and CuPy's)."""
    np.random.seed(s)
    if _cupy is not None and gpu_available():
        _cupy.random.seed(s)


class RandomReplay:
    """Replays the same random draws: NumPy's global generator and, with a GPU, CuPy's.

    replay = RandomReplay()   # remembers the current state
    replay.replay()           # every call: the generators restart from that state
    replay.restore()          # back to the state of creation (NumPy) / the original
                              # generator object (CuPy)
    Gradient checks use it so that dropout and negative sampling draw the same numbers in
    every forward. CuPy's generator has no get/set state, so each replay installs a fresh
    generator with one fixed seed.
    """

    def __init__(self):
        self._np_state = np.random.get_state()
        self._cupy_state = _cupy.random.get_random_state() if gpu_available() else None
        self._cupy_seed = int(self._np_state[1][0])

    def replay(self) -> None:
        np.random.set_state(self._np_state)
        if self._cupy_state is not None:
            _cupy.random.set_random_state(_cupy.random.RandomState(self._cupy_seed))

    def restore(self) -> None:
        np.random.set_state(self._np_state)
        if self._cupy_state is not None:
            _cupy.random.set_random_state(self._cupy_state)


def scatter_add(target, indices, values, rows=None, weights=None) -> None:
    """Add rows into ``target`` at ``indices``, summing repeated indices, in place.

    target: (V, D...); indices: int or int array of any shape (M...);
    values: (M..., D...) -> target[indices[k]] += values[k] for every k.
    With ``rows`` (M,) and/or ``weights`` (M,): target[indices[k]] += weights[k] *
    values[rows[k]], on NumPy without forming the (M, D) products (word2vec's sparse updates).

    This is the backward of a row gather (``W[idx]``). NumPy's ``np.add.at`` does it too,
    more slowly (benchmarks/bench_embedding.py compares the two). Here it is one sparse
    matrix product: the ids are sorted once (a radix sort for small vocabularies) into a CSR
    matrix S (touched ids, rows of ``values``) with S[i, rows[k]] = weights[k] where
    indices[k] is the i-th touched id (rows[k] = k and weights[k] = 1 when not given), and
    the touched rows get S @ values: SciPy's CSR kernel sums each row's entries in one C
    loop. CuPy has a fast atomic ``add.at`` kernel, used there.
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
    counts = np.bincount(flat_idx, minlength=target.shape[0])
    touched = np.flatnonzero(counts)
    order = _argsort_ids(flat_idx, target.shape[0])
    indptr = np.zeros(touched.size + 1, dtype=np.int64)
    np.cumsum(counts[touched], out=indptr[1:])
    columns = order if rows is None else np.asarray(rows)[order]
    data = np.ones(order.size, values.dtype) if weights is None else weights[order]
    S = _sparse.csr_matrix(
        (data.astype(values.dtype, copy=False), columns, indptr),
        shape=(touched.size, values.shape[0]),
    )
    sums = S @ values.reshape(values.shape[0], -1)
    target[touched] += sums.reshape((touched.size,) + values.shape[1:])


def _argsort_ids(ids, vocab_size):
    """Stable argsort of ids; int16 keys (when the vocabulary allows) get a radix sort."""
    if vocab_size <= np.iinfo(np.int16).max:
        ids = ids.astype(np.int16)
    return np.argsort(ids, kind="stable")


def _use_gpu_from_environment() -> None:
    """ZERONLP_GPU=1: use the GPU; a warning (never an import error) when there is none."""
    if os.environ.get("ZERONLP_GPU", "").strip().lower() not in _TRUE:
        return
    if gpu_available():
        use_gpu()
    else:
        warnings.warn(
            "ZERONLP_GPU is set but CuPy or a CUDA GPU is missing: zeronlp runs on the CPU "
            "(NumPy); install the extra matching your CUDA, e.g. pip install "
            "'zeronlp[gpu-cuda12]', on a machine with a GPU",
            RuntimeWarning,
            stacklevel=2,
        )


_use_gpu_from_environment()
