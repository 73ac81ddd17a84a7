"""PNG plots of a run: training curve, per-epoch metrics, attention heatmap."""

from __future__ import annotations

from .. import backend
from ..training.trainer import RnnlmTrainer


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_run_plots(run_dir, model, meta, trainer, x_example=None, t_example=None):
    """Write the run's PNGs; returns their paths (none without matplotlib)."""
    if not have_matplotlib():
        return []
    from .. import plot

    written = []
    curve = run_dir / ("perplexity.png" if isinstance(trainer, RnnlmTrainer) else "loss.png")
    trainer.plot(curve)
    written.append(curve)
    keys = [k for k in ("acc", "val_ppl") if any(k in h for h in trainer.history)]
    if keys:
        path = run_dir / "history.png"
        plot.plot_history(trainer.history, keys, path)
        written.append(path)
    if hasattr(model, "attention_map") and x_example is not None:
        path = run_dir / "attention.png"
        write_attention_map(model, meta, x_example, t_example, path)
        written.append(path)
    return written


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
