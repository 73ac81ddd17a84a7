"""The book's chapter 1 network: Affine -> Sigmoid -> Affine, trained with softmax loss."""

from __future__ import annotations

from ..layers import Affine, Sigmoid, SoftmaxWithLoss
from .base import BaseModel, collect_params
from .init import randn, zeros


class TwoLayerNet(BaseModel):
    """x (N, input_size) -> scores (N, output_size) through one sigmoid hidden layer."""

    def __init__(self, input_size, hidden_size, output_size):
        I, H, O = input_size, hidden_size, output_size
        W1, b1 = randn(I, H, scale=0.01), zeros(H)
        W2, b2 = randn(H, O, scale=0.01), zeros(O)

        self.layers = [Affine(W1, b1), Sigmoid(), Affine(W2, b2)]
        self.loss_layer = SoftmaxWithLoss()
        self.params, self.grads = collect_params(self.layers)

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
