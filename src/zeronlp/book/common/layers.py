"""The book's ``common/layers.py``: zeronlp's layers under the book's names.

Everything but ``Dropout`` is zeronlp's layer itself. ``Dropout`` here is the book's
(its ``common/layers.py``): training keeps the survivors unscaled and evaluation
multiplies by ``1 - dropout_ratio``; zeronlp's ``layers.Dropout`` is inverted dropout
(survivors scaled by ``1 / (1 - ratio)`` in training, identity in evaluation). Both have the
same expected output; only the place of the scaling differs.
"""

from ... import layers as _core
from ...backend import get_array_module
from ...layers import Affine, Embedding, MatMul, Sigmoid, SigmoidWithLoss, Softmax, SoftmaxWithLoss
from .functions import cross_entropy_error, softmax
from .np import GPU, np

__all__ = [
    "GPU",
    "np",
    "softmax",
    "cross_entropy_error",
    "MatMul",
    "Affine",
    "Softmax",
    "SoftmaxWithLoss",
    "Sigmoid",
    "SigmoidWithLoss",
    "Dropout",
    "Embedding",
]


class Dropout(_core.Dropout):
    """The book's (non-inverted) dropout. forward(x, train_flg=True) -> same shape as x."""

    def forward(self, x, train_flg=True):
        if not train_flg:
            self.mask = None
            return x * (1.0 - self.dropout_ratio)
        xp = get_array_module(x)
        self.mask = (xp.random.rand(*x.shape) > self.dropout_ratio).astype(x.dtype)
        return x * self.mask
