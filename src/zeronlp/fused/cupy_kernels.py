"""Fused elementwise kernels for CuPy, each with the NumPy formula it must equal.

On a GPU every NumPy-style operation is one kernel launch, and an LSTM step written with
whole-array operations launches many: the gate nonlinearities, the cell update and the
output are separate passes. The kernels here do one step's elementwise work in one launch
(the GRU's in two, see below). Each public function takes NumPy or CuPy arrays: with NumPy
arrays it runs the reference formula (``*_reference``, in-place NumPy operations), with
CuPy arrays the kernel. The GPU tests (tests/test_gpu.py) prove each kernel equal to its
reference, and tests/test_gpu_path.py proves each reference equal, to float32 round-off,
to the layer code it stands for (``lstm_step``, ``gru_step`` and their backward functions,
TimeSoftmaxWithLoss). No layer calls these kernels yet. CuPy compiles them on first use and
caches them on disk.

Gate blocks are the book's: LSTM [f, g, i, o] along the last axis of (N, 4H) arrays, GRU
[z, r, h~] along (N, 3H). Sigmoids are 0.5 * tanh(0.5 * a) + 0.5 (one tanh inside the
kernel; the layers use ``functions.sigmoid``, whose docstring says why).
"""

from __future__ import annotations

import functools

from ..backend import get_array_module, is_device_array

# ---------------------------------------------------------------- LSTM


def lstm_step_forward_reference(a, m, c_prev, c_out, tc_out, h_out):
    """One LSTM step after the matmuls, in NumPy operations.

    a: (N, 4H) x @ Wx + b, turned IN PLACE into the gate values [f, g, i, o];
    m: (N, 4H) h_prev @ Wh; c_prev: (N, H). Writes c_next into c_out, tanh(c_next) into
    tc_out and h_next = o * tanh(c_next) into h_out.
    """
    xp = get_array_module(a)
    H = c_prev.shape[1]
    a += m
    for s in (a[:, :H], a[:, 2 * H :]):  # sigmoid gates f, then i and o
        s *= 0.5
        xp.tanh(s, out=s)
        s *= 0.5
        s += 0.5
    xp.tanh(a[:, H : 2 * H], out=a[:, H : 2 * H])  # g
    f, g, i, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    c_out[...] = f * c_prev + g * i
    xp.tanh(c_out, out=tc_out)
    xp.multiply(o, tc_out, out=h_out)


def lstm_step_backward_reference(dh, dh_out, dc, c_prev, tc, gates, da_out):
    """Backward of one LSTM step up to the pre-activations, in NumPy operations.

    dh: (N, H) gradient reaching h_next through the next step (h_next @ Wh's backward);
    dh_out: (N, H) gradient from this step's output (dhs[t]); dc: (N, H) gradient of
    c_next (zeros at the last step); c_prev, tc = tanh(c_next): (N, H); gates: (N, 4H)
    [f, g, i, o]. Writes dA (N, 4H) into da_out and returns dc_prev (N, H).
    """
    H = c_prev.shape[1]
    f, g, i, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    dh = dh + dh_out
    ds = (1 - tc * tc) * dh * o + dc  # the gradient reaching c_next
    da_out[:, :H] = ds * c_prev * ((1 - f) * f)
    da_out[:, H : 2 * H] = ds * i * (1 - g * g)
    da_out[:, 2 * H : 3 * H] = ds * g * ((1 - i) * i)
    da_out[:, 3 * H :] = dh * tc * ((1 - o) * o)
    return ds * f


_LSTM_FORWARD = """
    const ptrdiff_t n = i / H, j = i % H, k = n * 4 * H + j;
    const T f = tanh((a[k] + m[k]) * (T)0.5) * (T)0.5 + (T)0.5;
    const T g = tanh(a[k + H] + m[k + H]);
    const T in = tanh((a[k + 2 * H] + m[k + 2 * H]) * (T)0.5) * (T)0.5 + (T)0.5;
    const T o = tanh((a[k + 3 * H] + m[k + 3 * H]) * (T)0.5) * (T)0.5 + (T)0.5;
    a[k] = f;
    a[k + H] = g;
    a[k + 2 * H] = in;
    a[k + 3 * H] = o;
    c = f * c_prev + g * in;
    tc = tanh(c);
    h = o * tc;
"""

_LSTM_BACKWARD = """
    const ptrdiff_t n = i / H, j = i % H, k = n * 4 * H + j;
    const T f = gates[k], g = gates[k + H], in = gates[k + 2 * H], o = gates[k + 3 * H];
    const T d = dh + dh_out;
    const T ds = ((T)1 - tc * tc) * d * o + dc;
    da[k] = ds * c_prev * (((T)1 - f) * f);
    da[k + H] = ds * in * ((T)1 - g * g);
    da[k + 2 * H] = ds * g * (((T)1 - in) * in);
    da[k + 3 * H] = d * tc * (((T)1 - o) * o);
    dc_prev = ds * f;
"""


@functools.cache
def _kernels():
    """The compiled kernels (CuPy imported only when a CuPy array comes)."""
    import cupy

    return {
        "lstm_forward": cupy.ElementwiseKernel(
            "raw T m, T c_prev, int64 H",
            "raw T a, T c, T tc, T h",
            _LSTM_FORWARD,
            "zeronlp_lstm_step_forward",
        ),
        "lstm_backward": cupy.ElementwiseKernel(
            "T dh, T dh_out, T dc, T c_prev, T tc, raw T gates, int64 H",
            "raw T da, T dc_prev",
            _LSTM_BACKWARD,
            "zeronlp_lstm_step_backward",
        ),
        "gru_gates": cupy.ElementwiseKernel(
            "raw T m, T h_prev, int64 H",
            "raw T a, T rh",
            _GRU_GATES,
            "zeronlp_gru_gates",
        ),
        "gru_output": cupy.ElementwiseKernel(
            "T mh, T h_prev, int64 H",
            "raw T a, T h",
            _GRU_OUTPUT,
            "zeronlp_gru_output",
        ),
        "gru_backward_h": cupy.ElementwiseKernel(
            "T dh, T h_prev, raw T gates, int64 H",
            "raw T da",
            _GRU_BACKWARD_H,
            "zeronlp_gru_backward_h",
        ),
        "gru_backward_zr": cupy.ElementwiseKernel(
            "T dh, T drh, T h_prev, raw T gates, int64 H",
            "raw T da, T dh_prev",
            _GRU_BACKWARD_ZR,
            "zeronlp_gru_backward_zr",
        ),
        "softmax_row_sums": cupy.ReductionKernel(
            "T x, T m",
            "T s",
            "exp(x - m)",
            "a + b",
            "s = a",
            "0",
            "zeronlp_softmax_row_sums",
        ),
        "softmax_loss_grad": cupy.ElementwiseKernel(
            "T x, T m, T scale, I t, T coef, int64 V",
            "T dx",
            "dx = exp(x - m) * scale - ((i % V) == (ptrdiff_t)t ? coef : (T)0);",
            "zeronlp_softmax_loss_grad",
        ),
    }


def lstm_step_forward(a, m, c_prev, c_out, tc_out, h_out):
    """``lstm_step_forward_reference`` in one kernel on CuPy (arrays as there; a, m
    C-contiguous)."""
    if not is_device_array(a):
        return lstm_step_forward_reference(a, m, c_prev, c_out, tc_out, h_out)
    _kernels()["lstm_forward"](m, c_prev, c_prev.shape[1], a, c_out, tc_out, h_out)
    return None


def lstm_step_backward(dh, dh_out, dc, c_prev, tc, gates, da_out):
    """``lstm_step_backward_reference`` in one kernel on CuPy; returns dc_prev (N, H)."""
    if not is_device_array(gates):
        return lstm_step_backward_reference(dh, dh_out, dc, c_prev, tc, gates, da_out)
    dc_prev = get_array_module(gates).empty_like(c_prev)
    H = c_prev.shape[1]
    _kernels()["lstm_backward"](dh, dh_out, dc, c_prev, tc, gates, H, da_out, dc_prev)
    return dc_prev


# ---------------------------------------------------------------- GRU
#
# A GRU step has a matmul between its gates (the candidate needs r * h_prev first), so it
# takes two kernels forward and two backward, each between the matmuls.


def gru_gates_reference(a, m, h_prev, rh_out):
    """z and r of a GRU step. a: (N, 3H) x @ Wx + b, whose z and r blocks become the gate
    values IN PLACE; m: (N, 2H) h_prev @ Wh[:, :2H]. Writes r * h_prev into rh_out."""
    xp = get_array_module(a)
    H = h_prev.shape[1]
    zr = a[:, : 2 * H]
    zr += m
    zr *= 0.5
    xp.tanh(zr, out=zr)
    zr *= 0.5
    zr += 0.5
    xp.multiply(a[:, H : 2 * H], h_prev, out=rh_out)


def gru_output_reference(a, mh, h_prev, h_out):
    """The candidate and the new state. a: (N, 3H) with z, r done; mh: (N, H)
    (r * h_prev) @ Wh[:, 2H:]. The h~ block of a becomes tanh(a + mh) IN PLACE;
    h_out = h_prev + z * (h~ - h_prev)."""
    xp = get_array_module(a)
    H = h_prev.shape[1]
    hh = a[:, 2 * H :]
    hh += mh
    xp.tanh(hh, out=hh)
    h_out[...] = (hh - h_prev) * a[:, :H] + h_prev


def gru_backward_h_reference(dh, h_prev, gates, da_out):
    """Gradient at the candidate's pre-activation: da_out[:, 2H:] = dh * z * (1 - h~^2)."""
    H = h_prev.shape[1]
    z, hh = gates[:, :H], gates[:, 2 * H :]
    da_out[:, 2 * H :] = (1 - hh * hh) * dh * z


def gru_backward_zr_reference(dh, drh, h_prev, gates, da_out):
    """Gradients at z's and r's pre-activations, given drh (N, H) = da[:, 2H:] @ Whh.T.
    Returns the part of dh_prev that does not go through Wh[:, :2H]:
    (1 - z) * dh + drh * r."""
    H = h_prev.shape[1]
    z, r, hh = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    da_out[:, :H] = (hh - h_prev) * dh * z * (1 - z)
    da_out[:, H : 2 * H] = drh * h_prev * r * (1 - r)
    return (1 - z) * dh + drh * r


_GRU_GATES = """
    const ptrdiff_t n = i / H, j = i % H, k = n * 3 * H + j, q = n * 2 * H + j;
    const T z = tanh((a[k] + m[q]) * (T)0.5) * (T)0.5 + (T)0.5;
    const T r = tanh((a[k + H] + m[q + H]) * (T)0.5) * (T)0.5 + (T)0.5;
    a[k] = z;
    a[k + H] = r;
    rh = r * h_prev;
"""

_GRU_OUTPUT = """
    const ptrdiff_t n = i / H, j = i % H, k = n * 3 * H + j;
    const T hh = tanh(a[k + 2 * H] + mh);
    a[k + 2 * H] = hh;
    h = (hh - h_prev) * a[k] + h_prev;
"""

_GRU_BACKWARD_H = """
    const ptrdiff_t n = i / H, j = i % H, k = n * 3 * H + j;
    const T z = gates[k], hh = gates[k + 2 * H];
    da[k + 2 * H] = ((T)1 - hh * hh) * dh * z;
"""

_GRU_BACKWARD_ZR = """
    const ptrdiff_t n = i / H, j = i % H, k = n * 3 * H + j;
    const T z = gates[k], r = gates[k + H], hh = gates[k + 2 * H];
    da[k] = (hh - h_prev) * dh * z * ((T)1 - z);
    da[k + H] = drh * h_prev * r * ((T)1 - r);
    dh_prev = ((T)1 - z) * dh + drh * r;
"""


def gru_gates(a, m, h_prev, rh_out):
    if not is_device_array(a):
        return gru_gates_reference(a, m, h_prev, rh_out)
    _kernels()["gru_gates"](m, h_prev, h_prev.shape[1], a, rh_out)
    return None


def gru_output(a, mh, h_prev, h_out):
    if not is_device_array(a):
        return gru_output_reference(a, mh, h_prev, h_out)
    _kernels()["gru_output"](mh, h_prev, h_prev.shape[1], a, h_out)
    return None


def gru_backward_h(dh, h_prev, gates, da_out):
    if not is_device_array(gates):
        return gru_backward_h_reference(dh, h_prev, gates, da_out)
    _kernels()["gru_backward_h"](dh, h_prev, gates, h_prev.shape[1], da_out)
    return None


def gru_backward_zr(dh, drh, h_prev, gates, da_out):
    if not is_device_array(gates):
        return gru_backward_zr_reference(dh, drh, h_prev, gates, da_out)
    dh_prev = get_array_module(gates).empty_like(h_prev)
    _kernels()["gru_backward_zr"](dh, drh, h_prev, gates, h_prev.shape[1], da_out, dh_prev)
    return dh_prev


# ---------------------------------------------------------------- softmax loss chunks


def softmax_row_sums_reference(x, m):
    """s (B,) = sum_j exp(x[b, j] - m[b]) for scores x (B, V) and row shifts m (B,)."""
    xp = get_array_module(x)
    return xp.exp(x - m[:, None]).sum(axis=1)


def softmax_loss_grad_reference(x, m, scale, t, coef):
    """The softmax loss's gradient of a chunk of rows, built in one pass:

        dx[b, j] = exp(x[b, j] - m[b]) * scale[b] - coef * (j == t[b])

    x: (B, V) scores; m: (B,) row shifts; scale: (B,) = coef / s[b] on counted rows, 0 on
    ignored ones; t: (B,) target ids (-1: ignored, never matches a column); coef: a float,
    dout / count."""
    xp = get_array_module(x)
    dx = xp.exp(x - m[:, None]) * scale[:, None]
    B, V = x.shape
    hit = xp.arange(V)[None, :] == t[:, None]
    return dx - xp.where(hit, x.dtype.type(coef), x.dtype.type(0))


def softmax_row_sums(x, m):
    if not is_device_array(x):
        return softmax_row_sums_reference(x, m)
    return _kernels()["softmax_row_sums"](x, m[:, None], axis=1)


def softmax_loss_grad(x, m, scale, t, coef):
    if not is_device_array(x):
        return softmax_loss_grad_reference(x, m, scale, t, coef)
    coef = x.dtype.type(coef)
    return _kernels()["softmax_loss_grad"](
        x, m[:, None], scale[:, None], t[:, None], coef, x.shape[1]
    )
