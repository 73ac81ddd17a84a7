"""Optimizers that update parameters in place: ``optimizer.update(params, grads)``.

The per-parameter state (velocities, moments) is created on the first update with the
parameter's own dtype and array module, and every constant is a Python float, so float32
parameters stay float32 throughout (under NumPy 2 a NumPy float64 scalar would silently
promote each update to float64, as the ``np.sqrt`` step size of the book's Adam does).
"""

from __future__ import annotations

import math
import numbers

from .backend import get_array_module, is_device_array, loss_value
from .errors import InputError


def _check_rate(name, value, low=0.0, high=1.0):
    """``low <= value < high`` or an InputError naming the argument."""
    if not (isinstance(value, numbers.Real) and math.isfinite(value) and low <= value < high):
        raise InputError(f"{name} must be a number in [{low}, {high}), got {value!r}")
    return value


class Optimizer:
    """What every optimizer shares: a learning rate that is a finite number > 0.

    ``lr`` is checked whenever it is set (schedules change it during training):
    InputError (a ValueError) for NaN, inf, 0 or less.
    """

    def __init__(self, lr):
        self.lr = lr

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0):
            raise InputError(f"the learning rate must be a finite number > 0, got {value!r}")
        self._lr = float(value)


def _zeros_like_all(params):
    return [get_array_module(p).zeros_like(p) for p in params]


def _check(params, grads):
    if len(params) != len(grads):
        raise InputError(f"got {len(params)} params but {len(grads)} grads")
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if p.shape != g.shape:
            raise InputError(
                f"param {i} has shape {tuple(p.shape)} but its grad has shape {tuple(g.shape)}"
            )


class SGD(Optimizer):
    """Stochastic gradient descent: W -= lr * dW."""

    def __init__(self, lr=0.01):
        super().__init__(lr)
        self._step = None  # reused buffers for lr * dW: no allocation per update

    def update(self, params, grads):
        _check(params, grads)
        layout = [(g.shape, g.dtype) for g in grads]
        if self._step is None or [(s.shape, s.dtype) for s in self._step] != layout:
            self._step = [get_array_module(g).empty_like(g) for g in grads]
        for p, g, step in zip(params, grads, self._step, strict=True):
            get_array_module(g).multiply(g, self.lr, out=step)
            p -= step


class Momentum(Optimizer):
    """v = momentum * v - lr * dW; W += v."""

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr)
        self.momentum = _check_rate("momentum", momentum)
        self.v = None

    def update(self, params, grads):
        _check(params, grads)
        if self.v is None:
            self.v = _zeros_like_all(params)
        for p, g, v in zip(params, grads, self.v, strict=True):
            v *= self.momentum
            v -= self.lr * g
            p += v


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient (the book's formulation, http://arxiv.org/abs/1212.0901)."""

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr)
        self.momentum = _check_rate("momentum", momentum)
        self.v = None

    def update(self, params, grads):
        _check(params, grads)
        if self.v is None:
            self.v = _zeros_like_all(params)
        m, lr = self.momentum, self.lr
        for p, g, v in zip(params, grads, self.v, strict=True):
            v *= m
            v -= lr * g
            p += (m * m) * v
            p -= ((1.0 + m) * lr) * g


class AdaGrad(Optimizer):
    """h += dW**2; W -= lr * dW / (sqrt(h) + 1e-7)."""

    def __init__(self, lr=0.01):
        super().__init__(lr)
        self.h = None

    def update(self, params, grads):
        _check(params, grads)
        if self.h is None:
            self.h = _zeros_like_all(params)
        for p, g, h in zip(params, grads, self.h, strict=True):
            xp = get_array_module(p)
            h += g * g
            p -= self.lr * g / (xp.sqrt(h) + 1e-7)


class RMSprop(Optimizer):
    """h = decay * h + (1 - decay) * dW**2; W -= lr * dW / (sqrt(h) + 1e-7)."""

    def __init__(self, lr=0.01, decay_rate=0.99):
        super().__init__(lr)
        self.decay_rate = _check_rate("decay_rate", decay_rate)
        self.h = None

    def update(self, params, grads):
        _check(params, grads)
        if self.h is None:
            self.h = _zeros_like_all(params)
        for p, g, h in zip(params, grads, self.h, strict=True):
            xp = get_array_module(p)
            h *= self.decay_rate
            h += (1.0 - self.decay_rate) * g * g
            p -= self.lr * g / (xp.sqrt(h) + 1e-7)


class Adam(Optimizer):
    """Adam (http://arxiv.org/abs/1412.6980v8), with the bias correction folded into lr."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        super().__init__(lr)
        self.beta1 = _check_rate("beta1", beta1)
        self.beta2 = _check_rate("beta2", beta2)
        self.iter = 0
        self.m = None
        self.v = None

    def update(self, params, grads):
        _check(params, grads)
        if self.m is None:
            self.m = _zeros_like_all(params)
            self.v = _zeros_like_all(params)
        self.iter += 1
        # math.sqrt returns a Python float, which keeps float32 arrays float32
        lr_t = self.lr * math.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter)
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            xp = get_array_module(p)
            m += (1.0 - self.beta1) * (g - m)
            v += (1.0 - self.beta2) * (g * g - v)
            step = xp.sqrt(v)
            step += 1e-7
            xp.divide(m, step, out=step)
            step *= lr_t
            p -= step


def _sum_of_squares(grads):
    """sum(g**2) over all gradients as a 0-d float64 array, on the gradients' device."""
    xp = get_array_module(*grads)
    total = xp.zeros((), dtype=xp.float64)
    for g in grads:
        flat = g.reshape(-1)
        total += xp.dot(flat, flat)  # no (g * g) temporary
    return total


def grad_norm(grads):
    """The global L2 norm of all gradients (inf or nan when one of them is not finite).

    A Python float from NumPy; on a GPU a 0-d array, so that nothing waits for the device.
    """
    xp = get_array_module(*grads)
    return loss_value(xp.sqrt(_sum_of_squares(grads)))


def clip_grads(grads, max_norm):
    """Scale all gradients in place so that their global L2 norm is at most ``max_norm``.

    Every gradient is multiplied by rate = min(1, max_norm / (norm + 1e-6)), computed on the
    gradients' device (the host never reads the norm: on a GPU a step does not wait).
    Returns the global norm before clipping (as ``grad_norm``). Gradients whose norm is not
    finite are left as they are (the caller decides; the trainers stop).
    """
    xp = get_array_module(*grads)
    norm = xp.sqrt(_sum_of_squares(grads))
    rate = xp.minimum(1.0, max_norm / (norm + 1e-6))
    rate = xp.where(xp.isfinite(norm), rate, 1.0)  # (), float64
    # On NumPy reading the rate is free and skips a pass over every gradient; on a GPU
    # reading it would make the host wait, so the (cheap) multiply by 1 runs instead.
    if is_device_array(rate) or rate < 1.0:
        for g in grads:
            g *= rate.astype(g.dtype)
    return loss_value(norm)
