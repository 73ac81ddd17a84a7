"""Learning-rate schedules: a learning rate as a function of the training step.

Every schedule is called with the number of updates done so far (0 for the first update) and
returns a Python float; ``schedule.apply(optimizer, step)`` also sets ``optimizer.lr``, which
every zeronlp optimizer reads at each update. A Python float keeps float32 parameters float32.

    schedule = WarmupCosine(lr=6e-4, total_steps=5000, warmup_steps=200, min_lr=6e-5)
    for step in range(5000):
        schedule.apply(optimizer, step)
        ...  # forward, backward, optimizer.update(model.params, model.grads)

``DivideOnPlateau`` is the book's rule (``train_better_rnnlm.py``): it learns from validation
scores, one per epoch, through ``observe(score)``.
"""

from __future__ import annotations

import math

from .errors import InputError


class ScheduleError(InputError):
    """A schedule's argument out of range: a negative step, a non-positive rate."""


def _positive(name, x):
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or x <= 0:
        raise ScheduleError(f"{name} must be a positive number, got {x!r}")
    return float(x)


def _count(name, x, least=0):
    if isinstance(x, bool) or not isinstance(x, int) or x < least:
        raise ScheduleError(f"{name} must be an int >= {least}, got {x!r}")
    return x


class Schedule:
    """Base class: ``schedule(step) -> lr``; ``apply(optimizer, step)`` sets optimizer.lr."""

    def lr_at(self, step: int) -> float:
        raise NotImplementedError

    def __call__(self, step: int) -> float:
        return float(self.lr_at(_count("step", step)))

    def apply(self, optimizer, step: int) -> float:
        lr = self(step)
        optimizer.lr = lr
        return lr


class Constant(Schedule):
    """lr at every step."""

    def __init__(self, lr: float):
        self.lr = _positive("lr", lr)

    def lr_at(self, step):
        return self.lr


class WarmupCosine(Schedule):
    """Linear warmup, then cosine decay to min_lr (nanoGPT's ``get_lr``).

    step < warmup_steps:   lr * (step + 1) / (warmup_steps + 1)
    step > total_steps:    min_lr
    otherwise:             min_lr + (lr - min_lr) * (1 + cos(pi * r)) / 2,
                           r = (step - warmup_steps) / (total_steps - warmup_steps)
    """

    def __init__(self, lr: float, total_steps: int, warmup_steps: int = 0, min_lr: float = 0.0):
        self.lr = _positive("lr", lr)
        self.total_steps = _count("total_steps", total_steps, 1)
        self.warmup_steps = _count("warmup_steps", warmup_steps)
        if self.warmup_steps >= self.total_steps:
            raise ScheduleError(
                f"warmup_steps ({warmup_steps}) must be less than total_steps ({total_steps})"
            )
        if not (isinstance(min_lr, int | float) and 0 <= min_lr <= self.lr):
            raise ScheduleError(f"min_lr must lie in [0, lr={lr}], got {min_lr!r}")
        self.min_lr = float(min_lr)

    def lr_at(self, step):
        if step < self.warmup_steps:
            return self.lr * (step + 1) / (self.warmup_steps + 1)
        if step > self.total_steps:
            return self.min_lr
        r = (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        return self.min_lr + (self.lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * r))


class StepDecay(Schedule):
    """lr * gamma ** (step // step_size): multiplied by gamma every step_size steps (StepLR)."""

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1):
        self.lr = _positive("lr", lr)
        self.step_size = _count("step_size", step_size, 1)
        self.gamma = _positive("gamma", gamma)

    def lr_at(self, step):
        return self.lr * self.gamma ** (step // self.step_size)


class Noam(Schedule):
    """The Transformer paper's rate (Vaswani et al. 2017, eq. 3), counting steps from 1:

    factor * d_model ** -0.5 * min(s ** -0.5, s * warmup_steps ** -1.5),  s = step + 1.
    It rises linearly for warmup_steps steps, peaks at factor / sqrt(d_model * warmup_steps),
    then falls as 1 / sqrt(s).
    """

    def __init__(self, d_model: int, warmup_steps: int = 4000, factor: float = 1.0):
        self.d_model = _count("d_model", d_model, 1)
        self.warmup_steps = _count("warmup_steps", warmup_steps, 1)
        self.factor = _positive("factor", factor)

    def lr_at(self, step):
        s = step + 1
        return self.factor * self.d_model**-0.5 * min(s**-0.5, s * self.warmup_steps**-1.5)


class DivideOnPlateau(Schedule):
    """The book's rule: divide lr by ``factor`` when a validation score fails to improve.

    ``observe(score)`` after each evaluation (lower is better, e.g. perplexity): a score below
    the best so far becomes the best, any other divides lr by factor (the book: 4, every time,
    no patience). ``schedule(step)`` and ``apply`` give the current lr whatever the step.
    ``state()``/``load_state()`` carry best and lr through a checkpoint (JSON-able).
    """

    def __init__(self, lr: float, factor: float = 4.0, min_lr: float = 0.0):
        self.lr = _positive("lr", lr)
        self.factor = _positive("factor", factor)
        if not (isinstance(min_lr, int | float) and 0 <= min_lr <= self.lr):
            raise ScheduleError(f"min_lr must lie in [0, lr={lr}], got {min_lr!r}")
        self.min_lr = float(min_lr)
        self.best = math.inf

    def observe(self, score: float) -> bool:
        """Record one validation score; True when it improved (the book saves params then)."""
        if not isinstance(score, int | float) or math.isnan(score):
            raise ScheduleError(f"score must be a number, got {score!r}")
        if score < self.best:
            self.best = float(score)
            return True
        self.lr = max(self.lr / self.factor, self.min_lr)
        return False

    def lr_at(self, step):
        return self.lr

    def state(self) -> dict:
        return {"lr": self.lr, "best": None if math.isinf(self.best) else self.best}

    def load_state(self, state: dict):
        self.lr = _positive("lr", state["lr"])
        self.best = math.inf if state["best"] is None else float(state["best"])


SCHEDULES = {
    "constant": Constant,
    "cosine": WarmupCosine,
    "step": StepDecay,
    "noam": Noam,
    "plateau": DivideOnPlateau,
}

# the options each name takes in a spec, with their types
_OPTIONS = {
    "constant": {},
    "cosine": {"warmup": int, "min_lr": float},
    "step": {"size": int, "gamma": float},
    "noam": {"warmup": int, "factor": float},
    "plateau": {"factor": float, "min_lr": float},
}


def from_spec(spec: str, lr: float, total_steps: int, d_model: int | None = None) -> Schedule:
    """A schedule from a command-line spec ``NAME[:key=value,...]``, e.g.

    constant | cosine:warmup=200,min_lr=1e-5 | step:size=1000,gamma=0.5 |
    noam:warmup=4000,factor=2 | plateau:factor=4

    lr: the peak rate (noam ignores it: its peak follows from d_model and warmup);
    total_steps: the updates of the whole run (cosine decays over them; step's default size
    is a quarter of them).
    """
    name, _, rest = spec.partition(":")
    if name not in _OPTIONS:
        raise ScheduleError(f"unknown schedule {name!r} in {spec!r}: use one of {list(_OPTIONS)}")
    opts = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if key not in _OPTIONS[name] or not eq:
            raise ScheduleError(
                f"schedule {name!r} takes key=value options {list(_OPTIONS[name])}, got {item!r}"
            )
        try:
            opts[key] = _OPTIONS[name][key](value)
        except ValueError:
            raise ScheduleError(
                f"{key} in {spec!r} must be {_OPTIONS[name][key].__name__}"
            ) from None
    if name == "constant":
        return Constant(lr)
    if name == "cosine":
        return WarmupCosine(lr, total_steps, opts.get("warmup", 0), opts.get("min_lr", 0.0))
    if name == "step":
        size = opts.get("size", max(1, total_steps // 4))
        return StepDecay(lr, size, opts.get("gamma", 0.1))
    if name == "noam":
        if d_model is None:
            raise ScheduleError("the noam schedule needs the model width (a Transformer's d_model)")
        return Noam(d_model, opts.get("warmup", 4000), opts.get("factor", 1.0))
    return DivideOnPlateau(lr, opts.get("factor", 4.0), opts.get("min_lr", 0.0))
