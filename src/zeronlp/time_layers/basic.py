"""The Time versions of the basic layers (book chapters 5-6): the same map at every step.

Shapes: N batch rows, T time steps, D input size, M output size, V vocabulary size.
Each layer does the basic layer's math once for all N*T positions, with no loop over the
steps (TimeAffine reshapes (N, T, D) to (N*T, D), as the book's TimeAffine does; its
Simple_TimeAffine loops over steps).

Also the input checks that every Time layer shares: a wrong shape, a wrong dtype or a
gradient that does not fit its layer's output is reported in the user's terms.
"""

from __future__ import annotations

from ..backend import can_check_values, get_array_module, loss_value
from ..errors import InputError, InputTypeError
from ..functions import labels_from, log_softmax
from ..layers import Dropout, Embedding, SigmoidWithLoss, as_ids

# ---------------------------------------------------------------- checks


def as_float(x, dtype, xp, what):
    """x as an array of the layer's float dtype; InputTypeError for non-float input."""
    x = xp.asarray(x)
    if x.dtype.kind != "f":
        raise InputTypeError(f"{what} must be a float array, got dtype {x.dtype}")
    return x.astype(dtype, copy=False)


def check_shape(x, expected, what):
    """Raise InputError unless x.shape equals ``expected`` (None matches any length)."""
    ok = x.ndim == len(expected) and all(
        e is None or s == e for s, e in zip(x.shape, expected, strict=True)
    )
    if not ok:
        want = "(" + ", ".join("?" if e is None else str(e) for e in expected) + ")"
        raise InputError(f"{what} must have shape {want}, got {tuple(x.shape)}")


def check_affine_params(layer, W, b):
    """W must be a float (D, M) array and b an (M,) array of its dtype."""
    if getattr(getattr(W, "dtype", None), "kind", None) != "f" or W.ndim != 2:
        raise InputTypeError(f"{layer} needs a float W of shape (D, M), got {W!r:.60}")
    if getattr(b, "shape", None) != (W.shape[1],) or b.dtype != W.dtype:
        raise InputError(
            f"{layer} needs b of shape ({W.shape[1]},) and dtype {W.dtype}, got "
            f"{getattr(b, 'shape', None)} {getattr(b, 'dtype', type(b).__name__)}"
        )


def check_grad(layer, dout, out_shape, dtype, names="(N, T, M)"):
    """dout as the layer's float dtype, or a user error that says which layer got what.

    The gradient a backward receives is the gradient of the array its forward returned,
    so the two shapes must match; a learner's backward that hands on a transposed array
    (N, M, T) gets this error instead of a silent reshape.
    """
    dout = as_float(dout, dtype, get_array_module(dout), f"{layer}.backward's dout")
    if tuple(dout.shape) != tuple(out_shape):
        hint = ""
        if sorted(dout.shape) == sorted(out_shape):
            hint = " (the same sizes in another order: a transposed gradient?)"
        raise InputError(
            f"{layer}.backward got dout of shape {tuple(dout.shape)}, but its forward "
            f"produced an output of shape {tuple(out_shape)} {names}: the gradient of an "
            f"output must have that output's shape{hint}"
        )
    return dout


# ---------------------------------------------------------------- embedding, affine, dropout


class TimeEmbedding(Embedding):
    """W[xs] for a batch of sequences. W: (V, D); xs: (N, T) int ids -> (N, T, D).

    backward(dout (N, T, D)) writes dW (repeated ids summed) and returns None.
    """

    def forward(self, xs):
        (W,) = self.params
        ids = as_ids(xs, W.shape[0], get_array_module(W))
        if ids.ndim != 2:
            raise InputError(f"TimeEmbedding expects ids of shape (N, T), got {tuple(ids.shape)}")
        return super().forward(ids)


class TimeAffine:
    """xs @ W + b at every time step. W: (D, M), b: (M,); xs: (N, T, D) -> (N, T, M).

    backward(dout (N, T, M)) -> dxs (N, T, D).
    """

    def __init__(self, W, b):
        check_affine_params("TimeAffine", W, b)
        xp = get_array_module(W)
        self.params = [W, b]
        self.grads = [xp.zeros_like(W), xp.zeros_like(b)]
        self.x = None

    def forward(self, xs):
        W, b = self.params
        xs = as_float(xs, W.dtype, get_array_module(W), "TimeAffine xs")
        check_shape(xs, (None, None, W.shape[0]), "TimeAffine xs")
        N, T, D = xs.shape
        self.x = xs
        out = xs.reshape(N * T, D) @ W + b  # (N*T, M): all steps in one matmul
        return out.reshape(N, T, -1)

    def backward(self, dout):
        W, b = self.params
        N, T, D = self.x.shape
        dout = check_grad("TimeAffine", dout, (N, T, W.shape[1]), W.dtype)
        x2 = self.x.reshape(N * T, D)  # (N*T, D)
        d2 = dout.reshape(N * T, -1)  # (N*T, M)
        self.grads[0][...] = x2.T @ d2  # (D, M)
        self.grads[1][...] = d2.sum(axis=0)  # (M,)
        return (d2 @ W.T).reshape(N, T, D)


class TimeDropout(Dropout):
    """Inverted dropout over (N, T, H) (any shape). As in the book, training or evaluation
    is chosen by the attribute ``train_flg`` (True: drop and scale by 1 / (1 - ratio);
    False: identity), not by a forward argument.

    forward(xs) -> same shape; backward(dout) -> same shape.
    """

    def __init__(self, dropout_ratio=0.5):
        super().__init__(dropout_ratio)
        self.train_flg = True

    def forward(self, xs):
        return super().forward(xs, train_flg=self.train_flg)


# ---------------------------------------------------------------- losses


def check_targets(ts, shape, ignore_label, layer, xp):
    """Target ids (N*T,) for scores of shape (N, T, V); ts: (N, T) ids or (N, T, V) one-hot.

    Ids must lie in [0, V) or equal ``ignore_label``; that check reads the ids, so on a GPU
    it runs only inside ``backend.device_checks()`` (a training step never waits for the host).
    """
    N, T, V = shape
    ts = xp.asarray(ts)
    if ts.shape == tuple(shape):  # one-hot targets, as the book allows (refused if not one-hot)
        ts = labels_from(ts, shape)
    check_shape(ts, (N, T), f"{layer} targets")
    if ts.dtype == bool or ts.dtype.kind not in "iu":
        raise InputTypeError(f"{layer} target ids must be integers, got {ts.dtype}")
    t = ts.reshape(N * T)
    if can_check_values(t) and (int(t.min()) < ignore_label or int(t.max()) >= V):
        raise InputError(
            f"{layer} target ids must lie in [0, {V}) or be {ignore_label} (ignored), "
            f"got ids from {int(t.min())} to {int(t.max())}"
        )
    return t


def check_scores(xs, layer, names="(N, T, V)"):
    if getattr(xs, "ndim", None) != 3 or xs.dtype.kind != "f":
        raise InputError(
            f"{layer} expects float scores of shape {names}, got "
            f"{getattr(xs, 'dtype', type(xs).__name__)} of shape {tuple(getattr(xs, 'shape', ()))}"
        )
    if xs.shape[0] * xs.shape[1] == 0:
        raise InputError(f"{layer} got an empty batch of shape {tuple(xs.shape)}")


class TimeSoftmaxWithLoss:
    """Softmax over V and cross-entropy at every step, averaged over the counted targets.

    forward(xs (N, T, V) scores, ts (N, T) int ids or (N, T, V) one-hot) -> float loss.
    Targets equal to ``ignore_label`` (-1) are not counted: they add nothing to the loss or
    to the gradient, and the mean is over the other targets. If EVERY target is -1 there is
    nothing to average: the loss is 0.0 and the gradient is all zeros (never NaN).
    backward(dout=1) -> dxs (N, T, V) = (softmax(xs) - onehot(ts)) * dout / count on
    counted rows, 0 on ignored rows.

    ``zeronlp.fused.TimeAffineSoftmaxWithLoss`` computes TimeAffine and this layer in one,
    without the (N*T, V) scores; the models use it.
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None
        self.ignore_label = -1

    def forward(self, xs, ts):
        check_scores(xs, "TimeSoftmaxWithLoss")
        xp = get_array_module(xs)
        N, T, V = xs.shape
        t = check_targets(ts, xs.shape, self.ignore_label, "TimeSoftmaxWithLoss", xp)
        mask = t != self.ignore_label  # (N*T,) the counted targets
        t = xp.where(mask, t, 0)  # any valid id on ignored rows; their terms are masked
        logp = log_softmax(xs.reshape(N * T, V))  # (N*T, V)
        # the mean over the counted targets; with none counted the sum is 0, and so the loss
        count = xp.maximum(mask.sum(), 1)  # a device scalar on a GPU: nothing waits for it
        rows = xp.arange(N * T)
        loss = -(logp[rows, t] * mask).sum() / count
        self.cache = (t, xp.exp(logp), mask, count, xs.shape)
        return loss_value(loss)

    def backward(self, dout=1):
        if self.cache is None:
            raise RuntimeError("TimeSoftmaxWithLoss.backward needs a forward first")
        t, ys, mask, count, shape = self.cache
        self.cache = None  # the gradient is built in ys
        xp = get_array_module(ys)
        dx = ys  # (N*T, V) softmax
        dx[xp.arange(t.size), t] -= 1
        dx *= mask.astype(dx.dtype)[:, None]  # ignored rows: 0
        dx *= dout / count
        return dx.reshape(shape)


class TimeSigmoidWithLoss(SigmoidWithLoss):
    """Sigmoid and binary cross-entropy at every step, as the book's layer.

    forward(xs (N, T) scores, ts (N, T) labels in [0, 1]) -> float loss, the mean over all
    N*T elements; backward(dout=1) -> dxs (N, T) = (sigmoid(xs) - ts) * dout / (N*T).
    """

    def forward(self, xs, ts):
        if getattr(xs, "ndim", None) != 2:
            raise InputError(
                "TimeSigmoidWithLoss expects scores of shape (N, T), got "
                f"{tuple(getattr(xs, 'shape', ()))}"
            )
        return super().forward(xs, ts)
