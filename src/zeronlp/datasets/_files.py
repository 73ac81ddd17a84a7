"""Where dataset files live: the data directory, the cache and downloads.

Search order for a dataset file ``<subdir>/<fname>``:

1. ``$ZERONLP_DATA/<subdir>/<fname>`` (a directory the user or CI fills by hand);
2. ``<cache>/<subdir>/<fname>``, where ``<cache>`` is ``$ZERONLP_CACHE`` or else the
   operating system's user cache directory for zeronlp (``~/.cache/zeronlp`` on Linux,
   from ``pooch.os_cache``);
3. a download into the cache, verified by SHA-256 (pooch), unless ``ZERONLP_OFFLINE=1``.

A file in ``$ZERONLP_DATA`` whose SHA-256 is not the published one is used, with a warning
naming it (users may bring their own files). A cached file that fails its check is
downloaded again, or, offline, reported as failing its check.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pooch

from ..errors import DataError, MissingFileError


class DatasetNotFoundError(MissingFileError):
    """A dataset file is not on disk and could not be downloaded."""


class DataWarning(UserWarning):
    """A data file that zeronlp uses although it is not the published one."""


def read_text(path) -> str:
    """A data file's text (UTF-8, line ends made '\\n' as text mode does); a DataError
    names the file and line of a byte that is not UTF-8."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataError(
            f"{path} line {line}: not UTF-8 text (byte 0x{data[e.start]:02x}); "
            "save the file as UTF-8"
        ) from None


def data_dir() -> Path | None:
    """``$ZERONLP_DATA`` as a Path, or None when it is unset or empty."""
    value = os.environ.get("ZERONLP_DATA", "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The cache directory: ``$ZERONLP_CACHE``, else the user cache dir (``pooch.os_cache``)."""
    value = os.environ.get("ZERONLP_CACHE", "").strip()
    return Path(value).expanduser() if value else Path(pooch.os_cache("zeronlp")).expanduser()


def offline() -> bool:
    """True when ``ZERONLP_OFFLINE`` asks never to touch the network."""
    return os.environ.get("ZERONLP_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _not_found(subdir: str, fname: str, url: str, searched: list[Path], why: str):
    where = "\n".join(f"  - {p}" for p in searched)
    data = data_dir()
    target = (data / subdir) if data is not None else "$ZERONLP_DATA/" + subdir
    msg = (
        f"dataset file {fname!r} is not on disk. Searched:\n{where}\n"
        f"and downloading it from {url} failed ({why}).\n"
        f"Put {fname} in {target} (with ZERONLP_DATA set) "
        f"or in {cache_dir() / subdir}, or connect to the internet and retry."
    )
    return DatasetNotFoundError(msg)


def find_file(subdir: str, fname: str, url: str, sha256: str, progressbar: bool = True) -> Path:
    """Path of ``<subdir>/<fname>``: from $ZERONLP_DATA, the cache, or downloaded into the cache.

    A downloaded file is checked against ``sha256`` and only then renamed into place (pooch
    downloads to a temporary file in the cache directory and deletes it on any failure), so
    the cache never holds a partial or corrupt file. A cached file is re-hashed on each call
    and downloaded again if it does not match. Raises DatasetNotFoundError (a
    FileNotFoundError) when the file is nowhere and cannot be downloaded, and DataError (a
    ValueError) when the downloaded bytes, or offline a cached file, do not match ``sha256``.
    """
    searched = []
    data = data_dir()
    if data is not None:
        searched.append(data / subdir)
        path = data / subdir / fname
        if path.is_file():
            found = pooch.file_hash(str(path))
            if found != sha256:
                warnings.warn(
                    f"{path} has SHA-256 {found[:12]}..., not the published {sha256[:12]}...: "
                    "using it as it is",
                    DataWarning,
                    stacklevel=3,
                )
            return path
    cache = cache_dir() / subdir
    searched.append(cache)
    if offline():
        if (cache / fname).is_file():
            found = pooch.file_hash(str(cache / fname))
            if found == sha256:
                return cache / fname
            raise DataError(
                f"the cached file {cache / fname} fails its check (SHA-256 {found[:12]}..., "
                f"expected {sha256[:12]}...) and ZERONLP_OFFLINE is set: delete it and "
                f"download again, or put the right {fname} in {data_dir() or '$ZERONLP_DATA'}"
                f"/{subdir}"
            )
        raise _not_found(subdir, fname, url, searched, "not tried: ZERONLP_OFFLINE is set")

    import requests  # pooch's own dependency; imported late as pooch does, to keep imports fast

    try:
        path = pooch.retrieve(
            url, known_hash=f"sha256:{sha256}", fname=fname, path=cache, progressbar=progressbar
        )
    except requests.exceptions.RequestException as err:
        raise _not_found(subdir, fname, url, searched, f"{type(err).__name__}: {err}") from err
    except ValueError as err:  # pooch: the downloaded bytes are not the published file
        raise DataError(f"downloading {fname} from {url}: {err}") from None
    return Path(path)
