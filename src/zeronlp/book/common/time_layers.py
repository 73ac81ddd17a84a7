"""The book's ``common/time_layers.py``: zeronlp's recurrent and Time layers under the book's
names, and the book's two teaching versions ``Simple_TimeAffine`` and
``Simple_TimeSoftmaxWithLoss`` (a loop over time of ``Affine`` / ``SoftmaxWithLoss``).

As in the book, ``from zeronlp.book.common.time_layers import *`` also brings ``np``,
``GPU``, ``softmax``, ``sigmoid``, ``cross_entropy_error`` and every layer of
``common.layers``: the book's chapter scripts (rnnlm.py, seq2seq.py, ...) rely on it.
"""

from ...time_layers import (
    GRU,
    LSTM,
    RNN,
    TimeAffine,
    TimeBiLSTM,
    TimeDropout,
    TimeEmbedding,
    TimeGRU,
    TimeLSTM,
    TimeRNN,
    TimeSigmoidWithLoss,
    TimeSoftmaxWithLoss,
)
from .functions import sigmoid
from .layers import *  # noqa: F403 (the book's star import: np, GPU and every layer)
from .layers import Affine, SoftmaxWithLoss
from .layers import __all__ as _layer_names
from .np import np

__all__ = [
    *_layer_names,
    "sigmoid",
    "RNN",
    "TimeRNN",
    "LSTM",
    "TimeLSTM",
    "TimeEmbedding",
    "TimeAffine",
    "TimeSoftmaxWithLoss",
    "TimeDropout",
    "TimeBiLSTM",
    "TimeSigmoidWithLoss",
    "GRU",
    "TimeGRU",
    "Simple_TimeSoftmaxWithLoss",
    "Simple_TimeAffine",
]


class Simple_TimeSoftmaxWithLoss:  # noqa: N801 (the book's name)
    """One ``SoftmaxWithLoss`` per time step (the book's first version, chapter 5).

    forward(xs (N, T, V), ts (N, T) ids) -> the mean over T of each step's batch-mean loss;
    backward(dout=1) -> dxs (N, T, V). No ignore label (``TimeSoftmaxWithLoss`` has one).
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None

    def forward(self, xs, ts):
        N, T, V = xs.shape
        layers = [SoftmaxWithLoss() for _ in range(T)]
        loss = sum(layer.forward(xs[:, t, :], ts[:, t]) for t, layer in enumerate(layers))
        self.cache = (layers, xs)
        return loss / T

    def backward(self, dout=1):
        layers, xs = self.cache
        T = xs.shape[1]
        dxs = np.empty(xs.shape, dtype=xs.dtype)
        for t, layer in enumerate(layers):
            dxs[:, t, :] = layer.backward(dout / T)
        return dxs


class Simple_TimeAffine:  # noqa: N801 (the book's name)
    """One ``Affine`` per time step, all sharing W (D, M) and b (M,) (the book's first
    version, chapter 5). forward(xs (N, T, D)) -> (N, T, M); backward(dout (N, T, M)) ->
    dxs (N, T, D), with the steps' gradients summed into ``dW``, ``db`` (and ``grads``).
    """

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.dW, self.db = self.grads
        self.layers = None

    def forward(self, xs):
        N, T, D = xs.shape
        self.layers = [Affine(self.W, self.b) for _ in range(T)]
        out = np.empty((N, T, self.W.shape[1]), dtype=self.W.dtype)
        for t, layer in enumerate(self.layers):
            out[:, t, :] = layer.forward(xs[:, t, :])
        return out

    def backward(self, dout):
        N, T, M = dout.shape
        dxs = np.empty((N, T, self.W.shape[0]), dtype=self.W.dtype)
        self.dW[...] = 0
        self.db[...] = 0
        for t, layer in enumerate(self.layers):
            dxs[:, t, :] = layer.backward(dout[:, t, :])
            self.dW += layer.grads[0]  # the weights are shared by every step: sum
            self.db += layer.grads[1]
        return dxs
