"""The book's attention layers: gradient checks, the book's loop code, and PyTorch."""

import numpy as np
import pytest

from zeronlp.attention import Attention, AttentionWeight, TimeAttention, WeightSum
from zeronlp.functions import softmax
from zeronlp.gradcheck import gradcheck

TOL = 1e-7
SHAPES = [(1, 1, 1, 1), (2, 5, 3, 4), (3, 1, 4, 2)]  # (N, Te, Td, H)


def check(layer, *inputs):
    errors = gradcheck(layer, *inputs)
    assert max(errors.values()) < TOL, errors
    return errors


@pytest.mark.parametrize("N,Te,Td,H", SHAPES)
def test_gradcheck_step_layers(N, Te, Td, H, rng):
    hs, h = rng.standard_normal((N, Te, H)), rng.standard_normal((N, H))
    a = softmax(rng.standard_normal((N, Te)))
    assert set(check(WeightSum(), hs, a)) == {"inputs[0]", "inputs[1]"}
    assert set(check(AttentionWeight(), hs, h)) == {"inputs[0]", "inputs[1]"}
    check(Attention(), hs, h)


@pytest.mark.parametrize("N,Te,Td,H", SHAPES)
def test_gradcheck_time_attention(N, Te, Td, H, rng):
    check(TimeAttention(), rng.standard_normal((N, Te, H)), rng.standard_normal((N, Td, H)))


def book_time_attention(hs_enc, hs_dec, dout):
    """The book's TimeAttention: one Attention per decoder step, in a loop."""
    N, T, H = hs_dec.shape
    out = np.empty_like(hs_dec)
    layers = []
    for t in range(T):
        layer = Attention()
        out[:, t, :] = layer.forward(hs_enc, hs_dec[:, t, :])
        layers.append(layer)
    dhs_enc, dhs_dec = 0, np.empty_like(dout)
    for t in range(T):
        dhs, dh = layers[t].backward(dout[:, t, :])
        dhs_enc += dhs
        dhs_dec[:, t, :] = dh
    return out, dhs_enc, dhs_dec, [layer.attention_weight for layer in layers]


def test_time_attention_equals_the_books_step_loop(rng):
    hs_enc, hs_dec = rng.standard_normal((3, 6, 4)), rng.standard_normal((3, 5, 4))
    dout = rng.standard_normal((3, 5, 4))
    layer = TimeAttention()
    out = layer.forward(hs_enc, hs_dec)
    dhs_enc, dhs_dec = layer.backward(dout)
    ref_out, ref_enc, ref_dec, ref_weights = book_time_attention(hs_enc, hs_dec, dout)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12)
    np.testing.assert_allclose(dhs_enc, ref_enc, rtol=1e-12)
    np.testing.assert_allclose(dhs_dec, ref_dec, rtol=1e-12)
    np.testing.assert_allclose(np.array(layer.attention_weights), np.array(ref_weights))


def test_time_attention_vs_torch_sdpa(rng):
    torch = pytest.importorskip("torch")
    hs_enc, hs_dec = rng.standard_normal((2, 7, 4)), rng.standard_normal((2, 3, 4))
    dout = rng.standard_normal((2, 3, 4))
    layer = TimeAttention()
    out = layer.forward(hs_enc, hs_dec)
    dhs_enc, dhs_dec = layer.backward(dout)
    te = torch.tensor(hs_enc, requires_grad=True)
    td = torch.tensor(hs_dec, requires_grad=True)
    # the book's attention: unscaled dot products, keys = values = encoder states
    tout = torch.nn.functional.scaled_dot_product_attention(td, te, te, scale=1.0)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(dhs_enc, te.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dhs_dec, td.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_stays_float32(rng):
    hs = rng.standard_normal((2, 4, 3)).astype("f")
    hd = rng.standard_normal((2, 2, 3)).astype("f")
    layer = TimeAttention()
    assert layer.forward(hs, hd).dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.backward(np.ones_like(hd)))


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"h of shape \(2, 3\), got \(2, 4\)"):
        Attention().forward(np.zeros((2, 5, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="hs_enc"):
        TimeAttention().forward(np.zeros((2, 5, 3)), np.zeros((3, 2, 3)))
    with pytest.raises(ValueError, match=r"weights of shape \(2, 5\)"):
        WeightSum().forward(np.zeros((2, 5, 3)), np.zeros((2, 4)))
