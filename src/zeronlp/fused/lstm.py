"""FusedTimeLSTM: ``time_layers.TimeLSTM`` with its step fused into in-place kernels.

The math is the book's LSTM (``time_layers.recurrent.lstm_step``):

    f, g, i, o = sigmoid(a_f), tanh(a_g), sigmoid(a_i), sigmoid(a_o)   a = x Wx + h Wh + b
    c_next = f * c_prev + g * i,   h_next = o * tanh(c_next)

What changes is how the arrays move, not what is computed:

- time-major storage: inside, inputs, gates and states are (T, N, ...) arrays, so that a
  step's slice ``[t]`` is one contiguous (N, ...) block instead of a strided ``[:, t]``;
- one tanh for all four gates: sigmoid(z) = 0.5 * (1 + tanh(z / 2)), so the sigmoid gates'
  pre-activations are halved (one multiply by a (4H,) scale) and a single tanh() call over
  the contiguous (N, 4H) row serves f, g, i and o;
- no temporaries: every step writes into preallocated buffers (``out=``), and the backward
  multiplies by a contiguous copy of Wh.T made once.

tests/test_fused.py proves it equal to TimeLSTM; docs/time_layers.md has the measurements.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..time_layers.recurrent import TimeLSTM


def _gate_scale(Wh):
    """(4H,) column scale of the pre-activations: 0.5 on the sigmoid gates f, i, o, 1 on g."""
    xp = get_array_module(Wh)
    H = Wh.shape[0]
    scale = xp.full(4 * H, 0.5, dtype=Wh.dtype)
    scale[H : 2 * H] = 1
    return scale


def lstm_step_fused(a, c_prev, c_out, tc_out, h_out, scale):
    """One LSTM step after the matmuls, in place.

    a: (N, 4H) pre-activations, turned IN PLACE into the gate values [f, g, i, o] (the
    backward needs them); c_prev: (N, H); scale: (4H,) from ``_gate_scale``. Writes c_next
    into c_out, tanh(c_next) into tc_out and h_next into h_out (all (N, H)).
    """
    xp = get_array_module(a)
    H = c_prev.shape[1]
    a *= scale
    xp.tanh(a, out=a)
    for s in (a[:, :H], a[:, 2 * H :]):  # f, then i and o (adjacent): 0.5 * (1 + tanh)
        s *= 0.5
        s += 0.5
    f, g, i, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    xp.multiply(f, c_prev, out=c_out)
    xp.multiply(g, i, out=tc_out)  # tc_out is scratch until the tanh below
    c_out += tc_out
    xp.tanh(c_out, out=tc_out)
    xp.multiply(o, tc_out, out=h_out)


def lstm_step_backward_fused(dh, dc, gates, c_prev, tc, da_out, scratch):
    """Backward of one step up to the pre-activations, in place.

    dh: (N, H) gradient of h_next; dc: (N, H) gradient of c_next or None; gates: (N, 4H)
    [f, g, i, o]; c_prev, tc = tanh(c_next): (N, H); scratch: an (N, 4H) work buffer.
    Writes da (N, 4H) into da_out and returns dc_prev (N, H).
    """
    xp = get_array_module(gates)
    H = c_prev.shape[1]
    f, g, i, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    df, dg, di, do = (da_out[:, k * H : (k + 1) * H] for k in range(4))
    ds = xp.multiply(tc, tc)  # ds = dc + dh * o * (1 - tanh(c)^2)
    xp.subtract(1, ds, out=ds)
    ds *= dh
    ds *= o
    if dc is not None:
        ds += dc
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


class FusedTimeLSTM(TimeLSTM):
    """TimeLSTM with fused in-place steps; the same constructor, state API and results.

    forward(xs (N, T, D)) -> hs (N, T, H); backward(dhs (N, T, H)) -> dxs (N, T, D).
    The arrays forward returns are also what backward reads: do not modify them between
    the two calls.
    """

    name = "TimeLSTM"  # errors speak of the layer the user knows

    def forward(self, xs):
        Wx, Wh, b = self.params
        xp = get_array_module(Wx)
        xs = self._inputs(xs)
        N, T, D = xs.shape
        H = Wh.shape[0]
        h0 = self._start("h", N)
        c0 = self._start("c", N)
        xs2 = xp.ascontiguousarray(xs.transpose(1, 0, 2)).reshape(T * N, D)  # time-major
        gates = (xs2 @ Wx + b).reshape(T, N, 4 * H)  # becomes the gate values in place
        hs, cs, tcs = (xp.empty((T, N, H), dtype=Wx.dtype) for _ in range(3))
        tmp = xp.empty((N, 4 * H), dtype=Wx.dtype)
        scale = _gate_scale(Wh)
        h, c = h0, c0
        for t in range(T):
            a = gates[t]
            a += xp.matmul(h, Wh, out=tmp)
            lstm_step_fused(a, c, cs[t], tcs[t], hs[t], scale)
            h, c = hs[t], cs[t]
        self.h, self.c, self.explicit_state = h.copy(), c.copy(), False
        self.cache = (xs, xs2, h0, c0, gates, hs, cs, tcs)
        return xp.ascontiguousarray(hs.transpose(1, 0, 2))  # (N, T, H)

    def backward(self, dhs):
        Wx, Wh, _ = self.params
        xp = get_array_module(Wx)
        dhs = self._backward_inputs(dhs)
        xs, xs2, h0, c0, gates, hs, cs, tcs = self.cache
        T, N, H = hs.shape
        dhs = xp.ascontiguousarray(dhs.transpose(1, 0, 2))  # (T, N, H)
        da = xp.empty_like(gates)  # (T, N, 4H)
        scratch = xp.empty((N, 4 * H), dtype=Wx.dtype)
        dh = xp.zeros((N, H), dtype=Wx.dtype)
        dc = None
        WhT = xp.ascontiguousarray(Wh.T)
        for t in range(T - 1, -1, -1):
            dh += dhs[t]
            c_prev = cs[t - 1] if t > 0 else c0
            dc = lstm_step_backward_fused(dh, dc, gates[t], c_prev, tcs[t], da[t], scratch)
            xp.matmul(da[t], WhT, out=dh)
        self.dh, self.dc = dh, dc
        h_prev = xp.empty_like(hs)  # (T, N, H): h0, h_1, ..., h_{T-1}
        h_prev[0] = h0
        h_prev[1:] = hs[:-1]
        da2 = da.reshape(T * N, 4 * H)
        xp.matmul(xs2.T, da2, out=self.grads[0])
        xp.matmul(h_prev.reshape(T * N, H).T, da2, out=self.grads[1])
        da2.sum(axis=0, out=self.grads[2])
        dxs = (da2 @ Wx.T).reshape(T, N, -1)
        return xp.ascontiguousarray(dxs.transpose(1, 0, 2))
