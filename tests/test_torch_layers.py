"""Forward and backward of zeronlp.layers against PyTorch on random inputs."""

import numpy as np
import pytest

from zeronlp.layers import (
    Affine,
    Embedding,
    EmbeddingDot,
    MatMul,
    NegativeSamplingLoss,
    Sigmoid,
    SigmoidWithLoss,
    Softmax,
    SoftmaxWithLoss,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12  # both sides compute in float64


def tt(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True)


def close(ours, theirs):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("lead,D,H", [((1,), 3, 2), ((5,), 4, 6), ((2, 3), 4, 1)])
def test_affine_and_matmul_vs_linear(lead, D, H, rng):
    x, W, b = rng.standard_normal(lead + (D,)), rng.standard_normal((D, H)), rng.standard_normal(H)
    dout = rng.standard_normal(lead + (H,))
    layer = Affine(W.copy(), b.copy())
    y = layer.forward(x)
    dx = layer.backward(dout)
    tx, tW, tb = tt(x), tt(W.T), tt(b)  # PyTorch keeps weights as (out, in)
    ty = F.linear(tx, tW, tb)
    ty.backward(torch.tensor(dout))
    close(y, ty)
    close(dx, tx.grad)
    close(layer.grads[0], tW.grad.T)
    close(layer.grads[1], tb.grad)

    mm = MatMul(W.copy())
    close(mm.forward(x), F.linear(torch.tensor(x), torch.tensor(W.T)))
    close(mm.backward(dout), dout @ W.T)


@pytest.mark.parametrize("shape", [(1, 1), (4, 7), (2, 3, 5)])
def test_sigmoid_and_softmax_vs_torch(shape, rng):
    x, dout = rng.standard_normal(shape) * 4, rng.standard_normal(shape)
    for layer, fn in ((Sigmoid(), torch.sigmoid), (Softmax(), lambda z: torch.softmax(z, -1))):
        tx = tt(x)
        ty = fn(tx)
        ty.backward(torch.tensor(dout))
        close(layer.forward(x), ty)
        close(layer.backward(dout), tx.grad)


@pytest.mark.parametrize("N,C", [(1, 2), (6, 5), (3, 1)])
def test_softmax_with_loss_vs_cross_entropy(N, C, rng):
    x = rng.standard_normal((N, C)) * 5
    t = rng.integers(0, C, N)
    t[0] = t[-1]  # a repeated label
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, t)
    dx = layer.backward(0.5)
    tx = tt(x)
    tl = F.cross_entropy(tx, torch.tensor(t))
    (0.5 * tl).backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    close(dx, tx.grad)


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 4)])
def test_sigmoid_with_loss_vs_bce_with_logits(shape, rng):
    x = rng.standard_normal(shape) * 6
    x.flat[0] = 40.0  # saturated: sigmoid rounds to 1, the loss must stay exact
    t = rng.integers(0, 2, shape)
    layer = SigmoidWithLoss()
    loss = layer.forward(x, t)
    dx = layer.backward()
    tx = tt(x)
    tl = F.binary_cross_entropy_with_logits(tx, torch.tensor(t, dtype=torch.float64))
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    close(dx, tx.grad)


@pytest.mark.parametrize(
    "ids", [np.array([3]), np.array([1, 1, 1, 0]), np.array([[0, 5, 5], [2, 5, 0]])]
)
def test_embedding_vs_nn_embedding_with_repeated_ids(ids, rng):
    W = rng.standard_normal((6, 4))
    dout = rng.standard_normal(ids.shape + (4,))
    layer = Embedding(W.copy())
    out = layer.forward(ids)
    layer.backward(dout)
    tW = tt(W)
    tout = F.embedding(torch.tensor(ids), tW)
    tout.backward(torch.tensor(dout))
    close(out, tout)
    close(layer.grads[0], tW.grad)


def test_embedding_dot_vs_torch(rng):
    W = rng.standard_normal((5, 3))
    h, idx, dout = rng.standard_normal((4, 3)), np.array([4, 0, 4, 4]), rng.standard_normal(4)
    layer = EmbeddingDot(W.copy())
    out = layer.forward(h, idx)
    dh = layer.backward(dout)
    tW, th = tt(W), tt(h)
    tout = (F.embedding(torch.tensor(idx), tW) * th).sum(1)
    tout.backward(torch.tensor(dout))
    close(out, tout)
    close(dh, th.grad)
    close(layer.grads[0], tW.grad)


@pytest.mark.parametrize("N,S", [(1, 1), (8, 5)])
def test_negative_sampling_loss_vs_torch_with_the_same_negatives(N, S, rng):
    V, D = 12, 4
    W = rng.standard_normal((V, D))
    layer = NegativeSamplingLoss(W.copy(), rng.integers(0, V, 300), sample_size=S)
    h, target = rng.standard_normal((N, D)), rng.integers(0, V, N)
    np.random.seed(5)
    loss = layer.forward(h, target)
    dh = layer.backward()
    np.random.seed(5)
    neg = layer.sampler.get_negative_sample(target)

    tW, th = tt(W), tt(h)
    ids = torch.tensor(np.concatenate([target[:, None], neg], 1))
    score = (F.embedding(ids, tW) * th[:, None, :]).sum(-1)
    labels = torch.zeros_like(score)
    labels[:, 0] = 1
    # the book's total: one mean BCE per column (positive, then each negative), summed
    tl = F.binary_cross_entropy_with_logits(score, labels, reduction="none").mean(0).sum()
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    close(dh, th.grad)
    close(layer.grads[0], tW.grad)
