"""A stand-in for CuPy on the CPU that catches device-to-host synchronisation.

It mirrors what the GPU tests do with ``cupyx.allow_synchronize(False)``: its arrays are
NumPy arrays (a subclass, ``fake_cupy.ndarray``), and every operation that on a GPU would
make the host wait for the device (``int()``, ``float()``, ``bool()``, ``.item()``,
``.tolist()``, ``.get()``, ``asnumpy``, formatting, and results whose shape depends on
the data: ``nonzero``, ``flatnonzero``, ``argwhere``, ``unique``, boolean-mask indexing)
raises ``SynchronizeError`` inside
``allow_synchronize(False)``. Put it in place with ``install(monkeypatch)``: zeronlp's
backend then treats these arrays as CuPy arrays.

Limits (a fake, not a GPU): ``np.asarray(x)`` of a fake array gives a NumPy array silently
(CuPy raises there), and CuPy functions missing from NumPy are absent here too. A training
step that passes here may still sync on a GPU through those; the GPU tests settle it.
"""

from __future__ import annotations

import contextlib
import sys
import types

import numpy as np

_allowed = True


class SynchronizeError(RuntimeError):
    """A device-to-host copy inside allow_synchronize(False)."""


@contextlib.contextmanager
def allow_synchronize(allow):
    """Like cupyx.allow_synchronize: with False, any host read of a device value raises."""
    global _allowed
    previous, _allowed = _allowed, bool(allow)
    try:
        yield
    finally:
        _allowed = previous


def _sync(what):
    if not _allowed:
        raise SynchronizeError(f"{what} reads a device value on the host (a GPU sync)")


class _Device:
    id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class ndarray(np.ndarray):  # noqa: N801 (CuPy's name)
    """A NumPy array posing as a CuPy array; 0-d results stay arrays, as in CuPy."""

    def __array_wrap__(self, obj, context=None, return_scalar=False):
        return np.asarray(obj).view(ndarray)  # never a NumPy scalar: CuPy gives 0-d arrays

    def __getitem__(self, key):
        _check_mask(key)
        out = super().__getitem__(key)
        return out if isinstance(out, np.ndarray) else np.asarray(out).view(ndarray)

    def __setitem__(self, key, value):
        _check_mask(key)
        super().__setitem__(key, value)

    def nonzero(self):
        _sync("nonzero()")
        return _wrap(self.view(np.ndarray).nonzero())

    @property
    def device(self):
        return _Device()

    def __int__(self):
        _sync("int()")
        return int(self.view(np.ndarray))

    def __float__(self):
        _sync("float()")
        return float(self.view(np.ndarray))

    def __bool__(self):
        _sync("bool()")
        return bool(self.view(np.ndarray))

    def __index__(self):
        _sync("an index from a device value")
        return self.view(np.ndarray).__index__()

    def __format__(self, spec):
        _sync("formatting")
        return format(self.view(np.ndarray)[()] if self.ndim == 0 else self.view(np.ndarray), spec)

    def __repr__(self):
        _sync("repr()")
        return "fake_cupy." + repr(self.view(np.ndarray))

    def item(self, *args):
        _sync(".item()")
        return self.view(np.ndarray).item(*args)

    def tolist(self):
        _sync(".tolist()")
        return self.view(np.ndarray).tolist()

    def get(self):
        _sync(".get()")
        return self.view(np.ndarray).copy()


def _check_mask(key):
    """Boolean-mask indexing has a data-dependent shape: CuPy reads the mask's count."""
    keys = key if isinstance(key, tuple) else (key,)
    if any(getattr(k, "dtype", None) == np.bool_ for k in keys):
        _sync("boolean-mask indexing")


# functions whose result's shape depends on the values: CuPy reads a count from the device
_SYNCING = {"nonzero", "flatnonzero", "argwhere", "unique", "extract", "compress"}


def _wrap(x):
    """NumPy results as fake device arrays (tuples and lists of them too)."""
    if isinstance(x, np.ndarray) and not isinstance(x, ndarray):
        return x.view(ndarray)
    if isinstance(x, np.generic):
        return np.asarray(x).view(ndarray)
    if isinstance(x, tuple):
        return tuple(_wrap(a) for a in x)
    if isinstance(x, list):
        return [_wrap(a) for a in x]
    return x


def _wrapped(function):
    name = getattr(function, "__name__", "function")

    def call(*args, **kwargs):
        if name in _SYNCING and any(isinstance(a, ndarray) for a in args):
            _sync(f"{name}()")
        return _wrap(function(*args, **kwargs))

    call.__name__ = name
    return call


class _Module(types.ModuleType):
    """NumPy's namespace (or a submodule of it) whose functions return fake arrays."""

    def __init__(self, name, source):
        super().__init__(name)
        self._source = source

    def __getattr__(self, name):
        value = getattr(self._source, name)
        if isinstance(value, np.ufunc | type) or not callable(value):
            return value  # ufuncs keep the subclass themselves; dtypes and constants as is
        return _wrapped(value)


def asnumpy(x):
    _sync("asnumpy()")
    return np.array(x.view(np.ndarray) if isinstance(x, ndarray) else x)


def get_array_module(*arrays):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in arrays) else np


def __getattr__(name):  # module-level: everything else is NumPy's, returning fake arrays
    return getattr(_numpy_namespace, name)


_numpy_namespace = _Module("fake_cupy.numpy", np)


class _Random(_Module):
    """cupy.random: draws from NumPy's global generator; CuPy's generator-object API."""

    class RandomState:
        def __init__(self, seed=None):
            self.seed = seed

    def get_random_state(self):
        state = self.RandomState()
        state.np_state = np.random.get_state()
        return state

    def set_random_state(self, state):
        if state.seed is not None:
            np.random.seed(state.seed)
        else:
            np.random.set_state(state.np_state)


random = _Random("fake_cupy.random", np.random)
linalg = _Module("fake_cupy.linalg", np.linalg)
cuda = types.SimpleNamespace(
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1), Device=lambda i=0: _Device()
)


def install(monkeypatch):
    """Make zeronlp's backend use this fake as CuPy, with it as the current module."""
    from zeronlp import backend

    module = sys.modules[__name__]
    monkeypatch.setattr(backend, "_cupy", module)
    monkeypatch.setattr(backend, "_current", module)
    return module
