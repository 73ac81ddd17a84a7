"""The book's ``common/trainer.py``: zeronlp's trainers with the book's ``fit`` arguments, its
``| epoch | iter | time | loss`` lines and ``plot(ylim=None)``.

Each iteration is zeronlp's ``training.train_step`` (forward, backward, shared weights
merged, clipping, update, and a stop with FloatingPointError on a NaN or infinite loss
before the parameters are touched); the batches are the book's: ``Trainer`` shuffles with
NumPy's global generator every epoch and ``RnnlmTrainer`` reads ``batch_size`` streams
(``get_batch``). Unlike zeronlp's ``RnnlmTrainer.fit``, the book's does not reset the
model's state when ``fit`` starts: ``fit`` called once per epoch carries it over.

``plot()`` draws the curve with matplotlib and shows it; where no display is (a
non-interactive matplotlib backend such as Agg), it saves the picture instead and prints
where (``loss.png`` / ``perplexity.png`` in the working directory, or ``path``).
"""

# ruff: noqa: UP031 (the book's %-formats, kept so the printed text is visibly its own)

import time

import numpy

from ...backend import get_array_module
from ...training import RnnlmTrainer as _RnnlmTrainer
from ...training import Trainer as _Trainer
from ...training import remove_duplicate, train_step
from ...training.trainer import perplexity
from .np import GPU, np

__all__ = ["GPU", "np", "Trainer", "RnnlmTrainer", "remove_duplicate"]

_NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def _plot(values, eval_interval, ylabel, ylim, path, default_path):
    """The book's figure: one curve over iterations (x eval_interval); shown, or saved."""
    import matplotlib
    import matplotlib.pyplot as plt

    x = numpy.arange(len(values))
    if ylim is not None:
        plt.ylim(*ylim)
    plt.plot(x, values, label="train")
    plt.xlabel("iterations (x" + str(eval_interval) + ")")
    plt.ylabel(ylabel)
    if path is None and matplotlib.get_backend().lower() not in _NON_INTERACTIVE:
        plt.show()
        return None
    path = path or default_path
    plt.savefig(path)
    plt.close()
    print("(no display: the %s curve was saved to %s)" % (ylabel, path))
    return path


class Trainer(_Trainer):
    """The book's mini-batch trainer. fit(x, t, max_epoch=10, batch_size=32, max_grad=None,
    eval_interval=20) prints ``| epoch %d |  iter %d / %d | time %d[s] | loss %.2f`` every
    ``eval_interval`` iterations and appends that mean loss to ``loss_list``."""

    def fit(self, x, t, max_epoch=10, batch_size=32, max_grad=None, eval_interval=20):
        data_size = len(x)
        max_iters = data_size // batch_size
        self.eval_interval = eval_interval
        total_loss, loss_count = 0, 0
        start_time = time.time()
        for _ in range(max_epoch):
            idx = numpy.random.permutation(numpy.arange(data_size))  # the book's draws, on the host
            x, t = x[idx], t[idx]
            for iters in range(max_iters):
                batch = slice(iters * batch_size, (iters + 1) * batch_size)
                total_loss += train_step(self.model, self.optimizer, x[batch], t[batch], max_grad)
                loss_count += 1
                if eval_interval is not None and iters % eval_interval == 0:
                    avg_loss = total_loss / loss_count
                    elapsed_time = time.time() - start_time
                    print(
                        "| epoch %d |  iter %d / %d | time %d[s] | loss %.2f"
                        % (self.current_epoch + 1, iters + 1, max_iters, elapsed_time, avg_loss)
                    )
                    self.loss_list.append(float(avg_loss))
                    total_loss, loss_count = 0, 0
            self.current_epoch += 1

    def plot(self, ylim=None, path=None):
        """Draw the loss curve (plt.show()); without a display save it and print where."""
        return _plot(self.loss_list, self.eval_interval, "loss", ylim, path, "loss.png")


class RnnlmTrainer(_RnnlmTrainer):
    """The book's truncated-BPTT trainer. fit(xs, ts, max_epoch=10, batch_size=20,
    time_size=35, max_grad=None, eval_interval=20) prints
    ``| epoch %d |  iter %d / %d | time %d[s] | perplexity %.2f`` and fills ``ppl_list``."""

    def __init__(self, model, optimizer):
        super().__init__(model, optimizer)
        self.ppl_list = None

    def get_batch(self, x, t, batch_size, time_size):
        """The next (batch_size, time_size) block of every stream, as int32 like the book's."""
        xp = get_array_module(x)
        data_size = len(x)
        offsets = xp.arange(batch_size)[:, None] * (data_size // batch_size)
        idx = (offsets + self.time_idx + xp.arange(time_size)) % data_size
        self.time_idx += time_size
        return x[idx].astype("i"), t[idx].astype("i")

    def fit(
        self, xs, ts, max_epoch=10, batch_size=20, time_size=35, max_grad=None, eval_interval=20
    ):
        data_size = len(xs)
        max_iters = data_size // (batch_size * time_size)
        self.time_idx = 0
        self.ppl_list = []
        self.eval_interval = eval_interval
        total_loss, loss_count = 0, 0
        start_time = time.time()
        for _ in range(max_epoch):
            for iters in range(max_iters):
                batch_x, batch_t = self.get_batch(xs, ts, batch_size, time_size)
                total_loss += train_step(self.model, self.optimizer, batch_x, batch_t, max_grad)
                loss_count += 1
                if eval_interval is not None and iters % eval_interval == 0:
                    ppl = perplexity(total_loss / loss_count)
                    elapsed_time = time.time() - start_time
                    print(
                        "| epoch %d |  iter %d / %d | time %d[s] | perplexity %.2f"
                        % (self.current_epoch + 1, iters + 1, max_iters, elapsed_time, ppl)
                    )
                    self.ppl_list.append(float(ppl))
                    total_loss, loss_count = 0, 0
            self.current_epoch += 1

    def plot(self, ylim=None, path=None):
        """Draw the perplexity curve (plt.show()); without a display save it and print where."""
        return _plot(self.ppl_list, self.eval_interval, "perplexity", ylim, path, "perplexity.png")
