"""Training loops and their helpers.

``Trainer`` is the book's mini-batch trainer (chapter 1): it shuffles the data every epoch,
runs forward/backward/update, optionally clips gradients, and records the loss.
"""

from __future__ import annotations

import math
import time

import numpy as np
from tqdm.auto import tqdm

from ..optimizers import clip_grads


def remove_duplicate(params, grads):
    """Merge parameters that appear several times in ``params`` (shared weights).

    Returns new lists where every distinct array appears once and its gradient is the sum
    of the gradients of its occurrences. A weight used transposed (weight tying between
    an embedding W (V, D) and an output layer W.T (D, V)) is recognised too.
    """
    merged_p, merged_g = [], []
    for p, g in zip(params, grads, strict=True):
        for k, q in enumerate(merged_p):
            if p is q:
                merged_g[k] = merged_g[k] + g
                break
            if _is_transpose_of(p, q):
                merged_g[k] = merged_g[k] + g.T
                break
        else:
            merged_p.append(p)
            merged_g.append(g)
    return merged_p, merged_g


def _is_transpose_of(p, q):
    """True when p is the transposed view q.T (or q of p), i.e. the same memory."""
    if p.ndim != 2 or q.ndim != 2 or p.shape != q.shape[::-1] or p.strides != q.strides[::-1]:
        return False
    return p.base is q or q.base is p or (p.base is not None and p.base is q.base)


class Trainer:
    """Mini-batch training of a model with ``forward(x, t)``, ``backward()``, params, grads.

    fit(x, t, max_epoch, batch_size, max_grad=None, eval_interval=20): ``loss_list`` gets
    the mean loss of every ``eval_interval`` iterations. A progress bar shows the epoch and
    the running loss unless ``verbose=False``. A NaN or infinite loss stops training with
    a FloatingPointError before the parameters are updated with it.
    """

    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.loss_list = []
        self.eval_interval = None
        self.current_epoch = 0

    def fit(self, x, t, max_epoch=10, batch_size=32, max_grad=None, eval_interval=20, verbose=True):
        data_size = len(x)
        if data_size == 0:
            raise ValueError("Trainer.fit got an empty dataset")
        if len(t) != data_size:
            raise ValueError(f"x has {data_size} examples but t has {len(t)}")
        max_iters = max(data_size // batch_size, 1)
        self.eval_interval = eval_interval
        model, optimizer = self.model, self.optimizer
        total_loss, loss_count = 0.0, 0
        start = time.time()
        bar = tqdm(total=max_epoch * max_iters, disable=not verbose, unit="it", leave=True)
        try:
            for _ in range(max_epoch):
                idx = np.random.permutation(data_size)
                x, t = x[idx], t[idx]
                for iters in range(max_iters):
                    batch_x = x[iters * batch_size : (iters + 1) * batch_size]
                    batch_t = t[iters * batch_size : (iters + 1) * batch_size]
                    loss = model.forward(batch_x, batch_t)
                    if not math.isfinite(loss):
                        raise FloatingPointError(
                            f"loss became {loss} at epoch {self.current_epoch + 1}, "
                            f"iteration {iters + 1}; parameters were not updated with it"
                        )
                    model.backward()
                    params, grads = remove_duplicate(model.params, model.grads)
                    if max_grad is not None:
                        clip_grads(grads, max_grad)
                    optimizer.update(params, grads)
                    total_loss += loss
                    loss_count += 1
                    if (eval_interval is not None) and (iters % eval_interval) == 0:
                        avg_loss = total_loss / loss_count
                        self.loss_list.append(float(avg_loss))
                        total_loss, loss_count = 0.0, 0
                        bar.set_postfix(
                            epoch=self.current_epoch + 1,
                            loss=f"{avg_loss:.3f}",
                            time=f"{time.time() - start:.0f}s",
                        )
                    bar.update(1)
                self.current_epoch += 1
        finally:
            bar.close()
        return self.loss_list

    def plot(self, path, ylim=None):
        """Write the loss curve to a PNG file (needs matplotlib: pip install 'zeronlp[plot]')."""
        from ..plot import plot_curve

        plot_curve(
            self.loss_list,
            path,
            xlabel=f"iterations (x{self.eval_interval})",
            ylabel="loss",
            ylim=ylim,
        )
