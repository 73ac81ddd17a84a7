"""The pictures of a run: what a run directory keeps for them, and drawing them.

Training stores what every picture needs in the run directory, with or without matplotlib:

    history.json   per-epoch accuracy, perplexity or loss (history.png)
    curve.npz      the training loss or perplexity every few iterations (loss.png or
                   perplexity.png)
    attention.npz  attention weights of the first test questions (attention-1.png, ...)
    wordmap.npz    word2vec: the vectors of frequent words (wordmap.png, a 2-D PCA map)

``draw_run`` turns them into PNGs; training calls it when matplotlib is installed, and
``zeronlp plot RUN`` calls it later otherwise.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from .. import backend
from ..errors import MissingDependencyError
from ..training.trainer import RnnlmTrainer

INSTALL_HINT = "pip install 'zeronlp[plot]'"


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def require_matplotlib(what="plotting"):
    """MissingDependencyError now (before training, say) when a plot the user asked for
    could not be drawn; ``what`` names the option that needs it."""
    if not have_matplotlib():
        raise MissingDependencyError(f"{what} needs matplotlib: {INSTALL_HINT}")


def _save_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _load_npz(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _curve_of(trainer):
    """(values, what) of a trainer's running curve: perplexity for language models."""
    if isinstance(trainer, RnnlmTrainer):
        return trainer.ppl_list, "training perplexity"
    return trainer.loss_list, "training loss"


def save_curve(run_dir, trainer):
    values, what = _curve_of(trainer)
    interval = trainer.eval_interval or 1
    _save_npz(
        run_dir / "curve.npz",
        values=np.asarray(values, dtype=np.float64),
        interval=np.asarray(interval),
        what=np.asarray(what),
    )


def save_attention(run_dir, model, meta, x, t):
    """Attention weights of a few questions x (K, Tq) as fed to the model, answers t (K, Ta)."""
    vocab = meta["vocab"]
    weights = backend.to_cpu(model.attention_map(backend.to_device(x), backend.to_device(t)))
    questions = np.asarray(["".join(vocab[int(i)] for i in row) for row in x])
    answers = np.asarray(["".join(vocab[int(i)] for i in row[1:]) for row in t])
    reverse = bool(meta.get("reverse"))
    _save_npz(
        run_dir / "attention.npz",
        weights=weights.astype(np.float32),
        questions=questions,
        answers=answers,
        reverse=np.asarray(reverse),
    )


def save_word_map(run_dir, vectors, id_to_word, counts, first=50, number=150):
    """The vectors of the words of frequency rank ``first`` to ``first + number``: the
    most frequent ones are function words, which say little on a map."""
    order = np.argsort(-np.asarray(counts), kind="stable")[first : first + number]
    words = np.asarray([id_to_word[int(i)] for i in order])
    _save_npz(run_dir / "wordmap.npz", vectors=np.asarray(vectors)[order], words=words)


def write_run_plots(run_dir, model, meta, trainer, x_example=None, t_example=None):
    """Store what the pictures need, then draw them if matplotlib is installed; returns the
    PNG paths (none without matplotlib: then it says once how to get them)."""
    save_curve(run_dir, trainer)
    if hasattr(model, "attention_map") and x_example is not None:
        save_attention(run_dir, model, meta, x_example, t_example)
    return _draw_or_say(run_dir)


def write_word2vec_plots(run_dir, vectors, id_to_word, counts, losses):
    """word2vec: the loss of every batch and the map of frequent words."""
    _save_npz(
        run_dir / "curve.npz",
        values=np.asarray(losses, dtype=np.float64),
        interval=np.asarray(1),
        what=np.asarray("training loss"),
    )
    save_word_map(run_dir, vectors, id_to_word, counts)
    return _draw_or_say(run_dir)


def _draw_or_say(run_dir):
    if not have_matplotlib():
        print(
            f"plots skipped: matplotlib is not installed ({INSTALL_HINT}); then "
            f"'zeronlp plot {run_dir}' draws them",
            file=sys.stderr,
        )
        return []
    return draw_run(run_dir)


def draw_run(run_dir):
    """Draw every picture whose data the run directory holds; returns the PNG paths."""
    from .. import plot

    written = []
    history_file = run_dir / "history.json"
    if history_file.is_file():
        history = json.loads(history_file.read_text(encoding="utf-8"))
        keys = [k for k in ("acc", "val_ppl", "loss") if any(k in h for h in history)][:2]
        if keys:
            path = run_dir / "history.png"
            lr = ["lr"] if any("lr" in h for h in history) else []  # the rate of each epoch
            plot.plot_history(history, keys + lr, path)
            written.append(path)
    if (run_dir / "curve.npz").is_file():
        data = _load_npz(run_dir / "curve.npz")
        what = str(data["what"])
        path = run_dir / ("perplexity.png" if "perplexity" in what else "loss.png")
        every = int(data["interval"])
        plot.plot_curve(data["values"], path, ylabel=what, every=every)
        written.append(path)
    if (run_dir / "attention.npz").is_file():
        written += _draw_attention(run_dir, _load_npz(run_dir / "attention.npz"))
    if (run_dir / "wordmap.npz").is_file():
        data = _load_npz(run_dir / "wordmap.npz")
        path = run_dir / "wordmap.png"
        plot.plot_word_map(data["vectors"], [str(w) for w in data["words"]], path)
        written.append(path)
    return written


def _draw_attention(run_dir, data):
    from .. import plot

    written = []
    for k, (weights, question, answer) in enumerate(
        zip(data["weights"], data["questions"], data["answers"], strict=True), start=1
    ):
        question, answer = list(str(question)), list(str(answer))
        if bool(data["reverse"]):  # show the question the way it is written, not as fed
            weights, question = weights[..., ::-1], question[::-1]
        width = len("".join(question).rstrip())  # drop the padding after the question
        weights, question = weights[..., :width], question[:width]
        title = f"{''.join(question).strip()!r} -> {''.join(answer).strip()!r}"
        path = run_dir / f"attention-{k}.png"
        if weights.ndim == 3:
            plot.plot_attention_heads(weights, answer, question, path, title=title)
        else:
            plot.plot_attention(weights, answer, question, path, title=title)
        written.append(path)
    return written


def write_curve(trainer, path, task):
    """The running loss of a trainer as a PNG (``zeronlp train spiral --plot``)."""
    from .. import plot

    values, what = _curve_of(trainer)
    every = trainer.eval_interval or 1
    plot.plot_curve(values, path, ylabel=what, title=f"{task}: {what}", every=every)


def write_attention_map(model, meta, x, t, path):
    """Heatmap of one example's attention: x (1, Tq) as the model sees it, t (1, Ta).

    A model whose ``attention_map`` has a heads axis (N, heads, Ta-1, Tq), the
    Transformer's, gets one panel per head."""
    from .. import plot

    vocab = meta["vocab"]
    weights = backend.to_cpu(model.attention_map(backend.to_device(x), backend.to_device(t)))[0]
    question = [vocab[int(i)] for i in backend.to_cpu(x)[0]]
    answer = [vocab[int(i)] for i in backend.to_cpu(t)[0, 1:]]
    if meta.get("reverse"):  # show the question the way it is written, not as fed
        weights, question = weights[..., ::-1], question[::-1]
    if weights.ndim == 3:
        plot.plot_attention_heads(weights, answer, question, path)
    else:
        plot.plot_attention(weights, answer, question, path)
