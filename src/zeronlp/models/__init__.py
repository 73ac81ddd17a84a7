"""Models: layers made of layers, with the book's names and methods.

Book chapter 1: ``TwoLayerNet``.
"""

from .two_layer_net import TwoLayerNet

__all__ = ["TwoLayerNet"]
