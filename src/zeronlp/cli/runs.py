"""Run directories: what ``zeronlp train`` writes and the other commands read.

A run directory holds:

    config.json    the command's arguments (task, model, hyperparameters)
    params.npz     the model's parameters with JSON metadata: model class and constructor
                   arguments, task, vocabulary, data widths (see zeronlp.io)
    history.json   one record per epoch (loss, accuracy or perplexity, time)
    *.png          plots, when matplotlib is installed

params.npz is rewritten atomically after every epoch, so an interrupted or failed run keeps
the last good checkpoint.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from .. import io, models


def new_run_dir(out, task, model_name):
    """``out`` if given, else ``runs/<task>-<model>-<date-time>``; created, must be empty."""
    path = (
        Path(out) if out else Path("runs") / f"{task}-{model_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"run directory {path} is not empty: choose another --out")
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path, obj):
    io.atomic_write_text(path, json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_run(run_dir):
    """(model, meta) of a run directory: the model rebuilt from its metadata and loaded."""
    run_dir = Path(run_dir)
    params = run_dir / "params.npz"
    if not params.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory: no params.npz in it")
    meta = io.read_meta(params)
    cls = getattr(models, meta.get("model", ""), None)
    if cls is None:
        raise io.CheckpointError(f"{params} names an unknown model {meta.get('model')!r}")
    model = cls(**meta["config"])
    model.load_params(params)
    return model, meta
