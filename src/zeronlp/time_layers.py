"""Recurrent layers and the Time* layers of the book (chapters 5-7), forward and backward.

Shapes: N batch rows, T time steps, D input size, H hidden size, V vocabulary size.
Weight layouts are the book's, so its trained parameters load unchanged:

- RNN:  ``Wx (D, H)``,  ``Wh (H, H)``,  ``b (H,)``
- LSTM: ``Wx (D, 4H)``, ``Wh (H, 4H)``, ``b (4H,)``, gate blocks in the order f, g, i, o
- GRU:  ``Wx (D, 3H)``, ``Wh (H, 3H)``, ``b (3H,)``, blocks z, r, h~ (see ``GRU``)

How the Time layers are fast (DESIGN.md's speed rules): the only Python loop runs over
time steps. Before the loop, the input projection of all steps is one
``(N*T, D) @ (D, 4H)`` matmul; in the loop each step adds ``h @ Wh`` and applies the gate
nonlinearities in place, in preallocated buffers. In backward the per-step gate gradients
are written into one ``(T, N, 4H)`` array, and after the loop ``dWx``, ``dWh``, ``dxs`` are
one matmul each and ``db`` one sum. Inside, the recurrent layers keep everything time-major
(``(T, N, ...)``) so that each step works on contiguous blocks (see ``_TimeRecurrent``).
The step layers (``RNN``, ``LSTM``, ``GRU``) and the Time layers share the same module-level
step functions, so the math exists once.

Every layer computes in the dtype of its weights: float inputs of another float dtype are
cast to it, so a float32 model stays float32 end to end and gradient checks run in float64.

As with ``layers.Sigmoid``, the arrays a forward returns are also what its backward reads
(no defensive copies, for speed): do not modify them in place between the two calls.
"""

from __future__ import annotations

import math

from .backend import get_array_module, scatter_add
from .layers import Dropout, Embedding, SigmoidWithLoss, as_ids

__all__ = [
    "RNN",
    "TimeRNN",
    "LSTM",
    "TimeLSTM",
    "GRU",
    "TimeGRU",
    "TimeBiLSTM",
    "TimeEmbedding",
    "TimeAffine",
    "TimeDropout",
    "TimeSoftmaxWithLoss",
    "TimeSigmoidWithLoss",
    "lstm_params_to_torch",
    "lstm_params_from_torch",
]

# ---------------------------------------------------------------- checks


def _check_weights(layer, Wx, Wh, b, gates):
    """Raise unless Wx (D, gates*H), Wh (H, gates*H), b (gates*H,) share one float dtype."""
    for name, w in (("Wx", Wx), ("Wh", Wh), ("b", b)):
        if getattr(getattr(w, "dtype", None), "kind", None) != "f":
            raise TypeError(
                f"{layer} needs float weight arrays; {name} is "
                f"{getattr(w, 'dtype', type(w).__name__)}"
            )
    if Wx.ndim != 2 or Wh.ndim != 2 or b.ndim != 1:
        raise ValueError(
            f"{layer} expects Wx (D, {gates}H), Wh (H, {gates}H), b ({gates}H,); got Wx "
            f"{tuple(Wx.shape)}, Wh {tuple(Wh.shape)}, b {tuple(b.shape)}"
        )
    H = Wh.shape[0]
    if Wh.shape[1] != gates * H or Wx.shape[1] != gates * H or b.shape[0] != gates * H:
        raise ValueError(
            f"{layer} expects Wx (D, {gates}H), Wh (H, {gates}H), b ({gates}H,) with H = "
            f"{H} from Wh; got Wx {tuple(Wx.shape)}, Wh {tuple(Wh.shape)}, b {tuple(b.shape)}"
        )
    if not (Wx.dtype == Wh.dtype == b.dtype):
        raise TypeError(
            f"{layer} weights must share one dtype, got Wx {Wx.dtype}, Wh {Wh.dtype}, b {b.dtype}"
        )


def _weights_and_grads(layer, Wx, Wh, b, gates):
    """(params, grads) of a recurrent layer: the checked [Wx, Wh, b] and zero gradients."""
    _check_weights(layer, Wx, Wh, b, gates)
    xp = get_array_module(Wx)
    return [Wx, Wh, b], [xp.zeros_like(Wx), xp.zeros_like(Wh), xp.zeros_like(b)]


def _as_float(x, dtype, xp, what):
    """x as an array of the layer's float dtype; TypeError for non-float input."""
    x = xp.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{what} must be a float array, got dtype {x.dtype}")
    return x.astype(dtype, copy=False)


def _check_shape(x, expected, what):
    """Raise ValueError unless x.shape equals ``expected`` (None matches any length)."""
    ok = x.ndim == len(expected) and all(
        e is None or s == e for s, e in zip(x.shape, expected, strict=True)
    )
    if not ok:
        want = "(" + ", ".join("?" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{what} must have shape {want}, got {tuple(x.shape)}")


def _initial_state(state, N, H, dtype, xp, what):
    """The given state (checked to be (N, H), cast to dtype) or zeros (N, H)."""
    if state is None:
        return xp.zeros((N, H), dtype=dtype)
    state = _as_float(state, dtype, xp, what)
    _check_shape(state, (N, H), what)
    return state


# ---------------------------------------------------------------- shared step math


def _transposed(W):
    """A C-contiguous copy of W.T. The per-step ``(N, 4H) @ Wh.T`` of a backward loop runs
    ~1.5x faster on a contiguous transpose (OpenBLAS, small N), and the copy is made once
    per backward, not per step."""
    return get_array_module(W).ascontiguousarray(W.T)


def _sigmoid_(a):
    """Logistic function in place, as 0.5 * (1 + tanh(a / 2)) like functions.sigmoid
    (no overflow for large |a|), without temporaries."""
    xp = get_array_module(a)
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _tanh_(a):
    """tanh in place: the RNN's activation."""
    get_array_module(a).tanh(a, out=a)
    return a


def _tanh_backward(dh, h, out):
    """out = dh * (1 - h**2): the gradient through h = tanh(a), given h."""
    xp = get_array_module(h)
    xp.multiply(h, h, out=out)
    xp.subtract(1, out, out=out)
    out *= dh
    return out


def _lstm_gate_scale(Wh):
    """(4H,) column scale of the LSTM's pre-activations for ``_lstm_step_forward``: 0.5 on
    the sigmoid gates f, i, o, 1 on g."""
    xp = get_array_module(Wh)
    H = Wh.shape[0]
    scale = xp.full(4 * H, 0.5, dtype=Wh.dtype)
    scale[H : 2 * H] = 1
    return scale


def _lstm_step_forward(a, c_prev, c_out, tc_out, h_out, scale):
    """One LSTM step after the matmuls.

    a: (N, 4H) pre-activations x @ Wx + h_prev @ Wh + b, turned IN PLACE into the gate
    values [f, g, i, o] (the backward needs them); c_prev: (N, H); scale: (4H,) from
    ``_lstm_gate_scale``. Writes c_next into c_out, tanh(c_next) into tc_out and h_next
    into h_out (all (N, H)).

    The sigmoid gates use sigmoid(z) = 0.5 * (1 + tanh(z / 2)) (as functions.sigmoid: no
    overflow). Halving f, i, o first (one multiply by ``scale`` over the contiguous row)
    lets one tanh() serve all four gates; only f, i, o need the 0.5 * (...) + 0.5 after
    it. That is 26 against 42 us per step at N=20, H=100 (68 against 92 us at H=650)
    compared with separate calls on the strided gate blocks, with identical results.
    """
    xp = get_array_module(a)
    H = c_prev.shape[1]
    a *= scale
    xp.tanh(a, out=a)
    for s in (a[:, :H], a[:, 2 * H :]):  # f, then i and o (adjacent)
        s *= 0.5
        s += 0.5
    f, g, i, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    xp.multiply(f, c_prev, out=c_out)
    xp.multiply(g, i, out=tc_out)  # tc_out is scratch until the tanh below
    c_out += tc_out
    xp.tanh(c_out, out=tc_out)
    xp.multiply(o, tc_out, out=h_out)


def _lstm_step_backward(dh, dc, gates, c_prev, tc, da_out, scratch):
    """Backward of one LSTM step up to the pre-activations.

    dh: (N, H) gradient of h_next; dc: (N, H) gradient of c_next or None;
    gates: (N, 4H) [f, g, i, o] from ``_lstm_step_forward``; c_prev, tc = tanh(c_next): (N, H);
    scratch: a (N, 4H) work buffer. Writes dA (N, 4H) into da_out and returns dc_prev (N, H).
    """
    xp = get_array_module(gates)
    H = c_prev.shape[1]
    f, g, i, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    df, dg, di, do = (da_out[:, k * H : (k + 1) * H] for k in range(4))
    # ds = dc + dh * o * (1 - tanh(c)^2): the gradient reaching c_next
    ds = _tanh_backward(dh, tc, xp.empty_like(dh))
    ds *= o
    if dc is not None:
        ds += dc
    # gradient of each gate value, before its nonlinearity
    xp.multiply(ds, c_prev, out=df)
    xp.multiply(ds, i, out=dg)
    xp.multiply(ds, g, out=di)
    xp.multiply(dh, tc, out=do)
    # local derivatives: s * (1 - s) for the sigmoid gates, 1 - g^2 for g
    xp.subtract(1, gates, out=scratch)
    scratch *= gates
    xp.multiply(g, g, out=scratch[:, H : 2 * H])
    xp.subtract(1, scratch[:, H : 2 * H], out=scratch[:, H : 2 * H])
    da_out *= scratch
    ds *= f  # dc_prev
    return ds


def _gru_step_forward(a, h_prev, Wh, rh_out, h_out):
    """One GRU step (the book's formulation) after the input projection.

    a: (N, 3H) x @ Wx + b, turned IN PLACE into the gate values [z, r, h~];
    h_prev: (N, H); Wh: (H, 3H). Writes r * h_prev into rh_out and h_next into h_out.
    """
    xp = get_array_module(a)
    H = h_prev.shape[1]
    a[:, : 2 * H] += h_prev @ Wh[:, : 2 * H]
    _sigmoid_(a[:, : 2 * H])
    z, r, hh = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
    xp.multiply(r, h_prev, out=rh_out)
    hh += rh_out @ Wh[:, 2 * H :]
    xp.tanh(hh, out=hh)
    # h_next = (1 - z) * h_prev + z * h~ = h_prev + z * (h~ - h_prev)
    xp.subtract(hh, h_prev, out=h_out)
    h_out *= z
    h_out += h_prev


def _gru_step_backward(dh, gates, h_prev, WhT, da_out):
    """Backward of one GRU step: writes dA (N, 3H) into da_out and returns dh_prev (N, H).

    dh: (N, H) gradient of h_next; gates: (N, 3H) [z, r, h~]; h_prev: (N, H);
    WhT: (3H, H), a contiguous Wh.T (see ``_transposed``).
    """
    xp = get_array_module(gates)
    H = h_prev.shape[1]
    z, r, hh = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    dz, dr, dhh = da_out[:, :H], da_out[:, H : 2 * H], da_out[:, 2 * H :]
    # through h~ = tanh(...): d = dh * z * (1 - h~^2)
    _tanh_backward(dh, hh, dhh)
    dhh *= z
    drh = dhh @ WhT[2 * H :]  # gradient of r * h_prev
    dh_prev = 1 - z
    dh_prev *= dh
    xp.multiply(drh, r, out=dr)
    dh_prev += dr
    # reset gate: d(r) = drh * h_prev, through the sigmoid
    xp.multiply(drh, h_prev, out=dr)
    dr *= r
    dr *= 1 - r
    # update gate: d(z) = dh * (h~ - h_prev), through the sigmoid
    xp.subtract(hh, h_prev, out=dz)
    dz *= dh
    dz *= z
    dz *= 1 - z
    dh_prev += da_out[:, : 2 * H] @ WhT[: 2 * H]
    return dh_prev


# ---------------------------------------------------------------- RNN


class _Step:
    """What the one-step layers RNN, LSTM and GRU share: weights, gradients, input checks."""

    name = "Step"
    gates = 1

    def __init__(self, Wx, Wh, b):
        self.params, self.grads = _weights_and_grads(self.name, Wx, Wh, b, self.gates)
        self.cache = None

    def _step_inputs(self, x, h_prev):
        """x (N, D) and h_prev (N, H), checked and cast to the weights' dtype."""
        Wx, Wh, _ = self.params
        xp = get_array_module(Wx)
        x = _as_float(x, Wx.dtype, xp, f"{self.name} x")
        _check_shape(x, (None, Wx.shape[0]), f"{self.name} x")
        h_prev = _as_float(h_prev, Wx.dtype, xp, f"{self.name} h_prev")
        _check_shape(h_prev, (x.shape[0], Wh.shape[0]), f"{self.name} h_prev")
        return x, h_prev


class RNN(_Step):
    """One tanh RNN step. Wx: (D, H), Wh: (H, H), b: (H,).

    forward(x (N, D), h_prev (N, H)) -> h_next (N, H) = tanh(h_prev @ Wh + x @ Wx + b).
    backward(dh_next (N, H)) -> (dx (N, D), dh_prev (N, H)).
    """

    name = "RNN"
    gates = 1
    # the nonlinearity, in place, and its backward given the output; a seam for tests
    activation = staticmethod(_tanh_)
    activation_backward = staticmethod(_tanh_backward)

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        x, h_prev = self._step_inputs(x, h_prev)
        a = x @ Wx
        a += h_prev @ Wh
        a += b
        h_next = self.activation(a)
        self.cache = (x, h_prev, h_next)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, b = self.params
        x, h_prev, h_next = self.cache
        xp = get_array_module(Wx)
        dh_next = _as_float(dh_next, Wx.dtype, xp, "RNN dh_next")
        _check_shape(dh_next, h_next.shape, "RNN dh_next")
        dt = self.activation_backward(dh_next, h_next, xp.empty_like(h_next))
        self.grads[0][...] = x.T @ dt
        self.grads[1][...] = h_prev.T @ dt
        self.grads[2][...] = dt.sum(axis=0)
        return dt @ Wx.T, dt @ Wh.T


class _TimeRecurrent:
    """What TimeRNN, TimeLSTM and TimeGRU share: weights, input checks and the state.

    Inside, the layers work time-major: inputs, gates, states and their gradients are
    (T, N, ...) arrays, so that each step's slice ``[t]`` is one contiguous (N, ...) block.
    NumPy runs an elementwise op on a contiguous (20, 100) block about five times faster
    than on the strided ``[:, t]`` slice of an (N, T, H) array (0.5 against 2.6 us), and the
    gate math of a step is about fifteen such ops. The (N, T, ...) arrays the layers take
    and return are converted once per call (one copy each way).
    """

    name = "TimeRecurrent"
    gates = 1

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params, self.grads = _weights_and_grads(self.name, Wx, Wh, b, self.gates)
        if not isinstance(stateful, bool):
            raise TypeError(f"{self.name}: stateful must be True or False, got {stateful!r}")
        self.h, self.dh = None, None
        self.stateful = stateful
        self.cache = None

    def _inputs(self, xs):
        """xs as a float (N, T, D) array of the weights' dtype, and a time-major (T*N, D)
        copy of it."""
        Wx, Wh, _ = self.params
        xp = get_array_module(Wx)
        xs = _as_float(xs, Wx.dtype, xp, f"{self.name} xs")
        _check_shape(xs, (None, None, Wx.shape[0]), f"{self.name} xs")
        N, T, D = xs.shape
        if N == 0 or T == 0:
            raise ValueError(f"{self.name} got an empty batch of shape {tuple(xs.shape)}")
        return xs, xp.ascontiguousarray(xs.transpose(1, 0, 2)).reshape(T * N, D)

    def _projection(self, xs2, N, T):
        """All steps' input projection xs @ Wx + b in one matmul: (T, N, gates*H)."""
        Wx, _, b = self.params
        a = xs2 @ Wx
        a += b
        return a.reshape(T, N, Wx.shape[1])

    @staticmethod
    def _batch_major(a):
        """A time-major (T, N, K) array as a new C-contiguous (N, T, K) array."""
        return get_array_module(a).ascontiguousarray(a.transpose(1, 0, 2))

    def _input_grads(self, da2, N, T):
        """dxs (N, T, D) from the time-major (T*N, gates*H) pre-activation gradients."""
        Wx = self.params[0]
        return self._batch_major((da2 @ Wx.T).reshape(T, N, Wx.shape[0]))

    def _cache(self):
        if self.cache is None:
            raise RuntimeError(f"{self.name}.backward needs a forward first")
        return self.cache

    def _dhs(self, dhs, N, T, H):
        """dhs (N, T, H), checked, as a time-major (T, N, H) copy."""
        Wx = self.params[0]
        dhs = _as_float(dhs, Wx.dtype, get_array_module(Wx), f"{self.name} dhs")
        _check_shape(dhs, (N, T, H), f"{self.name} dhs")
        return self._batch_major(dhs)

    def _weight_grads(self, xs2, hprev2, da):
        """dWx, dWh (for the blocks that multiply h_prev) and db, one matmul each.

        xs2, hprev2: (T*N, D), (T*N, H); da: (T, N, G). Returns da as (T*N, G)."""
        T, N, G = da.shape
        da2 = da.reshape(T * N, G)
        xp = get_array_module(da)
        xp.matmul(xs2.T, da2, out=self.grads[0])
        xp.matmul(hprev2.T, da2, out=self.grads[1])
        da2.sum(axis=0, out=self.grads[2])
        return da2

    def _prev_states(self, h0, hs):
        """(T*N, H) stack of the states each step started from: h0, h_1, ..., h_{T-1}
        (hs: the time-major (T, N, H) states)."""
        T, N, H = hs.shape
        prev = get_array_module(hs).empty_like(hs)
        prev[0] = h0
        prev[1:] = hs[:-1]
        return prev.reshape(T * N, H)

    def set_state(self, h):
        """Start the next forward from h (N, H); used only when ``stateful`` (the book's)."""
        self.h = h

    def reset_state(self):
        self.h = None


class TimeRNN(_TimeRecurrent):
    """T tanh RNN steps. Wx: (D, H), Wh: (H, H), b: (H,).

    forward(xs (N, T, D)) -> hs (N, T, H); backward(dhs (N, T, H)) -> dxs (N, T, D).
    With ``stateful=True`` each forward starts from the last state of the previous one (or
    from ``set_state(h)``); otherwise from zeros. After backward, ``self.dh`` (N, H) is the
    gradient of the initial state.
    """

    name = "TimeRNN"
    gates = 1
    activation = staticmethod(_tanh_)
    activation_backward = staticmethod(_tanh_backward)

    def forward(self, xs):
        Wx, Wh, b = self.params
        xp = get_array_module(Wx)
        xs, xs2 = self._inputs(xs)
        N, T, _ = xs.shape
        H = Wh.shape[0]
        if not self.stateful:
            self.h = None
        h0 = _initial_state(self.h, N, H, Wx.dtype, xp, f"{self.name} state h")
        hs = self._projection(xs2, N, T)  # becomes the states, in place
        tmp = xp.empty((N, H), dtype=Wx.dtype)
        h = h0
        for t in range(T):
            a = hs[t]
            a += xp.matmul(h, Wh, out=tmp)
            h = self.activation(a)
        self.h = h.copy()
        self.cache = (xs2, h0, hs)
        return self._batch_major(hs)

    def backward(self, dhs):
        Wx, Wh, _ = self.params
        xp = get_array_module(Wx)
        xs2, h0, hs = self._cache()
        T, N, H = hs.shape
        dhs = self._dhs(dhs, N, T, H)
        da = xp.empty_like(hs)
        dh = xp.zeros((N, H), dtype=Wx.dtype)
        WhT = _transposed(Wh)
        for t in range(T - 1, -1, -1):
            dh += dhs[t]
            self.activation_backward(dh, hs[t], da[t])
            xp.matmul(da[t], WhT, out=dh)
        da2 = self._weight_grads(xs2, self._prev_states(h0, hs), da)
        self.dh = dh
        return self._input_grads(da2, N, T)


# ---------------------------------------------------------------- LSTM


class LSTM(_Step):
    """One LSTM step. Wx: (D, 4H), Wh: (H, 4H), b: (4H,), gate blocks f, g, i, o.

    forward(x (N, D), h_prev (N, H), c_prev (N, H)) -> (h_next, c_next), both (N, H).
    backward(dh_next, dc_next) -> (dx (N, D), dh_prev (N, H), dc_prev (N, H)).
    """

    name = "LSTM"
    gates = 4

    def forward(self, x, h_prev, c_prev):
        Wx, Wh, b = self.params
        xp = get_array_module(Wx)
        x, h_prev = self._step_inputs(x, h_prev)
        N, H = h_prev.shape
        c_prev = _as_float(c_prev, Wx.dtype, xp, "LSTM c_prev")
        _check_shape(c_prev, (N, H), "LSTM c_prev")
        a = x @ Wx
        a += h_prev @ Wh
        a += b
        c_next, tc, h_next = (xp.empty((N, H), dtype=Wx.dtype) for _ in range(3))
        _lstm_step_forward(a, c_prev, c_next, tc, h_next, _lstm_gate_scale(Wh))
        self.cache = (x, h_prev, c_prev, a, tc)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        Wx, Wh, b = self.params
        x, h_prev, c_prev, gates, tc = self.cache
        xp = get_array_module(Wx)
        dh_next = _as_float(dh_next, Wx.dtype, xp, "LSTM dh_next")
        _check_shape(dh_next, h_prev.shape, "LSTM dh_next")
        if dc_next is not None:
            dc_next = _as_float(dc_next, Wx.dtype, xp, "LSTM dc_next")
            _check_shape(dc_next, h_prev.shape, "LSTM dc_next")
        da = xp.empty_like(gates)
        dc_prev = _lstm_step_backward(dh_next, dc_next, gates, c_prev, tc, da, xp.empty_like(da))
        self.grads[0][...] = x.T @ da
        self.grads[1][...] = h_prev.T @ da
        self.grads[2][...] = da.sum(axis=0)
        return da @ Wx.T, da @ Wh.T, dc_prev


class TimeLSTM(_TimeRecurrent):
    """T LSTM steps. Wx: (D, 4H), Wh: (H, 4H), b: (4H,), gate blocks f, g, i, o (the book's).

    forward(xs (N, T, D)) -> hs (N, T, H); backward(dhs (N, T, H)) -> dxs (N, T, D).
    With ``stateful=True`` each forward starts from the last (h, c) of the previous one, or
    from ``set_state(h, c=None)`` (c None: zeros); otherwise from zeros (as in the book,
    ``set_state`` has no effect on a layer that is not stateful). After backward,
    ``self.dh`` and ``self.dc`` (N, H) are the gradients of the initial h and c: a seq2seq
    encoder passes ``dh`` on.

    To compare with or load from PyTorch, see ``lstm_params_to_torch`` and
    ``lstm_params_from_torch``.
    """

    name = "TimeLSTM"
    gates = 4

    def __init__(self, Wx, Wh, b, stateful=False):
        super().__init__(Wx, Wh, b, stateful)
        self.c, self.dc = None, None

    def forward(self, xs):
        Wx, Wh, b = self.params
        xp = get_array_module(Wx)
        xs, xs2 = self._inputs(xs)
        N, T, _ = xs.shape
        H = Wh.shape[0]
        if not self.stateful:
            self.h, self.c = None, None
        h0 = _initial_state(self.h, N, H, Wx.dtype, xp, "TimeLSTM state h")
        c0 = _initial_state(self.c, N, H, Wx.dtype, xp, "TimeLSTM state c")
        gates = self._projection(xs2, N, T)  # pre-activations, then gate values in place
        hs, cs, tcs = (xp.empty((T, N, H), dtype=Wx.dtype) for _ in range(3))
        tmp = xp.empty((N, 4 * H), dtype=Wx.dtype)
        scale = _lstm_gate_scale(Wh)
        h, c = h0, c0
        for t in range(T):
            a = gates[t]
            a += xp.matmul(h, Wh, out=tmp)
            _lstm_step_forward(a, c, cs[t], tcs[t], hs[t], scale)
            h, c = hs[t], cs[t]
        self.h, self.c = h.copy(), c.copy()
        self.cache = (xs2, h0, c0, gates, hs, cs, tcs)
        return self._batch_major(hs)

    def backward(self, dhs):
        Wx, Wh, _ = self.params
        xp = get_array_module(Wx)
        xs2, h0, c0, gates, hs, cs, tcs = self._cache()
        T, N, H = hs.shape
        dhs = self._dhs(dhs, N, T, H)
        da = xp.empty_like(gates)
        scratch = xp.empty((N, 4 * H), dtype=Wx.dtype)
        dh = xp.zeros((N, H), dtype=Wx.dtype)
        dc = None
        WhT = _transposed(Wh)
        for t in range(T - 1, -1, -1):
            dh += dhs[t]
            c_prev = cs[t - 1] if t > 0 else c0
            dc = _lstm_step_backward(dh, dc, gates[t], c_prev, tcs[t], da[t], scratch)
            xp.matmul(da[t], WhT, out=dh)
        da2 = self._weight_grads(xs2, self._prev_states(h0, hs), da)
        self.dh, self.dc = dh, dc
        return self._input_grads(da2, N, T)

    def set_state(self, h, c=None):
        """Start the next forward from h and c (N, H) (c None: zeros); needs ``stateful``."""
        self.h, self.c = h, c

    def reset_state(self):
        self.h, self.c = None, None


# ---------------------------------------------------------------- GRU


def _gru_bias(Wx, b):
    if b is None:
        return get_array_module(Wx).zeros(Wx.shape[1], dtype=Wx.dtype)
    if isinstance(b, bool):
        raise TypeError(
            "the third argument of GRU/TimeGRU is the bias b (3H,); the book's "
            "TimeGRU(Wx, Wh, stateful) has no bias, so pass stateful= by keyword"
        )
    return b


class GRU(_Step):
    """One GRU step, the book's formulation. Wx: (D, 3H), Wh: (H, 3H), b: (3H,) (optional:
    the book's GRU has no bias; None gives a zero bias that is still trained), blocks z, r, h~:

        z  = sigmoid(x @ Wxz + h_prev @ Whz + bz)          update gate
        r  = sigmoid(x @ Wxr + h_prev @ Whr + br)          reset gate
        h~ = tanh(x @ Wxh + (r * h_prev) @ Whh + bh)
        h_next = (1 - z) * h_prev + z * h~

    forward(x (N, D), h_prev (N, H)) -> h_next (N, H);
    backward(dh_next (N, H)) -> (dx (N, D), dh_prev (N, H)).

    This is NOT PyTorch's ``nn.GRU``, which (besides storing (3H, D) weights with the blocks
    in the order r, z, n and keeping two biases) applies the reset gate after the matmul,
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), and keeps the old state with z:
    h = (1 - z) * n + z * h_prev. The two cannot be mapped onto each other weight for weight.
    """

    name = "GRU"
    gates = 3

    def __init__(self, Wx, Wh, b=None):
        super().__init__(Wx, Wh, _gru_bias(Wx, b))

    @property
    def dWx(self):  # the book's GRU exposes its gradients under these names
        return self.grads[0]

    @property
    def dWh(self):
        return self.grads[1]

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        xp = get_array_module(Wx)
        x, h_prev = self._step_inputs(x, h_prev)
        a = x @ Wx
        a += b
        rh, h_next = xp.empty_like(h_prev), xp.empty_like(h_prev)
        _gru_step_forward(a, h_prev, Wh, rh, h_next)
        self.cache = (x, h_prev, a, rh)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, b = self.params
        x, h_prev, gates, rh = self.cache
        xp = get_array_module(Wx)
        dh_next = _as_float(dh_next, Wx.dtype, xp, "GRU dh_next")
        _check_shape(dh_next, h_prev.shape, "GRU dh_next")
        H = h_prev.shape[1]
        da = xp.empty_like(gates)
        dh_prev = _gru_step_backward(dh_next, gates, h_prev, _transposed(Wh), da)
        self.grads[0][...] = x.T @ da
        self.grads[1][:, : 2 * H] = h_prev.T @ da[:, : 2 * H]
        self.grads[1][:, 2 * H :] = rh.T @ da[:, 2 * H :]
        self.grads[2][...] = da.sum(axis=0)
        return da @ Wx.T, dh_prev


class TimeGRU(_TimeRecurrent):
    """T GRU steps (the book's formulation, see ``GRU``). Wx: (D, 3H), Wh: (H, 3H),
    b: (3H,) or None (zeros).

    forward(xs (N, T, D)) -> hs (N, T, H); backward(dhs (N, T, H)) -> dxs (N, T, D).
    ``stateful``, ``set_state(h)``, ``reset_state()`` and ``self.dh`` as in TimeRNN. The
    book's ``TimeGRU(Wx, Wh, stateful=False)`` has no bias: pass ``stateful`` by keyword.
    """

    name = "TimeGRU"
    gates = 3

    def __init__(self, Wx, Wh, b=None, stateful=False):
        super().__init__(Wx, Wh, _gru_bias(Wx, b), stateful)

    def forward(self, xs):
        Wx, Wh, b = self.params
        xp = get_array_module(Wx)
        xs, xs2 = self._inputs(xs)
        N, T, _ = xs.shape
        H = Wh.shape[0]
        if not self.stateful:
            self.h = None
        h0 = _initial_state(self.h, N, H, Wx.dtype, xp, "TimeGRU state h")
        gates = self._projection(xs2, N, T)
        hs, rhs = xp.empty((T, N, H), dtype=Wx.dtype), xp.empty((T, N, H), dtype=Wx.dtype)
        h = h0
        for t in range(T):
            _gru_step_forward(gates[t], h, Wh, rhs[t], hs[t])
            h = hs[t]
        self.h = h.copy()
        self.cache = (xs2, h0, gates, hs, rhs)
        return self._batch_major(hs)

    def backward(self, dhs):
        Wx, Wh, _ = self.params
        xp = get_array_module(Wx)
        xs2, h0, gates, hs, rhs = self._cache()
        T, N, H = hs.shape
        dhs = self._dhs(dhs, N, T, H)
        da = xp.empty_like(gates)
        dh = xp.zeros((N, H), dtype=Wx.dtype)
        WhT = _transposed(Wh)
        for t in range(T - 1, -1, -1):
            dh += dhs[t]
            h_prev = hs[t - 1] if t > 0 else h0
            dh = _gru_step_backward(dh, gates[t], h_prev, WhT, da[t])
        da2 = da.reshape(T * N, 3 * H)
        xp.matmul(xs2.T, da2, out=self.grads[0])
        # the z and r blocks multiply h_prev, the h~ block multiplies r * h_prev
        self.grads[1][:, : 2 * H] = self._prev_states(h0, hs).T @ da2[:, : 2 * H]
        self.grads[1][:, 2 * H :] = rhs.reshape(T * N, H).T @ da2[:, 2 * H :]
        da2.sum(axis=0, out=self.grads[2])
        self.dh = dh
        return self._input_grads(da2, N, T)


# ---------------------------------------------------------------- bidirectional LSTM


class TimeBiLSTM:
    """Two TimeLSTMs, one reading xs forwards and one backwards, outputs concatenated.

    Wx1, Wh1, b1: the forward direction; Wx2, Wh2, b2: the backward one (LSTM layouts).
    forward(xs (N, T, D)) -> hs (N, T, 2H), hs[..., :H] forward, hs[..., H:] backward
    (aligned to the input positions, like PyTorch's bidirectional ``nn.LSTM``).
    backward(dhs (N, T, 2H)) -> dxs (N, T, D).
    """

    def __init__(self, Wx1, Wh1, b1, Wx2, Wh2, b2, stateful=False):
        self.forward_lstm = TimeLSTM(Wx1, Wh1, b1, stateful)
        self.backward_lstm = TimeLSTM(Wx2, Wh2, b2, stateful)
        if Wh1.shape != Wh2.shape or Wx1.shape != Wx2.shape:
            raise ValueError(
                f"TimeBiLSTM directions must have the same shapes, got Wx {tuple(Wx1.shape)} "
                f"and {tuple(Wx2.shape)}, Wh {tuple(Wh1.shape)} and {tuple(Wh2.shape)}"
            )
        self.params = self.forward_lstm.params + self.backward_lstm.params
        self.grads = self.forward_lstm.grads + self.backward_lstm.grads

    def forward(self, xs):
        xp = get_array_module(self.params[0])
        o1 = self.forward_lstm.forward(xs)
        o2 = self.backward_lstm.forward(xp.asarray(xs)[:, ::-1])
        return xp.concatenate((o1, o2[:, ::-1]), axis=2)

    def backward(self, dhs):
        H = self.forward_lstm.params[1].shape[0]
        T, N = self.forward_lstm.cache[4].shape[:2]  # the time-major states (T, N, H)
        Wx = self.params[0]
        dhs = _as_float(dhs, Wx.dtype, get_array_module(Wx), "TimeBiLSTM dhs")
        _check_shape(dhs, (N, T, 2 * H), "TimeBiLSTM dhs")
        dxs = self.forward_lstm.backward(dhs[:, :, :H])
        dxs += self.backward_lstm.backward(dhs[:, ::-1, H:])[:, ::-1]
        return dxs

    def reset_state(self):
        self.forward_lstm.reset_state()
        self.backward_lstm.reset_state()


# ---------------------------------------------------------------- LSTM weights <-> PyTorch

# PyTorch stacks the gates as i, f, g, o; the book as f, g, i, o.
_BOOK_TO_TORCH = (2, 0, 1, 3)  # torch block k is book block _BOOK_TO_TORCH[k]
_TORCH_TO_BOOK = (1, 2, 0, 3)  # book block k is torch block _TORCH_TO_BOOK[k]


def _reorder_blocks(a, order, axis):
    xp = get_array_module(a)
    blocks = xp.split(a, 4, axis=axis)
    return xp.concatenate([blocks[k] for k in order], axis=axis)


def lstm_params_to_torch(Wx, Wh, b):
    """The book's LSTM weights as PyTorch's ``nn.LSTM`` (layer 0) tensors' contents.

    Wx (D, 4H), Wh (H, 4H), b (4H,) with gates f, g, i, o ->
    (weight_ih (4H, D), weight_hh (4H, H), bias (4H,)) with gates i, f, g, o.
    PyTorch adds two biases; put ``bias`` in ``bias_ih_l0`` and zeros in ``bias_hh_l0``.
    Returns contiguous arrays of the input's dtype (``torch.from_numpy`` accepts them).
    """
    xp = get_array_module(Wx)
    weight_ih = xp.ascontiguousarray(_reorder_blocks(Wx, _BOOK_TO_TORCH, axis=1).T)
    weight_hh = xp.ascontiguousarray(_reorder_blocks(Wh, _BOOK_TO_TORCH, axis=1).T)
    bias = _reorder_blocks(b, _BOOK_TO_TORCH, axis=0)
    return weight_ih, weight_hh, bias


def lstm_params_from_torch(weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """PyTorch's LSTM weights (as arrays) in the book's layout; inverse of the above.

    weight_ih (4H, D), weight_hh (4H, H), bias_ih, bias_hh (4H,) or None, gates i, f, g, o ->
    (Wx (D, 4H), Wh (H, 4H), b (4H,) = bias_ih + bias_hh) with gates f, g, i, o.
    Pass ``tensor.detach().numpy()`` for each PyTorch tensor.
    """
    xp = get_array_module(weight_ih)
    Wx = xp.ascontiguousarray(_reorder_blocks(weight_ih, _TORCH_TO_BOOK, axis=0).T)
    Wh = xp.ascontiguousarray(_reorder_blocks(weight_hh, _TORCH_TO_BOOK, axis=0).T)
    b = xp.zeros(weight_ih.shape[0], dtype=weight_ih.dtype)
    for bias in (bias_ih, bias_hh):
        if bias is not None:
            b += bias
    return Wx, Wh, _reorder_blocks(b, _TORCH_TO_BOOK, axis=0)


# ---------------------------------------------------------------- embedding, affine, dropout


class TimeEmbedding(Embedding):
    """W[xs] for a batch of sequences. W: (V, D); xs: (N, T) int ids -> (N, T, D).

    backward(dout (N, T, D)) writes dW with one scatter-add over all N*T ids (repeated ids
    summed) and returns None.
    """

    def forward(self, xs):
        (W,) = self.params
        ids = as_ids(xs, W.shape[0], get_array_module(W))
        if ids.ndim != 2:
            raise ValueError(f"TimeEmbedding expects ids of shape (N, T), got {tuple(ids.shape)}")
        return super().forward(ids)


class TimeAffine:
    """xs @ W + b at every time step. W: (D, M), b: (M,); xs: (N, T, D) -> (N, T, M).

    backward(dout (N, T, M)) -> dxs (N, T, D).

    Two matmuls in forward and backward, and no pass of its own over the (N*T, M) output:
    the bias rides in the matmul as one more input column of ones against a row b
    ([xs, 1] @ [W; b]), and dW and db come out of one ``[xs, 1].T @ dout``. With the book's
    Rnnlm shapes (M = V = 10000) the output is the largest array of the model, and a
    separate ``out += b`` and ``dout.sum(axis=0)`` would each stream it through memory once
    more (benchmarks/bench_rnnlm_step.py). ``grads`` are views of one (D + 1, M) buffer.
    """

    def __init__(self, W, b):
        if getattr(getattr(W, "dtype", None), "kind", None) != "f" or W.ndim != 2:
            raise TypeError(f"TimeAffine needs a float W of shape (D, M), got {W!r:.60}")
        if getattr(b, "shape", None) != (W.shape[1],) or b.dtype != W.dtype:
            raise ValueError(
                f"TimeAffine needs b of shape ({W.shape[1]},) and dtype {W.dtype}, got "
                f"{getattr(b, 'shape', None)} {getattr(b, 'dtype', type(b).__name__)}"
            )
        xp = get_array_module(W)
        D, M = W.shape
        self.params = [W, b]
        self._grad_buffer = xp.zeros((D + 1, M), dtype=W.dtype)
        self.grads = [self._grad_buffer[:D], self._grad_buffer[D]]
        self.x1, self._Wb = None, None
        self.x_shape = None

    def forward(self, xs):
        W, b = self.params
        xp = get_array_module(W)
        xs = _as_float(xs, W.dtype, xp, "TimeAffine xs")
        _check_shape(xs, (None, None, W.shape[0]), "TimeAffine xs")
        N, T, D = xs.shape
        # Both buffers are private and kept from call to call: a fresh multi-megabyte array
        # per call would be page-faulted in again every training step.
        x1 = self._buffer("x1", (N * T, D + 1), W.dtype, xp)
        x1[:, :D] = xs.reshape(N * T, D)
        x1[:, D] = 1
        Wb = self._buffer("_Wb", (D + 1, W.shape[1]), W.dtype, xp)
        Wb[:D] = W  # copied every call: W and b change in place between calls
        Wb[D] = b
        self.x_shape = xs.shape
        return (x1 @ Wb).reshape(N, T, W.shape[1])

    def _buffer(self, name, shape, dtype, xp):
        buf = getattr(self, name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = xp.empty(shape, dtype=dtype)
            setattr(self, name, buf)
        return buf

    def backward(self, dout):
        W = self.params[0]
        xp = get_array_module(W)
        N, T, D = self.x_shape
        dout = _as_float(dout, W.dtype, xp, "TimeAffine dout")
        _check_shape(dout, (N, T, W.shape[1]), "TimeAffine dout")
        d2 = dout.reshape(N * T, W.shape[1])
        xp.matmul(self.x1.T, d2, out=self._grad_buffer)  # rows :D are dW, row D is db
        return (d2 @ W.T).reshape(N, T, D)

    def backward_factors(self, e, scale, rows, cols, coef):
        """backward(dout) for the softmax loss's gradient given as factors (see
        ``TimeSoftmaxWithLoss.backward_factors``): dout = scale[:, None] * e - coef * Y,
        with e (N*T, M), scale (N*T,) and Y one-hot at (rows, cols). Returns dxs (N, T, D).

        The same matmuls as backward, with the row scale moved onto the small matrices:

            [dW; db] = ([xs, 1] * scale).T @ e  -  coef * [xs, 1][rows].T @ Y[rows]
            dxs      = scale * (e @ W.T)        -  coef * W.T[cols]   (at the rows)

        The one-hot terms touch only the counted targets (a scatter-add and a gather), and
        the (N*T, M) dout is never formed: one read-write pass less over the largest array
        of the model (about 1 ms of a 40-45 ms step of the book's Rnnlm, measured by
        alternating the two paths in one training run).
        """
        W = self.params[0]
        xp = get_array_module(W)
        N, T, D = self.x_shape
        _check_shape(e, (N * T, W.shape[1]), "TimeAffine.backward_factors e")
        _check_shape(scale, (N * T,), "TimeAffine.backward_factors scale")
        x1 = self.x1
        xp.matmul((x1 * scale[:, None]).T, e, out=self._grad_buffer)
        minus_coef = xp.full(rows.shape, -coef, dtype=W.dtype)
        # [dW; db].T[cols[k]] -= coef * x1[rows[k]], repeated target ids summed
        scatter_add(self._grad_buffer.T, cols, x1, rows=rows, weights=minus_coef)
        dx = e @ W.T
        dx *= scale[:, None]
        dx[rows] -= coef * W.T[cols]
        return dx.reshape(N, T, D)


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

# |x| below which exp(x) is a normal number in float32 (and float64) with room to spare:
# exp(60) = 1.1e26, exp(-60) = 8.8e-27, float32 spans 1.2e-38 .. 3.4e38.
_EXP_SAFE = 60.0


class TimeSoftmaxWithLoss:
    """Softmax over V and cross-entropy at every step, averaged over the counted targets.

    forward(xs (N, T, V) scores, ts (N, T) int ids or (N, T, V) one-hot) -> float loss.
    Targets equal to ``ignore_label`` (-1) are not counted: they add nothing to the loss or
    to the gradient, and the mean is over the other targets. If EVERY target is -1 there is
    nothing to average: the loss is 0.0 and the gradient is all zeros (never NaN), so a batch
    of pure padding is a no-op.
    backward(dout=1) -> dxs (N, T, V) = (softmax(xs) - onehot(ts)) * dout / count on
    counted rows, 0 on ignored rows.

    Passes over the (N*T, V) scores: row max, exp, row sum (a BLAS matrix-vector product)
    in forward (the max is subtracted before exp(), one more pass, only when a row's scores
    are large enough, |max| > 60 - log V, for exp() to overflow or underflow without it);
    the loss needs only the target scores, so no log-softmax array is formed. Backward
    scales exp() in place into the gradient (one pass) and subtracts at the targets (N*T
    entries). ``backward_factors`` returns that gradient unbuilt, as factors that
    ``TimeAffine.backward_factors`` multiplies in without the pass (the language models
    use the pair).

    ``in_place=True`` lets forward overwrite ``xs`` with exp(xs) (then the gradient is
    built in ``xs`` too, and backward returns a view of it) instead of allocating a second
    (N*T, V) array. The models set it because their scores are not used after the loss:
    with the book's Rnnlm shapes the scores are 28 MB, and one array instead of two stays
    in the CPU's last-level cache between the passes (benchmarks/bench_rnnlm_step.py).
    Leave it off when you need ``xs`` afterwards.
    """

    def __init__(self, in_place=False):
        self.params, self.grads = [], []
        self.cache = None
        self.ignore_label = -1
        self.in_place = bool(in_place)

    def forward(self, xs, ts):
        xp = get_array_module(xs)
        if getattr(xs, "ndim", None) != 3 or xs.dtype.kind != "f":
            raise ValueError(
                "TimeSoftmaxWithLoss expects float scores of shape (N, T, V), got "
                f"{getattr(xs, 'dtype', type(xs).__name__)} of shape "
                f"{tuple(getattr(xs, 'shape', ()))}"
            )
        N, T, V = xs.shape
        if N * T == 0:
            raise ValueError(f"TimeSoftmaxWithLoss got an empty batch of shape {xs.shape}")
        ts = xp.asarray(ts)
        if ts.shape == xs.shape:  # one-hot targets, as the book allows
            ts = ts.argmax(axis=2)
        _check_shape(ts, (N, T), "TimeSoftmaxWithLoss targets")
        if ts.dtype == bool or ts.dtype.kind not in "iu":
            raise TypeError(f"TimeSoftmaxWithLoss target ids must be integers, got {ts.dtype}")
        t = ts.reshape(N * T)
        if int(t.min()) < self.ignore_label or int(t.max()) >= V:
            raise ValueError(
                f"TimeSoftmaxWithLoss target ids must lie in [0, {V}) or be "
                f"{self.ignore_label} (ignored), got ids from {int(t.min())} to {int(t.max())}"
            )
        x2 = xs.reshape(N * T, V)
        rows = xp.flatnonzero(t != self.ignore_label)  # the counted targets
        cols = t[rows]
        m = x2.max(axis=1, keepdims=True)
        if float(m.min()) > -_EXP_SAFE and float(m.max()) < _EXP_SAFE - math.log(V):
            # Every row's sum of exp(x) fits the dtype without the max shift (the usual
            # case in training): skip the subtract pass over the (N*T, V) scores.
            m = None
        # -log softmax at the target = log(sum exp(x - m)) - (x[t] - m); the target scores
        # are picked before an in-place exp() overwrites them
        picked = x2[rows, cols] if m is None else x2[rows, cols] - m[rows, 0]
        if not xp.may_share_memory(x2, xs) or (
            self.in_place and getattr(x2.flags, "writeable", True)
        ):
            e = x2  # a private copy made by reshape, or scores we may overwrite
        else:
            e = xp.empty_like(x2)
        if m is None:
            xp.exp(x2, out=e)
        else:
            xp.subtract(x2, m, out=e)  # shifted so that exp() cannot overflow or underflow
            xp.exp(e, out=e)
        # row sums as a matrix-vector product: BLAS runs it on all cores, ~4x faster than
        # e.sum(axis=1) on the (700, 10000) scores of the book's Rnnlm, and as accurate
        s = e @ xp.ones(V, dtype=e.dtype)
        count = int(rows.size)
        loss = 0.0
        if count:
            loss = float((xp.log(s[rows]) - picked).sum()) / count
        self.cache = (e, s, rows, cols, count, xs.shape)
        return loss

    def backward_factors(self, dout=1):
        """The gradient of the scores in factored form, without building it:

            dxs = scale[:, None] * e - coef * onehot(rows, cols)     (as (N*T, V))

        Returns (e (N*T, V) exp() of the scores, scale (N*T,) = coef / row sum on counted
        rows and 0 on ignored ones, rows, cols (count,) the counted targets, coef =
        dout / count). ``TimeAffine.backward_factors`` takes these and never forms dxs: it
        folds ``scale`` into its small (N*T, D) matrices instead of a pass over the large
        (N*T, V) one. ``backward`` builds dxs from them.
        """
        if self.cache is None:
            raise RuntimeError("TimeSoftmaxWithLoss.backward needs a forward first")
        e, s, rows, cols, count, _ = self.cache
        self.cache = None  # e is handed on (and may be written into by backward)
        xp = get_array_module(e)
        coef = float(dout) / count if count else 0.0
        if count == s.size:
            scale = coef / s
        else:
            scale = xp.zeros(s.shape, dtype=e.dtype)
            scale[rows] = coef / s[rows]
        return e, scale, rows, cols, coef

    def backward(self, dout=1):
        shape = self.cache[-1] if self.cache is not None else None
        e, scale, rows, cols, coef = self.backward_factors(dout)
        xp = get_array_module(e)
        if rows.size == 0:
            return xp.zeros(shape, dtype=e.dtype)
        # one pass, in the forward's buffer: e / s * coef on counted rows, 0 on ignored rows
        e *= scale[:, None]
        e[rows, cols] -= coef
        return e.reshape(shape)


class TimeSigmoidWithLoss(SigmoidWithLoss):
    """Sigmoid and binary cross-entropy at every step, as the book's layer.

    forward(xs (N, T) scores, ts (N, T) labels in [0, 1]) -> float loss, the mean over all
    N*T elements; backward(dout=1) -> dxs (N, T) = (sigmoid(xs) - ts) * dout / (N*T).
    """

    def forward(self, xs, ts):
        if getattr(xs, "ndim", None) != 2:
            raise ValueError(
                "TimeSigmoidWithLoss expects scores of shape (N, T), got "
                f"{tuple(getattr(xs, 'shape', ()))}"
            )
        return super().forward(xs, ts)
