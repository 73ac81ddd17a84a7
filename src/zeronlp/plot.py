"""PNG plots of training curves (matplotlib is an optional extra: zeronlp[plot])."""

from __future__ import annotations


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no screen needed
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError("plotting needs matplotlib: pip install 'zeronlp[plot]'") from e
    return plt


def plot_curve(values, path, xlabel="iterations", ylabel="loss", ylim=None):
    """Plot one curve and save it as a PNG at ``path``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(len(values)), values)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_history(history, keys, path, ylabel=None):
    """Plot per-epoch values ``history[i][key]`` for each key (e.g. "acc") to a PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in keys:
        epochs = [h["epoch"] for h in history if key in h]
        ax.plot(epochs, [h[key] for h in history if key in h], marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or ", ".join(keys))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_attention(weights, row_labels, col_labels, path, title=None):
    """Heatmap of attention weights (rows attend over columns) saved as a PNG.

    weights: (rows, cols), e.g. answer characters over question characters.
    """
    plt = _pyplot()
    rows, cols = len(row_labels), len(col_labels)
    fig, ax = plt.subplots(figsize=(max(4, 0.3 * cols + 1.5), max(3, 0.3 * rows + 1.2)))
    ax.imshow(weights, cmap="Greys_r", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(cols), col_labels)
    ax.set_yticks(range(rows), row_labels)
    ax.set_xlabel("question")
    ax.set_ylabel("answer")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


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
        ax.set_xlabel("question")
        if h % ncols == 0:
            ax.set_ylabel("answer")
        ax.set_title(f"head {h + 1}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
