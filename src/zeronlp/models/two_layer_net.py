"""The book's chapter 1 network: Affine -> Sigmoid -> Affine, trained with softmax loss."""

from __future__ import annotations

from ..backend import float_dtype, xp
from ..layers import Affine, Sigmoid, SoftmaxWithLoss
from .base import BaseModel


class TwoLayerNet(BaseModel):
    """x (N, input_size) -> scores (N, output_size) through one sigmoid hidden layer."""

    def __init__(self, input_size, hidden_size, output_size):
        I, H, O = input_size, hidden_size, output_size
        np_, dtype = xp(), float_dtype()
        W1 = (0.01 * np_.random.randn(I, H)).astype(dtype)
        b1 = np_.zeros(H, dtype=dtype)
        W2 = (0.01 * np_.random.randn(H, O)).astype(dtype)
        b2 = np_.zeros(O, dtype=dtype)

        self.layers = [Affine(W1, b1), Sigmoid(), Affine(W2, b2)]
        self.loss_layer = SoftmaxWithLoss()
        self.params, self.grads = [], []
        for layer in self.layers:
            self.params += layer.params
            self.grads += layer.grads

    def predict(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def forward(self, x, t):
        score = self.predict(x)
        return self.loss_layer.forward(score, t)

    def backward(self, dout=1):
        dout = self.loss_layer.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout
