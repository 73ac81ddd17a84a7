"""Weights between the book's layouts and PyTorch's (for comparisons and for loading).

PyTorch's ``nn.LSTM`` stacks the gates as i, f, g, o in (4H, D) matrices; the book's LSTM
as f, g, i, o in (D, 4H) matrices. Nothing in zeronlp's layers needs PyTorch: these
functions move plain arrays.
"""

from __future__ import annotations

from .backend import get_array_module

__all__ = ["lstm_params_from_torch", "lstm_params_to_torch"]

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
