"""Transformer layers and models: gradient checks, PyTorch equality, masks, bad input,
float32, and a small real training run."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from zeronlp.attention import (
    FeedForward,
    LayerNorm,
    LearnedPositionalEmbedding,
    MultiHeadAttention,
    PositionalEncoding,
    Residual,
    ScaledDotProductAttention,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    attention_mask,
    gelu_tanh,
)
from zeronlp.gradcheck import gradcheck


def _example(name):
    """A module of examples/ (not a package), loaded from its file."""
    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Seed004SelfAttention = _example("seed004_self_attention").Seed004SelfAttention

TOL = 1e-7


def check(layer, *inputs, skip=(), **kw):
    errors = gradcheck(layer, *inputs, **kw)
    errors = {k: v for k, v in errors.items() if k not in skip}
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOL, f"{worst}: {errors[worst]:.2e} ({errors})"
    return errors


def mha_weights(rng, D, dtype=np.float64, scale=None):
    scale = 1 / math.sqrt(D) if scale is None else scale
    out = []
    for _ in range(4):
        out.append((rng.standard_normal((D, D)) * scale).astype(dtype))
        out.append((rng.standard_normal(D) * 0.5).astype(dtype))
    return out


def make_mha(rng, D, H, dtype=np.float64, scale=1.0):
    return MultiHeadAttention(*mha_weights(rng, D, dtype, scale), H)


def make_ff(rng, D, F, activation="relu", dropout_ratio=0.0):
    return FeedForward(
        rng.standard_normal((D, F)) / math.sqrt(D),
        rng.standard_normal(F) * 0.5,
        rng.standard_normal((F, D)) / math.sqrt(F),
        rng.standard_normal(D) * 0.5,
        activation,
        dropout_ratio,
    )


def make_ln(rng, D):
    return LayerNorm(1 + 0.3 * rng.standard_normal(D), 0.3 * rng.standard_normal(D))


def make_encoder_layer(rng, D, H, F, activation="relu", norm_first=False, dropout=0.0):
    return TransformerEncoderLayer(
        make_mha(rng, D, H, scale=1 / math.sqrt(D)),
        make_ff(rng, D, F, activation, dropout),
        make_ln(rng, D),
        make_ln(rng, D),
        dropout,
        norm_first,
    )


def make_decoder_layer(rng, D, H, F, activation="relu", norm_first=False, dropout=0.0):
    return TransformerDecoderLayer(
        make_mha(rng, D, H, scale=1 / math.sqrt(D)),
        make_mha(rng, D, H, scale=1 / math.sqrt(D)),
        make_ff(rng, D, F, activation, dropout),
        make_ln(rng, D),
        make_ln(rng, D),
        make_ln(rng, D),
        dropout,
        norm_first,
    )


def padding(rng, N, T, full_row=None):
    """(N, T) bool key padding mask with some True; row ``full_row`` all True."""
    m = rng.random((N, T)) < 0.3
    m[:, 0] = False
    if full_row is not None:
        m[full_row] = True
    return m


# ---------------------------------------------------------------- gradient checks


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 4, 3, 2), (1, 1, 1, 2, 1), (2, 2, 5, 3, 4)])
def test_gradcheck_sdpa(shape, causal, rng):
    N, Tq, Tk, d, dv = shape
    q, k, v = (rng.standard_normal(s) for s in ((N, 2, Tq, d), (N, 2, Tk, d), (N, 2, Tk, dv)))
    mask = attention_mask(N, Tq, Tk, causal, padding(rng, N, Tk), np)
    check(ScaledDotProductAttention(), q, k, v, forward_kwargs={"mask": mask})


@pytest.mark.parametrize("heads", [1, 2, 4])
@pytest.mark.parametrize("causal", [False, True])
def test_gradcheck_self_attention(heads, causal, rng):
    mha = make_mha(rng, 4, heads)
    x = rng.standard_normal((2, 3, 4))
    kw = {"causal": causal, "key_padding_mask": padding(rng, 2, 3)}
    check(mha, x, forward_kwargs=kw, skip={"params[3]"})
    # the key bias adds the same number to every score of a row: softmax ignores it
    assert np.abs(mha.grads[3]).max() < 1e-12


@pytest.mark.parametrize("heads", [1, 2])
def test_gradcheck_cross_attention(heads, rng):
    mha = make_mha(rng, 4, heads)
    q, kv = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    errors = check(
        mha, q, kv, forward_kwargs={"key_padding_mask": padding(rng, 2, 5)}, skip={"params[3]"}
    )
    assert {"inputs[0]", "inputs[1]"} <= set(errors)


def test_gradcheck_layer_norm_positions_feed_forward(rng):
    x = rng.standard_normal((2, 3, 5))
    check(make_ln(rng, 5), x)
    check(make_ln(rng, 5), rng.standard_normal((4, 5)))  # any leading axes
    check(PositionalEncoding(), x)
    check(LearnedPositionalEmbedding(rng.standard_normal((6, 5))), x)
    for act in ("relu", "gelu"):
        check(make_ff(rng, 5, 7, act), x)
    check(make_ff(rng, 5, 7, "gelu", 0.4), x, forward_kwargs={"train_flg": True})


@pytest.mark.parametrize("norm_first", [False, True])
def test_gradcheck_residual_blocks(norm_first, rng):
    x, mem = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 4))
    block = Residual(make_mha(rng, 4, 2), make_ln(rng, 4), 0.3, norm_first)
    check(block, x, forward_kwargs={"train_flg": True, "causal": True}, skip={"params[3]"})
    block = Residual(make_mha(rng, 4, 2), make_ln(rng, 4), 0.0, norm_first)
    check(block, x, mem, skip={"params[3]"})


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_gradcheck_encoder_decoder_layers(norm_first, activation, rng):
    x, mem = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    enc = make_encoder_layer(rng, 4, 2, 6, activation, norm_first, dropout=0.2)
    kw = {"key_padding_mask": padding(rng, 2, 3), "train_flg": True}
    check(enc, x, forward_kwargs=kw, skip={"params[3]"})
    dec = make_decoder_layer(rng, 4, 2, 6, activation, norm_first, dropout=0.2)
    kw = {"memory_key_padding_mask": padding(rng, 2, 5), "train_flg": True}
    errors = check(dec, x, mem, forward_kwargs=kw, skip={"params[3]", "params[13]"})
    assert {"inputs[0]", "inputs[1]"} <= set(errors)


# ---------------------------------------------------------------- seed 004


def seed004_layer(rng, V, D, d, dtype=np.float64):
    def r(*s):
        return rng.standard_normal(s).astype(dtype)

    return Seed004SelfAttention(r(V, D), r(D, d) / math.sqrt(D), r(d), r(V, d), r(d), r(V, d), r(d))


def test_gradcheck_seed004_worked_example(rng):
    layer = seed004_layer(rng, 7, 5, 3)
    xs = rng.integers(0, 7, (2, 4))
    xs[0, :2] = 3  # repeated ids: the embedding gradient sums them
    errors = check(layer, xs, skip={"params[2]"})
    assert set(errors) == {f"params[{i}]" for i in (0, 1, 3, 4, 5, 6)}
    assert np.abs(layer.grads[2]).max() < 1e-12  # the key bias: softmax ignores it
    assert np.abs(layer.grads[4]).max() > 0  # unlike the notebook, the value layers learn
    assert np.abs(layer.grads[5]).max() > 0


def test_seed004_shapes_are_the_notebooks(rng):
    # the notebook: V = 59 (date vocabulary), D = 512, d = 64, xs = x_train[:10] (10, 29)
    layer = seed004_layer(rng, 59, 512, 64, np.float32)
    xs = rng.integers(0, 59, (10, 29))
    z = layer.forward(xs)
    assert layer.score.shape == (10, 29, 29) and z.shape == (10, 29, 64)
    np.testing.assert_allclose(layer.score.sum(axis=-1), 1, rtol=1e-5)
    assert layer.backward(np.ones_like(z)) is None
    assert [g.shape for g in layer.grads] == [
        (59, 512), (512, 64), (64,), (59, 64), (64,), (59, 64), (64,)
    ]  # fmt: skip
    assert all(g.dtype == np.float32 for g in layer.grads)


# ---------------------------------------------------------------- PyTorch equality


def _np(t):
    return t.detach().numpy().copy()


def mha_from_torch(m, heads):
    """Our MultiHeadAttention with the weights of torch's nn.MultiheadAttention.

    torch's in_proj_weight is (3D, D), rows q, k, v, in the (out, in) layout; ours are
    (in, out) matrices, so each block is transposed."""
    D = m.embed_dim
    W, b = _np(m.in_proj_weight), _np(m.in_proj_bias)
    params = []
    for j in range(3):
        params += [W[j * D : (j + 1) * D].T.copy(), b[j * D : (j + 1) * D].copy()]
    params += [_np(m.out_proj.weight).T.copy(), _np(m.out_proj.bias)]
    return MultiHeadAttention(*params, heads)


def ff_from_torch(layer, activation):
    return FeedForward(
        _np(layer.linear1.weight).T.copy(),
        _np(layer.linear1.bias),
        _np(layer.linear2.weight).T.copy(),
        _np(layer.linear2.bias),
        activation,
    )


def ln_from_torch(norm):
    return LayerNorm(_np(norm.weight), _np(norm.bias), norm.eps)


def torch_grads_of_mha(m):
    """Our params' gradient order [Wq, bq, Wk, bk, Wv, bv, Wo, bo] from torch's grads."""
    D = m.embed_dim
    W, b = _np(m.in_proj_weight.grad), _np(m.in_proj_bias.grad)
    out = []
    for j in range(3):
        out += [W[j * D : (j + 1) * D].T, b[j * D : (j + 1) * D]]
    return out + [_np(m.out_proj.weight.grad).T, _np(m.out_proj.bias.grad)]


def assert_close(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize(
    "N,Tq,Tk,D,heads,cross,causal,masked",
    [
        (2, 5, 5, 8, 1, False, False, False),
        (2, 5, 5, 8, 4, False, True, False),
        (3, 4, 4, 12, 3, False, False, True),
        (2, 4, 4, 8, 2, False, True, True),
        (2, 3, 6, 8, 2, True, False, False),
        (2, 3, 6, 8, 4, True, False, True),
        (1, 1, 1, 4, 2, False, False, False),
        (2, 6, 3, 8, 2, True, True, True),
    ],
)
def test_mha_equals_torch(N, Tq, Tk, D, heads, cross, causal, masked, rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    m = torch.nn.MultiheadAttention(D, heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # torch initialises the biases to 0; make them matter
        m.in_proj_bias.normal_()
        m.out_proj.bias.normal_()
    ours = mha_from_torch(m, heads)
    q = rng.standard_normal((N, Tq, D))
    kv = rng.standard_normal((N, Tk, D)) if cross else None
    kpm = padding(rng, N, Tk) if masked else None
    dout = rng.standard_normal((N, Tq, D))

    out = ours.forward(q, kv, causal=causal, key_padding_mask=kpm)
    grads_in = ours.backward(dout)

    tq = torch.tensor(q, requires_grad=True)
    tkv = torch.tensor(kv, requires_grad=True) if cross else tq
    attn_mask = torch.triu(torch.ones(Tq, Tk, dtype=torch.bool), 1) if causal else None
    tout, tw = m(
        tq,
        tkv,
        tkv,
        key_padding_mask=None if kpm is None else torch.tensor(kpm),
        attn_mask=attn_mask,
        average_attn_weights=False,
    )
    tout.backward(torch.tensor(dout))

    assert_close(out, _np(tout))
    assert_close(ours.weights, _np(tw))
    if cross:
        dq, dkv = grads_in
        assert_close(dq, _np(tq.grad))
        assert_close(dkv, _np(tkv.grad))
    else:
        assert_close(grads_in, _np(tq.grad))
    for g, tg in zip(ours.grads, torch_grads_of_mha(m), strict=True):
        assert_close(g, tg)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5, 6, 7), (1, 1, 1, 1, 2, 3), (2, 2, 6, 3, 4, 4)])
def test_sdpa_equals_torch_with_masks_and_full_rows(shape, causal, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    N, H, Tq, Tk, d, dv = shape
    q, k, v = (rng.standard_normal(s) for s in ((N, H, Tq, d), (N, H, Tk, d), (N, H, Tk, dv)))
    kpm = padding(rng, N, Tk, full_row=0)  # example 0: every key masked
    mask = attention_mask(N, Tq, Tk, causal, kpm, np)
    dout = rng.standard_normal((N, H, Tq, dv))
    layer = ScaledDotProductAttention()
    out = layer.forward(q, k, v, mask)
    dq, dk, dv_ = layer.backward(dout)
    assert np.isfinite(out).all() and np.isfinite(dq).all()
    assert (out[0] == 0).all() and (layer.weights[0] == 0).all()  # the documented choice

    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    allowed = torch.tensor(~np.broadcast_to(mask, (N, 1, Tq, Tk)))  # torch: True = take part
    tout = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=allowed)
    tout.backward(torch.tensor(dout))
    assert_close(out, _np(tout))
    for ours, t in ((dq, tq), (dk, tk), (dv_, tv)):
        assert_close(ours, _np(t.grad))


def test_mha_fully_masked_row_gives_zeros_not_nan(rng):
    mha = make_mha(rng, 4, 2)
    q, kv = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    kpm = np.zeros((2, 5), bool)
    kpm[1] = True
    out = mha.forward(q, kv, key_padding_mask=kpm)
    dq, dkv = mha.backward(np.ones_like(out))
    assert np.isfinite(out).all() and np.isfinite(dq).all() and np.isfinite(dkv).all()
    assert (mha.weights[1] == 0).all()
    np.testing.assert_allclose(out[1], np.broadcast_to(mha.params[7], (3, 4)))  # just bo
    assert (dkv[1] == 0).all()


def test_layer_norm_equals_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for shape in [(2, 3, 5), (4, 1), (1, 1, 7)]:
        D = shape[-1]
        x, dout = rng.standard_normal(shape) * 3 + 1, rng.standard_normal(shape)
        ln = make_ln(rng, D)
        out = ln.forward(x)
        dx = ln.backward(dout)
        tx = torch.tensor(x, requires_grad=True)
        tg, tb = (torch.tensor(p, requires_grad=True) for p in ln.params)
        tout = F.layer_norm(tx, (D,), tg, tb, 1e-5)
        tout.backward(torch.tensor(dout))
        assert_close(out, _np(tout))
        assert_close(dx, _np(tx.grad))
        assert_close(ln.grads[0], _np(tg.grad))
        assert_close(ln.grads[1], _np(tb.grad))


def test_gelu_is_torchs_tanh_approximation(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(50) * 4
    tx = torch.tensor(x)
    assert_close(gelu_tanh(x), _np(torch.nn.functional.gelu(tx, approximate="tanh")))


def _torch_activation(torch, activation):
    if activation == "relu":
        return torch.nn.functional.relu
    return lambda x: torch.nn.functional.gelu(x, approximate="tanh")


def _randomise(torch, module):
    with torch.no_grad():  # non-trivial biases and norms
        for name, p in module.named_parameters():
            if "bias" in name or "norm" in name:
                p.add_(0.3 * torch.randn_like(p))


@pytest.mark.parametrize(
    "norm_first,activation,heads,masked,causal",
    [
        (False, "relu", 2, False, False),
        (True, "relu", 1, True, False),
        (False, "gelu", 4, True, True),
        (True, "gelu", 2, False, True),
    ],
)
def test_encoder_layer_equals_torch(norm_first, activation, heads, masked, causal, rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    N, T, D, Fd = 2, 5, 8, 12
    t_layer = torch.nn.TransformerEncoderLayer(
        D,
        heads,
        Fd,
        dropout=0.0,
        activation=_torch_activation(torch, activation),
        batch_first=True,
        norm_first=norm_first,
        dtype=torch.float64,
    )
    _randomise(torch, t_layer)
    ours = TransformerEncoderLayer(
        mha_from_torch(t_layer.self_attn, heads),
        ff_from_torch(t_layer, activation),
        ln_from_torch(t_layer.norm1),
        ln_from_torch(t_layer.norm2),
        0.0,
        norm_first,
    )
    x, dout = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, D))
    kpm = padding(rng, N, T) if masked else None
    out = ours.forward(x, key_padding_mask=kpm, causal=causal, train_flg=True)
    dx = ours.backward(dout)

    tx = torch.tensor(x, requires_grad=True)
    tout = t_layer(
        tx,
        src_mask=torch.triu(torch.ones(T, T, dtype=torch.bool), 1) if causal else None,
        src_key_padding_mask=None if kpm is None else torch.tensor(kpm),
    )
    tout.backward(torch.tensor(dout))
    assert_close(out, _np(tout))
    assert_close(dx, _np(tx.grad))
    t = t_layer
    expected = torch_grads_of_mha(t.self_attn) + [
        _np(p.grad) for p in (t.norm1.weight, t.norm1.bias)
    ]
    expected += [_np(t.linear1.weight.grad).T, _np(t.linear1.bias.grad)]
    expected += [_np(t.linear2.weight.grad).T, _np(t.linear2.bias.grad)]
    expected += [_np(p.grad) for p in (t.norm2.weight, t.norm2.bias)]
    for g, tg in zip(ours.grads, expected, strict=True):
        assert_close(g, tg)


@pytest.mark.parametrize(
    "norm_first,activation,heads,masked", [(False, "relu", 2, True), (True, "gelu", 4, False)]
)
def test_decoder_layer_equals_torch(norm_first, activation, heads, masked, rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(2)
    N, T, Tm, D, Fd = 2, 4, 6, 8, 10
    t_layer = torch.nn.TransformerDecoderLayer(
        D,
        heads,
        Fd,
        dropout=0.0,
        activation=_torch_activation(torch, activation),
        batch_first=True,
        norm_first=norm_first,
        dtype=torch.float64,
    )
    _randomise(torch, t_layer)
    t = t_layer
    ours = TransformerDecoderLayer(
        mha_from_torch(t.self_attn, heads),
        mha_from_torch(t.multihead_attn, heads),
        ff_from_torch(t, activation),
        ln_from_torch(t.norm1),
        ln_from_torch(t.norm2),
        ln_from_torch(t.norm3),
        0.0,
        norm_first,
    )
    x, mem = rng.standard_normal((N, T, D)), rng.standard_normal((N, Tm, D))
    dout = rng.standard_normal((N, T, D))
    kpm = padding(rng, N, Tm) if masked else None
    out = ours.forward(x, mem, causal=True, memory_key_padding_mask=kpm)
    dx, dmem = ours.backward(dout)

    tx, tmem = torch.tensor(x, requires_grad=True), torch.tensor(mem, requires_grad=True)
    tout = t(
        tx,
        tmem,
        tgt_mask=torch.triu(torch.ones(T, T, dtype=torch.bool), 1),
        memory_key_padding_mask=None if kpm is None else torch.tensor(kpm),
    )
    tout.backward(torch.tensor(dout))
    assert_close(out, _np(tout))
    assert_close(dx, _np(tx.grad))
    assert_close(dmem, _np(tmem.grad))
    expected = torch_grads_of_mha(t.self_attn) + [_np(t.norm1.weight.grad), _np(t.norm1.bias.grad)]
    expected += torch_grads_of_mha(t.multihead_attn)
    expected += [_np(t.norm2.weight.grad), _np(t.norm2.bias.grad)]
    expected += [_np(t.linear1.weight.grad).T, _np(t.linear1.bias.grad)]
    expected += [_np(t.linear2.weight.grad).T, _np(t.linear2.bias.grad)]
    expected += [_np(t.norm3.weight.grad), _np(t.norm3.bias.grad)]
    for g, tg in zip(ours.grads, expected, strict=True):
        assert_close(g, tg)


# ---------------------------------------------------------------- dtypes and bad input


def test_float32_stays_float32(rng):
    f = np.float32
    x, mem = rng.standard_normal((2, 3, 8)).astype(f), rng.standard_normal((2, 4, 8)).astype(f)
    dec = TransformerDecoderLayer(
        make_mha(rng, 8, 2, f),
        make_mha(rng, 8, 2, f),
        FeedForward(*(rng.standard_normal(s).astype(f) for s in ((8, 6), (6,), (6, 8), (8,)))),
        *(LayerNorm(np.ones(8, f), np.zeros(8, f)) for _ in range(3)),
        0.1,
        True,
    )
    out = dec.forward(x, mem, train_flg=True)
    dx, dmem = dec.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == dmem.dtype == f
    assert all(g.dtype == f for g in dec.grads)
    pe = PositionalEncoding()
    assert pe.forward(x).dtype == f
    assert gelu_tanh(x).dtype == f


def test_bad_input_is_a_clear_error(rng):
    with pytest.raises(ValueError, match="divisible by num_heads"):
        make_mha(rng, 6, 4)
    with pytest.raises(ValueError, match=r"Wk must be \(4, 4\)"):
        w = mha_weights(rng, 4)
        w[2] = np.zeros((4, 3))
        MultiHeadAttention(*w, 2)
    mha = make_mha(rng, 4, 2)
    with pytest.raises(ValueError, match=r"q of shape \(N, T, 4\)"):
        mha.forward(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"q of shape \(N, T, 4\)"):
        mha.forward(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"kv of shape \(N, T, 4\)"):
        mha.forward(np.zeros((2, 3, 4)), np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match="batch size"):
        mha.forward(np.zeros((2, 3, 4)), np.zeros((3, 3, 4)))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(N, Tk\) = \(2, 5\)"):
        mha.forward(
            np.zeros((2, 3, 4)), np.zeros((2, 5, 4)), key_padding_mask=np.zeros((2, 3), bool)
        )
    with pytest.raises(TypeError, match="must be bool"):
        mha.forward(np.zeros((2, 3, 4)), key_padding_mask=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="LayerNorm expects input of shape"):
        make_ln(rng, 4).forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="knows 2 positions"):
        LearnedPositionalEmbedding(np.zeros((2, 4))).forward(np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match="activation must be"):
        make_ff(rng, 4, 4, "tanh")
    with pytest.raises(ValueError, match="ScaledDotProductAttention"):
        ScaledDotProductAttention().forward(
            np.zeros((2, 3, 4)), np.zeros((2, 3, 5)), np.zeros((2, 3, 4))
        )


# ---------------------------------------------------------------- models


def scaled(model, rng):
    """O(1) random weights for gradient checks; LayerNorm gains (initialised to 1) stay
    near 1, or a small random gain collapses every row of the memory to the LN bias and the
    cross-attention gradients to round-off."""
    for p in model.params:
        if (p == 1).all():
            p[...] = 1 + 0.3 * rng.standard_normal(p.shape)
        else:
            p[...] = 0.5 * rng.standard_normal(p.shape)
    return model


def key_bias_ids(model):
    """ids of the attention key biases: their true gradient is 0 (softmax ignores them)."""
    out = set()

    def walk(obj, depth):
        if isinstance(obj, MultiHeadAttention):
            out.add(id(obj.params[3]))
        elif depth < 6 and hasattr(obj, "__dict__") and not isinstance(obj, np.ndarray):
            for v in vars(obj).values():
                for child in v if isinstance(v, list) else [v]:
                    walk(child, depth + 1)

    walk(model, 0)
    return out


def check_model(model, *inputs, **kw):
    errors = gradcheck(model, *inputs, **kw)
    assert len(errors) == len(model.params)
    kb = key_bias_ids(model)
    skip = {f"params[{i}]" for i, p in enumerate(model.params) if id(p) in kb}
    assert len(skip) > 0
    for i, p in enumerate(model.params):
        if id(p) in kb:
            assert np.abs(model.grads[i]).max() < 1e-12
    errors = {k: v for k, v in errors.items() if k not in skip}
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"{worst}: {errors[worst]:.2e}"


MODEL_CONFIGS = [
    {"norm_first": True, "activation": "relu", "dropout_ratio": 0.2},
    {"norm_first": True, "activation": "gelu", "dropout_ratio": 0.0, "positions": "learned"},
    {"norm_first": False, "activation": "relu", "dropout_ratio": 0.2},
]


@pytest.mark.parametrize("config", MODEL_CONFIGS)
def test_gradcheck_transformer_seq2seq(config, rng):
    from zeronlp.backend import default_float
    from zeronlp.models import TransformerSeq2seq

    with default_float(np.float64):
        model = scaled(TransformerSeq2seq(7, 4, 2, 6, 2, max_len=8, **config), rng)
    xs, ts = rng.integers(0, 7, (2, 5)), rng.integers(0, 7, (2, 4))
    # eps 1e-5: at a loss of ~4 the central differences' round-off with eps 1e-6 is ~1e-9,
    # as large as 1e-5 of the smallest gradients here; 1e-5 keeps truncation below 1e-9
    check_model(model, xs, ts, eps=1e-5, forward_kwargs={"train_flg": True})


@pytest.mark.parametrize("config", MODEL_CONFIGS)
def test_gradcheck_transformer_lm(config, rng):
    from zeronlp.backend import default_float
    from zeronlp.models import TransformerLM

    with default_float(np.float64):
        model = scaled(TransformerLM(7, 4, 2, 6, 2, max_len=5, **config), rng)
    xs, ts = rng.integers(0, 7, (2, 4)), rng.integers(0, 7, (2, 4))
    ts[1, 2] = -1  # an ignored target
    check_model(model, xs, ts, forward_kwargs={"train_flg": True})


def test_models_are_float32_and_stay_float32(rng):
    from zeronlp.backend import seed
    from zeronlp.models import TransformerLM, TransformerSeq2seq

    seed(0)
    model = TransformerSeq2seq(9, 8, 2, 16, 1)
    xs, ts = rng.integers(0, 9, (3, 5)), rng.integers(0, 9, (3, 4))
    model.forward(xs, ts)
    model.backward()
    assert all(p.dtype == np.float32 for p in model.params)
    assert all(g.dtype == np.float32 for g in model.grads)
    assert model.generate_batch(xs, 0, 3, method="beam", beam_width=2).shape == (3, 3)
    lm = TransformerLM(9, 8, 2, 16, 1, max_len=6)
    assert lm.forward(xs, xs) > 0
    lm.backward()
    assert all(g.dtype == np.float32 for g in lm.grads)
    assert lm.predict(xs).dtype == np.float32


def test_seq2seq_decoding_matches_teacher_forcing(rng):
    """Greedy decoding re-runs the decoder on its prefix each step; feeding the decoded
    answer back with teacher forcing must give the same argmax at every step."""
    from zeronlp.backend import seed
    from zeronlp.models import TransformerSeq2seq

    seed(1)
    model = TransformerSeq2seq(11, 16, 4, 32, 2, dropout_ratio=0.3)
    xs = rng.integers(0, 11, (4, 6))
    out = model.generate_batch(xs, 10, 5)
    ts = np.concatenate([np.full((4, 1), 10), out], axis=1)
    scores = model.decoder.forward(ts[:, :-1], model.encoder.forward(xs))
    np.testing.assert_array_equal(scores.argmax(axis=-1), out)
    # beam of width 1 is greedy; generate returns the book's list for one question
    np.testing.assert_array_equal(model.generate_batch(xs, 10, 5, "beam", beam_width=1), out)
    assert model.generate(xs[:1], 10, 5) == [int(i) for i in out[0]]
    assert model.attention_map(xs, ts).shape == (4, 4, 5, 6)  # (N, heads, Ta-1, Tq)


def test_lm_generate_and_state(rng):
    from zeronlp.backend import seed
    from zeronlp.models import TransformerLM

    seed(2)
    lm = TransformerLM(12, 8, 2, 16, 1, max_len=6)
    lm.reset_state()
    ids = lm.generate(3, skip_ids=[4, 5], sample_size=10)
    assert len(ids) == 10 and ids[0] == 3 and not {4, 5} & set(ids[1:])
    greedy = lm.generate(3, sample_size=8, method="greedy")
    assert lm.generate(3, sample_size=8, method="beam", beam_width=1) == greedy
    # a prompt fed through predict conditions generation, like an RNN's state
    lm.reset_state()
    lm.predict(np.array([[1, 2, 7]]))
    assert lm.get_state()[0].tolist() == [[1, 2, 7]]
    lm.generate(4, sample_size=3, method="greedy")
    lm.reset_state()
    assert lm.get_state() == (None,)


def test_model_config_and_checkpoint_roundtrip(tmp_path, rng):
    from zeronlp.backend import seed
    from zeronlp.models import TransformerSeq2seq

    seed(3)
    model = TransformerSeq2seq(9, 8, 2, 16, 1, positions="learned", max_len=10)
    path = model.save_params(tmp_path / "m.npz")
    assert model.config["positions"] == "learned" and model.config["d_ff"] == 16
    other = TransformerSeq2seq(**model.config)
    other.load_params(path)
    xs = rng.integers(0, 9, (2, 5))
    np.testing.assert_array_equal(other.generate_batch(xs, 0, 4), model.generate_batch(xs, 0, 4))


def test_model_bad_config():
    from zeronlp.models import TransformerLM, TransformerSeq2seq

    with pytest.raises(ValueError, match="divisible by num_heads"):
        TransformerSeq2seq(9, 10, 4)
    with pytest.raises(ValueError, match="positions must be"):
        TransformerLM(9, 8, 2, positions="rotary")
    with pytest.raises(ValueError, match=r"ts must be answer ids"):
        TransformerSeq2seq(9, 8, 2).forward(np.zeros((2, 3), int), np.zeros((2, 1), int))


def test_transformer_seq2seq_learns_to_reverse_digits():
    """A real (small) training run: reverse 6 digits. 1 layer, d_model 32, 2 epochs of 3000
    examples (about 5 s here) reach >= 95% exact-match on held-out questions."""
    from zeronlp.backend import seed
    from zeronlp.models import TransformerSeq2seq
    from zeronlp.optimizers import Adam
    from zeronlp.training import Trainer, seq2seq_accuracy

    seed(0)
    rng = np.random.default_rng(0)

    def data(n):
        x = rng.integers(0, 10, (n, 6))
        return x, np.concatenate([np.full((n, 1), 10), x[:, ::-1]], axis=1)

    (x, t), (xv, tv) = data(3000), data(500)
    model = TransformerSeq2seq(11, d_model=32, num_heads=2, d_ff=64, num_layers=1, dropout_ratio=0)
    Trainer(model, Adam(lr=3e-3)).fit(x, t, 2, 50, max_grad=1.0, verbose=False)
    assert seq2seq_accuracy(model, xv, tv) >= 0.95
    assert seq2seq_accuracy(model, xv[:100], tv[:100], method="beam", beam_width=3) >= 0.95


# ---------------------------------------------------------------- command line


def test_cli_train_date_transformer_translate_with_head_heatmaps(tmp_path, capsys):
    from zeronlp.cli import main
    from zeronlp.datasets import sequence

    data = tmp_path / "date-small.txt"
    data.write_text("".join(line + "\n" for line in sequence.generate_date(400, seed=3)))
    run = tmp_path / "run"
    argv = ["train", "date", "--data", str(data), "--model", "transformer", "--epochs", "1"]
    argv += ["--d-model", "16", "--heads", "2", "--ff", "32", "--layers", "1", "--dropout", "0"]
    assert main([*argv, "--out", str(run), "--quiet"]) == 0
    assert "date test accuracy" in capsys.readouterr().out
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "transformer" and config["heads"] == 2
    png = tmp_path / "heads.png"
    assert main(["translate", str(run), "may 3, 2001", "--beam", "2", "--attention", str(png)]) == 0
    assert capsys.readouterr().out.startswith("may 3, 2001 -> ")
    if plots_available():
        assert png.read_bytes()[:4] == b"\x89PNG"
        assert (run / "attention-1.png").is_file()
    assert main(["eval", str(run)]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_cli_bad_transformer_options_are_a_clear_error(tmp_path, capsys):
    from zeronlp.cli import main
    from zeronlp.datasets import sequence

    data = tmp_path / "date-small.txt"
    data.write_text("".join(line + "\n" for line in sequence.generate_date(50, seed=3)))
    argv = ["train", "date", "--data", str(data), "--model", "transformer", "--heads", "3"]
    assert main([*argv, "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "divisible by num_heads" in capsys.readouterr().err


def test_cli_train_ptb_transformer_then_generate(tmp_path, data_dir, capsys):
    from zeronlp.cli import main

    run = tmp_path / "lm"
    argv = ["train", "ptb", "--model", "transformer", "--train-size", "3000", "--eval-size"]
    argv += ["1000", "--epochs", "1", "--d-model", "16", "--heads", "2", "--ff", "32"]
    assert main([*argv, "--layers", "1", "--out", str(run), "--quiet"]) == 0
    assert "ptb test perplexity" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["lr"] == 0.001
    argv = ["generate", str(run), "--start", "the meaning of", "--length", "6", "--seed", "0"]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("the meaning of")


def plots_available():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_seed004_example_script_runs(capsys):
    import runpy
    from pathlib import Path

    script = Path(__file__).parents[1] / "examples" / "seed004_self_attention.py"
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "score shape: (10, 29, 29)" in out and "Z shape: (10, 29, 64)" in out
    assert "nonzero: True" in out
