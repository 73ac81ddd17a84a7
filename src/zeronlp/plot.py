"""PNG plots of training curves, attention and word vectors (matplotlib is an optional
extra: zeronlp[plot]).

Every figure has a title and axes labelled in words; perplexity is drawn on a log axis
(it falls by orders of magnitude from about the vocabulary size, a uniform guess), epochs
get integer ticks and markers so a run of one or two epochs is still visible, and accuracy
is drawn from 0 to 100% unless every value is at least 50%: then from just below the lowest
one, but never fewer than 5 points.
"""

from __future__ import annotations

import numpy as np

from .errors import MissingDependencyError

#: What the keys of a run's history.json mean, for axis labels.
LABELS = {
    "acc": "test accuracy",
    "val_ppl": "validation perplexity",
    "test_ppl": "test perplexity",
    "loss": "training loss",
    "lr": "learning rate",
}


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no screen needed
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise MissingDependencyError(
            "plotting needs matplotlib: pip install 'zeronlp[plot]'"
        ) from e
    return plt


def _log_axis(ax):
    """A log y axis labelled with plain numbers (600, 2000), minor ticks too when the range
    is narrow."""
    from matplotlib.ticker import LogFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)


def plot_curve(
    values, path, xlabel="iteration", ylabel="loss", ylim=None, title=None, log=None, every=1
):
    """Plot one curve and save it as a PNG at ``path``.

    values: one value every ``every`` iterations (drawn at iteration 0, every, 2*every...).
    log: a log y axis (default: when ``ylabel`` mentions perplexity), used only when every
    value is positive.
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 4))
    values = np.asarray(values, dtype=float)
    ax.plot(np.arange(len(values)) * every, values, marker="o" if len(values) < 30 else None)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log is None:
        log = "perplexity" in ylabel
    if log and len(values) and np.all(values > 0):
        _log_axis(ax)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_title(title or f"{ylabel} by iteration")
    ax.grid(True, alpha=0.3)
    _save(fig, path)


def accuracy_limits(values):
    """y-limits of an accuracy axis: 0-1, or near the top but never narrower than 5 points."""
    low = min(values)
    if low < 0.5:
        return 0.0, 1.02
    bottom = min(low - 0.01, 0.95)
    return max(bottom, 0.0), 1.005


def plot_history(history, keys, path, title=None):
    """Plot per-epoch values ``history[i][key]`` (e.g. "acc", "val_ppl") to a PNG.

    Accuracy is drawn in percent with sensible limits, perplexity on a log axis, a learning
    rate ("lr", the rate of the epoch's last update) on a log axis when it spans more than a
    factor of 10; each key gets its own panel.
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    fig, axes = plt.subplots(1, len(keys), figsize=(5.5 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        rows = [h for h in history if key in h]
        epochs = [h["epoch"] for h in rows]
        values = [float(h[key]) for h in rows]
        ax.plot(epochs, values, marker="o")
        for e, v in zip(epochs, values, strict=True):
            text = f"{v:.2%}" if key == "acc" else f"{v:.4g}"
            ax.annotate(text, (e, v), textcoords="offset points", xytext=(0, 6), ha="center")
        ax.set_xlabel("epoch")
        ax.set_ylabel(LABELS.get(key, key))
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if epochs:
            ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        if key == "acc":
            ax.set_ylim(*accuracy_limits(values))
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        elif "ppl" in key or (key == "lr" and min(values) > 0 and max(values) > 10 * min(values)):
            _log_axis(ax)
        ax.margins(y=0.15)  # room for the values written above the points
        ax.grid(True, alpha=0.3)
        when = "in" if key == "lr" else "after"
        ax.set_title(f"{LABELS.get(key, key)} {when} each epoch")
    if title:
        fig.suptitle(title)
    _save(fig, path)


def plot_attention(weights, row_labels, col_labels, path, title=None):
    """Heatmap of attention weights (rows attend over columns) saved as a PNG.

    weights: (rows, cols), e.g. answer characters over question characters.
    """
    plt = _pyplot()
    rows, cols = len(row_labels), len(col_labels)
    fig, ax = plt.subplots(figsize=(max(4, 0.3 * cols + 2.5), max(3, 0.3 * rows + 1.6)))
    image = ax.imshow(weights, cmap="Greys_r", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(cols), col_labels)
    ax.set_yticks(range(rows), row_labels)
    ax.set_xlabel("question (input characters)")
    ax.set_ylabel("answer (output characters)")
    fig.colorbar(image, ax=ax, label="attention weight")
    ax.set_title(title or "attention: which input each output character looks at")
    _save(fig, path)


def plot_attention_heads(weights, row_labels, col_labels, path, title=None):
    """One heatmap panel per attention head (two per row), saved as a PNG.

    weights: (heads, rows, cols), e.g. a Transformer's cross-attention of answer characters
    over question characters (``TransformerSeq2seq.attention_map(xs, ts)[0]``).
    """
    plt = _pyplot()
    heads = len(weights)
    rows, cols = len(row_labels), len(col_labels)
    ncols = min(heads, 2)
    nrows = -(-heads // ncols)
    width, height = max(4, 0.3 * cols + 1.5), max(3, 0.3 * rows + 1.2)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in axes.flat[heads:]:
        ax.axis("off")
    for h, ax in enumerate(axes.flat[:heads]):
        ax.imshow(weights[h], cmap="Greys_r", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(cols), col_labels)
        ax.set_yticks(range(rows), row_labels)
        ax.set_xlabel("question (input characters)")
        if h % ncols == 0:
            ax.set_ylabel("answer (output characters)")
        ax.set_title(f"head {h + 1}")
    fig.suptitle(title or "cross-attention of each head (white: weight 1)")
    _save(fig, path)


def project_2d(vectors):
    """The first two principal components of ``vectors`` (N, D) -> (N, 2), by SVD."""
    centered = np.asarray(vectors, dtype=np.float64)
    centered = centered - centered.mean(axis=0)
    u, s, _ = np.linalg.svd(centered, full_matrices=False)
    return u[:, :2] * s[:2]


def plot_word_map(vectors, words, path, title=None):
    """Words placed by the first two principal components of their vectors (N, D)."""
    plt = _pyplot()
    xy = project_2d(vectors)
    fig, ax = plt.subplots(figsize=(9, 7))
    ax.scatter(xy[:, 0], xy[:, 1], s=6, color="0.6")
    for (x, y), word in zip(xy, words, strict=True):
        ax.annotate(word, (x, y), fontsize=8, xytext=(2, 2), textcoords="offset points")
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.set_title(title or f"word vectors of {len(words)} frequent words (PCA)")
    _save(fig, path)
