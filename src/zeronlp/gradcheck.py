"""Numerical gradient check for anything that follows the layer protocol.

    >>> from zeronlp.gradcheck import gradcheck
    >>> from zeronlp.layers import Affine
    >>> errors = gradcheck(Affine(W, b), x, verbose=True)   # W, b, x in float64
    >>> assert max(errors.values()) < 1e-6

The check builds a scalar L = sum(forward(*inputs) * dout) for a fixed random ``dout``
(for a loss layer, whose forward returns a number, L is the loss itself), runs
``backward(dout)`` once for the analytic gradients, and compares them with central
differences (L(x + eps) - L(x - eps)) / (2 eps) for every element of every parameter and
of every float input.

What ``backward`` returns is matched to the inputs in order: an array is the gradient of
the first input, a tuple holds the gradients of the first inputs (``(dx, dh_prev)`` for
``forward(x, h_prev)``); ``None`` entries and integer inputs (word ids, labels) are skipped.
A forward that returns a tuple (``(h, c)`` of an LSTM step) gets one dout per output and
``backward(*douts)``.

The error reported per array is max|analytic - numeric| / max(max|analytic|, max|numeric|):
the worst error relative to the array's scale, so entries that are exactly zero do not
blow up the ratio. With float64 arrays a correct backward gives ~1e-8 or less.
"""

from __future__ import annotations

import numpy as np

from .backend import RandomReplay, get_array_module, to_cpu
from .errors import InputTypeError


def _is_float_array(a):
    return hasattr(a, "dtype") and np.issubdtype(a.dtype, np.floating)


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _scalar(outputs, douts):
    total = 0.0
    for out, d in zip(outputs, douts, strict=True):
        total += float(to_cpu(out * d).sum()) if d is not None else float(out)
    return total


def _relative_error(analytic, numeric):
    analytic, numeric = to_cpu(analytic), to_cpu(numeric)
    scale = max(float(np.abs(analytic).max(initial=0.0)), float(np.abs(numeric).max(initial=0.0)))
    diff = float(np.abs(analytic - numeric).max(initial=0.0))
    return 0.0 if diff == 0.0 else diff / max(scale, 1e-12)


def gradcheck(
    layer, *inputs, eps=1e-6, seed=0, forward_kwargs=None, reset_state=False, verbose=False
):
    """Compare a layer's backward with central differences; see the module docstring.

    layer: an object with ``params``, ``grads``, ``forward`` and ``backward``.
    inputs: the positional arguments of ``forward``.
    forward_kwargs: keyword arguments for ``forward`` (e.g. ``{"train_flg": True}``).
    reset_state: call ``layer.reset_state()`` before every forward, so that a stateful
    model (an RNN language model) starts each evaluation from the same (zero) state.
    Returns {"params[i]": error, "inputs[j]": error} for every parameter and float input;
    prints a table when ``verbose``.

    Parameters and float inputs must be float64: in float32 central differences are too
    noisy to tell a right gradient from a slightly wrong one.
    NumPy's global random state (and CuPy's, on a GPU) is restored before every forward
    call, so layers that draw random numbers (dropout, negative sampling) see the same
    draws each time.
    """
    forward_kwargs = forward_kwargs or {}
    for i, p in enumerate(layer.params):
        if not (_is_float_array(p) and p.dtype == np.float64):
            raise InputTypeError(
                f"gradcheck needs float64 parameters; params[{i}] has dtype "
                f"{getattr(p, 'dtype', type(p).__name__)}: build the layer with float64 arrays"
            )
    for j, x in enumerate(inputs):
        if _is_float_array(x) and x.dtype != np.float64:
            raise InputTypeError(f"gradcheck needs float64 inputs; inputs[{j}] has dtype {x.dtype}")

    random_state = RandomReplay()

    def run_forward():
        random_state.replay()
        if reset_state:
            layer.reset_state()
        return _as_tuple(layer.forward(*inputs, **forward_kwargs))

    outputs = run_forward()
    rng = np.random.default_rng(seed)
    douts = tuple(
        None if np.ndim(out) == 0 else rng.standard_normal(np.shape(out)) for out in outputs
    )
    if all(d is None for d in douts):  # a loss layer: backward(dout=1)
        dx = layer.backward()
    else:
        dargs = [1.0 if d is None else _like(d, out) for d, out in zip(douts, outputs, strict=True)]
        dx = layer.backward(*dargs)
    input_grads = _as_tuple(dx) if dx is not None else ()
    analytic = {f"params[{i}]": to_cpu(g).copy() for i, g in enumerate(layer.grads)}
    for j, g in enumerate(input_grads):
        if g is not None and j < len(inputs) and _is_float_array(inputs[j]):
            analytic[f"inputs[{j}]"] = to_cpu(g).copy()

    def loss():
        return _scalar(run_forward(), douts)

    errors = {}
    for name, grad in analytic.items():
        kind, k = name.split("[")
        array = layer.params[int(k[:-1])] if kind == "params" else inputs[int(k[:-1])]
        numeric = _numerical_gradient(loss, array, eps)
        if grad.shape != numeric.shape:
            raise ValueError(
                f"{name}: backward gave a gradient of shape {grad.shape}, expected {numeric.shape}"
            )
        errors[name] = _relative_error(grad, numeric)
    random_state.restore()
    if verbose:
        print(format_errors(errors))
    return errors


def _like(d, out):
    """dout as an array of the output's module (CuPy outputs get CuPy douts)."""
    return get_array_module(out).asarray(d)


def _numerical_gradient(loss, array, eps):
    """Central differences of ``loss()`` with respect to every element of ``array`` (in place)."""
    grad = np.zeros(array.shape, dtype=np.float64)
    flat = array.reshape(-1) if array.flags.c_contiguous else None
    it = np.ndindex(*array.shape) if flat is None else range(array.size)
    for n, index in enumerate(it):
        view, pos = (flat, index) if flat is not None else (array, index)
        old = float(view[pos])
        view[pos] = old + eps
        plus = loss()
        view[pos] = old - eps
        minus = loss()
        view[pos] = old
        grad.reshape(-1)[n] = (plus - minus) / (2 * eps)
    return grad


def format_errors(errors):
    """A small table of gradcheck results, worst error first."""
    lines = [f"{'array':<12} relative error"]
    for name, err in sorted(errors.items(), key=lambda kv: -kv[1]):
        lines.append(f"{name:<12} {err:.3e}")
    return "\n".join(lines)
