"""Parameter files: zeronlp's own checkpoints and the book's published ``.pkl`` files.

Own format: one ``.npz`` file (a zip) with one ``.npy`` member per parameter
(``param_000.npy``, ...) and a ``meta.json`` member holding JSON metadata (model class,
hyperparameters, vocabulary, anything JSON-serialisable). Arrays are written with
``allow_pickle=False`` and read from their ``.npy`` header and raw bytes (numeric dtypes
only, never unpickled), the metadata with ``json``: loading a checkpoint never executes
code. Files are written to a temporary file in the same directory, flushed to disk, renamed
over the target and the directory flushed too, so a crash (or a power loss) leaves either
the old file or the new one, never half. A file is read from one open file descriptor
(metadata and arrays of the same save, even while a writer replaces it) and checked whole
(zip structure, CRCs, JSON, every ``.npy`` header against the metadata, data lengths,
numeric dtypes, finite values) before anything is returned; every problem is a
``CheckpointError`` naming the file and what is wrong. Members must be stored uncompressed
(as zeronlp writes them), so no file makes zeronlp allocate more than the bytes it holds.

The book's format: a pickled list of float16 arrays in the order of the model's ``params``
(``Rnnlm.pkl``, ``AttentionSeq2seq.pkl``), or for word2vec a pickled dict
``{'word_vecs': (V, D) float16, 'word_to_id': dict, 'id_to_word': dict}``. These are read by
``load_book_pickle`` through a restricted unpickler that builds only NumPy arrays of numeric
dtypes (bool, int, uint, float, complex), in the exact form NumPy pickles them, and builtin
containers; any other object in the file is refused, and an array's data must be exactly as
long as its shape says.
"""

from __future__ import annotations

import io as _io
import json
import math
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .backend import get_array_module, to_cpu
from .errors import CheckpointError, CorruptPickleError, MissingFileError, UnsafePickleError

META_NAME = "meta.json"
FORMAT = "zeronlp-params"
FORMAT_VERSION = 1
NUMERIC_KINDS = "biufc"  # bool, int, uint, float, complex: the only dtypes a file may hold

__all__ = [
    "CheckpointError",
    "UnsafePickleError",
    "atomic_write_bytes",
    "atomic_write_text",
    "save_arrays",
    "load_arrays",
    "read_meta",
    "copy_into_params",
    "load_book_pickle",
    "book_params_list",
]


# ---------------------------------------------------------------- atomic writes


def _fsync_dir(directory):
    """Flush a directory entry (a rename) to disk; a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # Windows: directories cannot be opened, and renames are durable there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path, write):
    """Write a file through ``write(fileobj)`` to a temporary file, then rename it to ``path``.

    The rename is atomic on POSIX and Windows, so readers (and a later crash) never see a
    partly written file; the file and then its directory are fsynced, so the new file also
    survives a power loss. The temporary file is removed if ``write`` fails.
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
    _fsync_dir(path.parent)


def atomic_write_text(path, text):
    atomic_write_bytes(path, lambda f: f.write(text.encode("utf-8")))


# ---------------------------------------------------------------- own format


def _member_name(i):
    return f"param_{i:03d}.npy"


def save_arrays(path, arrays, meta=None):
    """Save a list of arrays and JSON metadata to ``path`` (``.npz``), atomically.

    arrays: list of NumPy or CuPy arrays of numeric dtypes (moved to the CPU); meta: a
    JSON-serialisable dict. An array holding NaN or infinity is refused (CheckpointError)
    and nothing is written: a checkpoint is never worse than the one before it.
    """
    arrays = [np.ascontiguousarray(to_cpu(a)) for a in arrays]
    for i, a in enumerate(arrays):
        if a.dtype.kind not in NUMERIC_KINDS:
            raise CheckpointError(f"refusing to write {path}: array {i} has dtype {a.dtype}")
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            raise CheckpointError(
                f"refusing to write {path}: array {i} holds NaN or infinite values"
            )
    meta = {"format": FORMAT, "version": FORMAT_VERSION, **(meta or {})}
    meta["shapes"] = [list(a.shape) for a in arrays]
    meta["dtypes"] = [a.dtype.str for a in arrays]
    meta_bytes = json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8")

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            for i, a in enumerate(arrays):
                buf = _io.BytesIO()
                np.lib.format.write_array(buf, a, allow_pickle=False)
                zf.writestr(_member_name(i), buf.getvalue())
            zf.writestr(META_NAME, meta_bytes)

    atomic_write_bytes(path, write)


def _open_archive(path):
    """(open file, ZipFile, file size) of ``path``, with clear errors; the caller closes f."""
    try:
        f = open(path, "rb")  # noqa: SIM115 -- closed by the caller (one descriptor for all reads)
    except FileNotFoundError:
        raise MissingFileError(f"no parameter file at {path}") from None
    except OSError as e:
        raise CheckpointError(f"cannot read the parameter file {path}: {e.strerror}") from None
    try:
        size = os.fstat(f.fileno()).st_size
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        f.close()
        raise CheckpointError(
            f"{path} is not a zeronlp parameter file (not a zip archive: {e})"
        ) from None
    except BaseException:
        f.close()
        raise
    return f, zf, size


def _read_member(zf, name, size, path):
    """The bytes of one archive member, refusing members that could not be this file's."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise CheckpointError(f"{path}: member {name} is missing") from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise CheckpointError(f"{path}: member {name} is compressed; zeronlp stores members plain")
    if info.file_size != info.compress_size:  # a plain member stores what it holds
        raise CheckpointError(
            f"{path}: member {name} declares {info.file_size} bytes but stores {info.compress_size}"
        )
    if info.header_offset + info.file_size > size:
        raise CheckpointError(
            f"{path}: member {name} declares {info.file_size} bytes, more than the file holds"
        )
    try:
        return zf.read(name)  # checks the CRC
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise CheckpointError(f"{path}: member {name} is damaged ({e})") from None


def _parse_meta(data, path):
    try:
        meta = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{path}: {META_NAME} is not valid UTF-8 JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        what = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{path} is not a zeronlp parameter file (format {what!r})")
    if meta.get("version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format version {meta.get('version')!r}; this zeronlp reads version "
            f"{FORMAT_VERSION}"
        )
    shapes, dtypes = meta.get("shapes"), meta.get("dtypes")
    ok = (
        isinstance(shapes, list)
        and isinstance(dtypes, list)
        and len(shapes) == len(dtypes)
        and all(isinstance(s, list) and all(_is_size(n) for n in s) for s in shapes)
        and all(isinstance(d, str) for d in dtypes)
    )
    if not ok:
        raise CheckpointError(f"{path}: {META_NAME} has malformed 'shapes' or 'dtypes'")
    for key, kind in (("model", str), ("config", dict)):
        if key in meta and not isinstance(meta[key], kind):
            raise CheckpointError(f"{path}: {META_NAME} field {key!r} is not a {kind.__name__}")
    return meta


def _is_size(n):
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _parse_npy(data, name, path):
    """A ``.npy`` member's bytes -> array, checked: header, numeric dtype, exact data length."""
    buf = _io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buf)
        shape, fortran, dtype = _HEADER_READERS[version](buf)
    except (ValueError, KeyError, SyntaxError, TypeError) as e:
        raise CheckpointError(f"{path}: member {name} has no valid .npy header ({e})") from None
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise CheckpointError(f"{path}: member {name} has dtype {dtype}, not a numeric one")
    count = math.prod(shape)
    if len(data) - buf.tell() != count * dtype.itemsize:
        raise CheckpointError(
            f"{path}: member {name} holds {len(data) - buf.tell()} data bytes but its shape "
            f"{shape} and dtype {dtype} need {count * dtype.itemsize}"
        )
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=buf.tell())
    return flat.reshape(shape, order="F" if fortran else "C").copy()


def _read_archive(path, with_arrays):
    path = Path(path)
    f, zf, size = _open_archive(path)
    with f, zf:
        meta = _parse_meta(_read_member(zf, META_NAME, size, path), path)
        if not with_arrays:
            return None, meta
        arrays = []
        for i, (shape, dtype) in enumerate(zip(meta["shapes"], meta["dtypes"], strict=True)):
            name = _member_name(i)
            a = _parse_npy(_read_member(zf, name, size, path), name, path)
            if list(a.shape) != shape or a.dtype.str != np.dtype(dtype).str:
                raise CheckpointError(
                    f"{path}: member {name} is {a.dtype} {tuple(a.shape)} but {META_NAME} "
                    f"says {dtype} {tuple(shape)}"
                )
            if a.dtype.kind in "fc" and not np.isfinite(a).all():
                raise CheckpointError(f"{path}: member {name} holds NaN or infinite values")
            arrays.append(a)
    return arrays, meta


def load_arrays(path):
    """Read a file written by ``save_arrays``: returns (list of NumPy arrays, metadata dict).

    Metadata and arrays come from one open file and are checked whole before returning;
    any problem is a ``CheckpointError`` naming the file (``MissingFileError``, a
    ``FileNotFoundError``, when there is no file).
    """
    return _read_archive(path, with_arrays=True)


def read_meta(path):
    """Only the (checked) metadata of a parameter file: the arrays are not read."""
    return _read_archive(path, with_arrays=False)[1]


def copy_into_params(params, arrays, source="the file"):
    """Copy ``arrays`` into the model's ``params`` in place, checking count and shapes.

    Values are cast to each parameter's dtype (float16 book files become float32) and moved
    to the parameter's device. In-place copies keep the references optimizers hold. Every
    array is checked and converted before the first parameter is written, so a failed load
    leaves the model as it was.
    """
    if len(arrays) != len(params):
        raise CheckpointError(
            f"{source} holds {len(arrays)} arrays but the model has {len(params)} parameters"
        )
    ready = []
    for i, (p, a) in enumerate(zip(params, arrays, strict=True)):
        if a.dtype.kind not in NUMERIC_KINDS:
            raise CheckpointError(f"{source}: array {i} has dtype {a.dtype}, not a numeric one")
        if tuple(p.shape) != tuple(a.shape):
            raise CheckpointError(
                f"{source}: array {i} has shape {tuple(a.shape)} but the model's parameter {i} "
                f"has shape {tuple(p.shape)} (other hyperparameters or another model?)"
            )
        ready.append(get_array_module(p).asarray(a).astype(p.dtype, copy=False))
    for p, a in zip(params, ready, strict=True):
        p[...] = a


# ---------------------------------------------------------------- the book's pickles
#
# NumPy pickles an array as  _reconstruct(ndarray, (0,), b'b')  followed by BUILD with the
# state  (1, shape, dtype, is_fortran, raw bytes),  and a dtype as  dtype('f2', False, True)
# followed by BUILD with  (3, byteorder, None, None, None, -1, -1, 0).  The unpickler below
# hands out stand-ins for these three names: the stand-ins accept exactly those forms, check
# the dtype, and build an array only from a state whose bytes match its shape. Nothing the
# file says is called, and no array is allocated before its bytes are there.

_RECONSTRUCT = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class _NdarrayName:
    """Stands for numpy.ndarray in a pickle: an argument of _reconstruct, never called."""

    def __init__(self, *args, **kwargs):
        raise UnsafePickleError("numpy.ndarray called directly (it would allocate unfilled memory)")


class _PickledDtype:
    """Stands for ``numpy.dtype(code, False, True)``; its BUILD state gives the byte order."""

    def __init__(self, code=None, align=False, copy=True, *rest):
        # older NumPy wrote dtype('f2', 0, 1), newer dtype('f2', False, True)
        if rest or not isinstance(code, str) or (align, copy) != (0, 1):
            raise UnsafePickleError("a dtype in an unexpected form")
        try:
            dtype = np.dtype(code)
        except TypeError:
            raise UnsafePickleError(f"unknown dtype {code!r}") from None
        if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype:
            raise UnsafePickleError(
                f"refusing dtype {code!r}: a parameter file holds only numeric arrays, "
                "never Python objects or records"
            )
        self.dtype = dtype

    def __setstate__(self, state):
        ok = (
            isinstance(state, tuple)
            and len(state) == 8
            and state[0] == 3
            and state[1] in ("<", ">", "|", "=")
            and state[2:5] == (None, None, None)
            and state[5:7] == (-1, -1)
            and state[7] == 0  # no flags: a numeric dtype has none (objects would set some)
        )
        if not ok:
            raise UnsafePickleError(f"a dtype state in an unexpected form: {state!r:.80}")
        if state[1] in "<>" and self.dtype.itemsize > 1:
            self.dtype = self.dtype.newbyteorder(state[1])


class _PickledArray:
    """Stands for ``_reconstruct(ndarray, (0,), b'b')``; BUILD gives it shape, dtype and data."""

    def __init__(self, cls=None, shape=None, typecode=None, *rest):
        if rest or cls is not _NdarrayName or shape != (0,) or typecode not in (b"b", "b"):
            raise UnsafePickleError("an array in a form NumPy does not write")
        self.array = None

    def __setstate__(self, state):
        ok = (
            isinstance(state, tuple)
            and len(state) == 5
            and state[0] == 1
            and isinstance(state[1], tuple)
            and all(_is_size(n) for n in state[1])
            and isinstance(state[2], _PickledDtype)
            and isinstance(state[3], bool)
            and isinstance(state[4], bytes | bytearray)
        )
        if not ok or self.array is not None:
            raise UnsafePickleError(f"an array state in an unexpected form: {state!r:.80}")
        shape, dtype, data = state[1], state[2].dtype, state[4]
        need = math.prod(shape) * dtype.itemsize
        if len(data) != need:
            raise UnsafePickleError(
                f"an array of shape {shape} and dtype {dtype} needs {need} bytes, "
                f"the file holds {len(data)}"
            )
        flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape))
        self.array = flat.reshape(shape, order="F" if state[3] else "C").copy()


def _latin1_bytes(text=None, encoding=None, *rest):
    """``_codecs.encode(text, 'latin1')``, how protocol 2 pickles bytes; nothing else."""
    if rest or not isinstance(text, str) or encoding != "latin1":
        raise UnsafePickleError("_codecs.encode in a form other than bytes of protocol 2")
    return text.encode("latin1")


def _empty_bytes(*args):
    if args:
        raise UnsafePickleError("bytes(...) with arguments")
    return b""


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds NumPy arrays of numeric dtypes and builtin containers; refuses everything else.

    Lists, tuples, dicts, strings and numbers come from pickle opcodes and need no lookup;
    ``find_class`` is asked only for named globals, and only array reconstruction (as the
    stand-ins above) and protocol 2's spellings of bytes pass.
    """

    def find_class(self, module, name):
        if (module, name) in _RECONSTRUCT:
            return _PickledArray
        if (module, name) == ("numpy", "ndarray"):
            return _NdarrayName
        if (module, name) == ("numpy", "dtype"):
            return _PickledDtype
        if (module, name) == ("_codecs", "encode"):  # protocol 2 spells bytes this way
            return _latin1_bytes
        if (module, name) in (("__builtin__", "bytes"), ("builtins", "bytes")):
            return _empty_bytes  # protocol 2 spells b'' as bytes()
        raise UnsafePickleError(
            f"refusing to load {module}.{name}: a book parameter file holds only NumPy "
            "arrays, lists, tuples and dicts, and loading anything else could run code"
        )


def _resolve(obj, seen):
    """Replace the stand-ins by their arrays in lists, tuples and dicts (cycles included)."""
    if isinstance(obj, _PickledArray):
        if obj.array is None:
            raise UnsafePickleError("an array without its data (no state after _reconstruct)")
        return obj.array
    if isinstance(obj, _PickledDtype | _NdarrayName) or obj is _NdarrayName:
        raise UnsafePickleError("a dtype or type where a value belongs")
    if id(obj) in seen:
        return obj
    if isinstance(obj, list):
        seen.add(id(obj))
        obj[:] = [_resolve(v, seen) for v in obj]
    elif isinstance(obj, dict):
        seen.add(id(obj))
        for k in obj:
            if not isinstance(k, str | int | float | bool | bytes | type(None) | tuple):
                raise UnsafePickleError(f"a dict key of type {type(k).__name__}")
            obj[k] = _resolve(obj[k], seen)
    elif isinstance(obj, tuple):
        return tuple(_resolve(v, seen) for v in obj)
    elif not isinstance(obj, str | bytes | bytearray | int | float | complex | bool | type(None)):
        raise UnsafePickleError(f"an object of type {type(obj).__name__}")
    return obj


def load_book_pickle(path):
    """Read one of the book's ``.pkl`` parameter files without executing code.

    Returns what the file holds: a list of arrays (model parameters) or a dict (word2vec's
    ``word_vecs``/``word_to_id``/``id_to_word``). Raises ``UnsafePickleError`` (a
    ``pickle.UnpicklingError``) for files that contain anything but NumPy arrays of numeric
    dtypes and builtin containers, or arrays whose data do not match their shape, and
    ``CorruptPickleError`` (a ``CheckpointError`` and a ``pickle.UnpicklingError``) for
    corrupt files.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no parameter file at {path}")
    with open(path, "rb") as f:
        try:
            return _resolve(_RestrictedUnpickler(f).load(), set())
        except UnsafePickleError as e:
            raise UnsafePickleError(f"{path}: {e}") from None
        except RecursionError:
            raise UnsafePickleError(f"{path}: nested too deeply") from None
        except Exception as e:  # truncated or corrupt files surface as many error types
            raise CorruptPickleError(f"{path} is not a valid pickle file ({e})") from e


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
