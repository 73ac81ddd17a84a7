"""Recurrent layers of the book (chapters 5-6, GRU from its appendix): one step, and T steps.

Shapes: N batch rows, T time steps, D input size, H hidden size.
Weight layouts are the book's, so its trained parameters load unchanged:

- RNN:  ``Wx (D, H)``,  ``Wh (H, H)``,  ``b (H,)``
- LSTM: ``Wx (D, 4H)``, ``Wh (H, 4H)``, ``b (4H,)``, gate blocks in the order f, g, i, o
- GRU:  ``Wx (D, 3H)``, ``Wh (H, 3H)``, ``b (3H,)``, blocks z, r, h~

The math of one step is written once, as a pair of functions (``lstm_step`` and
``lstm_step_backward``...) that the step layer (``LSTM``) and the Time layer (``TimeLSTM``)
both call. The Time layers compute what the book's compute, with one change: what does not
depend on the recurrence is done for all steps at once, the input projection ``xs @ Wx + b``
before the loop and the weight gradients after it (one matmul each instead of T).

The models use these TimeLSTM and TimeRNN layers as they are.
Every layer computes in the dtype of its weights: float inputs are cast to it.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..errors import InputError, InputTypeError
from ..functions import sigmoid
from .basic import as_float, check_grad, check_shape

# ---------------------------------------------------------------- checks and state


def check_weights(layer, Wx, Wh, b, gates):
    """Raise unless Wx (D, gates*H), Wh (H, gates*H), b (gates*H,) share one float dtype."""
    for name, w in (("Wx", Wx), ("Wh", Wh), ("b", b)):
        if getattr(getattr(w, "dtype", None), "kind", None) != "f":
            raise InputTypeError(
                f"{layer} needs float weight arrays; {name} is "
                f"{getattr(w, 'dtype', type(w).__name__)}"
            )
    G = f"{gates}H" if gates > 1 else "H"
    if Wx.ndim != 2 or Wh.ndim != 2 or b.ndim != 1:
        raise InputError(
            f"{layer} expects Wx (D, {G}), Wh (H, {G}), b ({G},); got Wx "
            f"{tuple(Wx.shape)}, Wh {tuple(Wh.shape)}, b {tuple(b.shape)}"
        )
    H = Wh.shape[0]
    if Wh.shape[1] != gates * H or Wx.shape[1] != gates * H or b.shape[0] != gates * H:
        raise InputError(
            f"{layer} expects Wx (D, {G}), Wh (H, {G}), b ({G},) with H = {H} from Wh; "
            f"got Wx {tuple(Wx.shape)}, Wh {tuple(Wh.shape)}, b {tuple(b.shape)}"
        )
    if not (Wx.dtype == Wh.dtype == b.dtype):
        raise InputTypeError(
            f"{layer} weights must share one dtype, got Wx {Wx.dtype}, Wh {Wh.dtype}, b {b.dtype}"
        )


def start_state(state, N, H, dtype, xp, what, explicit):
    """The state a forward starts from: zeros (N, H), or ``state`` checked to be (N, H).

    A state carried over from an earlier forward with another batch size belongs to other
    sequences: it is dropped (zeros), as ``reset_state()`` would. A state the user set with
    ``set_state`` (``explicit``) must fit: a wrong shape is an error.
    """
    if state is None:
        return xp.zeros((N, H), dtype=dtype)
    state = as_float(state, dtype, xp, what)
    if not explicit and state.shape != (N, H):
        return xp.zeros((N, H), dtype=dtype)
    check_shape(state, (N, H), what)
    return state


class _Step:
    """What the one-step layers RNN, LSTM and GRU share: weights, gradients, input checks."""

    name = "Step"
    gates = 1

    def __init__(self, Wx, Wh, b):
        check_weights(self.name, Wx, Wh, b, self.gates)
        xp = get_array_module(Wx)
        self.params = [Wx, Wh, b]
        self.grads = [xp.zeros_like(Wx), xp.zeros_like(Wh), xp.zeros_like(b)]
        self.cache = None

    def _inputs(self, x, h_prev):
        """x (N, D) and h_prev (N, H), checked and cast to the weights' dtype."""
        Wx, Wh, _ = self.params
        xp = get_array_module(Wx)
        x = as_float(x, Wx.dtype, xp, f"{self.name} x")
        check_shape(x, (None, Wx.shape[0]), f"{self.name} x")
        h_prev = as_float(h_prev, Wx.dtype, xp, f"{self.name} h_prev")
        check_shape(h_prev, (x.shape[0], Wh.shape[0]), f"{self.name} h_prev")
        return x, h_prev


class _TimeRecurrent:
    """What TimeRNN, TimeLSTM and TimeGRU share: weights, input checks and the state."""

    name = "TimeRecurrent"
    gates = 1
    state_names = ("h",)

    def __init__(self, Wx, Wh, b, stateful=False):
        check_weights(self.name, Wx, Wh, b, self.gates)
        if not isinstance(stateful, bool):
            raise InputTypeError(f"{self.name}: stateful must be True or False, got {stateful!r}")
        xp = get_array_module(Wx)
        self.params = [Wx, Wh, b]
        self.grads = [xp.zeros_like(Wx), xp.zeros_like(Wh), xp.zeros_like(b)]
        self.stateful = stateful
        self.h, self.dh = None, None
        self.explicit_state = False  # set by set_state: a wrong shape is then an error
        self.cache = None

    def _inputs(self, xs):
        """xs checked: a float (N, T, D) array of the weights' dtype."""
        Wx = self.params[0]
        xs = as_float(xs, Wx.dtype, get_array_module(Wx), f"{self.name} xs")
        check_shape(xs, (None, None, Wx.shape[0]), f"{self.name} xs")
        if xs.shape[0] == 0 or xs.shape[1] == 0:
            raise InputError(f"{self.name} got an empty batch of shape {tuple(xs.shape)}")
        return xs

    def _start(self, name, N):
        """The initial h (or c) of a forward over N rows (see ``start_state``)."""
        Wx, Wh, _ = self.params
        state = getattr(self, name) if self.stateful else None
        xp = get_array_module(Wx)
        what = f"{self.name} state {name}"
        return start_state(state, N, Wh.shape[0], Wx.dtype, xp, what, self.explicit_state)

    def _backward_inputs(self, dhs):
        if self.cache is None:
            raise RuntimeError(f"{self.name}.backward needs a forward first")
        N, T = self.cache[0].shape[:2]
        H = self.params[1].shape[0]
        return check_grad(self.name, dhs, (N, T, H), self.params[0].dtype, "(N, T, H)")

    def _weight_grads(self, xs, h_prevs, da):
        """dWx, dWh, db for all steps at once, and dxs.

        xs (N, T, D); h_prevs (N, T, H) the state each step started from; da (N, T, G)
        the gradients of the pre-activations. Returns dxs (N, T, D)."""
        Wx = self.params[0]
        N, T, D = xs.shape
        da2 = da.reshape(N * T, -1)  # (N*T, G)
        self.grads[0][...] = xs.reshape(N * T, D).T @ da2  # (D, G)
        self.grads[1][...] = h_prevs.reshape(N * T, -1).T @ da2  # (H, G)
        self.grads[2][...] = da2.sum(axis=0)  # (G,)
        return (da2 @ Wx.T).reshape(N, T, D)

    def set_state(self, h):
        """Start the next forward from h (N, H); used only when ``stateful`` (the book's)."""
        self.h = h
        self.explicit_state = h is not None

    def reset_state(self):
        self.h = None
        self.explicit_state = False


def _previous(h0, hs):
    """(N, T, H) the state each step started from: h0, h_1, ..., h_{T-1}."""
    xp = get_array_module(hs)
    return xp.concatenate((h0[:, None, :], hs[:, :-1]), axis=1)


# ---------------------------------------------------------------- RNN


def tanh(a):
    return get_array_module(a).tanh(a)


def tanh_backward(dh, h):
    """The gradient through h = tanh(a), given h."""
    return dh * (1 - h * h)


class RNN(_Step):
    """One tanh RNN step. Wx: (D, H), Wh: (H, H), b: (H,).

    forward(x (N, D), h_prev (N, H)) -> h_next (N, H) = tanh(h_prev @ Wh + x @ Wx + b).
    backward(dh_next (N, H)) -> (dx (N, D), dh_prev (N, H)).
    """

    name = "RNN"
    # the nonlinearity and its backward given the output (a learner checking numbers by hand
    # swaps tanh for the identity)
    activation = staticmethod(tanh)
    activation_backward = staticmethod(tanh_backward)

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        x, h_prev = self._inputs(x, h_prev)
        h_next = self.activation(h_prev @ Wh + x @ Wx + b)  # (N, H)
        self.cache = (x, h_prev, h_next)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, b = self.params
        x, h_prev, h_next = self.cache
        dh_next = check_grad(self.name, dh_next, h_next.shape, Wx.dtype, "(N, H)")
        dt = self.activation_backward(dh_next, h_next)  # (N, H)
        self.grads[0][...] = x.T @ dt
        self.grads[1][...] = h_prev.T @ dt
        self.grads[2][...] = dt.sum(axis=0)
        return dt @ Wx.T, dt @ Wh.T


class TimeRNN(_TimeRecurrent):
    """T tanh RNN steps. Wx: (D, H), Wh: (H, H), b: (H,).

    forward(xs (N, T, D)) -> hs (N, T, H); backward(dhs (N, T, H)) -> dxs (N, T, D).
    With ``stateful=True`` each forward starts from the last state of the previous one (or
    from ``set_state(h)``); otherwise from zeros. After backward, ``self.dh`` (N, H) is the
    gradient of the initial state.
    """

    name = "TimeRNN"
    activation = staticmethod(tanh)
    activation_backward = staticmethod(tanh_backward)

    def forward(self, xs):
        Wx, Wh, b = self.params
        xs = self._inputs(xs)
        N, T, D = xs.shape
        h0 = h = self._start("h", N)  # (N, H)
        ax = (xs.reshape(N * T, D) @ Wx + b).reshape(N, T, -1)  # (N, T, H) all steps' x @ Wx + b
        hs = get_array_module(Wx).empty_like(ax)  # (N, T, H)
        for t in range(T):
            h = self.activation(ax[:, t] + h @ Wh)
            hs[:, t] = h
        self.h, self.explicit_state = h, False
        self.cache = (xs, h0, hs)
        return hs

    def backward(self, dhs):
        Wx, Wh, _ = self.params
        dhs = self._backward_inputs(dhs)
        xs, h0, hs = self.cache
        T = xs.shape[1]
        da = get_array_module(Wx).empty_like(hs)  # (N, T, H)
        dh = 0
        for t in reversed(range(T)):
            da[:, t] = self.activation_backward(dhs[:, t] + dh, hs[:, t])
            dh = da[:, t] @ Wh.T
        self.dh = dh
        return self._weight_grads(xs, _previous(h0, hs), da)


# ---------------------------------------------------------------- LSTM


def lstm_step(a, c_prev):
    """One LSTM step from its pre-activations a = x @ Wx + h_prev @ Wh + b (N, 4H).

    Returns h_next, c_next (N, H) and the cache ``lstm_step_backward`` needs.
    """
    H = c_prev.shape[1]
    f = sigmoid(a[:, :H])  # forget gate
    g = tanh(a[:, H : 2 * H])  # new memory
    i = sigmoid(a[:, 2 * H : 3 * H])  # input gate
    o = sigmoid(a[:, 3 * H :])  # output gate
    c_next = f * c_prev + g * i  # (N, H)
    tanh_c = tanh(c_next)
    h_next = o * tanh_c  # (N, H)
    return h_next, c_next, (c_prev, f, g, i, o, tanh_c)


def lstm_step_backward(dh_next, dc_next, cache):
    """Gradients of one ``lstm_step``: -> da (N, 4H), dc_prev (N, H).

    dc_next may be None (nothing flows into the last cell state).
    """
    c_prev, f, g, i, o, tanh_c = cache
    ds = dh_next * o * (1 - tanh_c**2)  # the gradient reaching c_next
    if dc_next is not None:
        ds = ds + dc_next
    df = ds * c_prev * f * (1 - f)  # through each gate's nonlinearity
    dg = ds * i * (1 - g**2)
    di = ds * g * i * (1 - i)
    do = dh_next * tanh_c * o * (1 - o)
    da = get_array_module(ds).concatenate((df, dg, di, do), axis=1)  # (N, 4H)
    return da, ds * f


class LSTM(_Step):
    """One LSTM step. Wx: (D, 4H), Wh: (H, 4H), b: (4H,), gate blocks f, g, i, o.

    forward(x (N, D), h_prev (N, H), c_prev (N, H)) -> (h_next, c_next), both (N, H).
    backward(dh_next, dc_next) -> (dx (N, D), dh_prev (N, H), dc_prev (N, H)).
    """

    name = "LSTM"
    gates = 4

    def forward(self, x, h_prev, c_prev):
        Wx, Wh, b = self.params
        x, h_prev = self._inputs(x, h_prev)
        c_prev = as_float(c_prev, Wx.dtype, get_array_module(Wx), "LSTM c_prev")
        check_shape(c_prev, h_prev.shape, "LSTM c_prev")
        h_next, c_next, step = lstm_step(x @ Wx + h_prev @ Wh + b, c_prev)
        self.cache = (x, h_prev, step)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        Wx, Wh, b = self.params
        x, h_prev, step = self.cache
        dh_next = check_grad(self.name, dh_next, h_prev.shape, Wx.dtype, "(N, H)")
        if dc_next is not None:
            dc_next = check_grad(self.name, dc_next, h_prev.shape, Wx.dtype, "(N, H)")
        da, dc_prev = lstm_step_backward(dh_next, dc_next, step)  # (N, 4H), (N, H)
        self.grads[0][...] = x.T @ da
        self.grads[1][...] = h_prev.T @ da
        self.grads[2][...] = da.sum(axis=0)
        return da @ Wx.T, da @ Wh.T, dc_prev


class TimeLSTM(_TimeRecurrent):
    """T LSTM steps. Wx: (D, 4H), Wh: (H, 4H), b: (4H,), gate blocks f, g, i, o (the book's).

    forward(xs (N, T, D)) -> hs (N, T, H); backward(dhs (N, T, H)) -> dxs (N, T, D).
    With ``stateful=True`` each forward starts from the last (h, c) of the previous one, or
    from ``set_state(h, c=None)`` (c None: zeros); otherwise from zeros (as in the book,
    ``set_state`` has no effect on a layer that is not stateful). A carried state of
    another batch size is dropped. After backward, ``self.dh`` and ``self.dc`` (N, H) are
    the gradients of the initial h and c: a seq2seq decoder passes ``dh`` on to its encoder.
    """

    name = "TimeLSTM"
    gates = 4

    def __init__(self, Wx, Wh, b, stateful=False):
        super().__init__(Wx, Wh, b, stateful)
        self.c, self.dc = None, None

    def forward(self, xs):
        Wx, Wh, b = self.params
        xs = self._inputs(xs)
        N, T, D = xs.shape
        h0 = h = self._start("h", N)  # (N, H)
        c0 = c = self._start("c", N)
        ax = (xs.reshape(N * T, D) @ Wx + b).reshape(N, T, -1)  # (N, T, 4H) all steps' x @ Wx + b
        hs = get_array_module(Wx).empty((N, T, Wh.shape[0]), dtype=Wx.dtype)
        steps = []
        for t in range(T):
            h, c, step = lstm_step(ax[:, t] + h @ Wh, c)
            hs[:, t] = h
            steps.append(step)
        self.h, self.c, self.explicit_state = h, c, False
        self.cache = (xs, h0, c0, hs, steps)
        return hs

    def backward(self, dhs):
        Wx, Wh, _ = self.params
        dhs = self._backward_inputs(dhs)
        xs, h0, c0, hs, steps = self.cache
        N, T, _ = xs.shape
        da = get_array_module(Wx).empty((N, T, Wx.shape[1]), dtype=Wx.dtype)  # (N, T, 4H)
        dh, dc = 0, None
        for t in reversed(range(T)):
            da[:, t], dc = lstm_step_backward(dhs[:, t] + dh, dc, steps[t])
            dh = da[:, t] @ Wh.T
        self.dh, self.dc = dh, dc
        return self._weight_grads(xs, _previous(h0, hs), da)

    def set_state(self, h, c=None):
        """Start the next forward from h and c (N, H) (c None: zeros); needs ``stateful``."""
        self.h, self.c = h, c
        self.explicit_state = h is not None or c is not None

    def reset_state(self):
        self.h, self.c = None, None
        self.explicit_state = False


# ---------------------------------------------------------------- GRU


def _gru_bias(Wx, b):
    if b is None:
        return get_array_module(Wx).zeros(Wx.shape[1], dtype=Wx.dtype)
    if isinstance(b, bool):
        raise InputTypeError(
            "the third argument of GRU/TimeGRU is the bias b (3H,); pass stateful= by keyword"
        )
    return b


def gru_step(ax, h_prev, Wh):
    """One GRU step from ax = x @ Wx + b (N, 3H) and h_prev (N, H): -> h_next, cache.

    z  = sigmoid(x @ Wxz + h_prev @ Whz + bz)          update gate
    r  = sigmoid(x @ Wxr + h_prev @ Whr + br)          reset gate
    h~ = tanh(x @ Wxh + (r * h_prev) @ Whh + bh)
    h_next = (1 - z) * h_prev + z * h~
    """
    H = h_prev.shape[1]
    z = sigmoid(ax[:, :H] + h_prev @ Wh[:, :H])
    r = sigmoid(ax[:, H : 2 * H] + h_prev @ Wh[:, H : 2 * H])
    h_hat = tanh(ax[:, 2 * H :] + (r * h_prev) @ Wh[:, 2 * H :])
    h_next = (1 - z) * h_prev + z * h_hat
    return h_next, (h_prev, z, r, h_hat)


def gru_step_backward(dh_next, cache, Wh):
    """Gradients of one ``gru_step``: -> da (N, 3H) of its pre-activations, dh_prev (N, H).

    (dWh's h~ block needs r * h_prev instead of h_prev: see ``TimeGRU.backward``.)
    """
    h_prev, z, r, h_hat = cache
    H = h_prev.shape[1]
    dt = dh_next * z * (1 - h_hat**2)  # through h~ = tanh(...)
    drh = dt @ Wh[:, 2 * H :].T  # the gradient of r * h_prev
    dz = dh_next * (h_hat - h_prev) * z * (1 - z)
    dr = drh * h_prev * r * (1 - r)
    dzr = get_array_module(dz).concatenate((dz, dr), axis=1)  # (N, 2H)
    dh_prev = dh_next * (1 - z) + drh * r + dzr @ Wh[:, : 2 * H].T
    return get_array_module(dz).concatenate((dzr, dt), axis=1), dh_prev


class GRU(_Step):
    """One GRU step, the book's formulation with the bias of its corrected code (book
    repository issue 13; ``b=None``: a zero bias, still trained). Wx: (D, 3H), Wh: (H, 3H),
    b: (3H,), blocks z, r, h~ (the equations are in ``gru_step``).

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

    @property
    def db(self):
        return self.grads[2]

    def forward(self, x, h_prev):
        Wx, Wh, b = self.params
        x, h_prev = self._inputs(x, h_prev)
        h_next, step = gru_step(x @ Wx + b, h_prev, Wh)
        self.cache = (x, step)
        return h_next

    def backward(self, dh_next):
        Wx, Wh, b = self.params
        x, step = self.cache
        h_prev, _, r, _ = step
        H = h_prev.shape[1]
        dh_next = check_grad(self.name, dh_next, h_prev.shape, Wx.dtype, "(N, H)")
        da, dh_prev = gru_step_backward(dh_next, step, Wh)  # (N, 3H), (N, H)
        self.grads[0][...] = x.T @ da
        self.grads[1][:, : 2 * H] = h_prev.T @ da[:, : 2 * H]
        self.grads[1][:, 2 * H :] = (r * h_prev).T @ da[:, 2 * H :]
        self.grads[2][...] = da.sum(axis=0)
        return da @ Wx.T, dh_prev


class TimeGRU(_TimeRecurrent):
    """T GRU steps (see ``GRU``). Wx: (D, 3H), Wh: (H, 3H), b: (3H,) or None (zeros).

    forward(xs (N, T, D)) -> hs (N, T, H); backward(dhs (N, T, H)) -> dxs (N, T, D).
    ``stateful``, ``set_state(h)``, ``reset_state()`` and ``self.dh`` as in TimeRNN.
    """

    name = "TimeGRU"
    gates = 3

    def __init__(self, Wx, Wh, b=None, stateful=False):
        super().__init__(Wx, Wh, _gru_bias(Wx, b), stateful)

    def forward(self, xs):
        Wx, Wh, b = self.params
        xs = self._inputs(xs)
        N, T, D = xs.shape
        h0 = h = self._start("h", N)
        ax = (xs.reshape(N * T, D) @ Wx + b).reshape(N, T, -1)  # (N, T, 3H)
        hs = get_array_module(Wx).empty((N, T, Wh.shape[0]), dtype=Wx.dtype)
        steps = []
        for t in range(T):
            h, step = gru_step(ax[:, t], h, Wh)
            hs[:, t] = h
            steps.append(step)
        self.h, self.explicit_state = h, False
        self.cache = (xs, h0, hs, steps)
        return hs

    def backward(self, dhs):
        Wx, Wh, _ = self.params
        dhs = self._backward_inputs(dhs)
        xs, h0, hs, steps = self.cache
        N, T, _ = xs.shape
        H = Wh.shape[0]
        xp = get_array_module(Wx)
        da = xp.empty((N, T, 3 * H), dtype=Wx.dtype)
        dh = 0
        for t in reversed(range(T)):
            da[:, t], dh = gru_step_backward(dhs[:, t] + dh, steps[t], Wh)
        self.dh = dh
        dxs = self._weight_grads(xs, _previous(h0, hs), da)
        # the h~ block of Wh multiplies r * h_prev, not h_prev: redo that block
        rh = xp.stack([r * h_prev for h_prev, _, r, _ in steps], axis=1)  # (N, T, H)
        da2 = da.reshape(N * T, 3 * H)
        self.grads[1][:, 2 * H :] = rh.reshape(N * T, H).T @ da2[:, 2 * H :]
        return dxs


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
            raise InputError(
                f"TimeBiLSTM directions must have the same shapes, got Wx {tuple(Wx1.shape)} "
                f"and {tuple(Wx2.shape)}, Wh {tuple(Wh1.shape)} and {tuple(Wh2.shape)}"
            )
        self.params = self.forward_lstm.params + self.backward_lstm.params
        self.grads = self.forward_lstm.grads + self.backward_lstm.grads
        self.out_shape = None

    def forward(self, xs):
        xp = get_array_module(self.params[0])
        o1 = self.forward_lstm.forward(xs)
        o2 = self.backward_lstm.forward(xp.asarray(xs)[:, ::-1])
        out = xp.concatenate((o1, o2[:, ::-1]), axis=2)  # (N, T, 2H)
        self.out_shape = out.shape
        return out

    def backward(self, dhs):
        if self.out_shape is None:
            raise RuntimeError("TimeBiLSTM.backward needs a forward first")
        dhs = check_grad("TimeBiLSTM", dhs, self.out_shape, self.params[0].dtype, "(N, T, 2H)")
        H = dhs.shape[2] // 2
        dxs = self.forward_lstm.backward(dhs[:, :, :H])
        dxs = dxs + self.backward_lstm.backward(dhs[:, ::-1, H:])[:, ::-1]
        return dxs

    def reset_state(self):
        self.forward_lstm.reset_state()
        self.backward_lstm.reset_state()
