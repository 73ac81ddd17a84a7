"""Training loops and their helpers.

``Trainer`` is the book's mini-batch trainer (chapter 1): it shuffles the data every epoch,
runs forward/backward/update, optionally clips gradients, and records the loss.
``RnnlmTrainer`` trains language models with truncated backpropagation through time.
"""

from __future__ import annotations

import math
import time

import numpy as np
from tqdm.auto import tqdm

from ..backend import get_array_module, is_device_array, to_cpu
from ..distributed import Communicator
from ..errors import InputError, TrainingDiverged
from ..optimizers import SGD, clip_grads, grad_norm


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


def train_step(model, optimizer, batch_x, batch_t, max_grad=None, where="", backup=None, comm=None):
    """forward, backward, (average across ranks), (clip), update; returns the loss.

    With a communicator (zeronlp.distributed) the gradients and the loss are averaged over
    the ranks before clipping, so clipping uses the norm of the global gradient.

    A step that would leave the model non-finite is never applied: a NaN or infinite loss,
    or gradients whose global norm is not finite, raise ``TrainingDiverged`` (a
    FloatingPointError) before the update; parameters that the update made non-finite are
    put back as they were before it, then ``TrainingDiverged`` is raised. So the parameters
    (and any checkpoint written from them) stay the last finite ones. ``where`` ends the
    message (" at epoch 2, iteration 7"); ``backup`` is a list the caller keeps to reuse
    the copy buffers from one step to the next.

    Plain SGD skips the copy and the check when the update provably stays finite (see
    ``sgd_stays_finite``); other optimizers, and SGD near the float range, take the copy.
    On a GPU the checks are made after the update instead (see ``_device_step``).
    """
    loss = model.forward(batch_x, batch_t)
    if is_device_array(loss):
        return _device_step(model, optimizer, loss, max_grad, where, backup, comm)
    if not math.isfinite(loss):
        raise TrainingDiverged(f"loss became {loss}{where}; parameters were not updated with it")
    model.backward()
    params, grads = remove_duplicate(model.params, model.grads)
    if comm is not None:
        loss = comm.allreduce_grads(grads, loss)
    norm = clip_grads(grads, max_grad) if max_grad is not None else grad_norm(grads)
    if not math.isfinite(norm):
        raise TrainingDiverged(
            f"gradient norm became {norm}{where}; parameters were not updated with it"
        )
    if sgd_stays_finite(optimizer, params, min(norm, math.inf if max_grad is None else max_grad)):
        optimizer.update(params, grads)
        return loss
    backup = _snapshot(params, [] if backup is None else backup)
    optimizer.update(params, grads)
    if not all_finite(params):
        for p, saved in zip(params, backup, strict=True):
            p[...] = saved
        raise TrainingDiverged(
            f"the update made parameters non-finite{where} (learning rate too large?); "
            "they were put back as they were before it"
        )
    return loss


def _device_step(model, optimizer, loss, max_grad, where, backup, comm):
    """train_step after the forward on a GPU: the host reads the device once, the loss
    (to show it) together with the gradient norm and one flag for all the checks, so the
    GPU never waits in between (over MPI, ``comm.allreduce_grads`` reads the averaged loss
    too).

    The update runs on a copy of the parameters' old values; when the loss, the gradient
    norm or the updated parameters are not finite, the parameters are put back from it and
    ``TrainingDiverged`` is raised, as on NumPy. (The optimizer's own state, such as Adam's
    moments, has seen that step: training stops there.)
    """
    model.backward()
    params, grads = remove_duplicate(model.params, model.grads)
    if comm is not None:
        loss = comm.allreduce_grads(grads, loss)
    norm = clip_grads(grads, max_grad) if max_grad is not None else grad_norm(grads)
    backup = _snapshot(params, [] if backup is None else backup)
    optimizer.update(params, grads)
    xp = get_array_module(*params)
    ok = xp.isfinite(loss) & xp.isfinite(norm)  # () bool: one flag for every check
    for p in params:
        if p.dtype.kind in "fc":
            ok &= xp.isfinite(p).all()
    values = [xp.asarray(v, dtype=xp.float64) for v in (loss, norm, ok)]
    loss, norm, ok = to_cpu(xp.stack(values))  # the one read: one small copy
    if ok:
        return float(loss)
    for p, saved in zip(params, backup, strict=True):
        p[...] = saved
    if not math.isfinite(loss):
        raise TrainingDiverged(f"loss became {loss}{where}; parameters were not updated with it")
    if not math.isfinite(norm):
        raise TrainingDiverged(
            f"gradient norm became {norm}{where}; parameters were not updated with it"
        )
    raise TrainingDiverged(
        f"the update made parameters non-finite{where} (learning rate too large?); "
        "they were put back as they were before it"
    )


def sgd_stays_finite(optimizer, params, g_max):
    """True when ``optimizer`` is plain SGD and its update p -= lr * g cannot make a
    parameter non-finite, so that no copy of the parameters and no check are needed.

    g_max bounds every |g| (the global gradient norm, after clipping at most max_grad).
    The update of finite p and g overflows only if |p| + lr * |g| passes the dtype's
    largest number; |p| <= sqrt(sum of p . p) over all parameters, one BLAS dot each (a
    rounded sum of squares is never below its largest square), and that sum is finite only
    when every parameter is. Factors of 2 and 4 cover the rounding of the bounds.
    """
    if type(optimizer) is not SGD or not params or not math.isfinite(g_max):
        return False
    if any(p.dtype.kind != "f" for p in params):
        return False
    top = min(float(np.finfo(p.dtype).max) for p in params) / 4
    if not optimizer.lr < top:  # lr itself must be a finite number of the dtype
        return False
    p_max = math.sqrt(sum(float(_square_sum(p)) for p in params))  # inf or nan: not finite
    return 2 * p_max + 2 * optimizer.lr * g_max < top


def _square_sum(a):
    """p . p of an array of any shape (a BLAS dot: no temporary, inf or NaN when p holds one)."""
    flat = a.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):  # the callers look at the result
        return get_array_module(a).dot(flat, flat)


def all_finite(arrays):
    """True when no array holds NaN or infinity (one BLAS dot each; exact check if needed)."""
    for a in arrays:
        if a.dtype.kind not in "fc":
            continue
        # a sum of squares is NaN or inf when an element is; a finite array whose squares
        # overflow (|x| > 1.8e19 in float32) is told apart by the exact (slower) check
        dot = _square_sum(a) if a.dtype.kind == "f" else a.sum()
        if not math.isfinite(float(abs(dot))) and not get_array_module(a).isfinite(a).all():
            return False
    return True


def _snapshot(params, backup):
    """Copy params into the reused buffers of ``backup`` (reallocated when shapes change)."""
    if [(b.shape, b.dtype) for b in backup] != [(p.shape, p.dtype) for p in params]:
        backup[:] = [get_array_module(p).empty_like(p) for p in params]
    for b, p in zip(backup, params, strict=True):
        b[...] = p
    return backup


def perplexity(mean_loss):
    """exp(mean cross-entropy); ``inf`` where that is past the float range (never an error)."""
    try:
        return math.exp(mean_loss)
    except OverflowError:
        return math.inf


class _Loop:
    """What both trainers share: the model, the optimizer, the progress bar, the history."""

    def __init__(self, model, optimizer, comm=None):
        self.model = model
        self.optimizer = optimizer
        self.comm = Communicator() if comm is None else comm  # data-parallel ranks
        self.eval_interval = None
        self.current_epoch = 0
        self.history = []  # one dict per epoch: {"epoch", "time", "lr", **eval_fn()}
        self._start = time.time()
        self._backup = []  # copy buffers of train_step, reused every step
        self.schedule = None  # a zeronlp.schedules schedule, set by fit
        self.monitor = None  # the eval_fn key a DivideOnPlateau schedule observes
        self.step = 0  # updates done so far, over all fits: the schedule's clock

    def _bar(self, total, verbose):
        return tqdm(total=total, disable=not verbose, unit="it", leave=True, dynamic_ncols=True)

    def _end_epoch(self, eval_fn, bar):
        self.current_epoch += 1
        record = {"epoch": self.current_epoch, "time": time.time() - self._start}
        record["lr"] = float(self.optimizer.lr)  # the rate of the epoch's last update
        if eval_fn is not None:
            record.update(eval_fn())
            bar.set_postfix({k: _fmt(v) for k, v in record.items() if k not in ("time",)})
        if hasattr(self.schedule, "observe"):  # the book's divide-on-plateau
            self.schedule.observe(self._monitored(record))
        self.history.append(record)

    def _monitored(self, record):
        if self.monitor not in record:
            raise InputError(
                f"the {type(self.schedule).__name__} schedule observes {self.monitor!r} after "
                f"every epoch, but eval_fn gave {sorted(k for k in record if k != 'time')}"
            )
        return float(record[self.monitor])

    def _set_schedule(self, schedule, monitor, eval_fn):
        """Check and keep fit's ``schedule`` and ``monitor``."""
        if schedule is not None and not callable(getattr(schedule, "apply", None)):
            raise InputError(f"schedule must be a zeronlp.schedules schedule, got {schedule!r}")
        if hasattr(schedule, "observe") and eval_fn is None:
            raise InputError(
                f"the {type(schedule).__name__} schedule observes a validation score: "
                "fit needs an eval_fn"
            )
        self.schedule, self.monitor = schedule, monitor

    def _where(self, iters):
        return f" at epoch {self.current_epoch + 1}, iteration {iters + 1}"

    def _run(
        self, max_epoch, max_iters, epoch_batches, max_grad, eval_interval, eval_fn, verbose, record
    ):
        """The loop both trainers share: ``epoch_batches()`` yields one epoch's
        (batch_x, batch_t); every ``eval_interval`` iterations ``record(mean loss)`` stores
        the running figure and returns what the progress bar shows."""
        self.eval_interval = eval_interval
        self.comm.broadcast_params(self.model.params)  # every rank starts from rank 0's
        self.comm.split_random_streams()
        total_loss, loss_count = 0.0, 0
        with self._bar(max_epoch * max_iters, verbose and self.comm.is_root) as bar:
            for _ in range(max_epoch):
                for iters, (batch_x, batch_t) in enumerate(epoch_batches()):
                    if self.schedule is not None:  # this update's rate
                        self.schedule.apply(self.optimizer, self.step)
                    self.step += 1
                    total_loss += train_step(
                        self.model,
                        self.optimizer,
                        batch_x,
                        batch_t,
                        max_grad,
                        self._where(iters),
                        self._backup,
                        self.comm,
                    )
                    loss_count += 1
                    if eval_interval is not None and iters % eval_interval == 0:
                        shown = record(total_loss / loss_count)
                        total_loss, loss_count = 0.0, 0
                        bar.set_postfix(epoch=self.current_epoch + 1, **shown)
                    bar.update(1)
                self._end_epoch(eval_fn, bar)


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else v


class Trainer(_Loop):
    """Mini-batch training of a model with ``forward(x, t)``, ``backward()``, params, grads.

    fit(x, t, max_epoch, batch_size, max_grad=None, eval_interval=20, eval_fn=None):
    shuffles every epoch; ``loss_list`` gets the mean loss of every ``eval_interval``
    iterations; ``eval_fn()``, if given, runs after every epoch and its dict (e.g.
    ``{"val_acc": 0.93}``) goes into ``history`` and the progress bar. ``schedule`` (a
    ``zeronlp.schedules`` schedule) sets the learning rate before every update, counting
    updates over all fits; a ``DivideOnPlateau`` observes ``eval_fn()[monitor]`` after
    every epoch. ``history`` records each epoch's last learning rate ("lr"). A step with a
    non-finite loss, gradient or updated parameter stops training with TrainingDiverged (a
    FloatingPointError) naming the epoch and iteration; the parameters stay the last finite
    ones (see ``train_step``).
    comm: a zeronlp.distributed communicator; each rank then takes its share of every
    batch of ``batch_size`` (the global batch) and all ranks apply the averaged gradient.
    """

    def __init__(self, model, optimizer, comm=None):
        super().__init__(model, optimizer, comm)
        self.loss_list = []

    def fit(
        self,
        x,
        t,
        max_epoch=10,
        batch_size=32,
        max_grad=None,
        eval_interval=20,
        eval_fn=None,
        verbose=True,
        schedule=None,
        monitor="val_loss",
    ):
        data_size = len(x)
        if data_size == 0:
            raise InputError("Trainer.fit got an empty dataset")
        if len(t) != data_size:
            raise InputError(f"x has {data_size} examples but t has {len(t)}")
        if batch_size < 1 or max_epoch < 0:
            raise InputError(
                f"need batch_size >= 1 and max_epoch >= 0, got {batch_size}, {max_epoch}"
            )
        max_iters = max(data_size // batch_size, 1)
        self._set_schedule(schedule, monitor, eval_fn)
        rows = self.comm.shard(batch_size)  # this rank's rows of every batch

        def epoch_batches():
            nonlocal x, t
            idx = self.comm.bcast(np.random.permutation(data_size))  # rank 0's order
            x, t = x[idx], t[idx]
            for iters in range(max_iters):
                start = iters * batch_size
                batch = slice(start + rows.start, start + rows.stop)
                yield x[batch], t[batch]

        def record(loss):
            self.loss_list.append(float(loss))
            return {"loss": f"{loss:.3f}"}

        self._run(
            max_epoch, max_iters, epoch_batches, max_grad, eval_interval, eval_fn, verbose, record
        )
        return self.loss_list

    def plot(self, path, ylim=None):
        """Write the loss curve to a PNG file (needs matplotlib: pip install 'zeronlp[plot]')."""
        from ..plot import plot_curve

        xlabel = f"iterations (x{self.eval_interval})"
        plot_curve(self.loss_list, path, xlabel=xlabel, ylabel="loss", ylim=ylim)


class RnnlmTrainer(_Loop):
    """Training of a language model on one long corpus with truncated BPTT (the book's).

    The corpus is cut into ``batch_size`` streams starting ``len(xs) // batch_size`` apart;
    each iteration takes the next ``time_size`` tokens of every stream, so the stateful
    model's hidden state carries over from one batch to the next.
    fit(xs, ts, max_epoch, batch_size, time_size, max_grad, eval_interval, eval_fn,
    verbose, schedule, monitor="val_ppl"):
    ``ppl_list`` gets the perplexity of every ``eval_interval`` iterations; ``schedule``
    and ``monitor`` as in Trainer (the book's divide-on-plateau observes validation
    perplexity).
    comm: a zeronlp.distributed communicator; rank r of R then runs the streams
    [r*B/R, (r+1)*B/R) of the ``batch_size`` B streams, and all apply the averaged gradient.
    """

    def __init__(self, model, optimizer, comm=None):
        super().__init__(model, optimizer, comm)
        self.time_idx = None
        self.ppl_list = []
        self.rows = slice(None)  # the streams this rank runs (all of them in one process)

    def get_batch(self, x, t, batch_size, time_size):
        """The next ``time_size`` ids of every stream this rank runs: (batch_x, batch_t),
        each (batch_size, time_size) in one process, (batch_size / R, time_size) on R ranks."""
        data_size = len(x)
        jump = data_size // batch_size
        offsets = np.arange(batch_size)[self.rows] * jump
        idx = (offsets[:, None] + self.time_idx + np.arange(time_size)) % data_size
        self.time_idx += time_size
        return x[idx], t[idx]

    def fit(
        self,
        xs,
        ts,
        max_epoch=10,
        batch_size=20,
        time_size=35,
        max_grad=None,
        eval_interval=20,
        eval_fn=None,
        verbose=True,
        schedule=None,
        monitor="val_ppl",
    ):
        data_size = len(xs)
        if len(ts) != data_size:
            raise InputError(f"xs has {data_size} tokens but ts has {len(ts)}")
        if batch_size < 1 or time_size < 1:
            raise InputError(f"need batch_size, time_size >= 1, got {batch_size}, {time_size}")
        max_iters = data_size // (batch_size * time_size)
        if max_iters == 0:
            raise InputError(
                f"a corpus of {data_size} tokens is shorter than one batch "
                f"({batch_size} x {time_size})"
            )
        self._set_schedule(schedule, monitor, eval_fn)
        self.time_idx = 0  # the streams start again from their offsets, and so does the state
        self.rows = self.comm.shard(batch_size)
        self.model.reset_state()

        def epoch_batches():
            for _ in range(max_iters):
                yield self.get_batch(xs, ts, batch_size, time_size)

        def record(loss):
            ppl = perplexity(loss)
            self.ppl_list.append(ppl)
            return {"ppl": f"{ppl:.2f}"}

        self._run(
            max_epoch, max_iters, epoch_batches, max_grad, eval_interval, eval_fn, verbose, record
        )
        return self.ppl_list

    def plot(self, path, ylim=None):
        """Write the perplexity curve to a PNG file (needs matplotlib)."""
        from ..plot import plot_curve

        xlabel = f"iterations (x{self.eval_interval})"
        plot_curve(self.ppl_list, path, xlabel=xlabel, ylabel="perplexity", ylim=ylim)
