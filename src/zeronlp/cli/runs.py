"""Run directories: what ``zeronlp train`` writes and the other commands read.

A run directory holds:

    config.json    the command's arguments (task, model, hyperparameters)
    params.npz     the model's parameters with JSON metadata: model class and constructor
                   arguments, task, vocabulary, data widths, and the identity (file name,
                   SHA-256, size) of the data it was trained on (see zeronlp.io)
    history.json   one record per epoch: its number, the time since the start and the lr
                   (word2vec: the mean loss instead), and the evaluation (date, addition:
                   accuracy; ptb: validation perplexity)
    *.npz          what the pictures need (curve, attention, word map: zeronlp.cli.plots)
    *.png          the pictures, when matplotlib is installed (or later, ``zeronlp plot``)

The directory is claimed atomically (``config.json`` is created with O_EXCL), so two runs can
never share one; a run that fails before its first checkpoint removes what it created.
params.npz is rewritten atomically after every epoch, so an interrupted or failed run keeps
the last good checkpoint. Everything read back from a run is untrusted: ``load_run`` checks
the metadata (model name, sizes against the stored arrays, vocabulary) before it builds
anything, and opens no path named in it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path

from .. import io, models
from ..errors import CheckpointError, InputError, MissingFileError, RunDirectoryError

#: zeronlp's model classes by name: the only names a run's metadata may give
MODEL_CLASSES = {
    name: cls
    for name in models.__all__
    if isinstance(cls := getattr(models, name), type)
    and issubclass(cls, models.BaseModel)
    and cls is not models.BaseModel
}
#: no constructor size beyond this (or the largest stored dimension, if larger) is built
SIZE_LIMIT = 1024
TOKENIZER_FILE = "tokenizer.json"  # a subword run's tokenizer, beside params.npz

_claimed: list[tuple[Path, bool]] = []  # (run directory, created by this process)


# ---------------------------------------------------------------- claiming a directory


def new_run_dir(out, task, model_name):
    """Claim ``out`` (or ``runs/<task>-<model>-<date-time>``) for a new run, atomically.

    The directory is created if missing; an existing one must be empty. The claim is the
    exclusive creation of its ``config.json``: of two runs given the same ``--out``, one
    gets it and the other a RunDirectoryError, even when both found the directory empty.
    """
    if out:
        return _claim(Path(out))
    base = Path("runs") / f"{task}-{model_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1, 100):  # two runs started in the same second get -2, -3, ...
        try:
            return _claim(base if n == 1 else base.with_name(f"{base.name}-{n}"))
        except RunDirectoryError:
            continue
    raise RunDirectoryError(f"could not claim a run directory next to {base}: give --out")


def _claim(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    created = False
    try:
        path.mkdir()
        created = True
    except FileExistsError:
        if not path.is_dir():
            raise RunDirectoryError(
                f"{path} exists and is not a directory: choose another --out"
            ) from None
        if any(path.iterdir()):
            raise RunDirectoryError(
                f"run directory {path} is not empty: choose another --out"
            ) from None
    try:
        os.close(os.open(path / "config.json", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        raise RunDirectoryError(
            f"run directory {path} was just claimed by another run: choose another --out"
        ) from None
    _claimed.append((path, created))
    return path


def release_unfinished():
    """Remove what this process's runs created if they never wrote a checkpoint.

    Called by the command when it fails, so that a run that failed before training (a bad
    option, missing data) leaves nothing that blocks running it again.
    """
    while _claimed:
        path, created = _claimed.pop()
        if (path / "params.npz").exists():
            continue  # a checkpoint: the run trained, keep what it has
        for name in ("config.json", "history.json"):
            (path / name).unlink(missing_ok=True)
        if created:
            try:
                path.rmdir()
            except OSError:  # something else is in it now: leave it
                pass


def forget_claims():
    """The command succeeded: its run directories stay as they are."""
    _claimed.clear()


# ---------------------------------------------------------------- files


def write_json(path, obj):
    io.atomic_write_text(path, json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def read_json(path):
    """A JSON file of a run; MissingFileError or InputError (with the file's name) if bad."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise MissingFileError(f"no {Path(path).name} in {Path(path).parent}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise InputError(f"{path} is not valid UTF-8 JSON ({e})") from None


def file_identity(path):
    """{"file": name, "sha256": hex, "bytes": size} of a data file (what a run records)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return {"file": Path(path).name, "sha256": digest.hexdigest(), "bytes": size}


def data_note(run_dir, meta, path, role="train"):
    """A line saying that ``path`` is not the data the run recorded (None when it is)."""
    recorded = meta.get("data", {}).get(role) if isinstance(meta.get("data"), dict) else None
    now = file_identity(path)
    if not isinstance(recorded, dict) or "sha256" not in recorded:
        return f"note: {run_dir} records no identity of its {role} data; using {path}"
    if recorded.get("sha256") != now["sha256"]:
        return (
            f"note: {path} ({now['bytes']} bytes, SHA-256 {now['sha256'][:12]}...) is not the "
            f"file {run_dir} recorded for its {role} data ({recorded.get('file')}, "
            f"{recorded.get('bytes')} bytes, SHA-256 {str(recorded.get('sha256'))[:12]}...)"
        )
    return None


# ---------------------------------------------------------------- reading a run back


def run_meta(run_dir):
    """(path of params.npz, its arrays, its checked metadata) of a run directory."""
    run_dir = Path(run_dir)
    params = run_dir / "params.npz"
    if not params.is_file():
        raise MissingFileError(f"{run_dir} is not a run directory: no params.npz in it")
    arrays, meta = io.load_arrays(params)
    _check_vocab(meta, params)
    return params, arrays, meta


def load_run(run_dir, tasks=None):
    """(model, meta) of a run directory: the model rebuilt from its checked metadata.

    tasks: the tasks the caller can use (a run of another task is refused in words before
    anything is built). The model name must be one of zeronlp's model classes, every size
    in its config must fit the stored arrays, and the arrays are copied in only when they
    match the built model one to one.
    """
    params, arrays, meta = run_meta(run_dir)
    task = meta.get("task")
    if tasks is not None and task not in tasks:
        hint = " (word vectors: use 'zeronlp similar' or 'analogy')" if task == "word2vec" else ""
        raise CheckpointError(
            f"{run_dir} is a {task} run; this command needs a {' or '.join(tasks)} run{hint}"
        )
    name = meta.get("model")
    cls = MODEL_CLASSES.get(name)
    if cls is None:
        raise CheckpointError(
            f"{params} names the model {name!r}, not one of zeronlp's: {', '.join(MODEL_CLASSES)}"
        )
    config = meta.get("config", {})
    _check_sizes(config, arrays, meta, params)
    try:
        model = cls(**config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{params}: its config does not build a {name} ({e})") from None
    io.copy_into_params(model.params, arrays, source=str(params))
    tokenizer = load_tokenizer(run_dir, meta, config)
    if tokenizer is not None:
        meta = {**meta, "tokenizer": tokenizer}
    return model, meta


def load_tokenizer(run_dir, meta, config):
    """The run's subword tokenizer (None for a word-level run), checked whole: its file is
    the fixed name beside params.npz, BPETokenizer.load validates it, and its vocabulary
    must be the model's."""
    from ..tokenizers import BPETokenizer

    name = meta.get("tokenizer")
    if name is None:
        if meta.get("task") == "ptb" and "vocab" not in meta:
            raise CheckpointError(f"{run_dir}: a ptb run needs a vocabulary or a tokenizer")
        return None
    params = Path(run_dir) / "params.npz"
    if name != TOKENIZER_FILE:
        raise CheckpointError(
            f"{params}: the tokenizer must be {TOKENIZER_FILE!r}, got {name!r:.60}"
        )
    if "vocab" in meta:
        raise CheckpointError(f"{params}: a run has a vocabulary or a tokenizer, not both")
    path = Path(run_dir) / TOKENIZER_FILE
    if not path.is_file():
        raise MissingFileError(f"{run_dir} names its tokenizer {TOKENIZER_FILE}, which is missing")
    tokenizer = BPETokenizer.load(path)
    if tokenizer.vocab_size != config.get("vocab_size"):
        raise CheckpointError(
            f"{path} has {tokenizer.vocab_size} tokens but the model {config.get('vocab_size')!r}"
        )
    return tokenizer


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check_sizes(config, arrays, meta, params):
    """Every number in the config must be plausible for the stored arrays, before building."""
    largest = max((max(a.shape, default=0) for a in arrays), default=0)
    limit = max(largest, SIZE_LIMIT)
    for key, value in config.items():
        if _is_int(value) and not 0 <= value <= limit:
            raise CheckpointError(
                f"{params}: config {key}={value} does not fit the stored arrays "
                f"(largest dimension {largest})"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise CheckpointError(f"{params}: config {key}={value} is not a finite number")
        if not isinstance(value, int | float | str | bool | type(None)):
            raise CheckpointError(f"{params}: config {key} is a {type(value).__name__}")
    V = config.get("vocab_size")
    if V is not None:
        rows = arrays[0].shape[0] if arrays and arrays[0].ndim == 2 else None
        if V != rows:
            raise CheckpointError(
                f"{params}: config vocab_size={V} but the first array has {rows} rows"
            )
        if "vocab" in meta and len(meta["vocab"]) != V:
            raise CheckpointError(
                f"{params}: the vocabulary has {len(meta['vocab'])} entries but the model {V} rows"
            )


def _check_vocab(meta, params):
    vocab = meta.get("vocab")
    if vocab is None:
        return
    if not isinstance(vocab, list) or not vocab or not all(isinstance(w, str) and w for w in vocab):
        raise CheckpointError(f"{params}: the vocabulary is not a list of non-empty strings")
    if len(set(vocab)) != len(vocab):
        dup = next(w for i, w in enumerate(vocab) if w in vocab[:i])
        raise CheckpointError(f"{params}: the vocabulary lists {dup!r} twice")
    if meta.get("task") in ("date", "addition"):
        if not all(len(c) == 1 for c in vocab) or "_" not in vocab:
            raise CheckpointError(
                f"{params}: a {meta['task']} vocabulary is single characters including '_'"
            )
        for key in ("question_len", "answer_len"):
            if not (_is_int(meta.get(key)) and 1 <= meta[key] <= SIZE_LIMIT):
                raise CheckpointError(f"{params}: {key} is {meta.get(key)!r}")
