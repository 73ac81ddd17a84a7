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
