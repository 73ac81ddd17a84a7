"""Parameter files: zeronlp's own checkpoints and the book's published ``.pkl`` files.

Own format: one ``.npz`` file (a zip) with one ``.npy`` member per parameter
(``param_000.npy``, ...) and a ``meta.json`` member holding JSON metadata (model class,
hyperparameters, vocabulary, anything JSON-serialisable). Arrays are read with
``allow_pickle=False`` and the metadata with ``json``: loading a checkpoint never executes
code. Files are written to a temporary file in the same directory, flushed to disk and
renamed over the target, so a crash leaves either the old file or the new one, never half.

The book's format: a pickled list of float16 arrays in the order of the model's ``params``
(``Rnnlm.pkl``, ``AttentionSeq2seq.pkl``), or for word2vec a pickled dict
``{'word_vecs': (V, D) float16, 'word_to_id': dict, 'id_to_word': dict}``. These are read by
``load_book_pickle`` through a restricted unpickler that builds only NumPy arrays (of
numeric dtypes) and builtin containers; any other object in the file is refused.
"""

from __future__ import annotations

import io as _io
import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .backend import get_array_module, to_cpu

META_NAME = "meta.json"
FORMAT = "zeronlp-params"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A parameter file that does not fit the model it is loaded into, or is not valid."""


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle file that asks for something other than arrays and builtin containers."""


# ---------------------------------------------------------------- atomic writes


def atomic_write_bytes(path, write):
    """Write a file through ``write(fileobj)`` to a temporary file, then rename it to ``path``.

    The rename is atomic on POSIX and Windows, so readers (and a later crash) never see a
    partly written file. The temporary file is removed if ``write`` fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the result is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path, text):
    atomic_write_bytes(path, lambda f: f.write(text.encode("utf-8")))


# ---------------------------------------------------------------- own format


def save_arrays(path, arrays, meta=None):
    """Save a list of arrays and JSON metadata to ``path`` (``.npz``), atomically.

    arrays: list of NumPy or CuPy arrays (moved to the CPU); meta: a JSON-serialisable dict.
    """
    meta = {"format": FORMAT, "version": FORMAT_VERSION, **(meta or {})}
    meta["shapes"] = [list(a.shape) for a in arrays]
    meta["dtypes"] = [str(a.dtype) for a in arrays]
    meta_bytes = json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8")

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            for i, a in enumerate(arrays):
                buf = _io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(to_cpu(a)), allow_pickle=False)
                zf.writestr(f"param_{i:03d}.npy", buf.getvalue())
            zf.writestr(META_NAME, meta_bytes)

    atomic_write_bytes(path, write)


def load_arrays(path):
    """Read a file written by ``save_arrays``: returns (list of NumPy arrays, metadata dict)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no parameter file at {path}")
    try:
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read(META_NAME).decode("utf-8"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not a zeronlp parameter file ({e})") from e
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a zeronlp parameter file (format {meta.get('format')!r})"
        )
    with np.load(path, allow_pickle=False) as npz:
        arrays = [npz[f"param_{i:03d}"] for i in range(len(meta["shapes"]))]
    return arrays, meta


def read_meta(path):
    """Only the metadata of a parameter file (cheap: the arrays are not read)."""
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read(META_NAME).decode("utf-8"))


def copy_into_params(params, arrays, source="the file"):
    """Copy ``arrays`` into the model's ``params`` in place, checking count and shapes.

    Values are cast to each parameter's dtype (float16 book files become float32) and moved
    to the parameter's device. In-place copies keep the references optimizers hold.
    """
    if len(arrays) != len(params):
        raise CheckpointError(
            f"{source} holds {len(arrays)} arrays but the model has {len(params)} parameters"
        )
    for i, (p, a) in enumerate(zip(params, arrays, strict=True)):
        if tuple(p.shape) != tuple(a.shape):
            raise CheckpointError(
                f"{source}: array {i} has shape {tuple(a.shape)} but the model's parameter {i} "
                f"has shape {tuple(p.shape)} (other hyperparameters or another model?)"
            )
    for p, a in zip(params, arrays, strict=True):
        p[...] = get_array_module(p).asarray(a).astype(p.dtype, copy=False)


# ---------------------------------------------------------------- the book's pickles

# numpy moved numpy.core to numpy._core in 2.0; pickles name either.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


def _safe_dtype(*args, **kwargs):
    dtype = np.dtype(*args, **kwargs)
    if dtype.hasobject:
        raise UnsafePickleError("refusing an array of Python objects in a parameter file")
    return dtype


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds NumPy arrays of numeric dtypes and builtin containers; refuses everything else.

    Lists, tuples, dicts, strings and numbers come from pickle opcodes and need no lookup;
    ``find_class`` is asked only for named globals, and only array reconstruction passes.
    """

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"refusing to load {module}.{name}: a book parameter file holds only NumPy "
                "arrays, lists, tuples and dicts, and loading anything else could run code"
            )
        if name == "dtype":
            return _safe_dtype
        return super().find_class(module, name)


def load_book_pickle(path):
    """Read one of the book's ``.pkl`` parameter files without executing code.

    Returns what the file holds: a list of arrays (model parameters) or a dict (word2vec's
    ``word_vecs``/``word_to_id``/``id_to_word``). Raises ``UnsafePickleError`` (a
    ``pickle.UnpicklingError``) for files that contain anything but NumPy arrays of numeric
    dtypes and builtin containers, and ``pickle.UnpicklingError`` for corrupt files.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no parameter file at {path}")
    with open(path, "rb") as f:
        try:
            return _RestrictedUnpickler(f).load()
        except UnsafePickleError as e:
            raise UnsafePickleError(f"{path}: {e}") from None
        except Exception as e:  # truncated or corrupt files surface as many error types
            raise pickle.UnpicklingError(f"{path} is not a valid pickle file ({e})") from e


def book_params_list(obj, path):
    """The list of arrays of a book model file, with a clear error for other content."""
    if isinstance(obj, dict) and "word_vecs" in obj:
        raise CheckpointError(
            f"{path} holds word2vec vectors (a dict with 'word_vecs'), not model parameters; "
            "read it with load_book_pickle"
        )
    if not isinstance(obj, list | tuple) or not all(isinstance(a, np.ndarray) for a in obj):
        raise CheckpointError(f"{path} does not hold a list of parameter arrays")
    return list(obj)
